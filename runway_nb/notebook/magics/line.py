"""``%runway SUBCOMMAND``: the table of subcommands, the help, and the dispatch.

Each subcommand is a function ``(words, host) -> result`` with its own ``@magic_arguments`` parser,
in its own module; a module is imported the first time one of its subcommands runs, so
``%load_ext`` does not pay for the journal or the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from IPython.core.error import UsageError

from runway_nb.errors import BadRequestError, NotFoundError, ValidationError
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.session import get_session

__all__ = ["LINE_HELP", "SUBCOMMANDS", "Subcommand", "run_subcommand", "subcommand"]

Subcommand = Callable[[list[str], MagicsHost], object]

# name -> (module under runway_nb.notebook.magics, function); in the order the help lists them
_TABLE: dict[str, tuple[str, str]] = {
    "status": ("tasks", "status"),
    "list": ("tasks", "list_tasks"),
    "cancel": ("tasks", "cancel"),
    "attach": ("journal", "attach"),
    "history": ("journal", "history"),
    "fetch": ("journal", "fetch"),
    "config": ("config", "config"),
    "credits": ("credits", "credit_balance"),
    "panel": ("panel", "panel"),
    "help": ("line", "show_help"),
}

SUBCOMMANDS = tuple(_TABLE)

LINE_HELP = """\
%runway SUBCOMMAND: this session's Runway tasks and settings.

  %runway list                  this session's tasks as a table (refreshes unfinished ones)
  %runway status [ID]           one task's facts (default: the latest task)
  %runway cancel ID|all         cancel a task, or every unfinished task of this session
  %runway attach ID [-o NAME]   watch an existing task by id (shown as the live task view)
  %runway attach --pending      watch again every unfinished task of the journal (after a restart)
  %runway history [--all] [--status S ...] [--limit N]
                                past tasks from the journal, also from other kernels and notebooks
  %runway history --resolve ROW TASK_ID|none
                                settle a create whose outcome is unknown
  %runway fetch ID ...|--all    archive outputs not saved yet (GETs the task again for fresh URLs)
  %runway config                provider, base URL, masked key and the session defaults
  %runway config KEY=VALUE ...  set defaults: model, ratio, duration, poll_floor, provider,
                                save, save_dir, reuse, confirm_above, confirm_credits (VALUE none resets)
  %runway credits               balance, limits, prices by group of models, credits used per day (chart)
  %runway panel                 the form panel

  %runway OPTIONS               submit a task without a prompt (act_two, upscale), e.g.
                                %runway --character face.png --reference take.mp4

%%runway [options] submits a generation; see %%runway? for its options.
"""


def show_help(words: list[str], host: MagicsHost) -> None:
    """``%runway help`` (words after it are ignored)."""
    print(LINE_HELP)


def subcommand(name: str) -> Subcommand:
    """The function of subcommand ``name``; a ``UsageError`` listing the subcommands if there is none."""
    if name not in _TABLE:
        raise UsageError(f"%runway: unknown subcommand {name!r}; use one of: {', '.join(SUBCOMMANDS)} "
                         f"(to submit a generation use the cell magic %%runway)")
    module, function = _TABLE[name]
    found: Subcommand = getattr(import_module(f"runway_nb.notebook.magics.{module}"), function)
    return found


def run_subcommand(words: list[str], host: MagicsHost) -> object:
    """Run ``%runway WORD ...``: request errors become ``UsageError``s naming the subcommand."""
    command = words[0].lower()
    run = subcommand(command)
    try:
        return run(words[1:], host)
    except ValidationError as exc:
        raise UsageError(f"%runway {command}: {exc}") from None
    except (NotFoundError, BadRequestError) as exc:
        raise UsageError(f"%runway {command}: no such task on provider "
                         f"{get_session().client.provider!r} ({exc})") from None

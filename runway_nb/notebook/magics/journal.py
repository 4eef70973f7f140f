"""``%runway history``, ``%runway attach`` and ``%runway fetch``: the task journal, from a notebook.

Each subcommand is parsed here and calls the function of :mod:`runway_nb.notebook.history` that
does the work with the parsed values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from runway_nb.notebook.api import install_views
from runway_nb.notebook.history import DEFAULT_LIMIT, HistoryTable, SaveChoice, fetch_outputs, resolve
from runway_nb.notebook.history import attach as attach_tasks
from runway_nb.notebook.history import history as journal_history
from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.magics.values import check_variable_name

if TYPE_CHECKING:
    from runway_nb.client.archive import FetchReport
    from runway_nb.client.handles import AnyTaskHandle
    from runway_nb.notebook.sweep import Sweep

__all__ = ["attach", "fetch", "history"]


@magic_arguments("runway history")
@argument("--all", action="store_true", help="every provider, not only the session's")
@argument("--status", nargs="+", action="extend", default=[], metavar="S",
          help="only these statuses (SUCCEEDED, FAILED, ..., unfinished, unknown, submitting, not-created, ended)")
@argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"the newest N (default {DEFAULT_LIMIT}; "
                                                                        f"0 shows every task)")
@argument("--resolve", nargs=2, metavar=("ROW", "TASK_ID"),
          help="settle a create whose outcome is unknown: the task it made, or none")
def history(words: list[str], host: MagicsHost) -> HistoryTable | str:
    """Past tasks from the journal, also from other kernels and notebooks."""
    args = parse_words(history, words)
    if args.resolve:
        rowid, task_id = args.resolve
        return resolve(rowid, task_id)
    if args.limit is not None and args.limit < 0:
        raise UsageError("%runway history --limit: give a number >= 0 (0 shows every task)")
    return journal_history(all_=args.all, status=args.status, limit=args.limit or None)


@magic_arguments("runway attach")
@argument("task_id", nargs="?", metavar="ID", help="the task to watch")
@argument("--pending", action="store_true", help="every unfinished task of the journal (this provider and base URL)")
@argument("-o", "--out", metavar="NAME", help="also assign the task handle (or sweep) to this variable")
@argument("-w", "--wait", action="store_true", help="block until the task(s) finish")
@argument("--save", nargs="?", const=True, default=None, metavar="DIR",
          help="save the outputs when the task succeeds, to DIR (default: the session's save_dir); without it, "
               "as chosen when the task was submitted")
@argument("--no-save", action="store_true", help="do not save the outputs")
def attach(words: list[str], host: MagicsHost) -> AnyTaskHandle | Sweep | None:
    """Watch an existing task by id, or every unfinished task of the journal again (after a restart)."""
    args = parse_words(attach, words)
    out = check_variable_name("--out", args.out)
    save: SaveChoice = False if args.no_save else args.save
    install_views()  # in a kernel, the reattached tasks show (and save) through the widgets
    return attach_tasks(args.task_id, pending=args.pending, out=out, wait=args.wait, save=save, assign=host.assign)


@magic_arguments("runway fetch")
@argument("ids", nargs="*", metavar="ID", help="the tasks whose outputs to archive")
@argument("--all", action="store_true",
          help="every finished task of this provider whose outputs are not archived yet")
@argument("--dir", "--to", dest="folder", metavar="DIR",
          help="the folder for the files (default: the folder chosen when each task was submitted)")
@argument("--force", action="store_true", help="archive again what is archived already")
def fetch(words: list[str], host: MagicsHost) -> FetchReport:
    """Archive outputs not saved yet (GETs each task again for fresh URLs)."""
    args = parse_words(fetch, words)
    return fetch_outputs(args.ids, all_=args.all, folder=args.folder, force=args.force)

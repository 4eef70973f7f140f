"""``%runway history``, ``%runway attach`` and ``%runway fetch``: the task journal, from a notebook.

The work is done by :mod:`runway_nb.notebook.history`. ``history`` is parsed here and calls its
public functions; ``attach`` and ``fetch`` still hand their words to
:func:`~runway_nb.notebook.history.attach_command` and
:func:`~runway_nb.notebook.history.fetch_command`, which parse them (their parsers move here once
history offers entry points that take parsed values).
"""

from __future__ import annotations

from IPython.core.error import UsageError

from runway_nb.notebook.history import DEFAULT_LIMIT, HistoryTable, attach_command, fetch_command, resolve
from runway_nb.notebook.history import history as journal_history
from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.host import MagicsHost

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


def attach(words: list[str], host: MagicsHost) -> object:
    """``%runway attach ID [-o NAME] [--wait] [--save [DIR]]`` or ``%runway attach --pending``."""
    return attach_command(words, host.shell)


def fetch(words: list[str], host: MagicsHost) -> object:
    """``%runway fetch ID ...|--all [--dir DIR] [--force]``: archive outputs not saved yet."""
    return fetch_command(words)

"""``%runway list``, ``%runway status [ID]`` and ``%runway cancel ID|all``: this session's tasks."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError

from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.facts import Facts, status_facts
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.session import TaskTable, get_session

__all__ = ["cancel", "list_tasks", "status"]


@magic_arguments("runway list")
@argument("extra", nargs="*", help=argparse.SUPPRESS)
def list_tasks(words: list[str], host: MagicsHost) -> TaskTable:
    """This session's tasks as a table (refreshes unfinished ones)."""
    args = parse_words(list_tasks, words)
    if args.extra:
        raise UsageError(f"%runway list takes no arguments (got {' '.join(args.extra)!r})")
    return get_session().table(refresh=True)


@magic_arguments("runway status")
@argument("task_id", nargs="*", metavar="ID", help="the task (default: the latest task of this session)")
def status(words: list[str], host: MagicsHost) -> Facts:
    """One task's facts."""
    args = parse_words(status, words)
    session = get_session()
    if len(args.task_id) > 1:
        raise UsageError("%runway status takes at most one task id")
    if args.task_id:
        task_id = args.task_id[0]
        handle = session.get(task_id) or session.attach(task_id)
    else:
        handle = session.last()
        if handle is None:
            raise UsageError("%runway status: no tasks in this session yet; give a task id")
    session.refresh(handle)
    return status_facts(handle)


@magic_arguments("runway cancel")
@argument("target", nargs="*", metavar="ID|all", help="a task id, or all: every unfinished task of this session")
def cancel(words: list[str], host: MagicsHost) -> None:
    """Cancel a task, or every unfinished task of this session."""
    args = parse_words(cancel, words)
    if len(args.target) != 1:
        raise UsageError("%runway cancel needs one task id, or 'all'")
    target = args.target[0]
    session = get_session()
    if target.lower() == "all":
        ids = session.cancel(None)
        print(f"Cancelled {len(ids)} task(s): {', '.join(ids)}" if ids else "No unfinished tasks to cancel.")
    else:
        session.cancel(target)
        print(f"Cancelled task {target}.")

"""The credits a task is shown to cost, in every view of it (live view, static card, grid cell,
``%runway list`` and ``%runway status``): one rule, here.

Its final cost when Runway reported one, else the estimate; a CANCELLED task without a final
cost shows 0 unless a poll saw it RUNNING: Runway refunds a cancel made before it saw the task
run, and keeps the charge after (Runway answers 404 once a task is cancelled, so no final cost
comes).
"""

from __future__ import annotations

from typing import Any

# The status name, not runway_nb.api.task's constant: this module is imported when the extension
# loads, before anything needs pydantic.
CANCELLED = "CANCELLED"

__all__ = ["charged_credits", "credits_text", "handle_credits", "seen_running"]


def seen_running(owner: Any) -> bool:
    """Whether a poll saw ``owner``'s task RUNNING: this process's handle remembers it; for a task
    attached from an earlier session, the journal's status history tells (False without one). A
    finished task's answer cannot change, so the journal is asked once per task, not per update."""
    state = getattr(owner, "state", None)
    if getattr(state, "seen_running", False):
        return True
    task_id = getattr(owner, "id", None)
    if not task_id:
        return False
    if task_id in _ran_by_journal:
        return _ran_by_journal[task_id]
    journal = getattr(getattr(owner, "client", None), "journal", None)
    if journal is None:
        return False
    try:
        ran = any(status == "RUNNING" for status, _p, _at in journal.history(task_id))
    except Exception:  # a locked or missing journal file: as if nothing was seen
        return False
    if getattr(getattr(owner, "task", None), "finished", False):
        _ran_by_journal[task_id] = ran
    return ran


#: The journal's answer for finished tasks (it cannot change any more), by task id.
_ran_by_journal: dict[str, bool] = {}


def charged_credits(status: str, cost: float | None, estimated: float | None, *, ran: bool = False) -> float | None:
    """The credits shown for a task in ``status``: ``cost`` (final) when known, else ``estimated``;
    0 for a CANCELLED task that did not run (``ran``: a poll saw it RUNNING)."""
    if cost is not None:
        return cost
    return 0 if status == CANCELLED and not ran else estimated


def handle_credits(handle: Any, task: Any = None) -> float | None:
    """:func:`charged_credits` of a task handle (for ``task``, default its last known one), asking
    whether it ran only when it matters."""
    task = handle.task if task is None else task
    status = str(task.status) if task is not None else str(handle.status)
    cost = task.cost if task is not None else None
    ran = status == CANCELLED and cost is None and seen_running(handle)
    return charged_credits(status, cost, handle.estimated_cost, ran=ran)


def credits_text(value: float) -> str:
    """``1,250`` or ``12.5``: thousands separators, no exponent, no trailing ``.0``."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")

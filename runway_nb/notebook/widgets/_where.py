"""Where an output lives, said plainly under it: a saved file, or a link and how long it works.

- a saved file: ``saved file: runway_outputs/abc_0.mp4``;
- a Runway link: ``Runway link, expires about 2026-12-07 14:05 UTC (24-48 h after the task
  ended)``, with an en dash. Runway keeps outputs 24 to 48 hours; the time shown is the earliest (end + 24 h),
  the moment the link may stop working. The end is the handle's ``finished_at`` (when the client
  first saw the task end), else the journal's status history, else the task's ``createdAt``;
- the in-process simulator: ``simulator link: works while this kernel runs``;
- a simulator server (``RUNWAYML_BASE_URL``): ``simulator server link: works while the server runs``;
- another provider's link: as Runway's, named after the provider (they relay Runway's outputs).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

from runway_nb.api.task import TERMINAL, Task

__all__ = ["EXPIRY_HOURS", "Where", "ended_at", "expiry_text", "link_source", "saved", "where_link"]

#: Runway deletes outputs this many hours after the task ended, at the earliest and the latest.
EXPIRY_HOURS = (24, 48)

#: What produced a link: "runway", "sim" (in this process), "sim-server", or another provider's name.
Source = str


class Where(NamedTuple):
    """``before`` + a link reading ``label`` + ``after``: the line under an output."""

    before: str
    label: str
    after: str

    def text(self) -> str:
        return f"{self.before}{self.label}{self.after}"


def saved(path_text: str) -> Where:
    return Where("saved file: ", path_text, "")


def link_source(owner: Any) -> Source:
    """Who serves an output URL of ``owner`` (a task handle, a workflow run, or a bare Task)."""
    client = getattr(owner, "client", None)
    if client is None:
        return "runway"
    if getattr(client, "simulator", None) is not None:
        return "sim"
    provider = str(getattr(client, "provider", "") or "runway")
    return "sim-server" if provider == "sim" else provider


def _history(owner: Any, task_id: str | None) -> list[tuple[str, float | None, float]]:
    """The statuses the journal saw for the task, oldest first (none without a journal)."""
    journal = getattr(getattr(owner, "client", None), "journal", None)
    if journal is None or not task_id:
        return []
    try:
        return list(journal.history(task_id))
    except Exception:  # a locked or missing journal file: as if nothing was seen
        return []


def _history_end(owner: Any, task_id: str | None) -> float | None:
    history = _history(owner, task_id)
    return next((float(at) for status, _p, at in reversed(history) if status in TERMINAL), None)


def ended_at(owner: Any, task: Any = None) -> float | None:
    """When the task ended, epoch seconds: the handle's ``finished_at``, else the journal's
    history, else the ``createdAt`` of ``task`` (a Task or a workflow invocation; earlier than the
    end: the expiry shown errs early)."""
    finished = getattr(owner, "finished_at", None)
    if isinstance(finished, (int, float)) and not isinstance(finished, bool):
        return float(finished)
    task = task if task is not None else owner if isinstance(owner, Task) else getattr(owner, "task", None)
    task_id = getattr(owner, "id", None) or (task.id if task is not None else None)
    end = None if isinstance(owner, Task) else _history_end(owner, task_id)
    if end is not None:
        return end
    created = getattr(task, "created_at", None) if task is not None else None
    return created.timestamp() if isinstance(created, datetime) else None


def expiry_text(ended: float | None) -> str:
    """``"expires about 2026-12-07 14:05 UTC (24-48 h after the task ended)"`` (an en dash in the range)."""
    low, high = EXPIRY_HOURS
    span = f"{low}–{high} h after the task ended"  # noqa: RUF001 - an en dash reads as a range
    if ended is None:
        return f"expires {span}"
    when = datetime.fromtimestamp(ended + low * 3600, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"expires about {when} ({span})"


def where_link(source: Source, ended: float | None, url: str) -> Where:
    """The line under an output shown from its URL (no saved file)."""
    if url.startswith("data:"):
        return Where("", "embedded in the output", "")
    if source == "sim":
        return Where("", "simulator link", ": works while this kernel runs")
    if source == "sim-server":
        return Where("", "simulator server link", ": works while the server runs")
    name = "Runway" if source == "runway" else source
    return Where("", f"{name} link", f", {expiry_text(ended)}")


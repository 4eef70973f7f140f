"""What a client tells its subscribers: requests to create tasks, their answers, tasks seen, files saved.

The client publishes; it does not know who listens. The journal (:class:`JournalRecorder`) is
one subscriber, wired by the factory; tests and tools can add their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_nb.client.subscribers import Subscribers

if TYPE_CHECKING:  # annotations only: the task model and the journal load when used
    from runway_nb.api.task import Task
    from runway_nb.client.journal import Journal

__all__ = ["ClientEvent", "CreateAnswered", "CreateFailed", "CreateSent", "Events", "JournalRecorder",
           "OutputsSaved", "TaskSeen"]

_refs = count(1)


@dataclass(frozen=True)
class CreateSent:
    """A task-creating request is about to be sent (``ref`` ties it to its answer)."""

    provider: str
    base_url: str
    endpoint: str
    params: dict[str, Any]
    ref: int = field(default_factory=lambda: next(_refs))


@dataclass(frozen=True)
class CreateAnswered:
    ref: int
    task_id: str
    estimated_cost: float | None


@dataclass(frozen=True)
class CreateFailed:
    ref: int
    error: BaseException
    outcome_unknown: bool


@dataclass(frozen=True)
class TaskSeen:
    """A GET returned this task."""

    task: Task
    base_url: str


@dataclass(frozen=True)
class OutputsSaved:
    task_id: str
    files: list[Path]


ClientEvent = CreateSent | CreateAnswered | CreateFailed | TaskSeen | OutputsSaved


class Events(Subscribers[ClientEvent]):
    """What a client publishes, to whoever subscribed."""


PROGRESS_EVERY = 15.0  # seconds: the journal's progress of a running task is at most this old


class JournalRecorder:
    """Writes client events to the SQLite journal: every task, its request, each new status and
    outputs; a running task's progress at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self._rows: dict[int, int] = {}
        self._seen: dict[str, tuple[str, float | None, int, float]] = {}  # status, progress, outputs, when

    def __call__(self, event: ClientEvent) -> None:
        if isinstance(event, CreateSent):
            self._rows[event.ref] = self.journal.begin(provider=event.provider, base_url=event.base_url,
                                                       endpoint=event.endpoint, params=event.params)
        elif isinstance(event, CreateAnswered):
            rowid = self._rows.pop(event.ref, None)
            if rowid is not None:
                self.journal.created(rowid, event.task_id, event.estimated_cost)
        elif isinstance(event, CreateFailed):
            rowid = self._rows.pop(event.ref, None)
            if rowid is not None:
                self.journal.create_failed(rowid, event.error, outcome_unknown=event.outcome_unknown)
        elif isinstance(event, TaskSeen):
            task = event.task
            now = time.monotonic()
            last = self._seen.get(task.id)
            if last is None or (task.status, len(task.outputs)) != (last[0], last[2]) or (
                    task.progress != last[1] and now - last[3] >= PROGRESS_EVERY):
                # a new status or outputs at once; a progress-only change at most every
                # PROGRESS_EVERY seconds (a thousand watched tasks would otherwise each commit a
                # transaction per poll, for a figure the next poll replaces)
                self._seen[task.id] = (task.status, task.progress, len(task.outputs), now)
                self.journal.update(task, event.base_url)
        else:
            self.journal.set_files(event.task_id, [p.resolve() for p in event.files])

"""A task's statuses and their other spellings, without the task model (so the poll schedule and
the watch engine load without pydantic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

PENDING = "PENDING"
THROTTLED = "THROTTLED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"

STATUSES = (PENDING, THROTTLED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

# Other spellings seen in the seeds and the providers' docs. Anything not listed is kept
# as given and treated as not finished.
STATUS_ALIASES = {
    "PROCESSING": RUNNING,
    "IN_PROGRESS": RUNNING,
    "QUEUED": PENDING,
    "NOT_START": PENDING,
    "SUBMITTED": PENDING,
    "SUCCESS": SUCCEEDED,
    "FAILURE": FAILED,
    "CANCELED": CANCELLED,
}


def normalize_status(value: object) -> str:
    text = str(value).strip().upper()
    return STATUS_ALIASES.get(text, text)


class StatusChecks:
    """What a task and a workflow invocation say of their status alike (mixed into both models)."""

    if TYPE_CHECKING:  # for the type checker only: pydantic would make a mixin's annotation a (first, required) field
        status: str

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED

"""One task model for every provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runway_nb.errors import failure_hint

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


class Task(BaseModel):
    """A generation task as last seen, whatever provider it came from.

    ``progress`` is 0..1 or None; ``outputs`` are URLs (Runway's expire within 24-48 h);
    ``raw`` is the payload exactly as the provider sent it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    status: str
    progress: float | None = None
    outputs: list[str] = Field(default_factory=list)
    failure: str | None = None
    failure_code: str | None = None
    created_at: datetime | None = None
    estimated_cost: float | None = None
    cost: float | None = None
    model: str | None = None
    dialect: str = "runway"
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

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

    @property
    def known_status(self) -> bool:
        return self.status in STATUSES

    @property
    def hint(self) -> str | None:
        """Plain-language advice for a failed task."""
        return failure_hint(self.failure_code) if self.failed else None

    def summary(self) -> str:
        """One readable line, e.g. for a terminal."""
        parts = [f"task {self.id}", self.status]
        if self.status == RUNNING and self.progress is not None:
            parts.append(f"{self.progress:.0%}")
        if self.outputs:
            parts.append(f"{len(self.outputs)} output(s)")
        if self.failed:
            code = f" [{self.failure_code}]" if self.failure_code else ""
            parts.append(f"failed{code}: {self.failure or 'no reason given'}")
        return " · ".join(parts)

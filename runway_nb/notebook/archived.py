"""A task of an earlier kernel, shown from the journal and its archived files, never polled.

The in-process simulator ends with its kernel: a task it ran is gone from the next kernel's
server, but the journal keeps its status and outputs, and the archive its files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runway_nb.api.task import SUCCEEDED, Task
from runway_nb.client.handles import AsyncTaskHandle, TaskHandle
from runway_nb.client.journal import Entry

__all__ = ["ArchivedTaskHandle", "archived_handle"]


class ArchivedTaskHandle(TaskHandle):
    """A task that succeeded in an earlier kernel whose server no longer has it (the in-process
    simulator ends with its kernel): what the journal and the archived files say, never polled."""

    def refresh(self) -> Task:
        assert self.task is not None  # made finished
        return self.task

    def to_async(self) -> AsyncTaskHandle:
        if self._twin is None:
            self._twin = _ArchivedAsyncHandle(self.client.async_twin(), self.id, state=self.state)
        return self._twin


class _ArchivedAsyncHandle(AsyncTaskHandle):
    async def refresh(self) -> Task:
        assert self.task is not None
        return self.task


def archived_handle(client: Any, entry: Entry) -> ArchivedTaskHandle | None:
    """A finished handle from the journal row when the task succeeded and its files all exist."""
    files = [Path(f) for f in entry.files]
    if entry.task_id is None or entry.status != SUCCEEDED or not files or not all(f.exists() for f in files):
        return None
    handle = ArchivedTaskHandle(client, entry.task_id, endpoint=entry.endpoint, params=dict(entry.params),
                                estimated_cost=entry.estimated_cost)
    handle.task = Task(id=entry.task_id, status=SUCCEEDED, outputs=list(entry.outputs), cost=entry.cost,
                       model=entry.model)
    handle.files = files
    return handle

"""``TaskHandle`` and ``AsyncTaskHandle``: a task you created or attached to.

The two are siblings on one base. What a handle knows (the last ``Task``, the poll schedule,
saved files) lives in a :class:`TaskState` that a sync handle and its async twin share, so a
task polled from a widget's event loop and waited on by a blocking ``wait()`` is one task with
one schedule. Waiting goes through the watch engine (:mod:`runway_nb.client.watch`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runway_nb import errors
from runway_nb.api.status import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED
from runway_nb.client.eta import RUN_TIMES, run_kind
from runway_nb.client.keep import Keeper
from runway_nb.client.schedule import PollSchedule
from runway_nb.client.watch import Clock, Shared, Watch, WatchTimeout, drive, drive_async

if TYPE_CHECKING:  # the clients import this module, and the task model loads with the first task; annotations only
    from runway_nb.api.task import Routing, Task
    from runway_nb.client.core import AsyncRunway, Runway

__all__ = ["AnyTaskHandle", "AsyncTaskHandle", "PlainText", "TaskHandle", "TaskState", "set_display_hook"]

DEFAULT_FOLDER = "runway_outputs"

#: What ``handle._display_()`` returns (marimo's display protocol: it never calls IPython's
#: ``_ipython_display_``). The notebook layer, which owns the widgets, sets it; the client never
#: imports that layer. Unset: the handle's one-line text.
_display_hooks: dict[str, Callable[[_HandleBase], object]] = {}


@dataclass(frozen=True)
class PlainText:
    """Text shown as text (not read as HTML) by notebooks with a ``_mime_`` protocol (marimo)."""

    text: str

    def _mime_(self) -> tuple[str, str]:
        return "text/plain", self.text


def set_display_hook(hook: Callable[[_HandleBase], object] | None) -> None:
    """Make ``hook(handle)`` what a handle shows in notebooks that use ``_display_`` (marimo);
    None restores the handle's text."""
    if hook is None:
        _display_hooks.pop("display", None)
    else:
        _display_hooks["display"] = hook


@dataclass
class TaskState:
    """Everything known about one task, shared by its sync handle and its async twin."""

    id: str
    schedule: PollSchedule
    endpoint: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    estimated_cost: float | None = None
    task: Task | None = None
    files: list[Path] = field(default_factory=list)
    routing: Routing | None = None  # a routed generation's create answer: which model ran, and why
    finished_at: float | None = None  # when this process first saw the task end (epoch seconds)
    seen_running: bool = False  # a poll of this process saw it RUNNING (a cancel then keeps its charge)
    shared: Shared = field(default_factory=Shared)  # what its watches read, for one another


_ends_seen = 0  # tasks this process saw end, through any handle (see ends_seen)


def ends_seen() -> int:
    """How many tasks this process has seen end, through any handle: two readings that differ
    say some task ended in between, without asking every handle (the notebook asks after each
    cell, with a thousand tasks watched)."""
    return _ends_seen


class HandleClient(Protocol):
    """What a handle needs of its client, whichever of the two it is."""

    @property
    def poll_floor(self) -> float: ...  # the fewest seconds between two GETs of one task

    @property
    def keeper(self) -> Keeper: ...  # where the task's outputs are archived

    @property
    def clock(self) -> Clock: ...  # the time its polls are placed in

    def created_at(self, task_id: str) -> float | None: ...  # when it created a task, in that time


class _HandleBase:
    """What sync and async handles share: the state, its read-only views, and the messages."""

    client: HandleClient  # each sibling narrows it to its own client

    def __init__(self, client: HandleClient, task_id: str, *, endpoint: str | None, params: dict[str, Any] | None,
                 estimated_cost: float | None, state: TaskState | None, routing: Routing | None = None) -> None:
        self.client = client
        self.state = state or TaskState(task_id, PollSchedule(floor=client.poll_floor), endpoint,
                                        dict(params or {}), estimated_cost, routing=routing)

    id = property(lambda self: self.state.id)
    endpoint = property(lambda self: self.state.endpoint)
    params = property(lambda self: self.state.params)
    estimated_cost = property(lambda self: self.state.estimated_cost)
    schedule = property(lambda self: self.state.schedule, doc="The task's poll schedule (shared with twins).")

    @property
    def task(self) -> Task | None:
        return self.state.task

    @task.setter
    def task(self, value: Task | None) -> None:
        known = self.state.task
        if known is not None and known.finished and (value is None or not value.finished):
            return  # a GET sent before a cancel (or the end) must not bring the task back to life
        if value is not None and value.routing is None and self.state.routing is not None:
            value = value.model_copy(update={"routing": self.state.routing})  # Runway sends it on create only
        if value is not None and value.status == RUNNING:
            self.state.seen_running = True
        if value is not None and value.finished and self.state.finished_at is None:
            self.state.finished_at = time.time()  # output links expire counting from the end
            global _ends_seen
            _ends_seen += 1
            if value.status == SUCCEEDED:
                self._record_run()
        self.state.task = value

    def _record_run(self) -> None:
        # How long it ran, for the schedules of the tasks of its kind that come next (the
        # history guide), when its polls place both ends closely (see PollSchedule.run_time).
        run = self.schedule.run_time(self.client.clock.now())
        if run is not None and self.endpoint:
            RUN_TIMES.record(run_kind(self.endpoint, self.params), run)

    @property
    def finished_at(self) -> float | None:
        """When this process first saw the task end (epoch seconds), else None."""
        return self.state.finished_at

    @property
    def save_to(self) -> Path | None:
        """The folder this task's outputs are archived into when it succeeds (None: not kept)."""
        return self.client.keeper.folder_of(self.id)

    @save_to.setter
    def save_to(self, folder: str | os.PathLike[str] | None) -> None:
        self.client.keeper.plan(self.id, folder, self.params)

    @property
    def save_problem(self) -> str:
        """Why this task's outputs were not archived ("" when they were, or are still to be)."""
        return self.client.keeper.problem(self.id)

    def _kept_in(self, folder: str | os.PathLike[str]) -> bool:
        where = Path(folder).expanduser().absolute()
        return bool(self.files) and all(p.exists() and p.absolute().parent == where for p in self.files)

    def _take_files(self) -> None:
        if not self.state.files:
            self.state.files = self.client.keeper.files(self.id)

    @property
    def routing(self) -> Routing | None:
        """Which model a routed generation ran and why (None for a task created with a model)."""
        if self.state.routing is not None:
            return self.state.routing
        return self.task.routing if self.task is not None else None

    @property
    def files(self) -> list[Path]:
        return self.state.files

    @files.setter
    def files(self, value: list[Path]) -> None:
        self.state.files = value

    @property
    def model(self) -> Any:
        return self.params.get("model")

    @property
    def status(self) -> str:
        return self.task.status if self.task else PENDING

    @property
    def outputs(self) -> list[str]:
        return list(self.task.outputs) if self.task else []

    @property
    def finished(self) -> bool:
        return bool(self.task and self.task.finished)

    def add_to(self, watch: Watch, now: float, *, key: Hashable | None = None) -> None:
        """Watch this task in ``watch`` (under ``key``, by default its id) on its own schedule,
        which is told when the task was created and, the first time, how long runs like it took
        in this session (what places its first readings, or its polls without progress)."""
        if self.schedule.typical_run is None or self.schedule.run_spread is None:  # until three runs are known
            kind = run_kind(self.endpoint, self.params)
            self.schedule.typical_run = RUN_TIMES.typical(kind)
            self.schedule.run_spread = RUN_TIMES.spread(kind)
        watch.add(self.id if key is None else key, self.schedule, now=now, created_at=self.client.created_at(self.id),
                  seen=self.task is not None, shared=self.state.shared)

    def _watch(self, now: float) -> Watch:
        watch = Watch(floor=self.schedule.floor)
        self.add_to(watch, now)
        return watch

    def _timeout_error(self, timeout: float, cancelled: bool) -> errors.RunwayError:
        outcome = "it was cancelled" if cancelled else "it is still running"
        return errors.APITimeoutError(f"task {self.id} did not finish within {timeout:g} s (last status "
                                   f"{self.status}); {outcome}", task=self.task)

    def _finish(self, raise_on_failure: bool) -> Task:
        task = self.task
        assert task is not None and task.finished
        if task.status == FAILED and raise_on_failure:
            raise errors.TaskFailedError(task)
        return task

    def _mark_cancelled(self, dialect: str) -> None:
        from runway_nb.api.task import Task  # the model is pydantic: loaded when first needed

        self.task = Task(id=self.id, status=CANCELLED, dialect=dialect,
                         created_at=self.task.created_at if self.task else None)

    def _saveable(self, task: Task) -> Task:
        if not task.succeeded:
            raise errors.RunwayError(f"task {self.id} is {task.status}; only a SUCCEEDED task has outputs to save")
        return task

    def _line(self) -> str:
        bits: list[object] = [self.id, self.status]
        task = self.task
        if task is not None and task.progress is not None and not task.finished:
            bits.append(f"{task.progress:.0%}")
        for key in ("model", "ratio", "duration", "seed"):
            if key in self.params:
                bits.append(f"{key}={self.params[key]}")
        if task is not None and task.outputs:
            bits.append(f"{len(task.outputs)} output(s)")
        if task is not None and task.failed:
            bits.append(f"failed: {task.failure_code or ''} {task.failure or ''}".strip())
        if self.routing is not None:
            bits.append(self.routing.summary())
        return " ".join(str(b) for b in bits)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._line()}>"

    def _display_(self) -> object:
        """What marimo shows for a handle as a cell's last line (see :func:`set_display_hook`)."""
        hook = _display_hooks.get("display")
        return hook(self) if hook is not None else PlainText(repr(self))


class TaskHandle(_HandleBase):
    """A task you created or attached to: ``.id`` at once, ``.wait()`` for the result."""

    client: Runway

    def __init__(self, client: Runway, task_id: str, *, endpoint: str | None = None,
                 params: dict[str, Any] | None = None, estimated_cost: float | None = None,
                 state: TaskState | None = None, routing: Routing | None = None) -> None:
        super().__init__(client, task_id, endpoint=endpoint, params=params, estimated_cost=estimated_cost,
                         state=state, routing=routing)
        self._twin: AsyncTaskHandle | None = None

    def to_async(self) -> AsyncTaskHandle:
        """This task's handle on the client's async twin, sharing state and poll schedule."""
        if self._twin is None:
            self._twin = AsyncTaskHandle(self.client.async_twin(), self.id, state=self.state)
        return self._twin

    def refresh(self) -> Task:
        """GET the task (archiving its outputs the first time it is seen SUCCEEDED, see ``save_to``)."""
        self.task = self.client.get_task(self.id)
        self._take_files()
        return self.task

    def keep(self) -> list[Path]:
        """Archive the outputs into ``save_to`` now if the task succeeded and they are not yet."""
        if self.task is not None:
            self.client.keep(self.task)
        self._take_files()
        return self.files

    def wait(self, timeout: float | None = None, *, cancel_on_timeout: bool = False, raise_on_failure: bool = True,
             on_update: Callable[[Task], object] | None = None) -> Task:
        """Poll until SUCCEEDED, FAILED or CANCELLED; raise TaskFailedError on FAILED (by default).

        With ``timeout`` (seconds) raise :class:`runway_nb.errors.APITimeoutError`; with
        ``cancel_on_timeout`` the remote task is cancelled first, so it stops costing credits.
        """
        clock = self.client.clock
        start = clock.now()
        watch = self._watch(start)
        try:
            drive(watch, lambda _key: self.refresh(), clock=clock,
                  deadline=None if timeout is None else start + timeout, on_update=on_update)
        except WatchTimeout:
            if cancel_on_timeout:
                self.cancel()
            raise self._timeout_error(timeout or 0.0, cancel_on_timeout) from None
        return self._finish(raise_on_failure)

    def __await__(self) -> Generator[Any, None, Task]:
        """``await handle`` in a notebook: wait without blocking the kernel's event loop."""
        return self.wait_async().__await__()

    async def wait_async(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,
                         raise_on_failure: bool = True) -> Task:
        """:meth:`wait`, polled on the running event loop through the client's async twin."""
        return await self.to_async().wait(timeout, cancel_on_timeout=cancel_on_timeout,
                                          raise_on_failure=raise_on_failure)

    def cancel(self) -> None:
        """Cancel the remote task. One that has already ended is left alone: Runway's DELETE
        on a finished task deletes it, outputs included, and refunds nothing."""
        if self.finished:
            return
        try:
            latest: Task | None = self.refresh()
        except errors.NotFoundError:
            latest = None
        if latest is not None and latest.finished:
            return
        self.client.cancel_task(self.id)
        self._mark_cancelled(self.client.settings.provider.dialect)

    def save(self, folder: str | Path = DEFAULT_FOLDER) -> list[Path]:
        """Download every output into ``folder`` (plus a JSON file of the task's facts); outputs
        already archived there are not downloaded again."""
        task = self._saveable(self.task if self.task and self.task.succeeded else self.refresh())
        if not self._kept_in(folder):
            self.files = self.client.save_outputs(task, folder, self.params)
        return self.files


class AsyncTaskHandle(_HandleBase):
    """The async sibling of :class:`TaskHandle`: ``await handle.wait()``, ``await handle``."""

    client: AsyncRunway

    def __init__(self, client: AsyncRunway, task_id: str, *, endpoint: str | None = None,
                 params: dict[str, Any] | None = None, estimated_cost: float | None = None,
                 state: TaskState | None = None, routing: Routing | None = None) -> None:
        super().__init__(client, task_id, endpoint=endpoint, params=params, estimated_cost=estimated_cost,
                         state=state, routing=routing)

    def to_async(self) -> AsyncTaskHandle:
        return self

    async def refresh(self) -> Task:
        self.task = await self.client.get_task(self.id)
        self._take_files()
        return self.task

    async def keep(self) -> list[Path]:
        if self.task is not None:
            await self.client.keep(self.task)
        self._take_files()
        return self.files

    async def wait(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,
                   raise_on_failure: bool = True, on_update: Callable[[Task], object] | None = None) -> Task:
        clock = self.client.clock
        start = clock.now()
        watch = self._watch(start)
        try:
            await drive_async(watch, lambda _key: self.refresh(), clock=clock,
                              deadline=None if timeout is None else start + timeout, on_update=on_update)
        except WatchTimeout:
            if cancel_on_timeout:
                await self.cancel()
            raise self._timeout_error(timeout or 0.0, cancel_on_timeout) from None
        return self._finish(raise_on_failure)

    def __await__(self) -> Generator[Any, None, Task]:
        return self.wait().__await__()

    async def wait_async(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,
                         raise_on_failure: bool = True) -> Task:
        return await self.wait(timeout, cancel_on_timeout=cancel_on_timeout, raise_on_failure=raise_on_failure)

    async def cancel(self) -> None:
        if self.finished:
            return
        try:
            latest: Task | None = await self.refresh()
        except errors.NotFoundError:
            latest = None
        if latest is not None and latest.finished:
            return
        await self.client.cancel_task(self.id)
        self._mark_cancelled(self.client.settings.provider.dialect)

    async def save(self, folder: str | Path = DEFAULT_FOLDER) -> list[Path]:
        task = self._saveable(self.task if self.task and self.task.succeeded else await self.refresh())
        if not self._kept_in(folder):
            self.files = await self.client.save_outputs(task, folder, self.params)
        return self.files



AnyTaskHandle = TaskHandle | AsyncTaskHandle  # what widgets and the magic accept

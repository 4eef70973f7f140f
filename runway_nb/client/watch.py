"""The watch engine: which watched task to poll when, with one sync and one async driver.

:class:`Watch` is the sans-IO core. It keeps each watched task's :class:`PollSchedule` and next
due time, takes what a poll found (:meth:`Watch.observed`, :meth:`Watch.failed`) and tells its
subscribers (:class:`Updated`, :class:`Finished`, :class:`PollFailed`). It never sends a request
or sleeps: :func:`drive` and :func:`drive_async` do, on a :class:`Clock` they are given, so a
test can run the engine on the simulator's manual clock without sleeping.

Handles (``wait``), sweeps, the task view, the grid, the panel and ``serve`` all watch through
this module; so do workflow runs (:class:`PollWatch` watches anything :class:`~runway_nb.client.schedule.Polled`,
:class:`Watch` is the watch of tasks). Journal writes, saving and widget updates are subscribers, not code in the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar

from runway_nb.client.schedule import Polled, PollSchedule
from runway_nb.client.subscribers import Subscribers

if TYPE_CHECKING:  # the task model (pydantic) loads when the first task is parsed
    from runway_nb.api.task import Task

__all__ = ["REQUEST_SENT", "AdvancingClock", "Clock", "Event", "Finished", "PollFailed", "PollWatch", "Shared",
           "SystemClock", "Updated", "Watch", "WatchEvent", "WatchTimeout", "drive", "drive_async"]

#: What is watched: a task, a workflow invocation, anything with a status, a progress and an end.
PolledT = TypeVar("PolledT", bound=Polled)

SLACK = 0.005  # seconds: tasks due this close together are polled in one round

#: Called by an async client as each request leaves, set by the async driver around each poll
#: (None elsewhere): a round's requests may wait for their turn (``in_flight.py`` paces them),
#: and a reading is placed after its own first request left, not the round's start.
REQUEST_SENT: ContextVar[Callable[[], None] | None] = ContextVar("REQUEST_SENT", default=None)
SHARED_CHECK = 0.2  # in floors: how soon a watch looks again for the answer to another's GET of its task
MAX_BACKOFF = 60.0  # seconds between polls of a task whose polls keep failing


class Clock(Protocol):
    """Where the engine reads the time and how it waits."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    async def sleep_async(self, seconds: float) -> None: ...


class SystemClock:
    """``time.monotonic`` seconds; real sleeping."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def sleep_async(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Advanceable(Protocol):
    def now(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


class AdvancingClock:
    """A clock whose sleeping moves another clock forward, e.g. the simulator's manual clock:
    ``Runway(simulator=sim, clock=AdvancingClock(sim.clock))`` waits for a task in no real time."""

    def __init__(self, source: _Advanceable):
        self.source = source

    def now(self) -> float:
        return self.source.now()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.source.advance(seconds)

    async def sleep_async(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # still let other tasks run


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class Updated(Generic[PolledT]):
    key: Hashable
    task: PolledT


@dataclass(frozen=True)
class Finished(Generic[PolledT]):
    key: Hashable
    task: PolledT


@dataclass(frozen=True)
class PollFailed:
    key: Hashable
    error: BaseException
    failures: int  # in a row, for this task


#: What a watch of anything tells its subscribers.
Event = Updated[PolledT] | Finished[PolledT] | PollFailed
#: What a watch of tasks tells its subscribers (the common case).
WatchEvent: TypeAlias = Event["Task"]


class WatchTimeout(Exception):  # an internal signal: callers raise errors.APITimeoutError
    """The deadline passed before every watched task finished."""


@dataclass
class Shared:
    """What every watch of one task shares (a view and ``await handle``, two waits through
    ``serve``): the last reading, how many there were, when the next is due and when a GET for it
    left, so that one watch's GET serves the others (see :meth:`PollWatch.ready`). A handle and its
    twin keep one in their state; a watch given none shares with nobody."""

    reads: int = 0
    last: Any = None  # the task (or invocation) last read
    read_at: float | None = None  # when that answer came
    due: float | None = None  # when its next poll is due
    sender: object = None  # the watch entry whose GET for it is out, not answered yet
    sending_since: float | None = None  # when that GET left


@dataclass
class _Entry:
    schedule: PollSchedule
    due: float
    shared: Shared
    failures: int = 0
    reads: int = 0  # the task's readings (``shared.reads``) this watch has taken in


class PollWatch(Generic[PolledT]):
    """The things being watched (tasks, workflow invocations) and when each is next due; no I/O."""

    def __init__(self, *, floor: float = 5.0):
        self.floor = floor
        self._entries: dict[Hashable, _Entry] = {}
        self._subscribers: Subscribers[Event[PolledT]] = Subscribers()

    # -- what is watched
    def add(self, key: Hashable, schedule: PollSchedule, *, now: float, created_at: float | None = None,
            seen: bool = False, shared: Shared | None = None) -> None:
        """Watch ``key``: a task seen before is due now; a new one after the schedule's first delay
        (counted from ``created_at``), so moderation errors show early without polling too soon.
        ``shared``: what the task's other watches read (:meth:`ready`); None: its own."""
        due = now if seen or created_at is None else max(now, created_at + schedule.first_delay())
        if created_at is not None and schedule.created is None:
            schedule.created = created_at  # its run starts after this: a narrower first window
        shared = shared if shared is not None else Shared()
        self._entries[key] = _Entry(schedule, due, shared, reads=shared.reads)

    def discard(self, key: Hashable) -> None:
        self.abandoned(key)
        self._entries.pop(key, None)

    def postpone(self, key: Hashable, until: float) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.due = max(entry.due, until)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._entries))

    def next_due(self) -> float | None:
        return min((e.due for e in self._entries.values()), default=None)

    def ready(self, now: float, *, wait_for_others: bool = True) -> list[Hashable]:
        """The tasks to poll at ``now``, in the order they were added; the caller polls them now
        and tells :meth:`observed`, :meth:`failed` or :meth:`abandoned` of each.

        A task watched elsewhere too (a view and ``await handle``, two waits through ``serve``)
        is read once for all: what another watch read since this one's last poll is taken in
        here (its subscribers are told, its next poll is the shared one), and, with
        ``wait_for_others``, while another watch's GET is out (less than a floor), this one
        waits for its answer. A blocking driver does not: the GET it would wait for may be an
        async one on the event loop it blocks."""
        due = []
        for key, entry in list(self._entries.items()):
            shared = entry.shared
            if shared.reads > entry.reads:
                self._take_shared(key, entry, now)
                if key not in self._entries:
                    continue
            if entry.due > now + SLACK:
                continue
            out = shared.sending_since
            if (wait_for_others and out is not None and shared.sender is not entry
                    and out + self.floor > now + SLACK):
                # look again for its answer soon; after a floor without one, send this watch's own
                entry.due = max(min(now + self.floor * SHARED_CHECK, out + self.floor), now + 2 * SLACK)
                continue
            shared.sender, shared.sending_since = entry, now
            due.append(key)
        return due

    def abandoned(self, key: Hashable) -> None:
        """A poll of ``key`` ended with no answer to tell (cancelled, or a round cut short by an
        error): the task's other watches no longer wait for it."""
        entry = self._entries.get(key)
        if entry is not None:
            self._sent_no_more(entry)

    @staticmethod
    def _sent_no_more(entry: _Entry) -> None:
        shared = entry.shared
        if shared.sender is entry:
            shared.sender = shared.sending_since = None

    def _take_shared(self, key: Hashable, entry: _Entry, now: float) -> None:
        shared = entry.shared
        entry.reads = shared.reads
        polled: PolledT = shared.last
        self._emit(self._settle(key, entry, polled, lambda _schedule: shared.due if shared.due is not None else now))

    def _settle(self, key: Hashable, entry: _Entry | None, polled: PolledT,
                next_due: Callable[[PollSchedule], float]) -> Event[PolledT]:
        """A reading of ``key``: it finished, or it is next due at ``next_due(its schedule)``."""
        if polled.finished:
            self._entries.pop(key, None)
            return Finished(key, polled)
        if entry is not None:
            entry.failures = 0
            entry.due = next_due(entry.schedule)
        return Updated(key, polled)

    # -- what polling found
    def subscribe(self, callback: Callable[[Event[PolledT]], None]) -> Callable[[], None]:
        """Call ``callback`` with every event; returns a function that unsubscribes."""
        return self._subscribers.subscribe(callback)

    def observed(self, key: Hashable, task: PolledT, now: float, *, sent: float | None = None) -> Event[PolledT]:
        """A poll (or anyone else) saw ``task``: finish it, or schedule its next poll. ``now``:
        when the answer came; ``sent``: when its request left, when known (the server read the
        task between the two, which places a progress reading more closely)."""
        entry = self._entries.get(key)
        event = self._settle(key, entry, task, lambda schedule: now + schedule.next_delay(task, now, sent))
        if entry is not None:
            shared = entry.shared
            shared.last, shared.read_at, shared.due = task, now, entry.due
            shared.reads += 1  # after the reading it counts: a watch that sees the count takes it in
            entry.reads = shared.reads
            self._sent_no_more(entry)
        self._emit(event)
        return event

    def failed(self, key: Hashable, error: BaseException, now: float) -> PollFailed:
        """A poll failed (after the client's own retries): try again later, backing off."""
        entry = self._entries.get(key)
        failures = 1
        if entry is not None:
            self._sent_no_more(entry)  # no answer is coming: the task's other watches poll it
            entry.failures += 1
            failures = entry.failures
            entry.due = now + min(MAX_BACKOFF, self.floor * 2 ** min(failures, 6))
        event = PollFailed(key, error, failures)
        self._emit(event)
        return event

    def _emit(self, event: Event[PolledT]) -> None:
        self._subscribers.publish(event)


class Watch(PollWatch["Task"]):
    """The tasks being watched and when each is next due; no I/O."""


def _known_finished(watch: PollWatch[PolledT], known: Callable[[Hashable], PolledT | None] | None,
                    now: float) -> None:
    # A task that ended meanwhile (cancelled here, or seen by a blocking wait elsewhere) needs no GET.
    if known is None:
        return
    for key in watch:
        task = known(key)
        if task is not None and task.finished:
            watch.observed(key, task, now)


@contextmanager
def _telling(watch: PollWatch[PolledT], on_update: Callable[[PolledT], object] | None, *, collect: bool = True
             ) -> Iterator[list[Awaitable[object]]]:
    """Tell ``on_update`` every reading of ``watch``, its own and those it takes in from another
    watch of the task, for as long as the block runs; with ``collect``, what it returns to be
    awaited is collected (for an async driver to await)."""
    told: list[Awaitable[object]] = []
    if on_update is None:
        yield told
        return

    def tell(event: Event[PolledT]) -> None:
        if isinstance(event, (Updated, Finished)):
            result = on_update(event.task)
            if collect and inspect.isawaitable(result):
                told.append(result)

    unsubscribe = watch.subscribe(tell)
    try:
        yield told
    finally:
        unsubscribe()


def drive(watch: PollWatch[PolledT], poll: Callable[[Hashable], PolledT], *, clock: Clock = SYSTEM_CLOCK,
          deadline: float | None = None, tolerate_errors: bool = False,
          on_update: Callable[[PolledT], object] | None = None) -> None:
    """Poll until every watched task has finished (the sync driver).

    ``poll(key)`` GETs one task. A failed poll raises, unless ``tolerate_errors``: then it is
    retried later (:meth:`Watch.failed`). Raises :class:`WatchTimeout` at ``deadline``.
    ``on_update(task)`` is told every reading, as in :func:`drive_async` (nothing it returns is awaited).
    """
    with _telling(watch, on_update, collect=False):
        _sync_rounds(watch, poll, clock, deadline, tolerate_errors)


def _sync_rounds(watch: PollWatch[PolledT], poll: Callable[[Hashable], PolledT], clock: Clock,
                 deadline: float | None, tolerate_errors: bool) -> None:
    while watch:
        due = watch.next_due()
        assert due is not None
        if deadline is not None and due > deadline:
            clock.sleep(max(0.0, deadline - clock.now()))
            raise WatchTimeout
        clock.sleep(max(0.0, due - clock.now()))
        ready = watch.ready(clock.now(), wait_for_others=False)
        unanswered = set(ready)
        try:
            for key in ready:
                sent = clock.now()
                try:
                    task = poll(key)
                except Exception as exc:
                    if not tolerate_errors:
                        raise
                    watch.failed(key, exc, clock.now())
                else:
                    watch.observed(key, task, clock.now(), sent=sent)
                unanswered.discard(key)
        finally:
            for key in unanswered:  # interrupted, or an error ended the round
                watch.abandoned(key)


async def drive_async(watch: PollWatch[PolledT], poll: Callable[[Hashable], Awaitable[PolledT]], *,
                      clock: Clock = SYSTEM_CLOCK, deadline: float | None = None, tolerate_errors: bool = False,
                      wake: asyncio.Event | None = None, known: Callable[[Hashable], PolledT | None] | None = None,
                      on_round: Callable[[float | None], None] | None = None,
                      on_update: Callable[[PolledT], object] | None = None) -> None:
    """Poll until every watched task has finished, without blocking the event loop.

    Tasks due together are polled concurrently. ``wake`` cuts a wait short (a cancel, a new
    task); ``known(key)`` reports a task that ended without this driver (no GET is spent on it);
    ``on_round(next_due)`` is told when the driver goes to sleep (``None`` when it wakes);
    ``on_update(task)`` is told every reading, this driver's and those it takes in from another
    watch of the task, and awaited when it returns an awaitable.
    """
    with _telling(watch, on_update) as told:
        await _rounds(watch, poll, clock, deadline, tolerate_errors, wake, known, on_round, told)


async def _rounds(watch: PollWatch[PolledT], poll: Callable[[Hashable], Awaitable[PolledT]], clock: Clock,
                  deadline: float | None, tolerate_errors: bool, wake: asyncio.Event | None,
                  known: Callable[[Hashable], PolledT | None] | None, on_round: Callable[[float | None], None] | None,
                  told: list[Awaitable[object]]) -> None:
    while watch:
        while told:  # what the last round's readings (or those taken in) told an async on_update
            await told.pop(0)
        _known_finished(watch, known, clock.now())
        due = watch.next_due()
        if due is None:
            break
        if deadline is not None and due > deadline:
            await clock.sleep_async(max(0.0, deadline - clock.now()))
            raise WatchTimeout
        if on_round is not None:
            on_round(due)
        await _pause(clock, max(0.0, due - clock.now()), wake)
        if on_round is not None:
            on_round(None)
        _known_finished(watch, known, clock.now())
        ready = watch.ready(clock.now())
        if not ready:
            continue
        sent = clock.now()  # each request leaves at or after this (some wait for their turn)
        unanswered = set(ready)
        try:
            results = await asyncio.gather(*(_answered(poll, key, clock) for key in ready), return_exceptions=True)
            now = clock.now()
            for key, result in zip(ready, results, strict=True):
                if key not in watch:  # dropped while its GET was in flight (a cancel)
                    continue
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception) or not tolerate_errors:
                        raise result
                    watch.failed(key, result, now)
                else:
                    task, left, answered = result
                    watch.observed(key, task, answered, sent=sent if left is None else left)
                unanswered.discard(key)
        finally:
            for key in unanswered:  # cancelled, or an error ended the round
                watch.abandoned(key)
    while told:
        await told.pop(0)


async def _answered(poll: Callable[[Hashable], Awaitable[PolledT]], key: Hashable,
                    clock: Clock) -> tuple[PolledT, float | None, float]:
    """``poll(key)``, when its request left (None: not told) and when its answer came: a round's
    requests leave and its answers come over a while, and each reading is placed between its own."""
    left: list[float] = []  # when the poll's first request left, in this driver's clock
    REQUEST_SENT.set(lambda: None if left else left.append(clock.now()))  # this task's own (gather)
    polled = await poll(key)
    return polled, left[0] if left else None, clock.now()


async def _pause(clock: Clock, seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None or seconds <= 0:
        await clock.sleep_async(seconds)
        return
    wake.clear()
    sleeper = asyncio.ensure_future(clock.sleep_async(seconds))
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        waker.cancel()

"""How many requests an async client keeps in flight to one host: as few as keep up.

Every answer costs the client's event loop a few milliseconds of Python (httpx, parsing, the watch
engine, a widget's update). In a notebook that loop is the kernel's: when a dozen answers arrive
together, as they do from a fast host for tasks that were created together, the loop runs all of
them before it reads the cell the user just ran. So the limit follows Little's law: in flight =
rate x round trip, for the rate a client should sustain (``SUSTAINED_RATE``) at the shortest
round trip seen lately. From the simulator or a nearby host (a few ms) that is one request at a
time, and the loop answers a cell between any two; over the Internet (100 ms and more) it is up
to ``most``. Before the first answer it is one, as TCP starts slow: a burst to a far host waits one
round trip before it goes wide; one to a near host never opens a dozen connections at once.
A request out for ``STALLED_AFTER`` seconds stops counting, so one hung connection does not hold
back the requests behind it until its timeout. And the rate itself holds: after a burst of
``BURST``, requests start no more than ``SUSTAINED_RATE`` a second, times the clock rate of a
simulator that runs faster than real time (from a near host one at a time would otherwise go as
fast as the loop can take the answers, and a thousand polls due together held a kernel's cells
up by 10-15 ms).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

SUSTAINED_RATE = 200.0  # requests per second: a thousand tasks, each read every 5 s
BURST = 20  # requests that may start at once before the rate holds (a sweep's creates, a round of polls)
ROUND_TRIPS_KEPT = 16  # the limit follows the shortest of this many recent round trips
STALLED_AFTER = 1.0  # seconds: far beyond a near host's round trip, and a far host's limit is large


class InFlightLimit:
    """A semaphore whose size is worked out from the round trips of the requests it let through."""

    def __init__(self, most: int, rate: float = SUSTAINED_RATE, stalled_after: float = STALLED_AFTER,
                 burst: int = BURST, pace: float | None = None):
        self.most = most
        self.rate = rate
        self.stalled_after = stalled_after
        self.burst = burst
        self.pace = rate if pace is None else pace  # requests a second after a burst (real seconds)
        self._next_turn = -math.inf  # the loop time from which the next request may start
        self._out: list[float] = []  # when each request in flight was let through (loop time)
        self._round_trips: deque[float] = deque(maxlen=ROUND_TRIPS_KEPT)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def size(self) -> int:
        if not self._round_trips:
            return 1
        return max(1, min(self.most, math.ceil(min(self._round_trips) * self.rate)))

    @property
    def in_flight(self) -> int:
        """Requests let through that are still out, not counting stalled ones."""
        now = asyncio.get_running_loop().time()
        return sum(1 for start in self._out if now - start < self.stalled_after)

    async def acquire(self) -> float:
        """Wait for a turn; returns the loop time it was given, for ``release``."""
        loop = asyncio.get_running_loop()
        await self._paced(loop)
        while self.in_flight >= self.size or (self._waiters and not self._waiters[0].done()):
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            # Besides a release, a turn comes when the oldest request out counts as stalled.
            stalls = loop.call_at(min(self._out) + self.stalled_after, self._wake) if self._out else None
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # it was this caller's turn: pass it on
                raise
            finally:
                if stalls is not None:
                    stalls.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if self.in_flight < self.size:
                break
        start = loop.time()
        self._out.append(start)
        return start

    async def _paced(self, loop: asyncio.AbstractEventLoop) -> None:
        # After a burst, requests start at most ``rate`` a second (the generic cell rate
        # algorithm): a thousand tasks that fall due together are read over five seconds, not in
        # one stretch of the event loop, which in a notebook is the kernel's, holding up cells.
        now = loop.time()
        turn = max(self._next_turn, now - self.burst / self.pace)
        self._next_turn = turn + 1.0 / self.pace
        if turn > now:
            await asyncio.sleep(turn - now)

    def release(self, start: float, answered: bool) -> None:
        """``answered``: False when the request ended without an answer (nothing learned)."""
        self._out.remove(start)
        if answered:
            self.record(asyncio.get_running_loop().time() - start)
        self._wake()

    def record(self, round_trip: float) -> None:
        """Learn one round trip (seconds from send to answer)."""
        self._round_trips.append(round_trip)

    def _wake(self) -> None:
        free = self.size - self.in_flight
        for waiter in self._waiters:
            if free <= 0:
                break
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

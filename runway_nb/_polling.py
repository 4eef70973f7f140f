"""When to poll a task next.

Polling is the whole cost of watching a task: every GET is a request, every second between a
task finishing and the next GET is latency. Runway updates a task no more often than every
five seconds, so we never poll one task more often than ``floor`` seconds. Within that rule:

- a just-created task is polled promptly (moderation and input errors show up early);
- while RUNNING, the reported progress gives a rate; the next poll is aimed at the expected
  finish (never later than ``max_interval``), then re-aimed with each new reading;
- PENDING/THROTTLED back off geometrically (a throttled task can wait minutes for a slot);
- a little jitter keeps many watched tasks from polling in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .task import PENDING, RUNNING, THROTTLED, Task


@dataclass
class PollSchedule:
    floor: float = 5.0  # Runway's own update interval
    first: float = 2.0  # first poll after creation
    max_interval: float = 30.0
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)

    _readings: list[tuple[float, float]] = field(default_factory=list)  # (time, progress) while RUNNING
    _waiting_polls: int = 0

    def first_delay(self) -> float:
        return min(self.first, self.floor) if self.first > 0 else 0.0

    def next_delay(self, task: Task, now: float) -> float:
        """Seconds to wait after observing ``task`` at monotonic time ``now``."""
        status = task.status
        if status == RUNNING:
            self._waiting_polls = 0
            delay = self._running_delay(task, now)
        elif status in (PENDING, THROTTLED):
            self._waiting_polls += 1
            delay = self.floor * (1.5 ** (self._waiting_polls - 1))
        else:  # an unknown status: keep watching, calmly
            delay = self.floor * 2
        delay = min(max(delay, self.floor), self.max_interval)
        return delay * (1 + self.jitter * self.rng.random())

    def _running_delay(self, task: Task, now: float) -> float:
        p = task.progress
        if p is None:
            return self.floor
        if not self._readings or p > self._readings[-1][1]:
            self._readings.append((now, p))
        if p >= 1.0:
            return self.floor
        rate = self._rate()
        if rate is None or rate <= 0:
            return self.floor
        remaining = (1.0 - p) / rate
        # Aim slightly before the estimate: an early poll costs one request, a late one costs
        # the user's time, and progress readings are coarse.
        return remaining * 0.9

    def _rate(self) -> float | None:
        if len(self._readings) < 2:
            return None
        # Use the span from the first to the latest reading: robust to coarse steps.
        (t0, p0), (t1, p1) = self._readings[0], self._readings[-1]
        if t1 <= t0 or p1 <= p0:
            return None
        return (p1 - p0) / (t1 - t0)

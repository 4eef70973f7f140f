"""The simulator's clock: monotonic *sim* seconds, optionally faster than real time.

``SimClock(speed=10)`` runs ten sim seconds per real second. ``SimClock(manual=True)`` never
moves on its own: only :meth:`advance` moves it (exact, repeatable tests).
"""

from __future__ import annotations

import threading
import time

__all__ = ["SimClock"]


class SimClock:
    """Monotonic simulated time in seconds, starting at ``start``."""

    def __init__(self, speed: float = 1.0, *, manual: bool = False, start: float = 0.0):
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self._lock = threading.Lock()
        self._manual = manual
        self._speed = float(speed)
        self._base_sim = float(start)
        self._base_real = time.monotonic()

    @property
    def manual(self) -> bool:
        return self._manual

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError(f"speed must be > 0, got {value!r}")
        with self._lock:
            # Re-base so that time stays continuous across the change.
            self._base_sim = self._now_locked()
            self._base_real = time.monotonic()
            self._speed = float(value)

    def _now_locked(self) -> float:
        if self._manual:
            return self._base_sim
        return self._base_sim + (time.monotonic() - self._base_real) * self._speed

    def now(self) -> float:
        """Current sim time in seconds."""
        with self._lock:
            return self._now_locked()

    def advance(self, seconds: float) -> float:
        """Move sim time forward by ``seconds`` (both modes). Returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._base_sim += float(seconds)
            return self._now_locked()

    def to_real(self, sim_seconds: float) -> float:
        """How many real seconds ``sim_seconds`` take at the current speed (inf when manual)."""
        if self._manual:
            return float("inf")
        return sim_seconds / self._speed

    def __repr__(self) -> str:
        mode = "manual" if self._manual else f"speed={self._speed:g}"
        return f"SimClock({mode}, now={self.now():.3f})"

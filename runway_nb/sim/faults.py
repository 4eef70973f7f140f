"""Deterministic fault injection: which fault (if any) hits the next API request.

Decisions come first from ``config.script`` (consumed one per request, in order), then from a
``random.Random(config.fault_seed)`` that draws the same number of values for every request, so
one seed and one request sequence always give the same faults (and changing one rate does not
shift the others). The app turns a decision into a response; the adapters (transports, server)
carry out the connection-level ones (``drop``, ``drop_before``) and the delay.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from runway_nb.sim.config import SimConfig

__all__ = ["OK", "Fault", "FaultInjector"]


@dataclass(frozen=True)
class Fault:
    """One decision. ``kind`` is one of ok, 429, 5xx, 5xx_after, drop, drop_before."""

    kind: str = "ok"
    status: int | None = None  # HTTP status for 5xx / 5xx_after
    delay: float = 0.0  # real seconds to hold the answer back ('slow')

    @property
    def before_handling(self) -> bool:
        """The request is answered (or refused) without being handled."""
        return self.kind in ("429", "5xx", "drop_before")


OK = Fault()


class FaultInjector:
    def __init__(self, config: SimConfig):
        self._config = config
        self._lock = threading.Lock()
        self._rng = random.Random(config.fault_seed)

    def reseed(self, seed: int | None = None) -> None:
        with self._lock:
            self._rng = random.Random(self._config.fault_seed if seed is None else seed)

    def decide(self, *, is_create: bool) -> Fault:
        cfg = self._config
        with self._lock:
            if cfg.script:
                return self._scripted(cfg.script.pop(0))
            u = [self._rng.random() for _ in range(6)]
            code = self._rng.choice((502, 503, 504))
        delay = cfg.slow_seconds if u[5] < cfg.rate_slow else 0.0
        if u[0] < cfg.rate_drop_before:
            return Fault("drop_before")
        if u[1] < cfg.rate_429:
            return Fault("429", 429, delay)
        if u[2] < cfg.rate_5xx:
            return Fault("5xx", code, delay)
        if is_create and u[3] < cfg.rate_5xx_after_create:
            return Fault("5xx_after", 500, delay)
        if u[4] < cfg.rate_drop:
            return Fault("drop", None, delay)
        return Fault("ok", None, delay) if delay else OK

    def _scripted(self, name: str) -> Fault:
        if name in ("502", "503", "504"):
            return Fault("5xx", int(name))
        if name == "5xx":
            return Fault("5xx", 503)
        if name == "5xx_after":
            return Fault("5xx_after", 500)
        if name == "429":
            return Fault("429", 429)
        if name == "slow":
            return Fault("ok", None, self._config.slow_seconds or 1.0)
        if name in ("drop", "drop_before"):
            return Fault(name)
        return OK

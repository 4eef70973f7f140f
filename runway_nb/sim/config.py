"""Settings of the simulator: timing, limits, moderation, auth and fault injection.

Every field can be given to ``SimConfig(...)`` and changed later with
``Simulator.configure(**kw)`` / ``SimApp.configure(**kw)`` or ``POST /_sim/config`` (plain values only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_NAMES", "SimConfig", "default_run_seconds"]

# Names accepted in ``SimConfig.script`` (one consumed per API request, in order).
FAULT_NAMES = (
    "ok",  # answer normally
    "429",  # 429 with Retry-After
    "5xx",  # 502, 503 or 504 before handling (picked by the seeded RNG)
    "502", "503", "504",
    "5xx_after",  # handle the request (a create IS committed), then answer 500
    "drop",  # handle the request, then drop the connection without an answer
    "drop_before",  # the connection never opens: nothing happens on the server
    "slow",  # answer normally after ``slow_seconds`` real seconds
)
_FAULT_ALIASES = {
    "5xx_after_create": "5xx_after",
    "500_after": "5xx_after",
    "500_after_create": "5xx_after",
    "after_create_500": "5xx_after",
    "refused": "drop_before",
    "connect": "drop_before",
    "drop_after": "drop",
    "ratelimit": "429",
    "rate_limit": "429",
    "normal": "ok",
    "none": "ok",
}


def normalize_fault_name(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    key = _FAULT_ALIASES.get(key, key)
    if key not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    return key


def default_run_seconds(model: str, endpoint: str, duration: float | None) -> float:
    """Sim seconds a task spends RUNNING: 8 s for an image, 20 s + 4 s per output second for a video."""
    if duration is None:
        return 8.0
    return 20.0 + 4.0 * float(duration)


class _ConstantRunSeconds:
    """``run_seconds`` given as a number: every task runs that long (``plain()`` shows the number)."""

    def __init__(self, constant: float):
        self.constant = constant

    def __call__(self, model: str, endpoint: str, duration: float | None) -> float:
        return self.constant


def _constant(value: float) -> Callable[[str, str, float | None], float]:
    return _ConstantRunSeconds(value)


@dataclass
class SimConfig:
    # --- time and scheduling
    speed: float = 1.0  # sim seconds per real second
    concurrency: int = 2  # max RUNNING tasks per model; the rest are THROTTLED (FIFO)
    pending_seconds: float = 1.0  # sim seconds a task stays PENDING
    run_seconds: Callable[[str, str, float | None], float] = default_run_seconds
    # --- account
    moderation_words: tuple[str, ...] = ("forbidden",)
    api_key: str | None = None  # None: any non-empty Bearer token is accepted
    credits: int = 10000  # starting balance (setting it later resets the balance)
    daily_limit: int | None = None  # creates per model per rolling sim day; None = unlimited
    # --- deterministic fault injection (API routes only; never /_sim/*)
    fault_seed: int = 0
    rate_429: float = 0.0
    retry_after: float = 1.0  # seconds, sent as Retry-After on fault 429s
    rate_5xx: float = 0.0  # 502/503/504 before handling
    rate_5xx_after_create: float = 0.0  # create committed, then 500
    rate_drop: float = 0.0  # request handled (create committed), connection dropped
    rate_drop_before: float = 0.0  # connection refused: nothing happens
    slow_seconds: float = 0.0  # real seconds added to a 'slow' answer
    rate_slow: float = 0.0
    script: list[str] = field(default_factory=list)  # exact faults, one per API request
    # --- provider dialects
    comet_not_exist_seconds: float = 2.0  # comet GETs of younger tasks answer task_not_exist
    comet_not_exist_as_http_error: bool = False  # task_not_exist as HTTP 404 instead of 200
    comet_envelope: bool = False  # comet GET answers the {code, message, data:{...}} envelope

    def __post_init__(self) -> None:
        for name in self.field_names():
            setattr(self, name, self._coerce(name, getattr(self, name)))
        self._check()

    # ------------------------------------------------------------------ helpers
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def update(self, **kw: Any) -> set[str]:
        """Set fields by name; unknown names raise ``TypeError``. Returns the names set."""
        unknown = sorted(set(kw) - set(self.field_names()))
        if unknown:
            raise TypeError(f"unknown simulator setting(s): {', '.join(unknown)}; "
                            f"known: {', '.join(self.field_names())}")
        old = {k: getattr(self, k) for k in kw}
        try:
            for key, value in kw.items():
                setattr(self, key, self._coerce(key, value))
            self._check()
        except Exception:
            for key, value in old.items():
                setattr(self, key, value)
            raise
        return set(kw)

    @staticmethod
    def _coerce(key: str, value: Any) -> Any:
        if key == "run_seconds" and not callable(value):
            return _constant(float(value))
        if key == "moderation_words":
            if isinstance(value, str):
                value = (value,)
            return tuple(str(w) for w in value)
        if key == "script":
            return [normalize_fault_name(n) for n in (value or [])]
        if key in ("speed", "pending_seconds", "retry_after", "slow_seconds", "comet_not_exist_seconds") \
                or key.startswith("rate_"):
            return float(value)
        if key in ("concurrency", "credits", "fault_seed"):
            return int(value)
        if key == "daily_limit":
            return None if value is None else int(value)
        if key in ("comet_not_exist_as_http_error", "comet_envelope"):
            return bool(value)
        return value

    def _check(self) -> None:
        self.script = [normalize_fault_name(n) for n in self.script]
        self.moderation_words = tuple(self.moderation_words)
        if self.speed <= 0:
            raise ValueError("speed must be > 0")
        if self.concurrency < 0:
            raise ValueError("concurrency must be >= 0")
        for name in ("pending_seconds", "retry_after", "slow_seconds", "comet_not_exist_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in self.field_names():
            if name.startswith("rate_") and not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1]")
        if not callable(self.run_seconds):
            raise ValueError("run_seconds must be callable(model, endpoint, duration) -> sim seconds")

    def plain(self) -> dict[str, Any]:
        """The JSON-able settings (``run_seconds`` shown only when it is a constant)."""
        out: dict[str, Any] = {}
        for name in self.field_names():
            value = getattr(self, name)
            if name == "run_seconds":
                value = getattr(value, "constant", "default" if value is default_run_seconds else "custom")
            elif name == "api_key":
                value = None if value is None else "<set>"  # never echo a key
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

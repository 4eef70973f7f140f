"""One task model for every provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runway_nb.api.status import (  # re-exported: the statuses were first defined here
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    STATUS_ALIASES,
    STATUSES,
    SUCCEEDED,
    TERMINAL,
    THROTTLED,
    StatusChecks,
    normalize_status,
)
from runway_nb.errors import failure_hint

__all__ = ["CANCELLED", "FAILED", "PENDING", "RUNNING", "STATUSES", "STATUS_ALIASES", "SUCCEEDED", "TERMINAL",
           "THROTTLED", "CapacityFallback", "ResolvedSettings", "Routing", "Task", "normalize_status"]


class ResolvedSettings(BaseModel):
    """The router settings a routed request was decided with."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    optimize_for: str | None = Field(default=None, alias="optimizeFor")
    price_ceiling: float | None = Field(default=None, alias="priceCeiling")


class CapacityFallback(BaseModel):
    """Models skipped because the account was at its concurrency limit for them."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    skipped: list[str] = Field(default_factory=list)
    all_exhausted: bool = Field(default=False, alias="allExhausted")


class Routing(BaseModel):
    """What a routed generation (``POST /v1/generate/...``) answered: which model ran, and why."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    model: str
    provider: str | None = None
    config_id: str | None = Field(default=None, alias="configId")
    resolved_settings: ResolvedSettings | None = Field(default=None, alias="resolvedSettings")
    resolved_input: dict[str, Any] = Field(default_factory=dict, alias="resolvedInput")
    estimated_credits: float | None = None
    capacity_fallback: CapacityFallback | None = Field(default=None, alias="capacityFallback")

    @model_validator(mode="before")
    @classmethod
    def _credits(cls, data: Any) -> Any:
        # ``estimatedCost: {"credits": n}`` on the wire; one number here
        if isinstance(data, dict) and "estimated_credits" not in data:
            cost = data.get("estimatedCost")
            if isinstance(cost, dict) and isinstance(cost.get("credits"), (int, float)):
                data = {**data, "estimated_credits": cost["credits"]}
        return data

    @property
    def reason(self) -> str:
        """Why this model: the router, what it optimized for, its price ceiling, capacity skips."""
        bits: list[str] = []
        if self.config_id:
            bits.append(f"router {self.config_id}")
        settings = self.resolved_settings
        if settings is not None and settings.optimize_for:
            bits.append(f"optimized for {settings.optimize_for}")
        if settings is not None and settings.price_ceiling is not None:
            bits.append(f"at most {settings.price_ceiling:g} credits")
        fallback = self.capacity_fallback
        if fallback is not None and fallback.all_exhausted:
            bits.append("every eligible model at capacity: queued")
        elif fallback is not None and fallback.skipped:
            bits.append(f"skipped at capacity: {', '.join(fallback.skipped)}")
        return ", ".join(bits)

    def summary(self) -> str:
        """One line: ``routed to gen4_turbo (router default, optimized for cost)``."""
        reason = self.reason
        return f"routed to {self.model}" + (f" ({reason})" if reason else "")


class Task(StatusChecks, BaseModel):
    """A generation task as last seen, whatever provider it came from.

    ``progress`` is 0..1 or None; ``outputs`` are URLs (Runway's expire within 24-48 h);
    ``routing`` says which model a routed generation ran (from ``raw`` when the task carries it;
    Runway sends it with the create answer, which the handle adds); ``raw`` is the payload
    exactly as the provider sent it.
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
    routing: Routing | None = None
    dialect: str = "runway"
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _routing_from_raw(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("routing") is None:
            raw = data.get("raw")
            routing = raw.get("routing") if isinstance(raw, dict) else None
            if isinstance(routing, dict) and isinstance(routing.get("model"), str):
                data = {**data, "routing": routing}
        return data

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
        if self.routing is not None:
            parts.append(self.routing.summary())
        if self.failed:
            code = f" [{self.failure_code}]" if self.failure_code else ""
            parts.append(f"failed{code}: {self.failure or 'no reason given'}")
        return " · ".join(parts)

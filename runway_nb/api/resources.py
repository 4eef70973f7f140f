"""Custom voices and Model Routers as Runway sends them (``/v1/voices``, ``/v1/routers``).

Typed lightly, after ``runwayml`` 5.24's ``types/voice_*`` and ``types/router_*``: the fields a
person reads; ``raw`` keeps the whole answer (a router's full ``settings``, for instance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Router", "Voice", "VoicePreview"]

_LENIENT = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class _WithRaw(BaseModel):
    model_config = _LENIENT

    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, dict) and "raw" not in data:
            return {**data, "raw": dict(data)}
        return data


class Voice(_WithRaw):
    """A custom voice: PROCESSING, then READY (with ``preview_url``) or FAILED (``failure_reason``)."""

    id: str
    name: str
    status: str
    description: str | None = None
    created_at: datetime | None = Field(default=None, alias="createdAt")
    preview_url: str | None = Field(default=None, alias="previewUrl")
    failure_reason: str | None = Field(default=None, alias="failureReason")


class VoicePreview(_WithRaw):
    """``POST /v1/voices/preview``: a sample of a voice designed from a description."""

    url: str
    duration_secs: float = Field(alias="durationSecs")


class Router(_WithRaw):
    """A Model Router: its ``slug`` is what routed generation names as ``configId``."""

    id: str
    slug: str
    name: str | None = None
    description: str | None = None
    version: int | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = Field(default=None, alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def optimize_for(self) -> str | None:
        value = self.settings.get("optimizeFor")
        return value if isinstance(value, str) else None

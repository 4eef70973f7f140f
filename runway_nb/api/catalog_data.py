"""The model catalog as data: the packaged ``catalog.json``, read once on first use.

``catalog.json`` is built by ``tools/build_catalog.py`` from Runway's OpenAPI spec, plus a few
hand-documented legacy models. Reading it is the only I/O in :mod:`runway_nb.api`; importing this
module reads nothing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal, TypedDict

from runway_nb.api.operations import ENDPOINTS, OUTPUT_KINDS

__all__ = [
    "ENDPOINTS",
    "OUTPUT_KINDS",
    "SEED_MAX",
    "Catalog",
    "CreditRule",
    "JsonSchema",
    "ModelInfo",
    "is_loaded",
    "load",
]


SEED_MAX = 4294967295

#: A JSON Schema object as decoded from JSON: its values are any JSON.
JsonSchema = dict[str, Any]


class CreditRule(TypedDict, total=False):
    """A pricing rule, for estimates only (Runway's ``estimatedCost`` is authoritative)."""

    unit: Literal["image", "second", "task"]
    rate: float                 # credits per image, per second of video, or per task (audio)
    rate_720p: float            # images at 720p or below
    rate_no_audio: float        # video with ``audio`` false
    non_mp4_surcharge: float    # per second, when ``outputFormat`` is not mp4
    estimate: str               # "rough" when the figures are a guess
    source: str


class Retired(TypedDict):
    """A model Runway no longer serves: what replaced it, and since when."""

    replacement: str | None
    when: str


class Voices(TypedDict):
    """Where a preset voice goes in a body (dotted ``path``), its ``type`` const, and the presets."""

    path: str
    type: str
    presets: list[str]


class OutputCount(TypedDict):
    """The field that asks for several outputs (``outputCount``, ``numVariants``) and its limits."""

    field: str
    max: int | None
    default: int


class _EntryBase(TypedDict):
    endpoint: str
    model: str
    output: str
    legacy: bool
    ratios: list[str]
    default_ratio: str | None
    durations: list[float] | None
    default_duration: float | None
    prompt_field: str | None
    prompt_min: int | None
    prompt_max: int | None
    required: list[str]
    fields: list[str]
    media_fields: dict[str, str]
    credits: CreditRule
    schema: JsonSchema


class CatalogEntry(_EntryBase, total=False):
    """One model of ``catalog.json`` as stored."""

    source: str | None
    note: str | None
    sends_model: bool
    retired: Retired | None
    voices: Voices | None
    output_count: OutputCount | None


class CatalogFile(TypedDict):
    """``catalog.json`` as stored (the keys this package reads)."""

    api_version: str | None
    ratio_sizes: dict[str, list[int]]
    resolution_short_side: dict[str, int]
    models: list[CatalogEntry]


@dataclass(frozen=True)
class ModelInfo:
    """What the catalog knows of one model on one endpoint."""

    endpoint: str
    model: str
    output: str
    ratios: tuple[str, ...]
    default_ratio: str | None
    durations: tuple[float, ...] | None
    default_duration: float | None
    prompt_field: str | None
    prompt_min: int | None
    prompt_max: int | None
    required: frozenset[str]
    fields: frozenset[str]
    media_fields: dict[str, str] = field(compare=False, hash=False)
    legacy: bool = False
    schema: JsonSchema = field(default_factory=dict, compare=False, hash=False, repr=False)
    credits: CreditRule = field(default_factory=lambda: CreditRule(), compare=False, hash=False)
    source: str = ""          # "openapi 2024-11-06", the SDK module, or where a hand-made entry comes from
    note: str | None = None   # e.g. why a legacy model is refused
    sends_model: bool = True  # False for operations without a model field (recipes, routed generation)
    retired: Retired | None = field(default=None, compare=False, hash=False)
    voices: Voices | None = field(default=None, compare=False, hash=False)
    output_count: OutputCount | None = field(default=None, compare=False, hash=False)

    @classmethod
    def from_entry(cls, entry: CatalogEntry) -> ModelInfo:
        durations = entry["durations"]
        return cls(
            endpoint=entry["endpoint"],
            model=entry["model"],
            output=entry["output"],
            ratios=tuple(entry["ratios"]),
            default_ratio=entry["default_ratio"],
            durations=tuple(durations) if durations is not None else None,
            default_duration=entry["default_duration"],
            prompt_field=entry["prompt_field"],
            prompt_min=entry["prompt_min"],
            prompt_max=entry["prompt_max"],
            required=frozenset(entry["required"]),
            fields=frozenset(entry["fields"]),
            media_fields=dict(entry["media_fields"]),
            legacy=bool(entry["legacy"]),
            schema=entry["schema"],
            credits=CreditRule(**entry["credits"]),
            source=entry.get("source") or "",
            note=entry.get("note"),
            sends_model=entry.get("sends_model", True),
            retired=entry.get("retired"),
            voices=entry.get("voices"),
            output_count=entry.get("output_count"),
        )


def _endpoint_rank(endpoint: str) -> int:
    return ENDPOINTS.index(endpoint) if endpoint in ENDPOINTS else len(ENDPOINTS)


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog, indexed for lookups."""

    by_key: dict[tuple[str, str], ModelInfo]   # (endpoint, model) -> entry
    by_endpoint: dict[str, list[ModelInfo]]    # in the spec's order
    endpoints_by_model: dict[str, list[str]]   # in ENDPOINTS order
    ratio_sizes: dict[str, tuple[int, int]]
    short_side: dict[str, int]                 # resolution token ("720p", "2k") -> pixels
    api_version: str | None

    @classmethod
    def from_file(cls, raw: CatalogFile) -> Catalog:
        by_key: dict[tuple[str, str], ModelInfo] = {}
        by_endpoint: dict[str, list[ModelInfo]] = {ep: [] for ep in ENDPOINTS}
        endpoints_by_model: dict[str, list[str]] = {}
        for entry in raw["models"]:
            info = ModelInfo.from_entry(entry)
            by_key[(info.endpoint, info.model)] = info
            by_endpoint.setdefault(info.endpoint, []).append(info)
            endpoints_by_model.setdefault(info.model, []).append(info.endpoint)
        for endpoints in endpoints_by_model.values():
            endpoints.sort(key=_endpoint_rank)
        return cls(
            by_key=by_key,
            by_endpoint=by_endpoint,
            endpoints_by_model=endpoints_by_model,
            ratio_sizes={k: (int(v[0]), int(v[1])) for k, v in raw["ratio_sizes"].items()},
            short_side=dict(raw["resolution_short_side"]),
            api_version=raw.get("api_version"),
        )


_lock = threading.Lock()
_loaded: Catalog | None = None


def _read_packaged_file() -> str:
    return files(__package__ or "runway_nb.api").joinpath("catalog.json").read_text("utf-8")


def load() -> Catalog:
    """The catalog, read from the package on the first call and kept."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                raw: CatalogFile = json.loads(_read_packaged_file())
                _loaded = Catalog.from_file(raw)
    return _loaded


def is_loaded() -> bool:
    """Whether ``catalog.json`` has been read yet (importing the package does not read it)."""
    return _loaded is not None

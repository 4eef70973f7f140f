"""Runway's Model Routers (``/v1/routers``: create, list, get, update, delete, request history) and
routed generation (``POST /v1/generate/{video,image,audio}``).

A routed request names a router by its slug (``configId``) and gives a model-agnostic ``input``.
The router picks a model from the catalog the way Runway describes it: hard filters in order
(``capability``: the operation, aspect ratio, resolution, duration, audio, output count;
``prompt_length``; ``input_support``: the reference media given; ``allow_deny``: the router's model
list; ``price``: ``maxCreditsPerGeneration`` per output), then a ranking by ``optimizeFor`` (cost:
the catalog's credit estimate; latency: the simulator's run time for the model; quality: the
priciest model, the simulator's stand-in for quality), then, with ``fallback.onCapacity``, models
at the account's concurrency limit are skipped. The chosen model's official body is built from
``input`` and created as a normal task (:meth:`TaskFactory.create`); the answer carries
``routing``. An empty pool answers 400 ``no_eligible_model`` with the ``pipeline``; an unknown
slug 404 ``router_config_not_found``. Every routed request is kept in its router's history.
Routers live in the server's process (they are not written to ``--db``). The simulator starts with
one cost-optimized router, slug ``default`` (:data:`~runway_nb.api.examples.EXAMPLE_ROUTER`), so a
routed request works offline before any router is made; Runway starts with none.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from runway_nb.api import catalog
from runway_nb.api.examples import EXAMPLE_ROUTER
from runway_nb.sim.config import default_run_seconds
from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.messages import (
    ApiError,
    JsonObject,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
    read_json_body,
)
from runway_nb.sim.resource_schemas import UUID_ANY, check_body, find_by_id, page_response
from runway_nb.sim.state import ACTIVE, iso_z
from runway_nb.sim.wire.official import credits_json

__all__ = ["FILTERS", "RoutersApi", "provider_of"]

Kind = Literal["video", "image", "audio"]
Filter = Literal["capability", "prompt_length", "input_support", "allow_deny", "price"]
FILTERS: tuple[Filter, ...] = ("capability", "prompt_length", "input_support", "allow_deny", "price")
_REASON_CODES = {"cost": "lowest_cost", "latency": "best_latency", "quality": "best_quality"}
_DEFAULT_PRESET = "Maya"
_PROVIDERS = (("gen", "runway"), ("aleph", "runway"), ("act_", "runway"), ("upscale", "runway"),
              ("veo", "google"), ("gemini", "google"), ("seed", "bytedance"), ("hailuo", "minimax"),
              ("kling", "kuaishou"), ("eleven", "elevenlabs"), ("gpt", "openai"), ("grok", "xai"),
              ("happyhorse", "alibaba"), ("ideogram", "ideogram"), ("recraft", "recraft"),
              ("nano_banana", "google"), ("magnific", "magnific"), ("mirelo", "mirelo"))


def provider_of(model: str) -> str:
    """Who makes ``model`` (the simulator's reading of the model name)."""
    return next((who for prefix, who in _PROVIDERS if model.startswith(prefix)), "runway")


@dataclass
class Router:
    id: str
    slug: str
    name: str
    description: str | None
    version: int
    settings: JsonObject
    created_wall: float
    updated_wall: float
    requests: list[JsonObject] = field(default_factory=list)  # newest last

    def json(self) -> JsonObject:
        return {"id": self.id, "slug": self.slug, "name": self.name, "description": self.description,
                "version": self.version, "settings": self.settings, "createdAt": iso_z(self.created_wall),
                "updatedAt": iso_z(self.updated_wall)}


@dataclass
class Candidate:
    """A catalog model that may serve the request, with the body it would be sent."""

    info: catalog.ModelInfo
    body: JsonObject
    ratio: str
    duration: float | None
    credits: float = 0.0
    outputs: int = 1
    failed: Filter | None = None  # the first filter that removes it

    @property
    def model(self) -> str:
        return self.info.model


class RoutersApi:
    """The routers routes and the routed generation routes."""

    def __init__(self, ctx: SimContext, tasks: TaskFactory):
        self._ctx = ctx
        self._tasks = tasks
        self._lock = threading.Lock()
        self._routers: dict[str, Router] = {}
        now = time.time()
        seeded = Router(id=str(uuid.uuid4()), slug=EXAMPLE_ROUTER, name="Default router",
                        description="Made by the simulator so routed generation works before you make a router.",
                        version=1, settings=_settings(None), created_wall=now, updated_wall=now)
        self._routers[seeded.id] = seeded

    # ------------------------------------------------------------------ routers
    def _find(self, raw_id: str) -> Router:
        return find_by_id(self._routers, self._lock, raw_id, missing="Model Router not found.", pattern=UUID_ANY)

    def list_routers(self, req: SimRequest) -> SimResponse:
        with self._lock:
            routers = sorted(self._routers.values(), key=lambda r: r.created_wall, reverse=True)
        return page_response(req, routers, Router.json)

    def create(self, req: SimRequest) -> SimResponse:
        body = read_json_body(req)
        check_body("router_create", body, "POST /v1/routers")
        settings = _settings(body.get("settings"))
        now = time.time()
        slug = str(body["slug"])
        router = Router(id=str(uuid.uuid4()), slug=slug, name=str(body.get("name") or slug),
                        description=body.get("description") if isinstance(body.get("description"), str) else None,
                        version=1, settings=settings, created_wall=now, updated_wall=now)
        with self._lock:
            if any(r.slug == slug for r in self._routers.values()):
                raise ApiError(400, f"slug: a Model Router with slug {slug!r} already exists.",
                               [{"code": "custom", "path": ["slug"], "message": "Slug already in use"}])
            self._routers[router.id] = router
        return json_response(200, router.json())

    def get(self, req: SimRequest, router_id: str) -> SimResponse:
        return json_response(200, self._find(router_id).json())

    def update(self, req: SimRequest, router_id: str) -> SimResponse:
        router = self._find(router_id)
        body = read_json_body(req)
        check_body("router_update", body, "PATCH /v1/routers/{id}")
        settings = _settings(body["settings"]) if "settings" in body else None
        with self._lock:
            if "name" in body:
                router.name = str(body["name"])
            if "description" in body:
                router.description = body["description"] if isinstance(body["description"], str) else None
            if settings is not None and settings != router.settings:
                router.settings = settings
                router.version += 1  # only settings changes make a new version
            router.updated_wall = time.time()
        return json_response(200, router.json())

    def delete(self, req: SimRequest, router_id: str) -> SimResponse:
        router = self._find(router_id)
        with self._lock:
            self._routers.pop(router.id, None)
        return empty_response(204)

    def list_requests(self, req: SimRequest, router_id: str) -> SimResponse:
        router = self._find(router_id)
        with self._lock:
            entries = list(reversed(router.requests))
        return page_response(req, entries, lambda entry: entry)  # entries are kept as JSON already

    # ------------------------------------------------------------------ routed generation
    def generate(self, req: SimRequest, kind: str) -> SimResponse:
        body = read_json_body(req)
        gen_kind: Kind = "video" if kind == "video" else "image" if kind == "image" else "audio"
        check_body("generate_video" if gen_kind == "video" else "generate_image" if gen_kind == "image"
                   else "generate_audio", body, f"POST /v1/generate/{gen_kind}")
        slug = str(body["configId"])
        with self._lock:
            router = next((r for r in self._routers.values() if r.slug == slug), None)
        if router is None:
            return json_response(404, {"error": f"Model Router config {slug!r} was not found.",
                                       "code": "router_config_not_found"})
        return _Routing(self._ctx, self._tasks, router, gen_kind, body["input"]).answer(self._record)

    def _record(self, router: Router, entry: JsonObject) -> None:
        with self._lock:
            router.requests.append(entry)


def _settings(given: object) -> JsonObject:
    """Stored settings: the given ones with ``schemaVersion``; cost-optimized allow-all when omitted."""
    settings: JsonObject = dict(given) if isinstance(given, dict) else {"optimizeFor": "cost"}
    settings["schemaVersion"] = 1
    models = settings.get("models")
    if isinstance(models, dict):
        known = {m.model for m in catalog.models(include_legacy=False)}
        for i, model_id in enumerate(models.get("ids") or []):
            if model_id not in known:
                raise ApiError(400, f"settings.models.ids.{i}: unknown model {model_id!r}",
                               [{"code": "custom", "path": ["settings", "models", "ids", i],
                                 "message": f"Unknown model {model_id!r}"}])
    return settings


def _aspect(ratio: str) -> float | None:
    w, sep, h = ratio.partition(":")
    try:
        return float(w) / float(h) if sep else None
    except (ValueError, ZeroDivisionError):
        return None


def _tier(ratio: str, kind: Kind) -> str | None:
    """The resolution tier of a pixel ratio ("1920:1080" -> 1080p / 2k), None for an aspect-only one."""
    w, _, h = ratio.partition(":")
    if not (w.isdigit() and h.isdigit()) or max(int(w), int(h)) < 100:
        return None
    short = min(int(w), int(h))
    if kind == "image":
        return "1k" if short <= 1200 else "2k" if short <= 2200 else "4k"
    return "480p" if short < 600 else "720p" if short <= 800 else "1080p" if short <= 1200 else "4k"


def _uris(items: object, role: str | None = None) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(i["uri"]) for i in items if isinstance(i, dict) and (role is None or i.get("role") == role)]


class _Routing:
    """One routed request: filters, ranking, the task, the answer and the history entry."""

    def __init__(self, ctx: SimContext, tasks: TaskFactory, router: Router, kind: Kind, given: JsonObject):
        self.ctx, self.tasks, self.router, self.kind, self.input = ctx, tasks, router, kind, given
        self.settings = router.settings
        self.optimize: str = str(self.settings.get("optimizeFor") or "cost")
        caps = self.settings.get("maxCreditsPerGeneration") or {}
        self.ceiling: int | None = caps.get(kind) if isinstance(caps, dict) else None
        self.endpoint = self._endpoint()

    def _endpoint(self) -> str:
        if self.kind == "image":
            return "text_to_image"
        if self.kind == "audio":
            return "text_to_speech" if self.input.get("type") == "speech" else "sound_effect"
        if _uris(self.input.get("referenceVideos"), "source"):
            return "video_to_video"
        return "image_to_video" if _uris(self.input.get("referenceImages"), "first") else "text_to_video"

    # ------------------------------------------------------------------ the pipeline
    def answer(self, record: Callable[[Router, JsonObject], None]) -> SimResponse:
        candidates = [self._candidate(info) for info in catalog.models()
                      if info.endpoint == self.endpoint and not info.legacy]
        pipeline: list[JsonObject] = []
        emptied: list[Filter] = []
        alive = candidates
        for name in FILTERS:
            alive = [c for c in alive if self._passes(name, c)]
            pipeline.append({"type": "filter", "filter": name, "models": [c.model for c in alive]})
            if not alive:
                emptied.append(name)
                break
        if not alive:
            message = (f"No model satisfies router {self.router.slug!r} and this request together "
                       f"(the {emptied[0]} filter removed the last candidates).")
            record(self.router, self._entry("no_eligible_model", pipeline, emptied, reason=message))
            return json_response(400, {"error": message, "code": "no_eligible_model", "pipeline": pipeline,
                                       "emptiedBy": emptied})
        ranked = sorted(alive, key=self._score)
        chosen, skipped, exhausted = self._by_capacity(ranked)
        history = list(pipeline)
        if skipped or exhausted:
            history.append({"type": "capacity", "skipped": skipped, "allExhausted": exhausted})
        outcome = "single_candidate" if len(ranked) == 1 else "fallback" if skipped and not exhausted else "selected"
        history.append({"type": "rank", "outcome": outcome})
        reason_code = "only_eligible_model" if len(ranked) == 1 else _REASON_CODES[self.optimize]
        if skipped and not exhausted:
            reason_code = "filter_order_fallback"
        reason = self._reason(chosen, ranked, skipped)
        try:
            task = self.tasks.create(self.endpoint, chosen.body, "official")
        except ApiError as err:
            record(self.router, self._entry("invalid_request", history, [], chosen=chosen, reason=err.message))
            raise
        record(self.router, self._entry("routed", history, [], chosen=chosen, reason=reason,
                                        reason_code=reason_code, task_id=task.id, credits=task.estimated_cost))
        routing: JsonObject = {
            "model": chosen.model, "provider": provider_of(chosen.model), "configId": self.router.slug,
            "resolvedSettings": {"optimizeFor": self.optimize, "priceCeiling": self.ceiling},
            "resolvedInput": self._resolved_input(chosen),
            "estimatedCost": {"credits": credits_json(task.estimated_cost)},
        }
        if self.settings.get("fallback", {}).get("onCapacity") and (skipped or exhausted):
            routing["capacityFallback"] = {"skipped": skipped, "allExhausted": exhausted}
        return json_response(200, {"id": task.id, "routing": routing})

    def _score(self, c: Candidate) -> tuple[float, int]:
        order = [m.model for m in catalog.models()].index(c.model)
        if self.optimize == "latency":
            return default_run_seconds(c.model, self.endpoint, c.duration), order
        if self.optimize == "quality":
            return -c.credits / c.outputs, order
        return c.credits / c.outputs, order

    def _by_capacity(self, ranked: list[Candidate]) -> tuple[Candidate, list[str], bool]:
        fallback = self.settings.get("fallback")
        if not (isinstance(fallback, dict) and fallback.get("onCapacity")):
            return ranked[0], [], False
        limit = self.ctx.config.concurrency
        store = self.ctx.store
        busy: dict[str, int] = {}
        for task_id in store.ids():
            view = store.view(task_id)
            if view is not None and view.status in ACTIVE:
                busy[view.model] = busy.get(view.model, 0) + 1
        skipped: list[str] = []
        for c in ranked:
            if busy.get(c.model, 0) < limit:
                return c, skipped, False
            skipped.append(c.model)
        return ranked[0], skipped, True

    def _reason(self, chosen: Candidate, ranked: list[Candidate], skipped: list[str]) -> str:
        if len(ranked) == 1:
            return f"{chosen.model} is the only eligible model."
        what = {"cost": f"the lowest estimated cost ({credits_json(chosen.credits)} credits)",
                "latency": "the shortest expected run time",
                "quality": "the highest quality tier"}[self.optimize]
        text = f"{chosen.model} has {what} among {len(ranked)} eligible models."
        if skipped:
            text += f" Skipped at the concurrency limit: {', '.join(skipped)}."
        return text

    def _entry(self, status: str, pipeline: list[JsonObject], emptied: list[Filter], *,
               chosen: Candidate | None = None, reason: str | None = None, reason_code: str | None = None,
               task_id: str | None = None, credits: float | None = None) -> JsonObject:
        return {"id": str(uuid.uuid4()), "requestId": f"req_{uuid.uuid4().hex}", "status": status,
                "model": chosen.model if chosen else None,
                "provider": provider_of(chosen.model) if chosen else None, "reason": reason,
                "reasonCode": reason_code, "estimatedCredits": None if credits is None else credits_json(credits),
                "taskId": task_id, "createdAt": iso_z(time.time()), "pipeline": pipeline, "emptiedBy": emptied}

    def _resolved_input(self, c: Candidate) -> JsonObject:
        if self.kind == "video":
            resolution = self.input.get("resolution") or _tier(c.ratio, "video") or "720p"
            return {"duration": c.duration or 0, "ratio": c.ratio, "resolution": resolution}
        if self.kind == "image":
            return {"ratio": c.ratio, "aspectRatio": self.input.get("aspectRatio") or _nearest_aspect(c.ratio),
                    "resolution": self.input.get("resolution") or _tier(c.ratio, "image") or "1k"}
        voice = self.input.get("voice")
        if self.endpoint == "sound_effect":
            kind = "none"
        elif isinstance(voice, dict):
            kind = str(voice.get("type"))
        else:
            kind = "default"
        return {"type": self.input.get("type"), "voice": kind}

    # ------------------------------------------------------------------ one model
    def _candidate(self, info: catalog.ModelInfo) -> Candidate:
        ratio = self._ratio(info) or ""
        duration = self._duration(info)
        body = self._body(info, ratio, duration)
        c = Candidate(info, body, ratio, duration)
        outputs = self.input.get("outputCount")
        c.outputs = int(outputs) if isinstance(outputs, int) and "outputCount" in info.fields else 1
        try:
            c.credits = float(catalog.estimate_credits(self.endpoint, body) or 0.0)
        except Exception:  # a catalog gap: the model is priced at nothing
            c.credits = 0.0
        return c

    def _ratio(self, info: catalog.ModelInfo) -> str | None:
        """The model's ratio for the requested aspect and resolution, or None if it has none."""
        wanted = self.input.get("aspectRatio")
        tier = self.input.get("resolution")
        has_resolution_field = "resolution" in info.fields
        options = list(info.ratios)
        if isinstance(wanted, str):
            target = _aspect(wanted)
            options = [r for r in options if (a := _aspect(r)) is not None and target and abs(a / target - 1) < 0.03]
        if isinstance(tier, str) and not has_resolution_field:
            options = [r for r in options if _tier(r, self.kind) == tier]
        if not options:
            return None
        if info.default_ratio in options:
            return info.default_ratio
        return options[0]

    def _duration(self, info: catalog.ModelInfo) -> float | None:
        if self.kind == "audio":
            value = self.input.get("duration")
            return float(value) if isinstance(value, (int, float)) else None
        if self.kind != "video":
            return None
        wanted = self.input.get("duration")
        if isinstance(wanted, int):
            return float(wanted)
        if info.default_duration is not None:
            return float(info.default_duration)
        return float(min(info.durations)) if info.durations else None

    def _passes(self, name: Filter, c: Candidate) -> bool:
        ok = {"capability": self._capable, "prompt_length": self._prompt_fits, "input_support": self._inputs_fit,
              "allow_deny": self._allowed, "price": self._affordable}[name](c)
        return ok

    def _capable(self, c: Candidate) -> bool:
        info, given = c.info, self.input
        if info.ratios and not c.ratio and self.kind != "audio":
            return False
        if not info.ratios and given.get("aspectRatio"):
            return False
        if isinstance(given.get("resolution"), str) and "resolution" in info.fields:
            allowed = json.dumps(info.schema.get("properties", {}).get("resolution", {}))
            if f'"{given["resolution"]}"' not in allowed:
                return False
        if self.kind == "video" and isinstance(given.get("duration"), int) and (
                not info.durations or float(given["duration"]) not in {float(d) for d in info.durations}):
            return False
        if given.get("audio") is True and "audio" not in info.fields:
            return False
        count = given.get("outputCount")
        if isinstance(count, int) and count > 1 and "outputCount" not in info.fields:
            return False
        if self.kind == "audio" and given.get("loop") and "loop" not in info.fields:
            return False
        return not (self.kind == "audio" and "duration" in given and self.endpoint == "sound_effect"
                    and "duration" not in info.fields)

    def _prompt_fits(self, c: Candidate) -> bool:
        prompt = self.input.get("promptText")
        if not isinstance(prompt, str):
            return "promptText" not in c.info.required
        if c.info.prompt_field is None:
            return True
        low, high = c.info.prompt_min or 0, c.info.prompt_max
        return low <= len(prompt) and (high is None or len(prompt) <= high)

    def _inputs_fit(self, c: Candidate) -> bool:
        info, given = c.info, self.input
        media = info.media_fields
        schema_text = json.dumps(info.schema)
        if self.kind == "image":
            refs = _uris(given.get("referenceImages"))
            if refs and "referenceImages" not in info.fields:
                return False
            return bool(refs) or "referenceImages" not in info.required
        if self.kind == "audio":
            voice = given.get("voice")
            if isinstance(voice, dict) and voice.get("type") == "preset" and "runway-preset" not in schema_text:
                return False
            if isinstance(voice, dict) and voice.get("type") == "reference-audio" \
                    and "reference-audio" not in schema_text:
                return False
            return not (given.get("referenceAudios") and "referenceAudios" not in info.fields)
        if _uris(given.get("referenceImages"), "last") and '"last"' not in schema_text:
            return False
        if _uris(given.get("referenceImages"), "reference") and not ({"references", "referenceImages"} & info.fields):
            return False
        if _uris(given.get("referenceVideos"), "reference") and "referenceVideos" not in media:
            return False
        if given.get("referenceAudio") and "referenceAudio" not in media:
            return False
        return not (given.get("keyframes") and "keyframes" not in info.fields)

    def _allowed(self, c: Candidate) -> bool:
        models = self.settings.get("models")
        if not isinstance(models, dict):
            return True
        ids = set(models.get("ids") or [])
        return c.model in ids if models.get("mode") == "allowlist_only" else c.model not in ids

    def _affordable(self, c: Candidate) -> bool:
        return self.ceiling is None or c.credits / c.outputs <= self.ceiling

    # ------------------------------------------------------------------ the model's body
    def _body(self, info: catalog.ModelInfo, ratio: str, duration: float | None) -> JsonObject:
        given, fields = self.input, info.fields
        body: JsonObject = {"model": info.model}

        def put(name: str, value: object) -> None:
            if value is not None and name in fields:
                body[name] = value

        put("promptText", given.get("promptText"))
        if ratio:
            put("ratio", ratio)
        put("seed", given.get("seed"))
        put("contentModeration", given.get("contentModeration"))
        if self.kind == "image":
            refs = _uris(given.get("referenceImages"))
            put("referenceImages", [{"uri": u} for u in refs] or None)
            put("outputCount", given.get("outputCount"))
        elif self.kind == "video":
            put("negativePrompt", given.get("negativePrompt"))
            put("audio", given.get("audio"))
            if duration is not None and info.durations:
                put("duration", int(duration) if float(duration).is_integer() else duration)
            first, last = _uris(given.get("referenceImages"), "first"), _uris(given.get("referenceImages"), "last")
            if self.endpoint == "image_to_video":
                body["promptImage"] = ([{"uri": first[0], "position": "first"}, {"uri": last[0], "position": "last"}]
                                       if last else first[0])
            if self.endpoint == "video_to_video":
                source = _uris(given.get("referenceVideos"), "source")[0]
                video_field = next((f for f, k in info.media_fields.items() if k == "video"), "videoUri")
                body[video_field] = source
            put("keyframes", given.get("keyframes"))
        else:
            self._audio_body(body, info)
        return body

    def _audio_body(self, body: JsonObject, info: catalog.ModelInfo) -> None:
        given, fields = self.input, info.fields
        if self.endpoint == "sound_effect":
            for name in ("duration", "loop"):
                if name in given and name in fields:
                    body[name] = given[name]
            references = _uris(given.get("referenceAudios"))
            if references and "referenceAudios" in fields:
                body["referenceAudios"] = references  # the operation takes plain URIs
            return
        voice = given.get("voice")
        if isinstance(voice, dict) and voice.get("type") == "preset":
            body["voice"] = {"type": "runway-preset", "presetId": voice.get("presetId")}
        elif isinstance(voice, dict) and voice.get("type") == "reference-audio":
            body["voice"] = {"type": "reference-audio", "audioUri": voice.get("audioUri")}
        elif "voice" in info.required:
            body["voice"] = {"type": "runway-preset", "presetId": _DEFAULT_PRESET}


def _nearest_aspect(ratio: str) -> str:
    aspects = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "2:3", "3:2", "4:5", "5:4")
    value = _aspect(ratio) or 16 / 9
    return min(aspects, key=lambda a: abs((_aspect(a) or 1.0) - value))

"""``SimApp``: the simulator as a pure request handler, ``SimRequest -> SimResponse``.

It speaks Runway's official API (``/v1/...``, version 2024-11-06), three providers' dialects
(CometAPI ``/runwayml/v1/...``, useapi.net ``/v1/runwayml/...``, makevid.ai ``/api/v1/...``), serves
generated outputs and uploads under ``/_sim/...``, and has control routes for tests and demos.
Transports and the HTTP server are thin adapters around :meth:`SimApp.handle`; the only things
they do themselves are the connection-level faults (``drop``, ``drop_before``) and delays, which
the app asks for through :attr:`SimResponse.fault` / :attr:`SimResponse.delay`.

Choices worth knowing:

* ``GET /v1/tasks/{id}`` after a successful ``DELETE`` answers **404** (cancelled and deleted tasks
  alike), as Runway documents ("Aborted and deleted tasks will not be able to be fetched again").
  A second ``DELETE`` answers 404 too.
* Cancelling a task seen RUNNING is charged (Runway: no refund once RUNNING); cancelling a
  PENDING/THROTTLED task costs nothing. Moderation failures are charged (Runway: "same credit
  cost as successful generations"); internal render failures and unreadable inputs
  (failureCode ASSET.INVALID, decided when PENDING ends) are refunded (cost 0).
* Faults apply to the API routes only, never to ``/_sim/*`` (outputs, upload target, control).
* Input media: ``data:`` URIs and ``runway://`` uploads are decoded and used; the simulator's own
  output URLs (any host, path ``/_sim/outputs/...``) are looked up locally, so chaining works;
  other ``https://`` URLs cannot be fetched offline, so a generated placeholder is used (logged).
* Without a ``public_base_url`` (a bare app behind the in-process transport), output URLs start
  with ``http://sim``; :class:`runway_nb.sim.Simulator` supplies a real loopback server's URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from runway_nb.sim.clock import SimClock
from runway_nb.sim.config import SimConfig
from runway_nb.sim.faults import Fault, FaultInjector
from runway_nb.sim.state import SimStats, Task, TaskStore, TaskView, UploadStore, iso_z

__all__ = ["SimApp", "SimRequest", "SimResponse", "API_VERSION", "ORG_MODELS"]

log = logging.getLogger("runway_nb.sim")

API_VERSION = "2024-11-06"
ENDPOINTS = ("text_to_image", "image_to_video", "text_to_video", "video_to_video",
             "character_performance", "video_upscale")
UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID4 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_OUTPUT_PATH = re.compile(rf"/_sim/outputs/({UUID_RE})/(\d+)\.(png|mp4)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Runway's ModelVariant enum (spec 2024-11-06 snapshot): the models GET /v1/organization reports.
ORG_MODELS = (
    "gen4.5", "gen3a_turbo", "gen4_turbo", "gen4_image", "gen4_image_turbo", "gpt_image_2", "act_two",
    "gen4_aleph", "veo3", "veo3.1", "veo3.1_fast", "gemini_2.5_flash", "gemini_image3_pro",
    "gemini_image3.1_flash", "seedream5_pro", "seedream5_lite", "gemini_omni_flash",
    "eleven_multilingual_v2", "seed_audio", "eleven_v3", "eleven_text_to_sound_v2",
    "eleven_voice_isolation", "eleven_voice_dubbing", "eleven_multilingual_sts_v2", "eleven_scribe_v2",
    "gwm1_avatars", "gwm1_avatar_async_audio_to_video", "gwm1_avatar_async_text_to_video",
    "voice_processing", "seedance2", "seedance2_5", "seedance2_fast", "seedance2_mini", "hailuo3",
    "magnific_precision_upscaler_v2", "magnific_video_upscaler_creative", "kling2.5_turbo_pro",
    "kling3.0_pro", "kling3.0_4k", "kling3.0_standard", "klingO3_pro", "klingO3_standard",
    "klingO3_4k", "happyhorse_1_0", "aleph2", "product_swap", "product_ad", "multi_shot_video",
    "product_ugc", "marketing_stock_image", "product_campaign_image", "ad_localization",
)
UNLIMITED_DAILY = 1_000_000  # what GET /v1/organization reports when daily_limit is None
MAX_MONTHLY_SPEND = 2_000_000

_UPLOAD_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "mkv": "video/x-matroska", "m4v": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav",
    "ogg": "audio/ogg", "m4a": "audio/mp4", "aac": "audio/aac", "flac": "audio/flac",
}
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

MODERATION_FAILURE = ("Your input was flagged by our content moderation system. "
                      "Please adjust your prompt and try again.")
DAILY_LIMIT_ERROR = "Your daily task limit has been reached."
USEAPI_USER = "user:1-runwayml:sim@example.com"
_USEAPI_RATIOS = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960", "4:3": "1104:832",
                  "3:4": "832:1104", "21:9": "1584:672"}
_COMET_STATUS = {"PENDING": "QUEUED", "THROTTLED": "QUEUED", "RUNNING": "IN_PROGRESS",
                 "SUCCEEDED": "SUCCESS", "FAILED": "FAILURE", "CANCELLED": "FAILURE"}
_CST = timezone(timedelta(hours=8))  # CometAPI's envelope shows createdAt with +08:00


# ---------------------------------------------------------------------------------------------
# request / response


@dataclass
class SimRequest:
    method: str
    path: str  # as received (percent-encoded), without the query string
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    query: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    fault: str | None = None  # 'drop' (answer lost) or 'drop_before' (connection refused)
    delay: float = 0.0  # real seconds the adapter waits before answering

    def json(self) -> Any:
        return json.loads(self.body)


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> SimResponse:
    body = json.dumps(obj, separators=(",", ":")).encode()
    h = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body))}
    h.update(headers or {})
    return SimResponse(status, h, body)


def _text(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> SimResponse:
    body = text.encode()
    return SimResponse(status, {"Content-Type": content_type, "Content-Length": str(len(body))}, body)


def _empty(status: int = 204) -> SimResponse:
    return SimResponse(status, {}, b"")


class ApiError(Exception):
    """An error answer, shaped later by the route's dialect."""

    def __init__(self, status: int, message: str, issues: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.issues = issues
        self.headers = headers or {}


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Callable[..., SimResponse]
    kind: str  # official | provider | public | control
    dialect: str = "official"
    creates: bool = False


# ---------------------------------------------------------------------------------------------
# the app


class SimApp:
    """A simulated Runway API. Thread-safe; one instance can serve many clients at once."""

    def __init__(self, config: SimConfig | None = None, *, clock: SimClock | None = None,
                 public_base_url: str | Callable[[], str] | None = None, render_workers: int = 2):
        self.config = config or SimConfig()
        self.clock = clock or SimClock(self.config.speed)
        if not self.clock.manual and self.clock.speed != self.config.speed:
            self.clock.speed = self.config.speed
        self.public_base_url = public_base_url
        self.stats = SimStats()
        self.store = TaskStore(self.config, self.clock)
        self.uploads = UploadStore(self.clock)
        self.faults = FaultInjector(self.config)
        self._executor = ThreadPoolExecutor(max_workers=render_workers,
                                            thread_name_prefix="runway-sim-render")
        self._render_cache: OrderedDict[str, list[bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._warned_urls: set[str] = set()
        self._closed = False
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ public helpers
    def configure(self, **kw: Any) -> SimConfig:
        """Change settings at run time (see :class:`SimConfig`)."""
        self.store.tick()
        names = self.config.update(**kw)
        if "speed" in names and not self.clock.manual:
            self.clock.speed = self.config.speed
        if "credits" in names:
            self.store.reset_balance(self.config.credits)
        if "fault_seed" in names:
            self.faults.reseed()
        if "concurrency" in names:
            self.store.reschedule()
        return self.config

    def base_url(self) -> str:
        base = self.public_base_url
        if callable(base):
            base = base()
        return (base or "http://sim").rstrip("/")

    def output_url(self, task_id: str, index: int, ext: str) -> str:
        return f"{self.base_url()}/_sim/outputs/{task_id}/{index}.{ext}"

    def wait_media(self, timeout: float | None = 60.0) -> bool:
        """Block until every render submitted so far has finished (tests use this with a
        manual clock so that results do not depend on rendering speed)."""
        return self.store.wait_media(timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ dispatch
    def _build_routes(self) -> list[_Route]:
        eps = "|".join(ENDPOINTS)
        r: list[tuple] = [
            # official
            ("POST", rf"/v1/(?P<endpoint>{eps})", "/v1/{endpoint}", self._official_create, "official", "official", True),
            ("GET", r"/v1/tasks/(?P<task_id>[^/]+)", "/v1/tasks/{id}", self._official_get, "official"),
            ("DELETE", r"/v1/tasks/(?P<task_id>[^/]+)", "/v1/tasks/{id}", self._official_delete, "official"),
            ("POST", r"/v1/uploads", "/v1/uploads", self._uploads_create, "official"),
            ("GET", r"/v1/organization", "/v1/organization", self._organization, "official"),
            ("POST", r"/v1/organization/usage", "/v1/organization/usage", self._organization_usage, "official"),
            # CometAPI, official format
            ("POST", rf"/runwayml/v1/(?P<endpoint>{eps})", "/runwayml/v1/{endpoint}", self._comet_create, "provider", "comet", True),
            ("GET", r"/runwayml/v1/tasks/(?P<task_id>[^/]+)", "/runwayml/v1/tasks/{id}", self._comet_get, "provider", "comet"),
            # useapi.net
            ("GET", r"/v1/runwayml/tasks/(?P<task_id>[^/]+)", "/v1/runwayml/tasks/{taskId}", self._useapi_get, "provider", "useapi"),
            ("POST", r"/v1/runwayml/gen4/create", "/v1/runwayml/gen4/create", self._useapi_create, "provider", "useapi", True),
            # makevid.ai
            ("POST", r"/api/v1/create_runway", "/api/v1/create_runway", self._makevid_create, "provider", "makevid", True),
            ("GET", r"/api/v1/get_runway/(?P<task_id>[^/]+)", "/api/v1/get_runway/{id}", self._makevid_get, "provider", "makevid"),
            # simulator's own
            ("GET", r"/_sim/outputs/(?P<task_id>[^/]+)/(?P<index>\d+)\.(?P<ext>png|mp4)", "/_sim/outputs/{id}/{n}", self._output, "public"),
            ("HEAD", r"/_sim/outputs/(?P<task_id>[^/]+)/(?P<index>\d+)\.(?P<ext>png|mp4)", "/_sim/outputs/{id}/{n}", self._output, "public"),
            ("POST", r"/_sim/upload/(?P<token>[0-9a-f]+)", "/_sim/upload/{token}", self._upload_target, "public"),
            ("GET", r"/_sim/health", "/_sim/health", self._health, "control"),
            ("GET", r"/_sim/stats", "/_sim/stats", self._stats, "control"),
            ("GET", r"/_sim/tasks", "/_sim/tasks", self._task_list, "control"),
            ("GET", r"/_sim/config", "/_sim/config", self._get_config, "control"),
            ("POST", r"/_sim/config", "/_sim/config", self._set_config, "control"),
            ("POST", r"/_sim/advance", "/_sim/advance", self._advance, "control"),
        ]
        routes = []
        for method, pat, template, handler, kind, *rest in r:
            dialect = rest[0] if rest else "official"
            creates = rest[1] if len(rest) > 1 else False
            routes.append(_Route(method, re.compile(pat + r"/?$"), template, handler, kind, dialect, creates))
        return routes

    def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request. Never raises."""
        try:
            return self._handle(req)
        except Exception:  # pragma: no cover - a bug; answer like a server would
            log.exception("simulator error on %s %s", req.method, req.path)
            return _json(500, {"error": "An unexpected error occurred in the simulator."})

    def _handle(self, req: SimRequest) -> SimResponse:
        path = req.path.split("?", 1)[0] or "/"
        matched: _Route | None = None
        params: dict[str, str] = {}
        allowed: list[str] = []
        for route in self._routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            if route.method == req.method:
                matched, params = route, m.groupdict()
                break
            allowed.append(route.method)
        if matched is None:
            self.stats.count_request(req.method, "<unmatched>")
            if allowed:
                return _json(405, {"error": f"Method {req.method} is not allowed on {path}."},
                             {"Allow": ", ".join(sorted(set(allowed)))})
            return _json(404, {"error": f"Not found: {req.method} {path}"})

        fault: Fault | None = None
        if matched.kind in ("official", "provider"):
            fault = self.faults.decide(is_create=matched.creates)
            if fault.kind != "ok":
                self.stats.count_fault(fault.kind)
            if fault.kind == "drop_before":
                return SimResponse(0, fault="drop_before")
        route_name = matched.template
        if "endpoint" in params:
            route_name = route_name.replace("{endpoint}", params["endpoint"])
        self.stats.count_request(req.method, route_name)
        if fault is not None and fault.kind == "429":
            resp = self._error(matched.dialect, ApiError(429, "Too many requests. Please retry later.",
                                                          headers={"Retry-After": _num(self.config.retry_after)}))
        elif fault is not None and fault.kind == "5xx":
            resp = _fault_5xx(fault.status or 503)
        else:
            try:
                if matched.kind == "official":
                    self._check_auth(req)
                    self._check_version(req)
                elif matched.kind == "provider":
                    self._check_auth(req)
                resp = matched.handler(req, **params)
            except ApiError as err:
                resp = self._error(matched.dialect, err)
            if fault is not None and fault.kind == "5xx_after":
                resp = _json(500, {"error": "An unexpected error occurred."})
            elif fault is not None and fault.kind == "drop":
                resp.fault = "drop"
        if fault is not None:
            resp.delay = fault.delay
        return resp

    def _error(self, dialect: str, err: ApiError) -> SimResponse:
        if dialect == "useapi":
            body: dict[str, Any] = {"error": err.message, "code": err.status}
        else:
            body = {"error": err.message}
            if err.issues:
                body["issues"] = err.issues
        return _json(err.status, body, err.headers)

    # ------------------------------------------------------------------ checks
    def _check_auth(self, req: SimRequest) -> None:
        auth = req.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "An API key is required: send it as 'Authorization: Bearer <key>'.")
        if self.config.api_key is not None and token != self.config.api_key:
            raise ApiError(401, "Invalid API key. Check the key and that it is meant for this server.")

    def _check_version(self, req: SimRequest) -> None:
        version = req.header("x-runway-version")
        if version is None:
            raise ApiError(400, f"The X-Runway-Version header is required. Set it to {API_VERSION}.",
                           [{"code": "invalid_type", "path": ["X-Runway-Version"], "message": "Required"}])
        if version.strip() != API_VERSION:
            raise ApiError(400, f"Invalid X-Runway-Version header: the supported version is {API_VERSION}.",
                           [{"code": "invalid_literal", "path": ["X-Runway-Version"],
                             "message": f"Invalid literal value, expected \"{API_VERSION}\""}])

    @staticmethod
    def _body(req: SimRequest) -> dict[str, Any]:
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.",
                           [{"code": "invalid_type", "path": [], "message": "Expected object"}])
        return body

    # ------------------------------------------------------------------ creating tasks
    def _create_task(self, endpoint: str, body: dict[str, Any], dialect: str) -> Task:
        from runway_nb.api import catalog
        from runway_nb.errors import ValidationError

        try:
            catalog.validate(endpoint, _for_validation(body), strict=True)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        model = str(body["model"])
        limit = self.config.daily_limit
        if limit is not None and self.store.daily_count(model) >= limit:
            raise ApiError(429, DAILY_LIMIT_ERROR)
        src_image, src_video = self._sources(endpoint, body)

        task_id = self.store.new_id()
        seed = body.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = uuid.UUID(task_id).int % (2 ** 32)
        out_kind = _output_kind(catalog, endpoint, model)
        try:
            width, height = catalog.output_size(endpoint, body)
        except Exception:  # noqa: BLE001 - a catalog gap must not break the simulator
            log.warning("sim: no output size for %s/%s; using 1280x720", endpoint, model)
            width, height = 1280, 720
        duration = None
        input_seconds = _probe_seconds(src_video) if src_video else None
        extra = {"input_duration": input_seconds} if input_seconds else {}
        if out_kind == "video":
            try:
                duration = catalog.output_duration(endpoint, body, **extra)
            except Exception:  # noqa: BLE001
                duration = None
            duration = float(duration) if duration else 5.0
        try:
            estimate = catalog.estimate_credits(endpoint, body, **extra)
        except Exception:  # noqa: BLE001
            estimate = None
        estimate = float(estimate) if estimate is not None else 0.0
        if self.store.balance < math.ceil(estimate):
            raise ApiError(400, "You do not have enough credits to run this task.")
        count = 1
        if out_kind == "image" and isinstance(body.get("outputCount"), int):
            count = max(1, min(10, body["outputCount"]))

        now = self.clock.now()
        task = Task(
            id=task_id, endpoint=endpoint, model=model, body=dict(body), created_wall=time.time(),
            created_sim=now, pending_seconds=self.config.pending_seconds,
            run_seconds=float(self.config.run_seconds(model, endpoint, duration)),
            estimated_cost=estimate, seed=int(seed), out_kind=out_kind, out_size=(int(width), int(height)),
            out_duration=duration, out_count=count, dialect=dialect,
            preset_failure=self._moderate(body) or _unreadable(src_image, src_video),
        )
        self.store.add(task)
        self.stats.count_create(endpoint)
        if task.preset_failure is None:
            job = _RenderJob(out_kind, task.out_size, duration, _prompt(body), model, task.seed, count,
                             src_image, src_video)
            future = self._executor.submit(self._render, job)
            self.store.attach_future(task.id, future)
        return task

    def _moderate(self, body: dict[str, Any]) -> tuple[str, str] | None:
        text = " ".join(str(body.get(k) or "") for k in ("promptText", "negativePrompt")).lower()
        for word in self.config.moderation_words:
            if word and word.lower() in text:
                return MODERATION_FAILURE, "SAFETY.INPUT.TEXT"
        return None

    def _sources(self, endpoint: str, body: dict[str, Any]) -> tuple[bytes | None, bytes | None]:
        """(source image, source video) bytes for the render, from the body's media fields."""
        image = video = None
        if endpoint == "image_to_video":
            pi = body.get("promptImage")
            if isinstance(pi, list):
                items = [p for p in pi if isinstance(p, dict)]
                first = next((p for p in items if p.get("position") == "first"), items[0] if items else None)
                for i, p in enumerate(items):
                    data = self._resolve(f"promptImage.{i}.uri", p.get("uri"))
                    if p is first:
                        image = data
            elif isinstance(pi, str):
                image = self._resolve("promptImage", pi)
        elif endpoint == "text_to_image":
            refs = body.get("referenceImages") or []
            for i, ref in enumerate(refs):
                if isinstance(ref, dict):
                    data = self._resolve(f"referenceImages.{i}.uri", ref.get("uri"))
                    image = image if image is not None else data
        elif endpoint in ("video_to_video", "video_upscale"):
            for key in ("videoUri", "promptVideo"):
                if isinstance(body.get(key), str):
                    video = self._resolve(key, body[key])
                    break
        elif endpoint == "character_performance":
            char = body.get("character") or {}
            if isinstance(char, dict):
                data = self._resolve("character.uri", char.get("uri"))
                if char.get("type") == "video":
                    video = data
                else:
                    image = data
            ref = body.get("reference") or {}
            if isinstance(ref, dict):
                self._resolve("reference.uri", ref.get("uri"))
        return image, video

    def _resolve(self, field_path: str, uri: Any) -> bytes | None:
        """Bytes behind a media URI, or None when a placeholder must stand in."""
        if not isinstance(uri, str):
            return None
        if uri.startswith("data:"):
            head, sep, payload = uri.partition(",")
            if not sep or ";base64" not in head:
                raise ApiError(400, f"{field_path}: Invalid data URI: it must be base64 encoded.")
            try:
                return base64.b64decode(payload, validate=False)
            except ValueError:
                raise ApiError(400, f"{field_path}: Invalid data URI: the base64 payload is malformed.") from None
        if uri.startswith("runway://"):
            up = self.uploads.resolve(uri)
            if up is None:
                raise ApiError(400, f"{field_path}: The runway:// URI does not match an uploaded file, "
                                    "or the upload has expired.")
            return up.data
        m = _OUTPUT_PATH.search(urlsplit(uri).path)
        if m is not None:
            found = self.store.output(m.group(1), int(m.group(2)))
            if found is None:
                raise ApiError(400, f"{field_path}: Failed to fetch the asset (HTTP 404).")
            return found[0]
        if uri not in self._warned_urls:
            self._warned_urls.add(uri)
            log.warning("runway-nb simulator: cannot fetch %s offline; using a generated placeholder "
                        "for %s instead.", _short_url(uri), field_path)
        return None

    def _render(self, job: "_RenderJob") -> list[bytes]:
        key = job.cache_key()
        with self._cache_lock:
            if key in self._render_cache:
                self._render_cache.move_to_end(key)
                return self._render_cache[key]
        from runway_nb.sim import media

        w, h = job.size
        outs: list[bytes] = []
        for i in range(job.count):
            seed = (job.seed + i) % (2 ** 32)
            if job.kind == "image":
                outs.append(media.render_image(w, h, prompt=job.prompt, model=job.model, seed=seed,
                                               source=job.source_image))
            else:
                outs.append(media.render_video(w, h, job.duration, prompt=job.prompt, model=job.model,
                                               seed=seed, source_image=job.source_image,
                                               source_video=job.source_video))
        with self._cache_lock:
            self._render_cache[key] = outs
            while len(self._render_cache) > 24:
                self._render_cache.popitem(last=False)
        return outs

    # ------------------------------------------------------------------ official routes
    def _official_create(self, req: SimRequest, endpoint: str) -> SimResponse:
        task = self._create_task(endpoint, self._body(req), "official")
        return _json(200, {"id": task.id, "estimatedCost": {"credits": _credits(task.estimated_cost)}})

    def _official_get(self, req: SimRequest, task_id: str) -> SimResponse:
        task_id = unquote(task_id)
        if not _UUID4.match(task_id):
            raise ApiError(400, "id: Invalid uuid",
                           [{"code": "invalid_string", "path": ["id"], "message": "Invalid uuid"}])
        view = self.store.view(task_id)
        if view is None:
            raise ApiError(404, "Task not found.")
        return _json(200, self.official_task(view))

    def _official_delete(self, req: SimRequest, task_id: str) -> SimResponse:
        task_id = unquote(task_id)
        if not _UUID4.match(task_id):
            raise ApiError(400, "id: Invalid uuid",
                           [{"code": "invalid_string", "path": ["id"], "message": "Invalid uuid"}])
        if self.store.cancel_or_delete(task_id) is None:
            raise ApiError(404, "Task not found: it does not exist, or was already deleted or cancelled.")
        return _empty(204)

    def official_task(self, v: TaskView) -> dict[str, Any]:
        """The task JSON of ``GET /v1/tasks/{id}`` (valid against the spec for every status)."""
        out: dict[str, Any] = {"id": v.id, "createdAt": v.created_at, "status": v.status}
        if v.status in ("PENDING", "THROTTLED"):
            out["estimatedCost"] = {"credits": _credits(v.estimated_cost)}
        elif v.status == "RUNNING":
            out["progress"] = v.progress
            out["estimatedCost"] = {"credits": _credits(v.estimated_cost)}
        elif v.status == "SUCCEEDED":
            out["output"] = self._output_urls(v)
            out["cost"] = {"credits": int(v.cost or 0)}
        elif v.status == "FAILED":
            out["failure"] = v.failure or "The task failed."
            if v.failure_code:
                out["failureCode"] = v.failure_code
            out["cost"] = {"credits": int(v.cost or 0)}
        else:  # CANCELLED
            out["cost"] = {"credits": int(v.cost or 0)}
        return out

    def _output_urls(self, v: TaskView) -> list[str]:
        return [self.output_url(v.id, i, v.ext) for i in range(len(v.output_sizes) or v.out_count)]

    def _uploads_create(self, req: SimRequest) -> SimResponse:
        body = self._body(req)
        filename, kind = body.get("filename"), body.get("type")
        issues = []
        if not isinstance(filename, str) or not 3 <= len(filename) <= 255:
            issues.append({"code": "invalid_type" if not isinstance(filename, str) else "too_small",
                           "path": ["filename"], "message": "Filename must be 3 to 255 characters long"})
        elif filename.rsplit(".", 1)[-1].lower() not in _UPLOAD_TYPES or "." not in filename:
            issues.append({"code": "custom", "path": ["filename"],
                           "message": "Filename must have a supported image, video or audio extension"})
        if kind != "ephemeral":
            issues.append({"code": "invalid_enum_value", "path": ["type"],
                           "message": "Invalid enum value. Expected 'ephemeral'"})
        if issues:
            raise ApiError(400, f"{issues[0]['path'][0]}: {issues[0]['message']}", issues)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        up = self.uploads.create(safe)
        mime = _UPLOAD_TYPES[safe.rsplit(".", 1)[-1].lower()]
        return _json(200, {
            "uploadUrl": f"{self.base_url()}/_sim/upload/{up.token}",
            "fields": {"key": f"uploads/{up.token}/{safe}", "Content-Type": mime},
            "runwayUri": up.runway_uri,
        })

    def _organization(self, req: SimRequest) -> SimResponse:
        counts = self.store.daily_counts()
        models = list(ORG_MODELS) + [m for m in counts if m not in ORG_MODELS]
        daily = self.config.daily_limit
        tier = {m: {"maxConcurrentGenerations": int(self.config.concurrency),
                    "maxDailyGenerations": int(daily) if daily is not None else UNLIMITED_DAILY}
                for m in models}
        usage = {m: {"dailyGenerations": n} for m, n in counts.items()}
        return _json(200, {"creditBalance": max(0, self.store.balance),
                           "tier": {"maxMonthlyCreditSpend": MAX_MONTHLY_SPEND, "models": tier},
                           "usage": {"models": usage}})

    def _organization_usage(self, req: SimRequest) -> SimResponse:
        body = self._body(req)
        today = datetime.now(timezone.utc).date()
        try:
            start = _parse_date(body, "startDate")
            before = _parse_date(body, "beforeDate")
            if start is None and before is None:  # the last 30 days, today included
                start, before = today - timedelta(days=29), today + timedelta(days=1)
            elif start is None:
                start = before - timedelta(days=30)
            elif before is None:
                before = start + timedelta(days=30)
        except ValueError as exc:
            raise ApiError(400, str(exc), [{"code": "invalid_string", "path": [str(exc).split(":")[0]],
                                            "message": "Invalid date"}]) from None
        if before <= start or (before - start).days > 90:
            raise ApiError(400, "beforeDate must be after startDate and at most 90 days later.")
        per_day: dict[str, dict[str, int]] = {}
        for wall, model, credits in self.store.ledger():
            d = datetime.fromtimestamp(wall, tz=timezone.utc).date()
            if start <= d < before:
                per_day.setdefault(d.isoformat(), {}).setdefault(model, 0)
                per_day[d.isoformat()][model] += credits
        results = [{"date": d, "usedCredits": [{"model": m, "amount": a} for m, a in sorted(per_day[d].items())]}
                   for d in sorted(per_day)]
        models = sorted({m for d in per_day.values() for m in d})
        return _json(200, {"results": results, "models": models})

    # ------------------------------------------------------------------ CometAPI
    def _comet_create(self, req: SimRequest, endpoint: str) -> SimResponse:
        version = req.header("x-runway-version")
        if version is not None and version.strip() != API_VERSION:
            self._check_version(req)
        task = self._create_task(endpoint, self._body(req), "comet")
        return _json(200, {"id": task.id, "estimatedCost": {"credits": _credits(task.estimated_cost)}})

    def _comet_get(self, req: SimRequest, task_id: str) -> SimResponse:
        view = self.store.view(unquote(task_id))
        if view is None or view.age_sim < self.config.comet_not_exist_seconds:
            body = {"code": "task_not_exist", "message": "task_not_exist", "data": None}
            return _json(404 if self.config.comet_not_exist_as_http_error else 200, body)
        if not self.config.comet_envelope:
            return _json(200, self.comet_bare(view))
        inner = self.official_task(view)
        inner["createdAt"] = datetime.fromtimestamp(view.created_wall, tz=_CST).isoformat(timespec="seconds")
        if view.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
            progress = "100%"
        elif view.status == "RUNNING":
            progress = f"{int((view.progress or 0) * 100)}%"
        else:
            progress = "0%"
        return _json(200, {"code": "success", "message": "", "data": {
            "task_id": view.id,
            "action": view.endpoint.upper(),
            "status": _COMET_STATUS[view.status],
            "fail_reason": view.failure or "",
            "submit_time": int(view.created_wall),
            "start_time": int(view.started_wall or 0),
            "finish_time": int(view.finished_wall or 0),
            "progress": progress,
            "data": inner,
        }})

    def comet_bare(self, v: TaskView) -> dict[str, Any]:
        status = "PENDING" if v.status == "THROTTLED" else ("FAILED" if v.status == "CANCELLED" else v.status)
        out: dict[str, Any] = {"id": v.id, "status": status, "createdAt": v.created_at}
        if status == "RUNNING":
            out["progress"] = v.progress
        elif status == "SUCCEEDED":
            out["output"] = self._output_urls(v)
        elif status == "FAILED":
            out["failure"] = v.failure or "The task was cancelled."
            if v.failure_code:
                out["failureCode"] = v.failure_code
        return out

    # ------------------------------------------------------------------ useapi.net
    def _useapi_create(self, req: SimRequest) -> SimResponse:
        body = self._body(req)
        image = body.get("image")
        if not image:
            raise ApiError(400, "Parameter image is required")
        ratio = _USEAPI_RATIOS.get(str(body.get("aspect_ratio") or "16:9"))
        if ratio is None:
            raise ApiError(400, f"Parameter aspect_ratio must be one of {', '.join(_USEAPI_RATIOS)}")
        official: dict[str, Any] = {"model": "gen4_turbo", "promptImage": image, "ratio": ratio,
                                    "duration": int(body.get("seconds") or 5)}
        if body.get("text_prompt"):
            official["promptText"] = body["text_prompt"]
        if body.get("seed") is not None:
            official["seed"] = body["seed"]
        task = self._create_task("image_to_video", official, "useapi")
        view = self.store.view(task.id)
        assert view is not None
        return _json(200, self.useapi_task(view))

    def _useapi_get(self, req: SimRequest, task_id: str) -> SimResponse:
        raw = unquote(task_id)
        tid = raw.rsplit("-task:", 1)[-1]
        view = self.store.view(tid) if re.fullmatch(UUID_RE, tid) else None
        if view is None:
            raise ApiError(404, "Not found.")
        return _json(200, self.useapi_task(view))

    def _webapp_task(self, v: TaskView, *, useapi: bool) -> dict[str, Any]:
        """The Runway web-app task format that useapi.net and makevid.ai pass through."""
        task_type = ("gen4" if v.dialect == "useapi" else v.model) if useapi else v.model
        prompt = _prompt(v.body)
        name = f"{task_type} {v.seed}, {prompt[:80]}".strip().rstrip(",")
        updated = v.finished_wall or v.started_wall or v.created_wall
        task_ref = f"{USEAPI_USER}-task:{v.id}" if useapi else v.id
        status = v.status
        progress_ratio: str | None
        if status == "RUNNING":
            progress_ratio = f"{v.progress or 0:g}"
        elif status == "SUCCEEDED":
            progress_ratio = "1"
        elif useapi:
            progress_ratio = "0"
        else:
            progress_ratio = None
        error: Any = None
        if status == "FAILED":
            if useapi:
                error = {"errorMessage": v.failure, "reason": v.failure_code or "INTERNAL",
                         "message": v.failure,
                         "moderation_category": "TEXT" if (v.failure_code or "").startswith("SAFETY") else None,
                         "tally_asimov": False}
            else:
                error = v.failure
        artifacts = []
        if status == "SUCCEEDED":
            for i, (url, size) in enumerate(zip(self._output_urls(v), v.output_sizes)):
                aid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{v.id}/{i}"))
                meta: dict[str, Any] = {"dimensions": list(v.out_size),
                                        "size": {"width": v.out_size[0], "height": v.out_size[1]}}
                if v.out_kind == "video":
                    meta = {"frameRate": 24, "duration": v.out_duration, **meta}
                art = {
                    "id": aid, "createdAt": iso_z(updated), "updatedAt": iso_z(updated),
                    "userId": 1, "createdBy": 1, "taskId": task_ref,
                    "parentAssetGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, "runway-nb-sim/assets")),
                    "filename": f"{name[:60]}.{v.ext}", "url": url, "fileSize": str(size),
                    "isDirectory": False, "previewUrls": [url] if v.out_kind == "image" else [],
                    "private": True, "privateInTeam": True, "deleted": False, "reported": False,
                    "metadata": meta, "favorite": False,
                }
                if useapi:
                    art = {"assetId": f"{USEAPI_USER}-asset:{aid}", **art}
                artifacts.append(art)
        init_image = v.body.get("promptImage")
        if isinstance(init_image, list):
            init_image = (init_image[0] or {}).get("uri") if init_image else None
        options: dict[str, Any] = {
            "name": name, "seconds": v.out_duration, "text_prompt": prompt, "seed": v.seed,
            "exploreMode": False, "watermark": False, "enhance_prompt": False,
            "init_image": init_image if isinstance(init_image, str) and not init_image.startswith("data:") else None,
            "resolution": "720p", "assetGroupName": "Generative Video",
        }
        if useapi:
            options["recordingEnabled"] = True
        else:
            options["image_as_end_frame"] = False
        eta = v.eta_start_sim
        out: dict[str, Any] = {}
        if useapi:
            out["taskId"] = task_ref
        out.update({
            "id": v.id, "name": name if useapi else None, "image": None, "createdAt": v.created_at,
            "updatedAt": iso_z(updated), "taskType": task_type, "options": options, "status": status,
            "error": error, "progressText": None, "progressRatio": progress_ratio,
            "estimatedTimeToStartSeconds": (int(math.ceil(eta)) if eta is not None else (None if useapi else 0)),
            "artifacts": artifacts, "sharedAsset": None,
        })
        return out

    def useapi_task(self, v: TaskView) -> dict[str, Any]:
        return self._webapp_task(v, useapi=True)

    # ------------------------------------------------------------------ makevid.ai
    def _makevid_create(self, req: SimRequest) -> SimResponse:
        body = self._body(req)
        prompt = body.get("text_prompt")
        seconds = int(body.get("seconds") or 10)
        if body.get("init_image"):
            official: dict[str, Any] = {"model": "gen4_turbo", "promptImage": body["init_image"],
                                        "ratio": "1280:720", "duration": seconds}
            if prompt:
                official["promptText"] = prompt
            endpoint = "image_to_video"
        else:
            if not prompt:
                raise ApiError(400, "text_prompt is required when no init_image is given.")
            official = {"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": seconds}
            endpoint = "text_to_video"
        if body.get("seed") is not None:
            official["seed"] = body["seed"]
        task = self._create_task(endpoint, official, "makevid")
        view = self.store.view(task.id)
        assert view is not None
        return _json(200, {"task": self.makevid_task(view), "server_id": "runway-nb-sim"})

    def _makevid_get(self, req: SimRequest, task_id: str) -> SimResponse:
        view = self.store.view(unquote(task_id))
        if view is None:
            raise ApiError(404, "Task not found")
        return _json(200, {"task": self.makevid_task(view)})

    def makevid_task(self, v: TaskView) -> dict[str, Any]:
        return self._webapp_task(v, useapi=False)

    # ------------------------------------------------------------------ /_sim routes
    def _output(self, req: SimRequest, task_id: str, index: str, ext: str) -> SimResponse:
        found = self.store.output(task_id, int(index))
        if found is None or found[1] != ext:
            return _json(404, {"error": "Output not found (unknown, not finished, or deleted task)."},
                         {"Access-Control-Allow-Origin": "*"})
        data, _ = found
        ctype = "image/png" if ext == "png" else "video/mp4"
        etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
        headers = {"Content-Type": ctype, "Accept-Ranges": "bytes", "ETag": etag,
                   "Cache-Control": "private, max-age=3600", "Access-Control-Allow-Origin": "*",
                   "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges"}
        size = len(data)
        rng = _parse_range(req.header("range"), size)
        if rng == "unsatisfiable":
            headers.update({"Content-Range": f"bytes */{size}", "Content-Length": "0"})
            return SimResponse(416, headers, b"")
        if rng is None:
            status, chunk = 200, data
        else:
            start, end = rng
            status, chunk = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(len(chunk))
        return SimResponse(status, headers, b"" if req.method == "HEAD" else chunk)

    def _upload_target(self, req: SimRequest, token: str) -> SimResponse:
        ctype = req.header("content-type") or ""
        if "multipart/form-data" not in ctype:
            return _text(400, "<Error><Code>InvalidArgument</Code><Message>POST requires multipart/form-data"
                              "</Message></Error>", "application/xml")
        if len(req.body) > MAX_UPLOAD_BYTES + 1024 * 1024:
            return _text(400, "<Error><Code>EntityTooLarge</Code></Error>", "application/xml")
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + req.body)
        file_data = file_type = None
        for part in msg.iter_parts() if msg.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "file":
                file_data = part.get_payload(decode=True) or b""
                file_type = part.get_content_type()
        if file_data is None:
            return _text(400, "<Error><Code>InvalidArgument</Code><Message>missing file field</Message></Error>",
                         "application/xml")
        if not self.uploads.put(token, file_data, file_type):
            return _text(403, "<Error><Code>AccessDenied</Code><Message>Invalid or expired upload URL"
                              "</Message></Error>", "application/xml")
        return _empty(204)

    def _health(self, req: SimRequest) -> SimResponse:
        return _json(200, {"status": "ok", "apiVersion": API_VERSION, "tasks": self.store.count(),
                           "simTime": round(self.store.tick(), 3), "speed": self.clock.speed,
                           "manualClock": self.clock.manual})

    def _stats(self, req: SimRequest) -> SimResponse:
        return _json(200, self.stats.snapshot())

    def _task_list(self, req: SimRequest) -> SimResponse:
        """Every task the simulator holds (not cancelled or deleted), in creation order, with its status."""
        tasks = []
        for task_id in self.store.ids():
            view = self.store.view(task_id)
            if view is not None:
                tasks.append({"id": view.id, "status": view.status, "endpoint": view.endpoint, "model": view.model,
                              "createdAt": view.created_at})
        return _json(200, {"tasks": tasks, "count": len(tasks)})

    def _get_config(self, req: SimRequest) -> SimResponse:
        return _json(200, self.config.plain())

    def _set_config(self, req: SimRequest) -> SimResponse:
        try:
            body = self._body(req)
            self.configure(**body)
        except ApiError as err:
            return self._error("official", err)
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, self.config.plain())

    def _advance(self, req: SimRequest) -> SimResponse:
        try:
            seconds = float(self._body(req).get("seconds", 0))
            self.clock.advance(seconds)
        except (ApiError, TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, {"simTime": round(self.store.tick(), 3)})


# ---------------------------------------------------------------------------------------------
# helpers


@dataclass(frozen=True)
class _RenderJob:
    kind: str
    size: tuple[int, int]
    duration: float | None
    prompt: str
    model: str
    seed: int
    count: int
    source_image: bytes | None
    source_video: bytes | None

    def cache_key(self) -> str:
        h = hashlib.sha1()
        for part in (self.kind, self.size, self.duration, self.prompt, self.model, self.seed, self.count):
            h.update(repr(part).encode())
        for src in (self.source_image, self.source_video):
            h.update(hashlib.sha1(src).digest() if src else b"-")
        return h.hexdigest()


def _unreadable(image: bytes | None, video: bytes | None) -> tuple[str, str] | None:
    """A task failure (ASSET.INVALID) when an input's bytes are not a readable image/video."""
    from runway_nb.sim import media

    for data, kind in ((image, "image"), (video, "video")):
        if data is None:
            continue
        try:
            info = media.probe(data)
        except Exception:  # noqa: BLE001 - any decoder error means the same to the user
            info = {}
        if info.get("kind") not in ("image", "video") or (kind == "video" and info.get("kind") != "video"):
            return (f"An input {kind} could not be read. Check its format and that it is not corrupted.",
                    "ASSET.INVALID")
    return None


def _probe_seconds(data: bytes) -> float | None:
    """Duration of an input video, when it can be read (for outputs that follow their input)."""
    try:
        from runway_nb.sim import media

        seconds = media.probe(data).get("duration")
        return float(seconds) if seconds else None
    except Exception:  # noqa: BLE001 - a placeholder-sized input is fine
        return None


def _prompt(body: dict[str, Any]) -> str:
    return str(body.get("promptText") or body.get("text_prompt") or "")


def _output_kind(catalog: Any, endpoint: str, model: str) -> str:
    try:
        kind = catalog.get(endpoint, model).output
    except Exception:  # noqa: BLE001
        kind = None
    if kind in ("image", "video"):
        return kind
    return "image" if endpoint == "text_to_image" else "video"


def _credits(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 4)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _short_url(url: str) -> str:
    return url if len(url) <= 100 else url[:97] + "..."


def _for_validation(body: Any) -> Any:
    """A copy of ``body`` in which the simulator's own output URLs (plain http on loopback)
    read as https, so the catalog's URI rules accept them."""
    if isinstance(body, dict):
        return {k: _for_validation(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_for_validation(v) for v in body]
    if isinstance(body, str) and body.startswith("http://") and _OUTPUT_PATH.search(urlsplit(body).path):
        return "https://sim.runway-nb.invalid" + urlsplit(body).path
    return body


def _issue_path(field_name: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+", field_name or ""):
        parts.append(int(token) if token.isdigit() else token)
    return parts


def _validation_error(exc: Any) -> ApiError:
    field_name = str(getattr(exc, "field", "") or "")
    text = str(exc)
    message = text if not field_name or text.startswith(field_name) else f"{field_name}: {text}"
    issues = []
    for sub in getattr(exc, "errors", None) or [exc]:
        sub_field = str(getattr(sub, "field", "") or "")
        sub_value = getattr(sub, "value", None)
        sub_allowed = getattr(sub, "allowed", None)
        if sub_value is None:
            code = "invalid_type"
        elif isinstance(sub_allowed, (list, tuple, set, frozenset)):
            code = "invalid_enum_value"
        else:
            code = "custom"
        path = [] if sub_field == "body" else _issue_path(sub_field)
        issues.append({"code": code, "path": path, "message": str(sub)})
    return ApiError(400, message, issues)


def _fault_5xx(status: int) -> SimResponse:
    if status == 502:
        return _text(502, "<html><head><title>502 Bad Gateway</title></head><body>"
                          "<center><h1>502 Bad Gateway</h1></center></body></html>", "text/html")
    if status == 504:
        return _text(504, "upstream request timeout")
    return _json(status, {"error": "The service is temporarily unavailable. Please retry."})


def _parse_date(body: dict[str, Any], key: str) -> date | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"{key}: expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive for a single satisfiable byte range; None = whole body;
    'unsatisfiable' for a range past the end. Multiple ranges are answered in full (allowed)."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end

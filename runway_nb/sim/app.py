"""``SimApp``: the simulator as a pure request handler, ``SimRequest -> SimResponse``.

It speaks Runway's official API (``/v1/...``, version 2024-11-06), three providers' dialects
(CometAPI ``/runwayml/v1/...``, useapi.net ``/v1/runwayml/...``, makevid.ai ``/api/v1/...``; see
:mod:`runway_nb.sim.wire`), serves generated outputs and uploads under ``/_sim/...``, and has
control routes for tests and demos. This module holds the route table and the dispatch: faults,
auth, version checks and request counts. Transports and the HTTP server are thin adapters around
:meth:`SimApp.handle`; the only things they do themselves are the connection-level faults
(``drop``, ``drop_before``) and delays, which the app asks for through :attr:`SimResponse.fault` /
:attr:`SimResponse.delay`.

Choices worth knowing:

* Faults apply to the API routes only, never to ``/_sim/*`` (outputs, upload target, control).
* Internal render failures and unreadable inputs (failureCode ASSET.INVALID, decided when PENDING
  ends) are refunded (cost 0); see :mod:`runway_nb.sim.create` and :mod:`runway_nb.sim.wire.official`.
* Without a ``public_base_url`` (a bare app behind the in-process transport), output URLs start
  with ``http://sim``; :class:`runway_nb.sim.Simulator` supplies a real loopback server's URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from runway_nb.api import catalog
from runway_nb.sim.account import ORG_MODELS, AccountApi
from runway_nb.sim.checks import API_VERSION, check_auth, check_version
from runway_nb.sim.clock import SimClock
from runway_nb.sim.config import SimConfig
from runway_nb.sim.context import SimContext
from runway_nb.sim.control import ControlApi
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.faults import Fault, FaultInjector
from runway_nb.sim.inputs import InputResolver
from runway_nb.sim.messages import (
    ApiError,
    JsonObject,
    SimRequest,
    SimResponse,
    error_response,
    json_response,
    text_response,
)
from runway_nb.sim.outputs import OUTPUT_EXTENSIONS, OutputsApi
from runway_nb.sim.render import Renderer
from runway_nb.sim.routers import RoutersApi
from runway_nb.sim.routing import Match, Route, Router, route
from runway_nb.sim.state import SimStats, Task, TaskStore, TaskView, UploadStore
from runway_nb.sim.uploads import UploadsApi
from runway_nb.sim.voices import VoicesApi
from runway_nb.sim.wire.comet import CometApi, comet_bare
from runway_nb.sim.wire.makevid import MakevidApi, makevid_task
from runway_nb.sim.wire.official import OfficialApi, official_task
from runway_nb.sim.wire.useapi import UseapiApi, useapi_task
from runway_nb.sim.workflows import WorkflowsApi

__all__ = ["API_VERSION", "ORG_MODELS", "ApiError", "SimApp", "SimRequest", "SimResponse"]

log = logging.getLogger("runway_nb.sim")

# Task operations created here; routed generation (generate/*) has its own routes.
ENDPOINTS = tuple(ep for ep in catalog.ENDPOINTS if not ep.startswith("generate/"))


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
        self.renderer = Renderer(render_workers)
        self.context = SimContext(self.config, self.clock, self.store, self.uploads, self.stats, self.base_url)
        self.task_factory = TaskFactory(self.context, InputResolver(self.store, self.uploads), self.renderer)
        self._router = Router(self._build_routes())

    # ------------------------------------------------------------------ public helpers
    def configure(self, **kw: object) -> SimConfig:
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
        return self.context.output_url(task_id, index, ext)

    def wait_media(self, timeout: float | None = 60.0) -> bool:
        """Block until every render submitted so far has finished (tests use this with a
        manual clock so that results do not depend on rendering speed)."""
        return self.store.wait_media(timeout)

    def restart_render(self, task: Task) -> None:
        """Render a task loaded from disk again (its render was cut off when the server stopped)."""
        self.task_factory.restart_render(task)

    def close(self) -> None:
        self.renderer.close()

    # ------------------------------------------------------------------ task JSON per wire format
    def official_task(self, v: TaskView) -> JsonObject:
        """The task JSON of ``GET /v1/tasks/{id}`` (valid against the spec for every status)."""
        return official_task(self.context, v)

    def comet_bare(self, v: TaskView) -> JsonObject:
        return comet_bare(self.context, v)

    def useapi_task(self, v: TaskView) -> JsonObject:
        return useapi_task(self.context, v)

    def makevid_task(self, v: TaskView) -> JsonObject:
        return makevid_task(self.context, v)

    # ------------------------------------------------------------------ dispatch
    def _build_routes(self) -> list[Route]:
        ctx, tasks = self.context, self.task_factory
        official, comet = OfficialApi(ctx, tasks), CometApi(ctx, tasks)
        useapi, makevid = UseapiApi(ctx, tasks), MakevidApi(ctx, tasks)
        account, uploads, outputs = AccountApi(ctx), UploadsApi(ctx), OutputsApi(ctx)
        control = ControlApi(ctx, self.configure)
        workflows, routers, voices = WorkflowsApi(ctx, tasks), RoutersApi(ctx, tasks), VoicesApi(ctx)
        uid = r"(?P<{}>[^/]+)"
        audio = r"/_sim/audio/(?P<kind>voices|previews)/(?P<token>[0-9a-f-]+)\.wav"
        eps = "|".join(ENDPOINTS)
        output = rf"/_sim/outputs/(?P<task_id>[^/]+)/(?P<index>\d+)\.(?P<ext>{OUTPUT_EXTENSIONS})"
        return [
            # official
            route("POST", rf"/v1/(?P<endpoint>{eps})", "/v1/{endpoint}", official.create, "official", creates=True),
            route("GET", r"/v1/tasks/(?P<task_id>[^/]+)", "/v1/tasks/{id}", official.get, "official"),
            route("DELETE", r"/v1/tasks/(?P<task_id>[^/]+)", "/v1/tasks/{id}", official.delete, "official"),
            route("POST", r"/v1/uploads", "/v1/uploads", uploads.create, "official"),
            route("GET", r"/v1/organization", "/v1/organization", account.organization, "official"),
            route("POST", r"/v1/organization/usage", "/v1/organization/usage", account.usage, "official"),
            # workflows, Model Routers and routed generation, voices
            route("GET", r"/v1/workflows", "/v1/workflows", workflows.list_workflows, "official"),
            route("GET", r"/v1/workflows/" + uid.format("workflow_id"), "/v1/workflows/{id}", workflows.get,
                  "official"),
            route("POST", r"/v1/workflows/" + uid.format("workflow_id"), "/v1/workflows/{id}", workflows.run,
                  "official", creates=True),
            route("GET", r"/v1/workflow_invocations/" + uid.format("invocation_id"), "/v1/workflow_invocations/{id}",
                  workflows.get_invocation, "official"),
            route("GET", r"/v1/routers", "/v1/routers", routers.list_routers, "official"),
            route("POST", r"/v1/routers", "/v1/routers", routers.create, "official"),
            route("GET", r"/v1/routers/" + uid.format("router_id"), "/v1/routers/{id}", routers.get, "official"),
            route("PATCH", r"/v1/routers/" + uid.format("router_id"), "/v1/routers/{id}", routers.update, "official"),
            route("DELETE", r"/v1/routers/" + uid.format("router_id"), "/v1/routers/{id}", routers.delete, "official"),
            route("GET", r"/v1/routers/" + uid.format("router_id") + "/requests", "/v1/routers/{id}/requests",
                  routers.list_requests, "official"),
            route("POST", r"/v1/generate/(?P<kind>video|image|audio)", "/v1/generate/{kind}", routers.generate,
                  "official", creates=True),
            route("POST", r"/v1/voices/preview", "/v1/voices/preview", voices.preview, "official"),
            route("GET", r"/v1/voices", "/v1/voices", voices.list_voices, "official"),
            route("POST", r"/v1/voices", "/v1/voices", voices.create, "official"),
            route("GET", r"/v1/voices/" + uid.format("voice_id"), "/v1/voices/{id}", voices.get, "official"),
            route("PATCH", r"/v1/voices/" + uid.format("voice_id"), "/v1/voices/{id}", voices.update, "official"),
            route("DELETE", r"/v1/voices/" + uid.format("voice_id"), "/v1/voices/{id}", voices.delete, "official"),
            # CometAPI, official format
            route("POST", rf"/runwayml/v1/(?P<endpoint>{eps})", "/runwayml/v1/{endpoint}", comet.create,
                  "provider", "comet", creates=True),
            route("GET", r"/runwayml/v1/tasks/(?P<task_id>[^/]+)", "/runwayml/v1/tasks/{id}", comet.get,
                  "provider", "comet"),
            # useapi.net
            route("GET", r"/v1/runwayml/tasks/(?P<task_id>[^/]+)", "/v1/runwayml/tasks/{taskId}", useapi.get,
                  "provider", "useapi"),
            route("POST", r"/v1/runwayml/gen4/create", "/v1/runwayml/gen4/create", useapi.create,
                  "provider", "useapi", creates=True),
            # makevid.ai
            route("POST", r"/api/v1/create_runway", "/api/v1/create_runway", makevid.create,
                  "provider", "makevid", creates=True),
            route("GET", r"/api/v1/get_runway/(?P<task_id>[^/]+)", "/api/v1/get_runway/{id}", makevid.get,
                  "provider", "makevid"),
            # simulator's own
            route("GET", output, "/_sim/outputs/{id}/{n}", outputs.get, "public"),
            route("HEAD", output, "/_sim/outputs/{id}/{n}", outputs.get, "public"),
            route("POST", r"/_sim/upload/(?P<token>[0-9a-f]+)", "/_sim/upload/{token}", uploads.receive, "public"),
            route("GET", audio, "/_sim/audio/{kind}/{id}", voices.audio, "public"),
            route("HEAD", audio, "/_sim/audio/{kind}/{id}", voices.audio, "public"),
            route("GET", r"/_sim/health", "/_sim/health", control.health, "control"),
            route("GET", r"/_sim/stats", "/_sim/stats", control.stats, "control"),
            route("GET", r"/_sim/tasks", "/_sim/tasks", control.tasks, "control"),
            route("GET", r"/_sim/config", "/_sim/config", control.get_config, "control"),
            route("POST", r"/_sim/config", "/_sim/config", control.set_config, "control"),
            route("POST", r"/_sim/advance", "/_sim/advance", control.advance, "control"),
        ]

    def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request. Never raises."""
        try:
            return self._handle(req)
        except Exception:  # pragma: no cover - a bug; answer like a server would
            log.exception("simulator error on %s %s", req.method, req.path)
            return json_response(500, {"error": "An unexpected error occurred in the simulator."})

    def _handle(self, req: SimRequest) -> SimResponse:
        path = req.path.split("?", 1)[0] or "/"
        found = self._router.match(req.method, path)
        if not isinstance(found, Match):
            self.stats.count_request(req.method, "<unmatched>")
            if found:
                return json_response(405, {"error": f"Method {req.method} is not allowed on {path}."},
                                     {"Allow": ", ".join(sorted(set(found)))})
            return json_response(404, {"error": f"Not found: {req.method} {path}"})
        matched, params = found.route, found.params

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
            resp = error_response(matched.dialect, ApiError(429, "Too many requests. Please retry later.",
                                                            headers={"Retry-After": _num(self.config.retry_after)}))
        elif fault is not None and fault.kind == "5xx":
            resp = _fault_5xx(fault.status or 503)
        else:
            resp = self._answer(matched, req, params)
            if fault is not None and fault.kind == "5xx_after":
                resp = json_response(500, {"error": "An unexpected error occurred."})
            elif fault is not None and fault.kind == "drop":
                resp.fault = "drop"
        if fault is not None:
            resp.delay = fault.delay
        return resp

    def _answer(self, matched: Route, req: SimRequest, params: dict[str, str]) -> SimResponse:
        """The route's own answer, after the checks its kind requires."""
        try:
            if matched.kind == "official":
                check_auth(req, self.config.api_key)
                check_version(req)
            elif matched.kind == "provider":
                check_auth(req, self.config.api_key)
            return matched.handler(req, **params)
        except ApiError as err:
            return error_response(matched.dialect, err)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _fault_5xx(status: int) -> SimResponse:
    if status == 502:
        return text_response(502, "<html><head><title>502 Bad Gateway</title></head><body>"
                                  "<center><h1>502 Bad Gateway</h1></center></body></html>", "text/html")
    if status == 504:
        return text_response(504, "upstream request timeout")
    return json_response(status, {"error": "The service is temporarily unavailable. Please retry."})

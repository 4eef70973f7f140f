"""``Runway`` and ``AsyncRunway``: one surface, sync and async, over httpx.

Every request goes through the retry flow (:mod:`runway_nb.client.flow`); the two clients
differ only in the driver they run it with. Where requests go (Runway, another provider, the
embedded simulator) is the backend's decision (:mod:`runway_nb.client.backend`): the
simulator is just another transport. What happens to each request and task is published as
events (:mod:`runway_nb.client.events`); the journal is a subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

import httpx

from runway_nb import errors
from runway_nb._lazy import attributes
from runway_nb.api.media import Prepared, from_bytes
from runway_nb.api.operations import ENDPOINTS  # the generated list: reads no file, unlike the catalog
from runway_nb.api.status import PENDING
from runway_nb.client import backend, flow, retry
from runway_nb.client import settings as client_settings
from runway_nb.client.events import (
    CreateAnswered,
    CreateFailed,
    CreateSent,
    Events,
    JournalRecorder,
    OutputsSaved,
    TaskSeen,
)
from runway_nb.client.handles import AsyncTaskHandle, TaskHandle
from runway_nb.client.in_flight import SUSTAINED_RATE, InFlightLimit
from runway_nb.client.keep import Keeper, folder_setting
from runway_nb.client.local_files import read_local_file
from runway_nb.client.outputs import Blob, write_outputs
from runway_nb.client.watch import REQUEST_SENT, SYSTEM_CLOCK, AdvancingClock, Clock

if TYPE_CHECKING:
    from runway_nb.api.request import Draft
    from runway_nb.api.task import Routing, Task
    from runway_nb.client import resources
    from runway_nb.client.journal import Journal
    from runway_nb.client.workflows import AsyncWorkflowRun, WorkflowRun

# What only some cells need loads on first use: the pydantic task and workflow models, the model
# catalog (validation, estimates), request building, the journal and the archive. A first cell
# that only makes a client imports none of them (tests/test_startup.py checks which modules load).
_LAZY = {"WorkflowRun": "runway_nb.client.workflows", "AsyncWorkflowRun": "runway_nb.client.workflows",
         "Draft": "runway_nb.api.request"}

__all__ = ["AsyncRunway", "AsyncTaskHandle", "AsyncWorkflowRun", "Organization", "Runway", "TaskHandle",
           "WorkflowRun"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_IN_FLIGHT = 16  # requests per host an async client sends at once, at most (in_flight.py)
NOT_VISIBLE_GRACE = 30.0  # seconds a just-created CometAPI task may answer task_not_exist
RUNWAY_UPDATE_INTERVAL = 5.0  # seconds: Runway updates a task no more often than this
KEEP_WAIT = 600.0  # seconds an async caller waits for another's archiving of the same task

HandleT = TypeVar("HandleT", TaskHandle, AsyncTaskHandle)


__getattr__ = attributes(__name__, _LAZY, globals())


class Organization(dict[str, Any]):
    """``GET /v1/organization`` as a dict, with the figures people ask for as attributes."""

    @property
    def credit_balance(self) -> float | None:
        value = self.get("creditBalance")
        return value if isinstance(value, (int, float)) else None

    def model_limits(self, model: str) -> dict[str, Any]:
        limits = ((self.get("tier") or {}).get("models") or {}).get(model) or {}
        return dict(limits)


class _Endpoint:
    """``client.image_to_video.create(...)``: one per task-creating endpoint."""

    def __init__(self, client: Runway, endpoint: str):
        self.client = client
        self.name = endpoint

    def create(self, **params: Any) -> TaskHandle:
        return self.client.create(self.name, **params)

    def __repr__(self) -> str:
        return f"<{self.name} endpoint>"


class _AsyncEndpoint:
    def __init__(self, client: AsyncRunway, endpoint: str):
        self.client = client
        self.name = endpoint

    async def create(self, **params: Any) -> AsyncTaskHandle:
        return await self.client.create(self.name, **params)

    def __repr__(self) -> str:
        return f"<{self.name} endpoint>"


class _Namespace:
    """A group of operations under one path prefix, as the SDK has them (``client.recipes.product_ad``)."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def __repr__(self) -> str:
        names = sorted(k for k in vars(self) if not k.startswith("_"))
        return f"<{self._prefix}: {', '.join(names)}>"


def _attach_endpoints(client: object, make: Callable[[str], object]) -> None:
    """``client.text_to_speech``, and ``client.recipes.product_ad`` / ``client.generate.audio`` for the
    operations whose path has a prefix."""
    for name in ENDPOINTS:
        prefix, _, leaf = name.rpartition("/")
        if not prefix:
            setattr(client, name, make(name))
            continue
        group = getattr(client, prefix, None)
        if not isinstance(group, _Namespace):
            group = _Namespace(prefix)
            setattr(client, prefix, group)
        setattr(group, leaf, make(name))


class _BaseClient:
    """Settings, request building and answer reading: everything but the I/O."""

    def __init__(self, *, provider: str | None = None, api_key: str | None = None, base_url: str | None = None,
                 strict: bool = True, timeout: float | httpx.Timeout | None = None, max_retries: int = 4,
                 poll_floor: float | None = None, simulator: Any = None,
                 transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
                 fill_defaults: bool = True, announce: bool = True, journal: Journal | bool | None = None,
                 clock: Clock | None = None, created: dict[str, float] | None = None,
                 outputs: str | Path | bool | None = None, keeper: Keeper | None = None):
        self.settings = client_settings.resolve(provider, api_key, base_url)
        self.provider = self.settings.provider.name
        self.strict = strict
        self.fill_defaults = fill_defaults
        self.policy = retry.RetryPolicy(max_retries=max_retries)
        self.timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self.custom_transport = transport
        self.clock: Clock = clock or SYSTEM_CLOCK
        # When each task this client (or its twin) created was answered, in ``clock`` seconds.
        self._created: dict[str, float] = created if created is not None else {}
        self.events = Events()
        # None: the default journal (unless RUNWAY_NB_JOURNAL=off); False: none; or a Journal.
        if journal is None or journal is True:
            from runway_nb.client.journal import default_journal

            self.journal: Journal | None = default_journal()
        else:
            self.journal = journal or None
        if self.journal is not None:
            self.events.subscribe(JournalRecorder(self.journal))
        # Every succeeded task's outputs are archived the first time a GET sees it (see client/keep.py).
        self.keeper = keeper if keeper is not None else Keeper(folder_setting(outputs), journal=self.journal,
                                                               base_url=self.settings.base_url)
        self._sim = simulator
        if transport is None:
            self._sim = backend.in_process_simulator(self.settings, simulator,
                                                     announce=announce and provider is None)
        speed = float(getattr(getattr(self._sim, "config", None), "speed", 1.0) or 1.0)
        self._speed = speed  # the embedded simulator's clock rate (1: a real host, or a server elsewhere)
        if poll_floor is None:
            # Runway's update interval; in the simulator's time when it runs faster than real time
            # (an AdvancingClock over the simulator's clock already counts in the simulator's seconds).
            in_sim_time = isinstance(clock, AdvancingClock)
            poll_floor = RUNWAY_UPDATE_INTERVAL if in_sim_time else RUNWAY_UPDATE_INTERVAL / speed
        self.poll_floor = poll_floor
        self._twin_args: dict[str, Any] = dict(
            provider=provider, api_key=api_key, base_url=base_url, strict=strict, timeout=timeout,
            max_retries=max_retries, poll_floor=poll_floor, fill_defaults=fill_defaults, announce=False,
            journal=self.journal or False, simulator=self._sim, clock=clock, created=self._created,
            keeper=self.keeper)

    @property
    def simulator(self) -> Any:
        """The embedded simulator, when this client uses one in-process."""
        return self._sim

    @property
    def masked_key(self) -> str:
        return client_settings.mask_key(self.settings.api_key)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(provider={self.provider!r}, base_url={self.settings.base_url!r}, "
                f"api_key={self.masked_key!r})")

    def created_at(self, task_id: str) -> float | None:
        """When this client's create call for ``task_id`` was answered (``clock`` seconds), if it made it."""
        return self._created.get(task_id)

    def mark_created(self, key: str) -> None:
        """Note that this client's request just made ``key`` (a task, a workflow run): its first poll
        is timed from now."""
        self._created[key] = self.clock.now()

    def forget(self, task_id: str) -> None:
        """Stop treating ``task_id`` as just created (after a DELETE, a 404 is the truth)."""
        self._created.pop(task_id, None)

    def prepare(self, endpoint: str, **params: Any) -> Draft:
        """Validate ``params`` for ``endpoint`` and build the request body, without sending anything.

        Media that needs uploading is listed in ``draft.pending``; the model's defaults are filled.
        """
        strict = params.pop("strict", self.strict)
        if self.settings.provider.create_path is None:
            raise errors.ValidationError("provider", self.provider, "runway, sim or comet",
                                         message=f"provider {self.provider!r} is read-only in runway-nb: it can "
                                                 f"get tasks but not create them; use runway, sim or comet")
        from runway_nb.api import request as api_request

        return api_request.build(endpoint, params, strict=strict, fill_defaults=self.fill_defaults,
                                 read_file=read_local_file)

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.settings.api_key}", "Accept": "application/json",
                   "User-Agent": "runway-nb/0.1"}
        if self.settings.provider.sends_version:
            headers["X-Runway-Version"] = client_settings.RUNWAY_VERSION
        return headers

    def _client_kwargs(self) -> dict[str, Any]:
        return dict(base_url=self.settings.base_url, headers=self._headers(), timeout=self.timeout,
                    follow_redirects=False)

    # -- the flows: what to send, and when to accept, retry or give up
    def _read_flow(self, http: httpx.Client | httpx.AsyncClient, method: str, url: str, what: str,
                   **kw: Any) -> flow.Flow:
        def decide(attempt: int, response: httpx.Response | None, exc: BaseException | None) -> flow.Verdict:
            return retry.decide_read(attempt, self.policy, response=response, exc=exc, what=what)

        return flow.retrying(lambda: http.build_request(method, url, **kw), decide)

    def _create_flow(self, http: httpx.Client | httpx.AsyncClient, draft: Draft) -> flow.Flow:
        url = self._create_url(draft.endpoint)
        what = f"POST {url}"

        def decide(attempt: int, response: httpx.Response | None, exc: BaseException | None) -> flow.Verdict:
            return retry.decide_create(attempt, self.policy, response=response, exc=exc, what=what,
                                       endpoint=draft.endpoint)

        return flow.retrying(lambda: http.build_request("POST", url, json=draft.body), decide)

    def _storage_flow(self, http: httpx.Client | httpx.AsyncClient, method: str, url: str, what: str,
                      **kw: Any) -> flow.Flow:
        """A request to a signed storage URL (an upload or an output): it needs no key and must never get one."""
        def build() -> httpx.Request:
            request = http.build_request(method, url, **kw)
            request.headers.pop("Authorization", None)
            request.headers.pop("X-Runway-Version", None)
            return request

        def decide(attempt: int, response: httpx.Response | None, exc: BaseException | None) -> flow.Verdict:
            return retry.decide_read(attempt, self.policy, response=response, exc=exc, what=what)

        return flow.retrying(build, decide)

    def _json_flow(self, http: httpx.Client | httpx.AsyncClient, method: str, path: str, body: Any,
                   creates: str | None) -> tuple[flow.Flow, str]:
        """The flow of one resource request (workflows, voices, routers) and what to call it in errors.

        A request that makes something (``creates``: a workflow run, a router) is never resent
        after the server may have acted, as for a task's create."""
        if self.settings.provider.dialect != "runway":
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no {path} route; "
                                                 f"use runway or sim")
        what = f"{method} {path}"
        kw: dict[str, Any] = {} if body is None else {"json": body}
        if creates is None:
            return self._read_flow(http, method, path, what, **kw), what

        def decide(attempt: int, response: httpx.Response | None, exc: BaseException | None) -> flow.Verdict:
            return retry.decide_create(attempt, self.policy, response=response, exc=exc, what=what,
                                       endpoint=creates)

        return flow.retrying(lambda: http.build_request(method, path, **kw), decide), what

    def _create_url(self, endpoint: str) -> str:
        path = self.settings.provider.create_path
        assert path is not None  # prepare() refused a read-only provider
        return path.format(endpoint=endpoint)

    def _upload_path(self) -> str:
        path = self.settings.provider.uploads_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no upload route; pass an "
                                                 f"https:// URL or a smaller file (data: URI) instead")
        return path

    def _cancel_url(self, task_id: str) -> str:
        if not self.settings.provider.cancel:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} offers no cancel route")
        return self.settings.provider.task_url(task_id)

    def _organization_path(self) -> str:
        path = self.settings.provider.organization_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no organization route")
        return path

    def _task_from(self, response: httpx.Response, task_id: str) -> Task:
        from runway_nb.api.dialects import parse_task

        task = parse_task(_json(response, f"GET task {task_id}"), self.settings.provider.dialect)
        self.events.publish(TaskSeen(task, self.settings.base_url))
        return task

    def _not_visible_task(self, task_id: str, exc: errors.NotFoundError) -> Task | None:
        # Only CometAPI's task_not_exist means "not visible yet"; a 404 from Runway is final.
        if not isinstance(exc, errors.TaskNotVisibleError) and self.settings.provider.dialect != "comet":
            return None
        created = self._created.get(task_id)
        if created is not None and self.clock.now() - created < NOT_VISIBLE_GRACE:
            from runway_nb.api.task import Task

            return Task(id=task_id, status=PENDING, dialect=self.settings.provider.dialect)
        return None

    @staticmethod
    def _upload_request(prepared: Prepared) -> dict[str, str]:
        assert prepared.upload is not None
        filename, _, _ = prepared.upload
        return {"filename": filename, "type": "ephemeral"}

    @staticmethod
    def _multipart(info: Any, prepared: Prepared) -> tuple[str, str, dict[str, str], dict[str, Any]]:
        assert prepared.upload is not None
        filename, data, mime = prepared.upload
        url = info.get("uploadUrl") if isinstance(info, dict) else None
        uri = (info.get("runwayUri") or info.get("uri")) if isinstance(info, dict) else None
        if not isinstance(url, str) or not isinstance(uri, str):
            raise errors.ResponseFormatError("upload answer lacks uploadUrl/runwayUri", body=None)
        fields = {str(k): str(v) for k, v in (info.get("fields") or {}).items()}
        return url, uri, fields, {"file": (filename, data, mime)}

    @staticmethod
    def _as_prepared(prepared_or_path: Prepared | str | Path) -> Prepared:
        if isinstance(prepared_or_path, Prepared):
            return prepared_or_path
        path = Path(prepared_or_path)
        return from_bytes(path.read_bytes(), "file", "image|video", path.name, data_uri_ok=False)

    def _begin(self, draft: Draft) -> CreateSent:
        from runway_nb.api import request as api_request

        sent = CreateSent(self.provider, self.settings.base_url, draft.endpoint,
                          api_request.display_params(draft.endpoint, draft.body))
        self.events.publish(sent)
        return sent

    def _failed(self, sent: CreateSent, exc: BaseException) -> None:
        self.events.publish(CreateFailed(sent.ref, exc, isinstance(exc, errors.OutcomeUnknownError)))

    def _handle_for(self, draft: Draft, sent: CreateSent, response: httpx.Response,
                    make: Callable[..., HandleT]) -> HandleT:
        payload = _json(response, f"POST {self._create_url(draft.endpoint)}")
        if not isinstance(payload, dict):
            raise errors.ResponseFormatError("create answer is not a JSON object", body=None)
        from runway_nb.api import catalog
        from runway_nb.api import request as api_request

        task_id = payload.get("id")
        if not task_id and isinstance(payload.get("data"), dict):  # CometAPI envelope
            task_id = payload["data"].get("task_id") or payload["data"].get("id")
        if not isinstance(task_id, str) or not task_id:
            raise errors.OutcomeUnknownError(
                f"The create answer had no task id ({_clip(payload)}); the task may exist. "
                f"Check your dashboard before submitting again.", endpoint=draft.endpoint)
        self._created[task_id] = self.clock.now()
        estimated = payload.get("estimatedCost")
        credits = estimated.get("credits") if isinstance(estimated, dict) else None
        if credits is None:
            credits = catalog.estimate_credits(draft.endpoint, draft.body) if draft.info else None
        handle = make(self, task_id, endpoint=draft.endpoint,
                      params=api_request.display_params(draft.endpoint, draft.body), estimated_cost=credits,
                      routing=_routing(payload.get("routing")))
        self.events.publish(CreateAnswered(sent.ref, task_id, credits))
        self.keeper.plan(task_id, self.keeper.folder, handle.params)  # after the journal has its row
        return handle

    def _saved(self, folder: str | Path, task: Task, params: dict[str, Any] | None, paths: list[Path]) -> None:
        # The same facts JSON whichever way outputs are saved (handle, widget, archive).
        from runway_nb.client import archive

        archive.write_facts(folder, task, params, files=paths, client=self)
        self.events.publish(OutputsSaved(task.id, paths))


def _routing(value: Any) -> Routing | None:
    """The ``routing`` of a routed create answer, if it is one we can read (it is advisory)."""
    if not isinstance(value, dict):
        return None
    from pydantic import ValidationError as PydanticValidationError

    from runway_nb.api.task import Routing

    try:
        return Routing.model_validate(value)
    except PydanticValidationError:
        return None


def _clip(value: Any, n: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "…"


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise errors.ResponseFormatError(f"{what}: the answer is not JSON ({response.text[:200]!r})",
                                         status_code=response.status_code) from None


def _twin_transport(transport: Any, method: str) -> Any:
    """The custom transport, for the sync/async twin, if it can serve that mode (else None)."""
    return transport if transport is not None and callable(getattr(transport, method, None)) else None


def _fetched_name(url: str) -> str:
    return Path(urlparse(url).path).name


# ----------------------------------------------------------------------------------------
# sync
# ----------------------------------------------------------------------------------------

class _Tasks:
    def __init__(self, client: Runway):
        self.client = client

    def get(self, task_id: str) -> Task:
        return self.client.get_task(task_id)

    def cancel(self, task_id: str) -> None:
        self.client.cancel_task(task_id)

    # The SDK's name for cancel/delete
    delete = cancel

    def handle(self, task_id: str, **kw: Any) -> TaskHandle:
        """A handle for an existing task (e.g. created elsewhere), to watch or wait on."""
        return TaskHandle(self.client, task_id, **kw)


class Runway(_BaseClient):
    """Synchronous client. ``with Runway() as client: client.image_to_video.create(...)``."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        transport = self.custom_transport
        if transport is None and self._sim is not None and self.settings.in_process_sim:
            transport = backend.simulator_transport(self._sim, asynchronous=False)
        self._http = httpx.Client(transport=transport, **self._client_kwargs())  # type: ignore[arg-type]  # sync side of the union
        self._twin: AsyncRunway | None = None
        self.tasks = _Tasks(self)
        _attach_endpoints(self, lambda name: _Endpoint(self, name))

    # The resources' pydantic models load when a resource is first used.
    @cached_property
    def workflows(self) -> resources.Workflows:
        from runway_nb.client.resources import Workflows

        return Workflows(self)

    @cached_property
    def workflow_invocations(self) -> resources.WorkflowInvocations:
        from runway_nb.client.resources import WorkflowInvocations

        return WorkflowInvocations(self)

    @cached_property
    def voices(self) -> resources.Voices:
        from runway_nb.client.resources import Voices

        return Voices(self)

    @cached_property
    def routers(self) -> resources.Routers:
        from runway_nb.client.resources import Routers

        return Routers(self)

    def __enter__(self) -> Runway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def async_twin(self) -> AsyncRunway:
        """The one async client this client polls with from a running event loop (cached)."""
        if self._twin is None:
            self._twin = self.to_async()
        return self._twin

    def to_async(self) -> AsyncRunway:
        """An async client with the same settings (and the same simulator, and the same custom
        transport when it also serves async requests, as ``httpx.MockTransport`` does)."""
        return AsyncRunway(**self._twin_args,
                           transport=_twin_transport(self.custom_transport, "handle_async_request"))

    def _run(self, steps: flow.Flow) -> httpx.Response:
        return flow.run(steps, self._http.send, self.clock.sleep)

    def create(self, endpoint: str, **params: Any) -> TaskHandle:
        """Validate, upload media if needed, then POST once. Returns a handle at once."""
        draft = self.prepare(endpoint, **params)
        for placeholder, prepared in list(draft.pending.items()):
            draft.fill(placeholder, self.resolve_media(prepared, placeholder))
        sent = self._begin(draft)
        try:
            return self._handle_for(draft, sent, self._run(self._create_flow(self._http, draft)), TaskHandle)
        except BaseException as exc:
            self._failed(sent, exc)
            raise

    def resolve_media(self, prepared: Prepared, where: str) -> str:
        """The URI to send for prepared media: as given, or fetched and inlined, or uploaded."""
        if prepared.fetch is not None:
            data = self.download(prepared.fetch)
            prepared = from_bytes(data, where, "image|video", _fetched_name(prepared.fetch))
            if prepared.uri is not None:
                return prepared.uri
        return self.upload(prepared)

    def upload(self, prepared_or_path: Prepared | str | Path) -> str:
        """Ephemeral upload: returns a ``runway://`` URI valid for 24 hours."""
        prepared = self._as_prepared(prepared_or_path)
        path = self._upload_path()
        response = self._run(self._read_flow(self._http, "POST", path, "POST /v1/uploads",
                                             json=self._upload_request(prepared)))
        url, uri, fields, files = self._multipart(_json(response, "POST /v1/uploads"), prepared)
        self._run(self._storage_flow(self._http, "POST", url, "upload", data=fields, files=files))
        return uri

    def get_task(self, task_id: str) -> Task:
        """GET a task; the first time it is seen SUCCEEDED its outputs are archived (see :meth:`keep`)."""
        url = self.settings.provider.task_url(task_id)
        try:
            task = self._task_from(self._run(self._read_flow(self._http, "GET", url, f"GET task {task_id}")), task_id)
        except errors.NotFoundError as exc:
            pending = self._not_visible_task(task_id, exc)
            if pending is not None:
                return pending
            raise
        self.keep(task)
        return task

    def keep(self, task: Task) -> list[Path]:
        """Archive a SUCCEEDED task's outputs into its folder (``client.keeper``), once; returns the
        files (none when the task is not to be kept, or keeping failed: ``keeper.problem(id)`` says why)."""
        # retake: an archiving under way may be an async poller on this very thread, blocked by this
        # call; downloading again is safe where waiting for it would not be
        due = self.keeper.due(task, retake=True)
        if due is not None:
            try:
                paths = self.save_outputs(task, *due)
            except (errors.RunwayError, OSError) as exc:
                self.keeper.failed(task.id, exc)
            except BaseException:  # interrupted, or a bug: the task is kept by the next read instead
                self.keeper.released(task.id)
                raise
            else:
                self.keeper.kept(task.id, paths)
        return self.keeper.files(task.id)

    def delete_task(self, task_id: str) -> None:
        """Cancel a running task or delete a finished one; an unknown id raises NotFoundError."""
        url = self._cancel_url(task_id)
        try:
            self._run(self._read_flow(self._http, "DELETE", url, f"DELETE task {task_id}"))
        finally:
            self.forget(task_id)

    def cancel_task(self, task_id: str) -> None:
        # already cancelled or deleted: Runway documents a repeat 404 as safe to ignore
        with contextlib.suppress(errors.NotFoundError):
            self.delete_task(task_id)

    def organization(self) -> Organization:
        path = self._organization_path()
        return Organization(_json(self._run(self._read_flow(self._http, "GET", path, "GET organization")),
                                  "GET organization"))

    def request_json(self, method: str, path: str, body: Any = None, *, creates: str | None = None) -> Any:
        """One request to a Runway resource (``/v1/workflows``, ``/v1/voices``, ...), retried by the
        usual rules, and its JSON answer. ``creates`` names what a POST makes (never resent blindly)."""
        steps, what = self._json_flow(self._http, method, path, body, creates)
        return _json(self._run(steps), what)

    def download(self, url: str) -> bytes:
        return self.download_with_type(url)[0]

    def download_with_type(self, url: str) -> tuple[bytes, str | None]:
        """An output's bytes and its content type."""
        response = self._run(self._storage_flow(self._http, "GET", url, "download output"))
        return response.content, response.headers.get("content-type")

    def save_outputs(self, task: Task, folder: str | Path, params: dict[str, Any] | None = None) -> list[Path]:
        blobs: list[Blob] = [(url, *self.download_with_type(url)) for url in task.outputs]
        paths = write_outputs(Path(folder), task.id, blobs)
        self._saved(folder, task, params, paths)
        return paths


# ----------------------------------------------------------------------------------------
# async
# ----------------------------------------------------------------------------------------

class _AsyncTasks:
    def __init__(self, client: AsyncRunway):
        self.client = client

    async def get(self, task_id: str) -> Task:
        return await self.client.get_task(task_id)

    async def cancel(self, task_id: str) -> None:
        await self.client.cancel_task(task_id)

    delete = cancel

    def handle(self, task_id: str, **kw: Any) -> AsyncTaskHandle:
        return AsyncTaskHandle(self.client, task_id, **kw)


async def _settled(archiving: Future[None], timeout: float) -> bool:
    """Wait for another's archiving to end (False: ``timeout`` passed first) without holding a
    worker thread: a dozen callers waiting on one task's archiving would take every worker of the
    loop's default executor, and the archiving they wait for needs one to write its files."""
    try:  # shielded: a wait that times out must not cancel the archiving's own future
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(archiving)), timeout)
    except asyncio.TimeoutError:  # not the builtin before Python 3.11
        return False
    return True


class AsyncRunway(_BaseClient):
    """Asynchronous client with the same surface: ``await client.image_to_video.create(...)``."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        transport = self.custom_transport
        if transport is None and self._sim is not None and self.settings.in_process_sim:
            transport = backend.simulator_transport(self._sim, asynchronous=True)
        self._http = httpx.AsyncClient(transport=transport, **self._client_kwargs())  # type: ignore[arg-type]  # async side of the union
        self._in_flight: dict[str, InFlightLimit] = {}  # by host
        self._creating = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._building = asyncio.Lock()
        self.tasks = _AsyncTasks(self)
        _attach_endpoints(self, lambda name: _AsyncEndpoint(self, name))

    @cached_property
    def workflows(self) -> resources.AsyncWorkflows:
        from runway_nb.client.resources import AsyncWorkflows

        return AsyncWorkflows(self)

    @cached_property
    def workflow_invocations(self) -> resources.AsyncWorkflowInvocations:
        from runway_nb.client.resources import AsyncWorkflowInvocations

        return AsyncWorkflowInvocations(self)

    @cached_property
    def voices(self) -> resources.AsyncVoices:
        from runway_nb.client.resources import AsyncVoices

        return AsyncVoices(self)

    @cached_property
    def routers(self) -> resources.AsyncRouters:
        from runway_nb.client.resources import AsyncRouters

        return AsyncRouters(self)

    async def __aenter__(self) -> AsyncRunway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def to_sync(self) -> Runway:
        return Runway(**self._twin_args, transport=_twin_transport(self.custom_transport, "handle_request"))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # Hundreds of watched tasks polling at once queue here rather than in the connection pool
        # (whose cost grows with its queue), and a fast host gets one at a time: see in_flight.py.
        limit = self._in_flight.get(request.url.host)
        if limit is None:
            # Paced for a thousand tasks each read once per update interval: a simulator that runs
            # faster than real time updates its tasks that much more often.
            limit = self._in_flight[request.url.host] = InFlightLimit(MAX_IN_FLIGHT, pace=SUSTAINED_RATE * self._speed)
        sent, answered = await limit.acquire(), False
        sending = REQUEST_SENT.get()  # a poll's driver places its reading after this (see watch.py)
        if sending is not None:
            sending()
        try:
            response = await self._http.send(request)
            answered = True
            return response
        finally:
            limit.release(sent, answered)

    def _run(self, steps: flow.Flow) -> Awaitable[httpx.Response]:
        return flow.run_async(steps, self._send, self.clock.sleep_async)

    async def create(self, endpoint: str, **params: Any) -> AsyncTaskHandle:
        # Code that gathers many creates at once (a script's sweep, serve): each checks and builds
        # its request before its first await, so a hundred of them would hold the loop for one
        # long turn. Holding the lock into the next turn makes the others wait for it, and it
        # hands over to one of them in a later turn: one build per turn. The slot bounds the
        # creates under way (and the input files they hold in memory).
        async with self._creating:
            async with self._building:
                draft = self.prepare(endpoint, **params)
                await asyncio.sleep(0)
            for placeholder, prepared in list(draft.pending.items()):
                draft.fill(placeholder, await self.resolve_media(prepared, placeholder))
            sent = self._begin(draft)
            try:
                response = await self._run(self._create_flow(self._http, draft))
                return self._handle_for(draft, sent, response, AsyncTaskHandle)
            except BaseException as exc:
                self._failed(sent, exc)
                raise

    async def resolve_media(self, prepared: Prepared, where: str) -> str:
        if prepared.fetch is not None:
            data = await self.download(prepared.fetch)
            prepared = from_bytes(data, where, "image|video", _fetched_name(prepared.fetch))
            if prepared.uri is not None:
                return prepared.uri
        return await self.upload(prepared)

    async def upload(self, prepared_or_path: Prepared | str | Path) -> str:
        prepared = self._as_prepared(prepared_or_path)
        path = self._upload_path()
        response = await self._run(self._read_flow(self._http, "POST", path, "POST /v1/uploads",
                                                   json=self._upload_request(prepared)))
        url, uri, fields, files = self._multipart(_json(response, "POST /v1/uploads"), prepared)
        await self._run(self._storage_flow(self._http, "POST", url, "upload", data=fields, files=files))
        return uri

    async def get_task(self, task_id: str) -> Task:
        url = self.settings.provider.task_url(task_id)
        try:
            response = await self._run(self._read_flow(self._http, "GET", url, f"GET task {task_id}"))
            task = self._task_from(response, task_id)
        except errors.NotFoundError as exc:
            pending = self._not_visible_task(task_id, exc)
            if pending is not None:
                return pending
            raise
        await self.keep(task)
        return task

    async def keep(self, task: Task) -> list[Path]:
        """:meth:`Runway.keep`, downloading on the event loop."""
        # Once more after a wait: the archiving waited for may have been cancelled (its poller's wait
        # timed out), and then this caller takes it over.
        for _ in range(2):
            due = self.keeper.due(task)
            if due is not None:
                try:
                    paths = await self.save_outputs(task, *due)
                except (errors.RunwayError, OSError) as exc:
                    self.keeper.failed(task.id, exc)
                except BaseException:  # cancelled, or a bug: released for the next reader
                    self.keeper.released(task.id)
                    raise
                else:
                    self.keeper.kept(task.id, paths)
                break
            pending = self.keeper.in_flight(task.id)
            # another poller (a view, `await handle`) is archiving it: its files are this caller's too
            if pending is None or not await _settled(pending, KEEP_WAIT):
                break
        return self.keeper.files(task.id)

    async def delete_task(self, task_id: str) -> None:
        """Cancel a running task or delete a finished one; an unknown id raises NotFoundError."""
        url = self._cancel_url(task_id)
        try:
            await self._run(self._read_flow(self._http, "DELETE", url, f"DELETE task {task_id}"))
        finally:
            self.forget(task_id)

    async def cancel_task(self, task_id: str) -> None:
        with contextlib.suppress(errors.NotFoundError):
            await self.delete_task(task_id)

    async def organization(self) -> Organization:
        path = self._organization_path()
        response = await self._run(self._read_flow(self._http, "GET", path, "GET organization"))
        return Organization(_json(response, "GET organization"))

    async def request_json(self, method: str, path: str, body: Any = None, *, creates: str | None = None) -> Any:
        """:meth:`Runway.request_json`, on the event loop."""
        steps, what = self._json_flow(self._http, method, path, body, creates)
        return _json(await self._run(steps), what)

    async def download(self, url: str) -> bytes:
        return (await self.download_with_type(url))[0]

    async def download_with_type(self, url: str) -> tuple[bytes, str | None]:
        response = await self._run(self._storage_flow(self._http, "GET", url, "download output"))
        return response.content, response.headers.get("content-type")

    async def save_outputs(self, task: Task, folder: str | Path, params: dict[str, Any] | None = None) -> list[Path]:
        blobs: list[Blob] = [(url, *(await self.download_with_type(url))) for url in task.outputs]
        paths = await asyncio.to_thread(write_outputs, Path(folder), task.id, blobs)
        self._saved(folder, task, params, paths)
        return paths

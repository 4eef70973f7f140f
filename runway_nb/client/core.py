"""``Runway`` and ``AsyncRunway``: one surface, sync and async, over httpx.

The simulator is just another transport: with no key, requests go to the embedded simulator
without touching a socket.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import httpx

from runway_nb import errors
from runway_nb.api import catalog
from runway_nb.api import request as _request
from runway_nb.api.dialects import parse_task
from runway_nb.api.media import Prepared, from_bytes
from runway_nb.api.task import CANCELLED, FAILED, PENDING, Task
from runway_nb.client import archive
from runway_nb.client import retry as _http
from runway_nb.client import settings as _config
from runway_nb.client.schedule import PollSchedule

__all__ = ["Runway", "AsyncRunway", "TaskHandle", "AsyncTaskHandle", "Organization"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_IN_FLIGHT = 16  # concurrent reads per async client, well below httpx's pool of 100
NOT_VISIBLE_GRACE = 30.0  # seconds a just-created CometAPI task may answer task_not_exist

_announce_lock = threading.Lock()
_announced = False


def _announce_sim(sim: Any) -> None:
    global _announced
    with _announce_lock:
        if _announced:
            return
        _announced = True
    describe = getattr(sim, "describe", None)
    extra = f" {describe()}" if callable(describe) else ""
    print("runway-nb: no RUNWAYML_API_SECRET set, so this uses the built-in Runway simulator "
          f"(offline, no credits).{extra} Set RUNWAYML_API_SECRET to use Runway.", file=sys.stderr)


class Organization(dict):
    """``GET /v1/organization`` as a dict, with the figures people ask for as attributes."""

    @property
    def credit_balance(self) -> float | None:
        return self.get("creditBalance")

    def model_limits(self, model: str) -> dict:
        return ((self.get("tier") or {}).get("models") or {}).get(model) or {}


class _Endpoint:
    """``client.image_to_video.create(...)``: one per task-creating endpoint."""

    def __init__(self, client: Any, endpoint: str):
        self._client = client
        self.name = endpoint

    def create(self, **params: Any) -> Any:
        return self._client.create(self.name, **params)

    def __repr__(self) -> str:
        return f"<{self.name} endpoint>"


class _BaseClient:
    _sim: Any = None

    def __init__(self, *, provider: str | None = None, api_key: str | None = None, base_url: str | None = None,
                 strict: bool = True, timeout: float | httpx.Timeout | None = None, max_retries: int = 4,
                 poll_floor: float | None = None, simulator: Any = None,
                 transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
                 fill_defaults: bool = True, announce: bool = True, journal: Any = None):
        self.settings = _config.resolve(provider, api_key, base_url)
        self.provider = self.settings.provider.name
        self.strict = strict
        self.fill_defaults = fill_defaults
        self.policy = _http.RetryPolicy(max_retries=max_retries)
        self._timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self._transport = transport
        self._init_args = dict(provider=provider, api_key=api_key, base_url=base_url, strict=strict,
                               timeout=timeout, max_retries=max_retries, poll_floor=poll_floor,
                               fill_defaults=fill_defaults, announce=False, journal=journal)
        self._created: dict[str, float] = {}
        # None: the default journal (unless RUNWAY_NB_JOURNAL=off); False: none; or a Journal.
        if journal is None or journal is True:
            from runway_nb.client.journal import default_journal
            journal = default_journal()
        self.journal = journal or None
        self._journal_seen: dict[str, tuple] = {}
        if self.settings.in_process_sim and transport is None:
            if simulator is None:
                from runway_nb.sim import default_simulator
                simulator = default_simulator()
            self._sim = simulator
            if announce and provider is None:
                _announce_sim(simulator)
        elif simulator is not None:
            self._sim = simulator
        speed = float(getattr(getattr(self._sim, "config", None), "speed", 1.0) or 1.0)
        # The poll floor is Runway's 5 s update interval, in the simulator's clock when simulated.
        self.poll_floor = poll_floor if poll_floor is not None else 5.0 / speed
        self._init_args["simulator"] = self._sim
        for name in catalog.ENDPOINTS:
            setattr(self, name, _Endpoint(self, name))

    @property
    def simulator(self) -> Any:
        """The embedded simulator, when this client uses one in-process."""
        return self._sim

    @property
    def masked_key(self) -> str:
        return _config.mask_key(self.settings.api_key)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(provider={self.provider!r}, base_url={self.settings.base_url!r}, "
                f"api_key={self.masked_key!r})")

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.settings.api_key}", "Accept": "application/json",
                   "User-Agent": "runway-nb/0.1"}
        if self.settings.provider.sends_version:
            headers["X-Runway-Version"] = _config.RUNWAY_VERSION
        return headers

    def _draft(self, endpoint: str, params: dict[str, Any]) -> _request.Draft:
        strict = params.pop("strict", self.strict)
        if self.settings.provider.create_path is None:
            raise errors.ValidationError("provider", self.provider, "runway, sim or comet",
                                         message=f"provider {self.provider!r} is read-only in runway-nb: it can "
                                                 f"get tasks but not create them; use runway, sim or comet")
        return _request.build(endpoint, params, strict=strict, fill_defaults=self.fill_defaults)

    def _create_url(self, endpoint: str) -> str:
        return self.settings.provider.create_path.format(endpoint=endpoint)  # type: ignore[union-attr]

    def _parse(self, payload: Any) -> Task:
        return parse_task(payload, self.settings.provider.dialect)

    def _not_visible_task(self, task_id: str, exc: errors.NotFoundError) -> Task | None:
        # Only CometAPI's task_not_exist means "not visible yet"; a 404 from Runway is final.
        if not isinstance(exc, errors.TaskNotVisibleError) and self.settings.provider.dialect != "comet":
            return None
        created = self._created.get(task_id)
        if created is not None and time.monotonic() - created < NOT_VISIBLE_GRACE:
            return Task(id=task_id, status=PENDING, dialect=self.settings.provider.dialect)
        return None

    def _upload_request(self, prepared: Prepared) -> dict:
        filename, _, _ = prepared.upload  # type: ignore[misc]
        return {"filename": filename, "type": "ephemeral"}

    def _multipart(self, info: dict, prepared: Prepared) -> tuple[str, dict, dict]:
        filename, data, mime = prepared.upload  # type: ignore[misc]
        url = info.get("uploadUrl")
        uri = info.get("runwayUri") or info.get("uri")
        if not isinstance(url, str) or not isinstance(uri, str):
            raise errors.ResponseFormatError("upload answer lacks uploadUrl/runwayUri", body=None)
        fields = {str(k): str(v) for k, v in (info.get("fields") or {}).items()}
        return url, fields, {"file": (filename, data, mime)}

    def _create_result(self, draft: _request.Draft, payload: Any, handle_cls: type) -> Any:
        if not isinstance(payload, dict):
            raise errors.ResponseFormatError("create answer is not a JSON object", body=None)
        task_id = payload.get("id")
        if not task_id and isinstance(payload.get("data"), dict):  # CometAPI envelope
            task_id = payload["data"].get("task_id") or payload["data"].get("id")
        if not isinstance(task_id, str) or not task_id:
            raise errors.OutcomeUnknownError(
                f"The create answer had no task id ({_clip(payload)}); the task may exist. "
                f"Check your dashboard before submitting again.", endpoint=draft.endpoint)
        self._created[task_id] = time.monotonic()
        estimated = payload.get("estimatedCost")
        credits = estimated.get("credits") if isinstance(estimated, dict) else None
        if credits is None:
            credits = catalog.estimate_credits(draft.endpoint, draft.body) if draft.info else None
        return handle_cls(self, task_id, endpoint=draft.endpoint,
                          params=_request.display_params(draft.endpoint, draft.body), estimated_cost=credits)

    def _journal_begin(self, draft: _request.Draft) -> int | None:
        if self.journal is None:
            return None
        return self.journal.begin(provider=self.provider, base_url=self.settings.base_url, endpoint=draft.endpoint,
                                  params=_request.display_params(draft.endpoint, draft.body))

    def _journal_end(self, rowid: int | None, handle: Any = None, error: BaseException | None = None) -> None:
        if self.journal is None or rowid is None:
            return
        if handle is not None:
            self.journal.created(rowid, handle.id, handle.estimated_cost)
        elif error is not None:
            self.journal.create_failed(rowid, error, outcome_unknown=isinstance(error, errors.OutcomeUnknownError))

    def _journal_task(self, task: Task) -> None:
        if self.journal is None:
            return
        seen = (task.status, task.progress, len(task.outputs))
        if self._journal_seen.get(task.id) != seen:
            self._journal_seen[task.id] = seen
            self.journal.update(task, self.settings.base_url)

    def _client_kwargs(self) -> dict:
        return dict(base_url=self.settings.base_url, headers=self._headers(), timeout=self._timeout,
                    follow_redirects=False)


def _twin_transport(transport: Any, method: str) -> Any:
    """The custom transport, for the sync/async twin, if it can serve that mode (else None)."""
    return transport if transport is not None and callable(getattr(transport, method, None)) else None


def _clip(value: Any, n: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "…"


def _filename_for(task_id: str, index: int, url: str, content_type: str | None) -> str:
    suffix = Path(urlparse(url).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):  # the URL is the server's: no spaces, quotes, surrogates
        suffix = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ".bin"
    safe = "".join(c for c in task_id if c.isalnum() or c in "-_")[:80] or "task"
    return f"{safe}_{index}{suffix}"


def _write_outputs(folder: Path, task: Task, params: dict, blobs: list[tuple[str, bytes, str | None]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (url, data, ctype) in enumerate(blobs):
        path = folder / _filename_for(task.id, i, url, ctype)
        # a temporary name of its own: two savers of one task (a view's autosave and a sweep's
        # save) must not rename each other's file away
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------
# sync
# ----------------------------------------------------------------------------------------

class _Tasks:
    def __init__(self, client: "Runway"):
        self._client = client

    def get(self, task_id: str) -> Task:
        return self._client.get_task(task_id)

    def cancel(self, task_id: str) -> None:
        self._client.cancel_task(task_id)

    # The SDK's name for cancel/delete
    delete = cancel

    def handle(self, task_id: str, **kw: Any) -> "TaskHandle":
        """A handle for an existing task (e.g. created elsewhere), to watch or wait on."""
        return TaskHandle(self._client, task_id, **kw)


class Runway(_BaseClient):
    """Synchronous client. ``with Runway() as client: client.image_to_video.create(...)``."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        transport = self._transport
        if transport is None and self.settings.in_process_sim:
            transport = self._sim.transport()
        self._http = httpx.Client(transport=transport, **self._client_kwargs())
        self.tasks = _Tasks(self)

    def __enter__(self) -> "Runway":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def async_twin(self) -> "AsyncRunway":
        """The one async client this client polls with from a running event loop (cached)."""
        twin = getattr(self, "_twin", None)
        if twin is None:
            twin = self._twin = self.to_async()
        return twin

    def to_async(self) -> "AsyncRunway":
        """An async client with the same settings (and the same simulator, and the same custom
        transport when it also serves async requests, as ``httpx.MockTransport`` does)."""
        return AsyncRunway(**self._init_args, transport=_twin_transport(self._transport, "handle_async_request"))

    # -- plumbing --
    def _read(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, **kw)
                verdict = _http.decide_read(attempt, self.policy, response=response, what=what)
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what=what)
                response = None
            if verdict is None:
                return response  # type: ignore[return-value]
            if isinstance(verdict, _http.Retry):
                time.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    def create(self, endpoint: str, **params: Any) -> "TaskHandle":
        """Validate, upload media if needed, then POST once. Returns a handle at once."""
        draft = self._draft(endpoint, params)
        for placeholder, prepared in list(draft.pending.items()):
            draft.fill(placeholder, self._resolve_media(prepared, placeholder))
        rowid = self._journal_begin(draft)
        try:
            handle = self._post_create(draft)
        except BaseException as exc:
            self._journal_end(rowid, error=exc)
            raise
        self._journal_end(rowid, handle)
        return handle

    def _post_create(self, draft: _request.Draft) -> "TaskHandle":
        endpoint = draft.endpoint
        url = self._create_url(endpoint)
        what = f"POST {url}"
        attempt = 0
        while True:
            try:
                response = self._http.post(url, json=draft.body)
                verdict = _http.decide_create(attempt, self.policy, response=response, what=what, endpoint=endpoint)
            except httpx.TransportError as exc:
                verdict = _http.decide_create(attempt, self.policy, exc=exc, what=what, endpoint=endpoint)
                response = None
            if verdict is None:
                break
            if isinstance(verdict, _http.Retry):
                time.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict
        return self._create_result(draft, _json(response, what), TaskHandle)

    def _resolve_media(self, prepared: Prepared, where: str) -> str:
        if prepared.fetch is not None:
            data = self.download(prepared.fetch)
            prepared = from_bytes(data, where, "image|video", Path(urlparse(prepared.fetch).path).name)
            if prepared.uri is not None:
                return prepared.uri
        return self.upload(prepared)

    def upload(self, prepared_or_path: Any) -> str:
        """Ephemeral upload: returns a ``runway://`` URI valid for 24 hours."""
        prepared = prepared_or_path
        if not isinstance(prepared, Prepared):
            prepared = from_bytes(Path(prepared_or_path).read_bytes(), "file", "image|video",
                                  Path(prepared_or_path).name, data_uri_ok=False)
        path = self.settings.provider.uploads_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no upload route; pass an "
                                                 f"https:// URL or a smaller file (data: URI) instead")
        response = self._read("POST", path, "POST /v1/uploads", json=self._upload_request(prepared))
        info = _json(response, "POST /v1/uploads")
        url, fields, files = self._multipart(info, prepared)
        attempt = 0
        while True:
            request = self._http.build_request("POST", url, data=fields, files=files)
            del request.headers["Authorization"]  # a presigned storage URL must never see the key
            try:
                answer = self._http.send(request)
                verdict = _http.decide_read(attempt, self.policy, response=answer, what="upload")
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what="upload")
            if verdict is None:
                return info.get("runwayUri") or info.get("uri")
            if isinstance(verdict, _http.Retry):
                time.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    def get_task(self, task_id: str) -> Task:
        url = self.settings.provider.task_url(task_id)
        try:
            response = self._read("GET", url, f"GET task {task_id}")
            task = self._parse(_json(response, f"GET task {task_id}"))
        except errors.NotFoundError as exc:
            pending = self._not_visible_task(task_id, exc)
            if pending is not None:
                return pending
            raise
        self._journal_task(task)
        return task

    def cancel_task(self, task_id: str) -> None:
        if not self.settings.provider.cancel:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} offers no cancel route")
        self._created.pop(task_id, None)
        try:
            self._read("DELETE", self.settings.provider.task_url(task_id), f"DELETE task {task_id}")
        except errors.NotFoundError:
            pass  # already cancelled or deleted: Runway documents a repeat 404 as safe to ignore

    def organization(self) -> Organization:
        path = self.settings.provider.organization_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no organization route")
        return Organization(_json(self._read("GET", path, "GET organization"), "GET organization"))

    def download(self, url: str) -> bytes:
        return self._download(url)[0]

    def _download(self, url: str) -> tuple[bytes, str | None]:
        attempt = 0
        while True:
            request = self._http.build_request("GET", url)
            # Output URLs are signed storage links: they need no key and must never get one.
            request.headers.pop("Authorization", None)
            request.headers.pop("X-Runway-Version", None)
            try:
                response = self._http.send(request)
                verdict = _http.decide_read(attempt, self.policy, response=response, what="download output")
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what="download output")
                response = None
            if verdict is None:
                return response.content, response.headers.get("content-type")  # type: ignore[union-attr]
            if isinstance(verdict, _http.Retry):
                time.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    def save_outputs(self, task: Task, folder: str | Path, params: dict | None = None) -> list[Path]:
        blobs = []
        for url in task.outputs:
            data, ctype = self._download(url)
            blobs.append((url, data, ctype))
        paths = _write_outputs(Path(folder), task, params or {}, blobs)
        # The same facts JSON whichever way outputs are saved (handle, widget, archive).
        archive.write_facts(folder, task, params, files=paths, client=self)
        if self.journal is not None:
            self.journal.set_files(task.id, [p.resolve() for p in paths])
        return paths


class TaskHandle:
    """A task you created or attached to: ``.id`` at once, ``.wait()`` for the result."""

    def __init__(self, client: Runway, task_id: str, *, endpoint: str | None = None, params: dict | None = None,
                 estimated_cost: float | None = None):
        self.client = client
        self.id = task_id
        self.endpoint = endpoint
        self.params = params or {}
        self.estimated_cost = estimated_cost
        self.task: Task | None = None
        self.files: list[Path] = []
        self._schedule = PollSchedule(floor=client.poll_floor)

    model = property(lambda self: self.params.get("model"))
    status = property(lambda self: self.task.status if self.task else PENDING)
    outputs = property(lambda self: list(self.task.outputs) if self.task else [])
    finished = property(lambda self: bool(self.task and self.task.finished))

    def refresh(self) -> Task:
        self.task = self.client.get_task(self.id)
        return self.task

    def wait(self, timeout: float | None = None, *, cancel_on_timeout: bool = False, raise_on_failure: bool = True,
             on_update: Callable[[Task], None] | None = None) -> Task:
        """Poll until SUCCEEDED, FAILED or CANCELLED; raise TaskFailedError on FAILED (by default).

        With ``timeout`` (seconds) raise :class:`runway_nb.errors.TimeoutError`; with
        ``cancel_on_timeout`` the remote task is cancelled first, so it stops costing credits.
        """
        start = time.monotonic()
        created = self.client._created.get(self.id, start)
        delay = 0.0 if self.task is not None else max(0.0, self._schedule.first_delay() - (start - created))
        while True:
            if timeout is not None and time.monotonic() + delay - start > timeout:
                remaining = timeout - (time.monotonic() - start)
                if remaining > 0:
                    time.sleep(remaining)
                return self._timed_out(timeout, cancel_on_timeout)
            time.sleep(delay)
            task = self.refresh()
            if on_update is not None:
                on_update(task)
            if task.finished:
                return self._finish(task, raise_on_failure)
            delay = self._schedule.next_delay(task, time.monotonic())

    def __await__(self):
        """``await handle`` in a notebook: wait without blocking the kernel's event loop."""
        return self.wait_async().__await__()

    async def wait_async(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,
                         raise_on_failure: bool = True) -> Task:
        """:meth:`wait`, polled on the running event loop through the client's async twin."""
        twin = self.client.async_twin()
        if self.id in self.client._created:
            twin._created.setdefault(self.id, self.client._created[self.id])
        twin_handle = AsyncTaskHandle(twin, self.id, endpoint=self.endpoint, params=self.params,
                                      estimated_cost=self.estimated_cost)
        twin_handle.task, twin_handle._schedule = self.task, self._schedule
        try:
            return await twin_handle.wait(timeout, cancel_on_timeout=cancel_on_timeout,
                                          raise_on_failure=raise_on_failure)
        finally:
            self.task = twin_handle.task

    def _timed_out(self, timeout: float, cancel: bool) -> Task:
        if cancel:
            self.cancel()
        raise errors.TimeoutError(f"task {self.id} did not finish within {timeout:g} s (last status "
                                  f"{self.status}){'; it was cancelled' if cancel else '; it is still running'}",
                                  task=self.task)

    def _finish(self, task: Task, raise_on_failure: bool) -> Task:
        if task.status == FAILED and raise_on_failure:
            raise errors.TaskFailedError(task)
        return task

    def cancel(self) -> None:
        """Cancel the remote task. One that has already ended is left alone: Runway's DELETE
        on a finished task deletes it, outputs included, and refunds nothing."""
        if self._ended_remotely(self.task):
            return
        try:
            latest = self.refresh()
        except errors.NotFoundError:
            latest = None
        if self._ended_remotely(latest):
            return
        self.client.cancel_task(self.id)
        self._mark_cancelled()

    def _ended_remotely(self, task: Task | None) -> bool:
        return task is not None and task.finished

    def _mark_cancelled(self) -> None:
        self.task = Task(id=self.id, status=CANCELLED, dialect=self.client.settings.provider.dialect,
                         created_at=self.task.created_at if self.task else None)

    def save(self, folder: str | Path = "runway_outputs") -> list[Path]:
        """Download every output into ``folder`` (plus a JSON file of the task's facts)."""
        task = self.task if self.task and self.task.succeeded else self.refresh()
        if not task.succeeded:
            raise errors.RunwayError(f"task {self.id} is {task.status}; only a SUCCEEDED task has outputs to save")
        self.files = self.client.save_outputs(task, folder, self.params)
        return self.files

    def __repr__(self) -> str:
        return f"<TaskHandle {_line(self)}>"


def _line(handle: Any) -> str:
    bits = [handle.id, handle.status]
    task = handle.task
    if task is not None and task.progress is not None and not task.finished:
        bits.append(f"{task.progress:.0%}")
    for key in ("model", "ratio", "duration", "seed"):
        if key in handle.params:
            bits.append(f"{key}={handle.params[key]}")
    if task is not None and task.outputs:
        bits.append(f"{len(task.outputs)} output(s)")
    if task is not None and task.failed:
        bits.append(f"failed: {task.failure_code or ''} {task.failure or ''}".strip())
    return " ".join(str(b) for b in bits)


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise errors.ResponseFormatError(f"{what}: the answer is not JSON ({response.text[:200]!r})",
                                         status_code=response.status_code) from None


# ----------------------------------------------------------------------------------------
# async
# ----------------------------------------------------------------------------------------

class _AsyncTasks:
    def __init__(self, client: "AsyncRunway"):
        self._client = client

    async def get(self, task_id: str) -> Task:
        return await self._client.get_task(task_id)

    async def cancel(self, task_id: str) -> None:
        await self._client.cancel_task(task_id)

    delete = cancel

    def handle(self, task_id: str, **kw: Any) -> "AsyncTaskHandle":
        return AsyncTaskHandle(self._client, task_id, **kw)


class _AsyncEndpoint(_Endpoint):
    async def create(self, **params: Any) -> "AsyncTaskHandle":  # type: ignore[override]
        return await self._client.create(self.name, **params)


class AsyncRunway(_BaseClient):
    """Asynchronous client with the same surface: ``await client.image_to_video.create(...)``."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        for name in catalog.ENDPOINTS:
            setattr(self, name, _AsyncEndpoint(self, name))
        transport = self._transport
        if transport is None and self.settings.in_process_sim:
            transport = self._sim.async_transport()
        self._http = httpx.AsyncClient(transport=transport, **self._client_kwargs())
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.tasks = _AsyncTasks(self)

    async def __aenter__(self) -> "AsyncRunway":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def to_sync(self) -> Runway:
        return Runway(**self._init_args, transport=_twin_transport(self._transport, "handle_request"))

    async def _read(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                # Hundreds of watched tasks polling at once would queue inside the connection
                # pool, whose cost grows with the queue; waiting here is cheap.
                async with self._in_flight:
                    response = await self._http.request(method, url, **kw)
                verdict = _http.decide_read(attempt, self.policy, response=response, what=what)
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what=what)
                response = None
            if verdict is None:
                return response  # type: ignore[return-value]
            if isinstance(verdict, _http.Retry):
                await asyncio.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    async def create(self, endpoint: str, **params: Any) -> "AsyncTaskHandle":
        draft = self._draft(endpoint, params)
        for placeholder, prepared in list(draft.pending.items()):
            draft.fill(placeholder, await self._resolve_media(prepared, placeholder))
        rowid = self._journal_begin(draft)
        try:
            handle = await self._post_create(draft)
        except BaseException as exc:
            self._journal_end(rowid, error=exc)
            raise
        self._journal_end(rowid, handle)
        return handle

    async def _post_create(self, draft: _request.Draft) -> "AsyncTaskHandle":
        endpoint = draft.endpoint
        url = self._create_url(endpoint)
        what = f"POST {url}"
        attempt = 0
        while True:
            try:
                response = await self._http.post(url, json=draft.body)
                verdict = _http.decide_create(attempt, self.policy, response=response, what=what, endpoint=endpoint)
            except httpx.TransportError as exc:
                verdict = _http.decide_create(attempt, self.policy, exc=exc, what=what, endpoint=endpoint)
                response = None
            if verdict is None:
                break
            if isinstance(verdict, _http.Retry):
                await asyncio.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict
        return self._create_result(draft, _json(response, what), AsyncTaskHandle)

    async def _resolve_media(self, prepared: Prepared, where: str) -> str:
        if prepared.fetch is not None:
            data = await self.download(prepared.fetch)
            prepared = from_bytes(data, where, "image|video", Path(urlparse(prepared.fetch).path).name)
            if prepared.uri is not None:
                return prepared.uri
        return await self.upload(prepared)

    async def upload(self, prepared_or_path: Any) -> str:
        prepared = prepared_or_path
        if not isinstance(prepared, Prepared):
            prepared = from_bytes(Path(prepared_or_path).read_bytes(), "file", "image|video",
                                  Path(prepared_or_path).name, data_uri_ok=False)
        path = self.settings.provider.uploads_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no upload route")
        response = await self._read("POST", path, "POST /v1/uploads", json=self._upload_request(prepared))
        info = _json(response, "POST /v1/uploads")
        url, fields, files = self._multipart(info, prepared)
        attempt = 0
        while True:
            request = self._http.build_request("POST", url, data=fields, files=files)
            del request.headers["Authorization"]
            try:
                answer = await self._http.send(request)
                verdict = _http.decide_read(attempt, self.policy, response=answer, what="upload")
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what="upload")
            if verdict is None:
                return info.get("runwayUri") or info.get("uri")
            if isinstance(verdict, _http.Retry):
                await asyncio.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    async def get_task(self, task_id: str) -> Task:
        url = self.settings.provider.task_url(task_id)
        try:
            response = await self._read("GET", url, f"GET task {task_id}")
            task = self._parse(_json(response, f"GET task {task_id}"))
        except errors.NotFoundError as exc:
            pending = self._not_visible_task(task_id, exc)
            if pending is not None:
                return pending
            raise
        self._journal_task(task)
        return task

    async def cancel_task(self, task_id: str) -> None:
        if not self.settings.provider.cancel:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} offers no cancel route")
        self._created.pop(task_id, None)
        try:
            await self._read("DELETE", self.settings.provider.task_url(task_id), f"DELETE task {task_id}")
        except errors.NotFoundError:
            pass

    async def organization(self) -> Organization:
        path = self.settings.provider.organization_path
        if path is None:
            raise errors.ValidationError("provider", self.provider, "runway or sim",
                                         message=f"provider {self.provider!r} has no organization route")
        return Organization(_json(await self._read("GET", path, "GET organization"), "GET organization"))

    async def download(self, url: str) -> bytes:
        return (await self._download(url))[0]

    async def _download(self, url: str) -> tuple[bytes, str | None]:
        attempt = 0
        while True:
            request = self._http.build_request("GET", url)
            request.headers.pop("Authorization", None)
            request.headers.pop("X-Runway-Version", None)
            try:
                response = await self._http.send(request)
                verdict = _http.decide_read(attempt, self.policy, response=response, what="download output")
            except httpx.TransportError as exc:
                verdict = _http.decide_read(attempt, self.policy, exc=exc, what="download output")
                response = None
            if verdict is None:
                return response.content, response.headers.get("content-type")  # type: ignore[union-attr]
            if isinstance(verdict, _http.Retry):
                await asyncio.sleep(verdict.delay)
                attempt += 1
                continue
            raise verdict

    async def save_outputs(self, task: Task, folder: str | Path, params: dict | None = None) -> list[Path]:
        blobs = []
        for url in task.outputs:
            data, ctype = await self._download(url)
            blobs.append((url, data, ctype))
        paths = await asyncio.to_thread(_write_outputs, Path(folder), task, params or {}, blobs)
        archive.write_facts(folder, task, params, files=paths, client=self)
        if self.journal is not None:
            self.journal.set_files(task.id, [p.resolve() for p in paths])
        return paths


class AsyncTaskHandle(TaskHandle):
    """The async twin of :class:`TaskHandle`: ``await handle.wait()``."""

    client: AsyncRunway  # type: ignore[assignment]

    async def refresh(self) -> Task:  # type: ignore[override]
        self.task = await self.client.get_task(self.id)
        return self.task

    async def wait(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,  # type: ignore[override]
                   raise_on_failure: bool = True, on_update: Callable[[Task], Any] | None = None) -> Task:
        start = time.monotonic()
        created = self.client._created.get(self.id, start)
        delay = 0.0 if self.task is not None else max(0.0, self._schedule.first_delay() - (start - created))
        while True:
            if timeout is not None and time.monotonic() + delay - start > timeout:
                remaining = timeout - (time.monotonic() - start)
                if remaining > 0:
                    await asyncio.sleep(remaining)
                if cancel_on_timeout:
                    await self.cancel()
                raise errors.TimeoutError(f"task {self.id} did not finish within {timeout:g} s (last status "
                                          f"{self.status}){'; it was cancelled' if cancel_on_timeout else ''}",
                                          task=self.task)
            await asyncio.sleep(delay)
            task = await self.refresh()
            if on_update is not None:
                result = on_update(task)
                if asyncio.iscoroutine(result):
                    await result
            if task.finished:
                return self._finish(task, raise_on_failure)
            delay = self._schedule.next_delay(task, time.monotonic())

    def __await__(self):
        return self.wait().__await__()

    async def wait_async(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,  # type: ignore[override]
                         raise_on_failure: bool = True) -> Task:
        return await self.wait(timeout, cancel_on_timeout=cancel_on_timeout, raise_on_failure=raise_on_failure)

    async def cancel(self) -> None:  # type: ignore[override]
        if self._ended_remotely(self.task):
            return
        try:
            latest = await self.refresh()
        except errors.NotFoundError:
            latest = None
        if self._ended_remotely(latest):
            return
        await self.client.cancel_task(self.id)
        self._mark_cancelled()

    async def save(self, folder: str | Path = "runway_outputs") -> list[Path]:  # type: ignore[override]
        task = self.task if self.task and self.task.succeeded else await self.refresh()
        if not task.succeeded:
            raise errors.RunwayError(f"task {self.id} is {task.status}; only a SUCCEEDED task has outputs to save")
        self.files = await self.client.save_outputs(task, folder, self.params)
        return self.files

    def __repr__(self) -> str:
        return f"<AsyncTaskHandle {_line(self)}>"


"""The operations both faces offer, on one :class:`~runway_nb.client.core.AsyncRunway`.

REST and MCP differ only in how they receive arguments and render answers; what a GET (with
or without a bounded wait), a DELETE or a create *does* lives here, once.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from runway_nb import errors
from runway_nb.api import catalog
from runway_nb.api import request as _request
from runway_nb.api.task import Task
from runway_nb.client.core import AsyncRunway
from runway_nb.client.handles import AsyncTaskHandle
from runway_nb.client.watch import Watch, WatchTimeout, drive_async
from runway_nb.serve.shape import (
    CreatedOut,
    NotSupportedError,
    Scrubber,
    TaskOut,
    WaitedTaskOut,
    WaitOut,
    check_task_id,
    check_wait,
    task_out,
)

__all__ = ["MEDIA_SCHEMES", "TaskOps"]

# Media a caller of the adapter may pass: references the provider fetches itself. Local
# paths and plain-http URLs are refused: the adapter must not read its own disk or fetch
# from its own network on behalf of whoever can reach its port.
MEDIA_SCHEMES = ("https://", "runway://", "data:")

# Control arguments of ``client.create`` that a remote caller must not set.
_RESERVED = {"strict", "fill_defaults", "fillDefaults"}


# Names that carry media in operations the catalog may describe only loosely (recipes, routed
# ``input`` objects, audio): checked too, at any depth, so no operation's body can smuggle in a
# local path.
_MEDIA_LIKE = re.compile(r"(Uri|Uris|Image|Images|Video|Videos|Audio)$")


@lru_cache(maxsize=1)
def media_field_names() -> frozenset[str]:
    names = set(_request.GENERIC_MEDIA)
    for endpoint in catalog.ENDPOINTS:
        for info in catalog.models(endpoint):
            names.update(name.rsplit(".", 1)[-1] for name in info.media_fields)
    return frozenset(names)


def _check_field(where: str, name: str, value: Any, *, top: bool = False) -> None:
    """Media only as remote references: strictly for the catalog's own media fields at the top
    of the body (their shape is known), loosely (strings only) for media-looking names anywhere."""
    if top and name in media_field_names():
        _check_media(where, value)
    elif name in media_field_names() or _MEDIA_LIKE.search(name):
        _check_media(where, value, loose=True)
    else:
        _check_nested(where, value)


def _check_media(where: str, value: Any, *, loose: bool = False) -> None:
    """``value`` holds media only as remote references. ``loose`` (a name that merely looks like
    media): other scalars (e.g. a boolean ``dropBackgroundAudio``) are left to validation."""
    if isinstance(value, str):
        if not value.strip()[:16].lower().startswith(MEDIA_SCHEMES):
            raise errors.ValidationError(
                where, value, "an https:// URL, a runway:// URI or a data: URI",
                message=f"{where} must be an https:// URL, a runway:// upload URI or a data: URI "
                        f"(the server does not read local files or plain-http URLs for its callers)")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_media(f"{where}[{i}]", item, loose=loose)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "uri" or isinstance(item, (list, dict)):
                _check_media(f"{where}.{key}", item, loose=loose)
    elif value is not None and not loose:
        raise errors.ValidationError(where, value, "a URL string, a list of them, or {uri: ...} objects")


def _check_nested(where: str, value: Any) -> None:
    """Media fields inside objects (a routed ``input``, a recipe's shots, a voice): by name, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}"
            if key == "uri":
                _check_media(path, item)
            elif isinstance(key, str):  # nested objects go to the provider as they are: no aliases
                _check_field(path, key, item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_nested(f"{where}[{i}]", item)


def clean_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params from a remote caller, checked: no control flags, media only as remote references."""
    if not isinstance(params, dict):
        raise errors.ValidationError("body", params, "a JSON object of request fields")
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise errors.ValidationError("body", key, "field names that are non-empty strings")
        if key in _RESERVED:
            raise errors.ValidationError(key, value, "not settable through runway-nb serve (validation is "
                                                     "always strict)")
        if key == "endpoint":
            continue
        name = _request.camel(key)
        _check_field(name, name, value, top=True)
        out[key] = value
    return out


class TaskOps:
    """GET, DELETE and create on the configured provider, answering our normalized shapes.

    Every method raises our typed errors (:mod:`runway_nb.errors`); the faces map them with
    :func:`runway_nb.serve.shape.error_answer`.
    """

    REMEMBER = 10_000  # estimated costs kept for tasks created here
    FOLLOWED = 1_000  # handles kept for tasks created or waited on here and not yet seen finished

    def __init__(self, client: AsyncRunway):
        self.client = client
        self.provider = client.provider
        self.scrub = Scrubber(client.settings.api_key, client.masked_key)
        # Runway reports estimatedCost when a task is created, not when it is read: keep it,
        # so a task created through this server shows it on every GET.
        self._estimates: OrderedDict[str, float] = OrderedDict()
        # A handle per unfinished task created or waited on here (the most recently used): a wait
        # goes on where the last one left off (its schedule keeps the readings), as a caller who
        # waits in slices expects, and a task created here teaches the history of its kind.
        self._handles: OrderedDict[str, AsyncTaskHandle] = OrderedDict()

    @property
    def can_cancel(self) -> bool:
        return bool(self.client.settings.provider.cancel)

    @property
    def can_create(self) -> bool:
        return self.client.settings.provider.create_path is not None

    def _out(self, task: Task) -> TaskOut:
        if task.estimated_cost is None and task.id in self._estimates:
            task = task.model_copy(update={"estimated_cost": self._estimates[task.id]})
        return task_out(task, self.provider)

    def _follow(self, handle: AsyncTaskHandle) -> AsyncTaskHandle:
        """Keep ``handle`` as the most recently used (its task not yet seen finished)."""
        self._handles[handle.id] = handle
        self._handles.move_to_end(handle.id)
        while len(self._handles) > self.FOLLOWED:
            self._handles.popitem(last=False)
        return handle

    async def get(self, task_id: Any) -> TaskOut:
        task_id = check_task_id(task_id)
        return self._out(await self.client.get_task(task_id))

    async def wait(self, task_id: Any, seconds: Any, *, name: str = "wait") -> WaitedTaskOut:
        """The task once it is SUCCEEDED, FAILED or CANCELLED, or as it is when ``seconds`` are up.

        ``seconds`` is checked (``0 < seconds <= MAX_WAIT_SECONDS``; errors name ``name``). Polls
        on the client's watch engine, at the task's own schedule, without blocking the event
        loop: other requests are answered meanwhile. A failed poll is answered as an error.
        """
        task_id = check_task_id(task_id)
        limit = check_wait(seconds, name)
        # Followed from the start: waits on one task at once share its handle, and so its polls.
        handle = self._follow(self._handles.get(task_id) or self.client.tasks.handle(task_id))
        clock = self.client.clock
        floor = self.client.poll_floor
        start = clock.now()
        watch = Watch(floor=floor)
        handle.add_to(watch, start)
        seen: list[Task] = []  # this wait's readings, and those of other waits on the task at once
        try:
            await drive_async(watch, lambda _key: handle.refresh(), clock=clock, deadline=start + limit,
                              on_update=seen.append)
            task = seen[-1]
        except errors.NotFoundError:
            self._handles.pop(task_id, None)  # an unknown id (or a task deleted): nothing to follow
            raise
        except WatchTimeout:
            # The time is up: answer the task as it is now. A reading less than a floor old is
            # as fresh as the provider can tell (it updates a task no more often than that).
            shared = handle.state.shared
            if shared.last is not None and shared.read_at is not None and clock.now() - shared.read_at < floor:
                task = shared.last
            else:
                task = await handle.refresh()
        if task.finished:
            self._handles.pop(task_id, None)
        elapsed = max(0.0, clock.now() - start)
        waited = WaitOut(limit=limit, elapsed=round(elapsed, 3), finished=task.finished)
        return WaitedTaskOut(**self._out(task).model_dump(), waited=waited)

    async def cancel(self, task_id: Any) -> None:
        """Cancel a running task or delete a finished one. Unlike ``client.cancel_task``, a
        provider 404 is raised (NotFoundError), so a caller learns the id was unknown."""
        task_id = check_task_id(task_id)
        if not self.can_cancel:
            raise NotSupportedError("provider", self.provider, "runway or sim",
                                    message=f"provider {self.provider!r} offers no cancel/delete route")
        try:
            await self.client.delete_task(task_id)
        finally:
            self._estimates.pop(task_id, None)
            self._handles.pop(task_id, None)

    async def create(self, endpoint: Any, params: dict[str, Any]) -> CreatedOut:
        """Create a task on any operation of the catalog (``catalog.ENDPOINTS``, e.g.
        ``text_to_speech``, ``recipes/product_ad``, ``generate/audio``)."""
        if not isinstance(endpoint, str) or endpoint not in catalog.ENDPOINTS:
            raise errors.ValidationError("endpoint", endpoint, list(catalog.ENDPOINTS))
        if not self.can_create:
            raise NotSupportedError("provider", self.provider, "runway, sim or comet",
                                    message=f"provider {self.provider!r} is read-only in runway-nb: "
                                            f"it can get tasks but not create them")
        handle = self._follow(await self.client.create(endpoint, **clean_params(params)))
        if handle.estimated_cost is not None:
            self._estimates[handle.id] = handle.estimated_cost
            while len(self._estimates) > self.REMEMBER:
                self._estimates.popitem(last=False)
        shown = dict(handle.params)
        shown.pop("endpoint", None)
        return CreatedOut(id=handle.id, endpoint=endpoint, model=handle.model, params=shown,
                          estimatedCost=handle.estimated_cost, provider=self.provider)

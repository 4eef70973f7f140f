"""``client.workflows``, ``client.workflow_invocations``, ``client.voices`` and ``client.routers``.

Named as in the official SDK (``list``, ``retrieve``, ``run``, ``preview``, ``create``; ``get`` is
kept as this client's word for ``retrieve``). Each has a sync class for :class:`Runway` and an
async one for :class:`AsyncRunway`; what they check and how they read answers is shared here.

A workflow is run by id or by name: a name is looked up in ``GET /v1/workflows`` (any case;
the newest version runs), and an unknown one raises :class:`~runway_nb.errors.ValidationError`
naming the field ``workflow`` and the available names before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from runway_nb import errors
from runway_nb.api.resources import Router, Voice, VoicePreview
from runway_nb.api.workflow import NodeOutputs, PublishedWorkflow, Workflow, WorkflowInvocation, node_outputs_body
from runway_nb.client.local_files import read_local_file
from runway_nb.client.workflows import AsyncWorkflowRun, WorkflowRun, invocation_path

if TYPE_CHECKING:  # the clients import this module; annotations only
    from runway_nb.api.media import Prepared
    from runway_nb.client.core import AsyncRunway, Runway

__all__ = ["AsyncRouters", "AsyncVoices", "AsyncWorkflowInvocations", "AsyncWorkflows", "Routers", "Voices",
           "WorkflowInvocations", "Workflows"]

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PAGE = 100  # items per page when listing
MAX_PAGES = 50  # a listing stops here, whatever the server says about more
PREVIEW_MODELS = ("eleven_ttv_v3", "eleven_multilingual_ttv_v2")  # runwayml 5.24 voice_preview_params
PREVIEW_MIN_CHARS = 20


def _path_id(value: str) -> str:
    return quote(value.strip(), safe="")


def _is_id(value: str) -> bool:
    return bool(UUID.match(value.strip()))


def _page_path(path: str, cursor: str | None) -> str:
    query = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
    return f"{path}?{urlencode(query)}"


def _page(answer: Any) -> tuple[list[Any], str | None]:
    """A list answer's items and the cursor of the next page (None: the last page)."""
    if not isinstance(answer, dict):
        raise errors.ResponseFormatError("a list answer is not a JSON object", body=None)
    data = answer.get("data")
    cursor = answer.get("nextCursor")
    more = answer.get("hasMore", cursor is not None)
    return (list(data) if isinstance(data, list) else [],
            cursor if more and isinstance(cursor, str) and cursor else None)


def _published(answer: Any) -> list[PublishedWorkflow]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise errors.ResponseFormatError("GET /v1/workflows: the answer has no data list", body=None)
    return [PublishedWorkflow.model_validate(item) for item in data if isinstance(item, dict)]


def _by_name(listed: list[PublishedWorkflow], name: str) -> str:
    """The id of the newest version of the workflow called ``name`` (any case)."""
    folded = name.strip().casefold()
    for workflow in listed:
        if workflow.name.casefold() == folded and workflow.id is not None:
            return workflow.id
    names = [w.name for w in listed]
    shown = ", ".join(repr(n) for n in names) or "(none published)"
    raise errors.ValidationError("workflow", name, names,
                                 message=f"workflow={name!r}: no published workflow has this name or id; "
                                         f"available: {shown}")


def _run_id(answer: Any, workflow: Workflow) -> str:
    run_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(run_id, str) or not run_id:
        raise errors.OutcomeUnknownError(
            f"The answer to running workflow {workflow.name!r} had no invocation id; the run may exist. "
            f"Check your dashboard before running it again.", endpoint=f"workflows/{workflow.id}")
    return run_id


def _run_body(node_outputs: NodeOutputs) -> dict[str, Any]:
    return {"nodeOutputs": node_outputs} if node_outputs else {}


def _preview_body(prompt: str, model: str) -> dict[str, str]:
    if model not in PREVIEW_MODELS:
        raise errors.ValidationError("model", model, list(PREVIEW_MODELS))
    if not isinstance(prompt, str) or len(prompt.strip()) < PREVIEW_MIN_CHARS:
        raise errors.ValidationError("prompt", prompt, f"a description of the voice of at least "
                                                       f"{PREVIEW_MIN_CHARS} characters")
    return {"prompt": prompt, "model": model}


def _router_body(slug: str, name: str | None, description: str | None,
                 settings: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"slug": slug}
    if name is not None:
        body["name"] = name
    if description is not None:
        body["description"] = description
    if settings is not None:
        body["settings"] = dict(settings)
    return body


def _router_by_slug(routers: list[Router], slug: str) -> Router:
    for router in routers:
        if router.slug == slug.strip():
            return router
    slugs = [r.slug for r in routers]
    raise errors.ValidationError("router", slug, slugs,
                                 message=f"router={slug!r}: no Model Router has this id or slug; "
                                         f"available: {', '.join(slugs) or '(none)'}")


# ----------------------------------------------------------------------------------------
# sync
# ----------------------------------------------------------------------------------------

class Workflows:
    """``client.workflows``: published workflows, and running them."""

    def __init__(self, client: Runway):
        self.client = client

    def list(self) -> list[PublishedWorkflow]:
        """Every published workflow by name, with its versions (newest runs by name)."""
        return _published(self.client.request_json("GET", "/v1/workflows"))

    def get(self, workflow_id: str) -> Workflow:
        """One published version, with its graph (nodes and edges)."""
        return Workflow.model_validate(self.client.request_json("GET", f"/v1/workflows/{_path_id(workflow_id)}"))

    retrieve = get

    def find(self, id_or_name: str) -> Workflow:
        """A workflow by id, or by name (any case: its newest version)."""
        key = str(id_or_name)
        return self.get(key if _is_id(key) else _by_name(self.list(), key))

    def run(self, id_or_name: str, node_outputs: Mapping[str, Any] | None = None) -> WorkflowRun:
        """Run a published workflow; returns a :class:`WorkflowRun` at once (``.wait()`` for the result).

        ``node_outputs`` overrides nodes' outputs: ``{"Prompt": "a red fox"}``, ``{node_id: {key: value}}``
        or Runway's typed values (see :func:`runway_nb.api.workflow.node_outputs_body`); checked
        against the workflow's graph before the run is requested.
        """
        workflow = self.find(id_or_name)
        body, pending = node_outputs_body(workflow, node_outputs or {}, read_file=read_local_file)
        for (node_id, key), prepared in pending.items():
            body[node_id][key]["uri"] = self._resolve(prepared, f"node_outputs.{key}")
        answer = self.client.request_json("POST", f"/v1/workflows/{_path_id(workflow.id)}", _run_body(body),
                                          creates=f"workflows/{workflow.id}")
        run_id = _run_id(answer, workflow)
        self.client.mark_created(run_id)
        return WorkflowRun(self.client, run_id, workflow=workflow, node_outputs=body)

    def _resolve(self, prepared: Prepared, where: str) -> str:
        return self.client.resolve_media(prepared, where)

    def __repr__(self) -> str:
        return "<workflows: list, get, run>"


class WorkflowInvocations:
    """``client.workflow_invocations``: runs by invocation id."""

    def __init__(self, client: Runway):
        self.client = client

    def retrieve(self, invocation_id: str) -> WorkflowInvocation:
        return WorkflowInvocation.model_validate(self.client.request_json("GET", invocation_path(invocation_id)))

    get = retrieve

    def handle(self, invocation_id: str, workflow: str | None = None) -> WorkflowRun:
        """A :class:`WorkflowRun` for an existing invocation (``workflow``: its id or name, for node names)."""
        return WorkflowRun(self.client, invocation_id,
                           workflow=Workflows(self.client).find(workflow) if workflow else None)


class Voices:
    """``client.voices``: your custom voices, and previews of designed ones."""

    def __init__(self, client: Runway):
        self.client = client

    def list(self) -> list[Voice]:
        voices: list[Voice] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            items, cursor = _page(self.client.request_json("GET", _page_path("/v1/voices", cursor)))
            voices += [Voice.model_validate(v) for v in items if isinstance(v, dict)]
            if cursor is None:
                break
        return voices

    def get(self, voice_id: str) -> Voice:
        return Voice.model_validate(self.client.request_json("GET", f"/v1/voices/{_path_id(voice_id)}"))

    retrieve = get

    def preview(self, prompt: str, model: str = PREVIEW_MODELS[0]) -> VoicePreview:
        """A sample of a voice designed from ``prompt`` (at least 20 characters): ``.url``, ``.duration_secs``."""
        body = _preview_body(prompt, model)
        return VoicePreview.model_validate(self.client.request_json("POST", "/v1/voices/preview", body,
                                                                    creates="voices/preview"))

    def __repr__(self) -> str:
        return "<voices: list, get, preview>"


class Routers:
    """``client.routers``: Model Routers, whose slug routed generation names as ``configId``."""

    def __init__(self, client: Runway):
        self.client = client

    def list(self) -> list[Router]:
        routers: list[Router] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            items, cursor = _page(self.client.request_json("GET", _page_path("/v1/routers", cursor)))
            routers += [Router.model_validate(r) for r in items if isinstance(r, dict)]
            if cursor is None:
                break
        return routers

    def get(self, id_or_slug: str) -> Router:
        """A router by id, or by slug (looked up in the list)."""
        if not _is_id(id_or_slug):
            return _router_by_slug(self.list(), id_or_slug)
        return Router.model_validate(self.client.request_json("GET", f"/v1/routers/{_path_id(id_or_slug)}"))

    retrieve = get

    def create(self, slug: str, *, name: str | None = None, description: str | None = None,
               settings: Mapping[str, Any] | None = None) -> Router:
        answer = self.client.request_json("POST", "/v1/routers", _router_body(slug, name, description, settings),
                                          creates="routers")
        return Router.model_validate(answer)

    def __repr__(self) -> str:
        return "<routers: list, get, create>"


# ----------------------------------------------------------------------------------------
# async
# ----------------------------------------------------------------------------------------

class AsyncWorkflows:
    def __init__(self, client: AsyncRunway):
        self.client = client

    async def list(self) -> list[PublishedWorkflow]:
        return _published(await self.client.request_json("GET", "/v1/workflows"))

    async def get(self, workflow_id: str) -> Workflow:
        return Workflow.model_validate(await self.client.request_json("GET",
                                                                      f"/v1/workflows/{_path_id(workflow_id)}"))

    retrieve = get

    async def find(self, id_or_name: str) -> Workflow:
        key = str(id_or_name)
        return await self.get(key if _is_id(key) else _by_name(await self.list(), key))

    async def run(self, id_or_name: str, node_outputs: Mapping[str, Any] | None = None) -> AsyncWorkflowRun:
        workflow = await self.find(id_or_name)
        body, pending = node_outputs_body(workflow, node_outputs or {}, read_file=read_local_file)
        for (node_id, key), prepared in pending.items():
            body[node_id][key]["uri"] = await self.client.resolve_media(prepared, f"node_outputs.{key}")
        answer = await self.client.request_json("POST", f"/v1/workflows/{_path_id(workflow.id)}", _run_body(body),
                                                creates=f"workflows/{workflow.id}")
        run_id = _run_id(answer, workflow)
        self.client.mark_created(run_id)
        return AsyncWorkflowRun(self.client, run_id, workflow=workflow, node_outputs=body)

    def __repr__(self) -> str:
        return "<workflows: list, get, run>"


class AsyncWorkflowInvocations:
    def __init__(self, client: AsyncRunway):
        self.client = client

    async def retrieve(self, invocation_id: str) -> WorkflowInvocation:
        return WorkflowInvocation.model_validate(await self.client.request_json("GET",
                                                                                invocation_path(invocation_id)))

    get = retrieve

    async def handle(self, invocation_id: str, workflow: str | None = None) -> AsyncWorkflowRun:
        found = await AsyncWorkflows(self.client).find(workflow) if workflow else None
        return AsyncWorkflowRun(self.client, invocation_id, workflow=found)


class AsyncVoices:
    def __init__(self, client: AsyncRunway):
        self.client = client

    async def list(self) -> list[Voice]:
        voices: list[Voice] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            items, cursor = _page(await self.client.request_json("GET", _page_path("/v1/voices", cursor)))
            voices += [Voice.model_validate(v) for v in items if isinstance(v, dict)]
            if cursor is None:
                break
        return voices

    async def get(self, voice_id: str) -> Voice:
        return Voice.model_validate(await self.client.request_json("GET", f"/v1/voices/{_path_id(voice_id)}"))

    retrieve = get

    async def preview(self, prompt: str, model: str = PREVIEW_MODELS[0]) -> VoicePreview:
        body = _preview_body(prompt, model)
        return VoicePreview.model_validate(await self.client.request_json("POST", "/v1/voices/preview", body,
                                                                          creates="voices/preview"))

    def __repr__(self) -> str:
        return "<voices: list, get, preview>"


class AsyncRouters:
    def __init__(self, client: AsyncRunway):
        self.client = client

    async def list(self) -> list[Router]:
        routers: list[Router] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            items, cursor = _page(await self.client.request_json("GET", _page_path("/v1/routers", cursor)))
            routers += [Router.model_validate(r) for r in items if isinstance(r, dict)]
            if cursor is None:
                break
        return routers

    async def get(self, id_or_slug: str) -> Router:
        if not _is_id(id_or_slug):
            return _router_by_slug(await self.list(), id_or_slug)
        return Router.model_validate(await self.client.request_json("GET", f"/v1/routers/{_path_id(id_or_slug)}"))

    retrieve = get

    async def create(self, slug: str, *, name: str | None = None, description: str | None = None,
                     settings: Mapping[str, Any] | None = None) -> Router:
        answer = await self.client.request_json("POST", "/v1/routers",
                                                _router_body(slug, name, description, settings), creates="routers")
        return Router.model_validate(answer)

    def __repr__(self) -> str:
        return "<routers: list, get, create>"

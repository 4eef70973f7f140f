"""Runway's published workflows: ``GET /v1/workflows``, ``GET``/``POST /v1/workflows/{id}`` and
``GET /v1/workflow_invocations/{id}``.

The simulator publishes sample workflows (:data:`SAMPLE_WORKFLOWS`): an image-to-video chain, and
one whose "styled variant" node reads a broken upload and fails while the others succeed, so a
SUCCEEDED invocation carries ``nodeErrors`` (a partial run). Every generation node runs as a
normal task of the simulator (:meth:`TaskFactory.create`, official body), so node outputs are
real rendered media; ``nodeOutputs`` overrides replace a node's output (a prompt, an image) and so
the input of the nodes that read it. A node given an output in ``nodeOutputs`` is not run.

How an invocation moves: its root nodes' tasks are created when it is run; a node whose inputs
are ready gets its task when the invocation is next read (its inputs are the outputs of tasks
that have SUCCEEDED, which only reading the clock can tell). So nodes finish one by one as sim
time passes, and a workflow nobody polls does not go past its first nodes. Status: PENDING or
THROTTLED while no node task has started, RUNNING (``progress``, partial ``output``) until every
node is done, then SUCCEEDED (with ``nodeErrors`` if an optional node failed) or FAILED (a
required node failed). ``cost`` (the SDK 5.24 field, newer than the spec copy) is given only once
every node task is terminal, so a later GET can never report more. Invocations live in the
server's process (they are not written to ``--db``).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Literal

from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.messages import ApiError, JsonObject, SimRequest, SimResponse, json_response, read_json_body
from runway_nb.sim.resource_schemas import UUID_V4, check_body, check_id
from runway_nb.sim.state import TERMINAL, TaskView, iso_z

__all__ = ["SAMPLE_WORKFLOWS", "Workflow", "WorkflowNode", "WorkflowsApi"]

NodeKind = Literal["primitive", "image", "task"]
ValueType = Literal["primitive", "image", "video", "audio"]


def _uid(name: str) -> str:
    """A fixed UUID (version 4 layout) for a sample's ids, so they are the same on every server."""
    return str(uuid.UUID(bytes=hashlib.sha256(name.encode()).digest()[:16], version=4))


def _png_data_uri(width: int = 64, height: int = 36) -> str:
    """A small sunset-gradient PNG as a data URI (a style reference that needs no file)."""
    rows = b"".join(b"\x00" + b"".join(bytes((255 - y * 3, 120 + x, 60 + y * 4)) for x in range(width))
                    for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


# An "upload" whose bytes are not an image: the node reading it fails (ASSET.INVALID) when it starts.
BROKEN_IMAGE = "data:image/png;base64," + base64.b64encode(b"this upload is not an image").decode()


@dataclass(frozen=True)
class Wire:
    """A task node's body field fed by another node's output."""

    field: str  # body path, e.g. "promptText" or "referenceImages.0.uri"
    node: str  # the source node's id
    key: str  # the source node's output key


@dataclass(frozen=True)
class WorkflowNode:
    id: str
    name: str
    kind: NodeKind
    # primitive / image nodes: key -> default typed value ({"type", "value"} or {"type", "uri"})
    defaults: dict[str, JsonObject] = field(default_factory=dict)
    endpoint: str | None = None  # task nodes: the operation and its official body without the wired fields
    body: JsonObject = field(default_factory=dict)
    wires: tuple[Wire, ...] = ()
    output: tuple[str, ValueType] = ("", "primitive")  # task nodes: their output key and type
    required: bool = True  # a required node's failure fails the whole invocation

    def output_types(self) -> dict[str, ValueType]:
        if self.kind == "task":
            return {self.output[0]: self.output[1]}
        types: dict[str, ValueType] = {}
        for key, value in self.defaults.items():
            kind = value["type"]
            types[key] = "image" if kind == "image" else "video" if kind == "video" else (
                "audio" if kind == "audio" else "primitive")
        return types

    def graph_json(self) -> JsonObject:
        out: JsonObject = {"id": self.id, "name": self.name, "type": self.endpoint or self.kind,
                           "outputs": {k: {"type": t} for k, t in self.output_types().items()}}
        if self.kind == "task":
            out["model"] = self.body.get("model")
            out["optional"] = not self.required
        else:
            out["defaults"] = self.defaults
        return out


@dataclass(frozen=True)
class Workflow:
    id: str
    name: str
    description: str | None
    version: int
    created_at: str
    nodes: tuple[WorkflowNode, ...]

    def node(self, node_id: str) -> WorkflowNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def name_of(self, node_id: str) -> str:
        node = self.node(node_id)
        return node.name if node is not None else node_id

    def detail_json(self) -> JsonObject:
        edges = [{"source": w.node, "sourceOutput": w.key, "target": n.id, "targetInput": w.field}
                 for n in self.nodes for w in n.wires]
        return {"id": self.id, "name": self.name, "description": self.description, "version": self.version,
                "createdAt": self.created_at, "updatedAt": self.created_at,
                "graph": {"version": 1, "nodes": [n.graph_json() for n in self.nodes], "edges": edges}}


def _image_to_video(version: int, seconds: int, created_at: str) -> Workflow:
    prompt, style, motion = _uid("i2v/prompt"), _uid("i2v/style"), _uid("i2v/motion")
    keyframe, animate = _uid("i2v/keyframe"), _uid("i2v/animate")
    return Workflow(
        id=_uid(f"workflow/image-to-video/v{version}"), name="Image to video",
        description="A key frame from a prompt and a style reference, then animated into a video.",
        version=version, created_at=created_at,
        nodes=(
            WorkflowNode(prompt, "Prompt", "primitive", {"prompt": {
                "type": "primitive", "value": "a lighthouse on a rocky cliff at dusk, waves crashing, cinematic"}}),
            WorkflowNode(style, "Style reference", "image", {"image": {"type": "image", "uri": _png_data_uri()}}),
            WorkflowNode(motion, "Motion", "primitive", {"prompt": {
                "type": "primitive", "value": "slow push in, gulls circling the lamp"}}),
            WorkflowNode(keyframe, "Key frame", "task", endpoint="text_to_image",
                         body={"model": "gen4_image_turbo", "ratio": "1280:720"},
                         wires=(Wire("promptText", prompt, "prompt"), Wire("referenceImages.0.uri", style, "image")),
                         output=("image", "image")),
            WorkflowNode(animate, "Animate", "task", endpoint="image_to_video",
                         body={"model": "gen4_turbo", "ratio": "1280:720", "duration": seconds},
                         wires=(Wire("promptImage", keyframe, "image"), Wire("promptText", motion, "prompt")),
                         output=("video", "video")),
        ),
    )


def _product_shots() -> Workflow:
    prompt, brand = _uid("shots/prompt"), _uid("shots/brand")
    hero, styled, turntable = _uid("shots/hero"), _uid("shots/styled"), _uid("shots/turntable")
    return Workflow(
        id=_uid("workflow/product-shots/v1"), name="Product shots (one broken node)",
        description=("A hero shot, a styled variant and a turntable video. The brand reference is a broken "
                     "upload, so the optional 'Styled variant' node fails and the run succeeds with nodeErrors; "
                     "give a real image for it in nodeOutputs and every node succeeds."),
        version=1, created_at="2026-11-20T14:30:00.000Z",
        nodes=(
            WorkflowNode(prompt, "Product", "primitive", {"prompt": {
                "type": "primitive", "value": "a ceramic coffee mug on a walnut table, soft window light"}}),
            WorkflowNode(brand, "Brand reference", "image", {"image": {"type": "image", "uri": BROKEN_IMAGE}}),
            WorkflowNode(hero, "Hero shot", "task", endpoint="text_to_image",
                         body={"model": "gen4_image", "ratio": "1024:1024"},
                         wires=(Wire("promptText", prompt, "prompt"),), output=("image", "image")),
            WorkflowNode(styled, "Styled variant", "task", endpoint="text_to_image",
                         body={"model": "gen4_image_turbo", "ratio": "1024:1024"},
                         wires=(Wire("promptText", prompt, "prompt"), Wire("referenceImages.0.uri", brand, "image")),
                         output=("image", "image"), required=False),
            WorkflowNode(turntable, "Turntable", "task", endpoint="image_to_video",
                         body={"model": "gen4_turbo", "ratio": "1280:720", "duration": 2,
                               "promptText": "the mug turns slowly on the table"},
                         wires=(Wire("promptImage", hero, "image"),), output=("video", "video")),
        ),
    )


# Published workflows, grouped by name, newest version first.
SAMPLE_WORKFLOWS: tuple[tuple[Workflow, ...], ...] = (
    (_image_to_video(2, 5, "2026-11-12T09:00:00.000Z"), _image_to_video(1, 2, "2026-10-01T09:00:00.000Z")),
    (_product_shots(),),
)


@dataclass
class NodeError:
    message: str
    failure_code: str | None = None


@dataclass
class Invocation:
    id: str
    workflow: Workflow
    created_wall: float
    values: dict[str, dict[str, JsonObject]]  # node id -> output key -> typed value (given or default)
    given: frozenset[str]  # task nodes whose output came in nodeOutputs: not run
    tasks: dict[str, str] = field(default_factory=dict)  # node id -> task id
    errors: dict[str, NodeError] = field(default_factory=dict)


NodeState = Literal["done", "error", "cancelled", "active", "waiting"]


class WorkflowsApi:
    """The workflow routes, and the invocations they started."""

    def __init__(self, ctx: SimContext, tasks: TaskFactory,
                 workflows: tuple[tuple[Workflow, ...], ...] = SAMPLE_WORKFLOWS):
        self._ctx = ctx
        self._tasks = tasks
        self._groups = workflows
        self._by_id = {w.id: w for group in workflows for w in group}
        self._lock = threading.RLock()
        self._invocations: dict[str, Invocation] = {}

    # ------------------------------------------------------------------ routes
    def list_workflows(self, req: SimRequest) -> SimResponse:
        data = [{"name": group[0].name,
                 "versions": [{"id": w.id, "version": w.version, "createdAt": w.created_at} for w in group]}
                for group in self._groups]
        return json_response(200, {"data": data})

    def get(self, req: SimRequest, workflow_id: str) -> SimResponse:
        return json_response(200, self._workflow(workflow_id).detail_json())

    def run(self, req: SimRequest, workflow_id: str) -> SimResponse:
        workflow = self._workflow(workflow_id)
        body = read_json_body(req)
        check_body("workflow_run", body, f"workflow {workflow.name!r}")
        values, given = _apply_overrides(workflow, body.get("nodeOutputs") or {})
        invocation = Invocation(id=str(uuid.uuid4()), workflow=workflow, created_wall=time.time(),
                                values=values, given=given)
        with self._lock:
            self._invocations[invocation.id] = invocation
            self._advance(invocation)
        return json_response(200, {"id": invocation.id})

    def get_invocation(self, req: SimRequest, invocation_id: str) -> SimResponse:
        invocation_id = check_id(invocation_id)
        with self._lock:
            found = self._invocations.get(invocation_id)
            if found is None:
                raise ApiError(404, "Workflow invocation not found.")
            return json_response(200, self._invocation_json(found))

    def _workflow(self, raw_id: str) -> Workflow:
        workflow = self._by_id.get(check_id(raw_id))
        if workflow is None:
            raise ApiError(404, "Workflow not found: it does not exist or is not published.")
        return workflow

    # ------------------------------------------------------------------ running
    def _state(self, inv: Invocation, node: WorkflowNode) -> tuple[NodeState, TaskView | None]:
        if node.kind != "task" or node.id in inv.given:
            return "done", None
        if node.id in inv.errors:
            return "error", None
        task_id = inv.tasks.get(node.id)
        if task_id is None:
            return "waiting", None
        view = self._ctx.store.view(task_id, include_gone=True)
        if view is None or view.status == "CANCELLED":
            return "cancelled", view
        if view.status == "FAILED":
            inv.errors[node.id] = NodeError(view.failure or "The node's task failed.", view.failure_code)
            return "error", view
        return ("done" if view.status == "SUCCEEDED" else "active"), view

    def _advance(self, inv: Invocation) -> None:
        """Start every node whose inputs are ready (repeatedly: a node given in nodeOutputs is ready at once)."""
        started = True
        while started:
            started = False
            states = {n.id: self._state(inv, n) for n in inv.workflow.nodes}
            # once a required node failed (or a task was cancelled) the run is over: no new node starts
            over = any(s == "error" and _required(inv.workflow, nid) for nid, (s, _) in states.items()) \
                or any(s == "cancelled" for s, _ in states.values())
            for node in inv.workflow.nodes:
                if states[node.id][0] != "waiting":
                    continue
                sources = [states[w.node] for w in node.wires]
                if any(s in ("error", "cancelled") for s, _ in sources):
                    failed = ", ".join(sorted({inv.workflow.name_of(w.node) for w in node.wires
                                               if states[w.node][0] in ("error", "cancelled")}))
                    inv.errors[node.id] = NodeError(f"Not run: its input node {failed} failed.")
                    started = True
                    continue
                if not over and all(s == "done" for s, _ in sources):
                    self._start(inv, node, {w.node: states[w.node][1] for w in node.wires})
                    started = True

    def _start(self, inv: Invocation, node: WorkflowNode, views: dict[str, TaskView | None]) -> None:
        assert node.endpoint is not None
        body: JsonObject = _deep_copy(node.body)
        for wire in node.wires:
            _put(body, wire.field, self._value(inv, wire, views.get(wire.node)))
        try:
            task = self._tasks.create(node.endpoint, body, "official")
        except ApiError as err:  # refused before generation began: no failureCode
            inv.errors[node.id] = NodeError(err.message)
            return
        inv.tasks[node.id] = task.id

    def _value(self, inv: Invocation, wire: Wire, view: TaskView | None) -> object:
        given = inv.values.get(wire.node, {}).get(wire.key)
        if given is not None:
            return given.get("value", given.get("uri"))
        assert view is not None  # a run task node that is done has a view
        return self._ctx.output_urls(view)[0]

    # ------------------------------------------------------------------ answering
    def _invocation_json(self, inv: Invocation) -> JsonObject:
        self._ctx.store.tick()
        self._advance(inv)
        workflow = inv.workflow
        task_nodes = [n for n in workflow.nodes if n.kind == "task"]
        states = {n.id: self._state(inv, n) for n in task_nodes}
        out: JsonObject = {"id": inv.id, "createdAt": iso_z(inv.created_wall)}
        output = {nid: self._ctx.output_urls(view) for nid, (s, view) in states.items()
                  if s == "done" and view is not None}
        node_errors = {nid: {"nodeName": workflow.name_of(nid), "message": err.message}
                       for nid, err in inv.errors.items()}
        views = [view for _, view in states.values() if view is not None]
        all_terminal = all(v.status in TERMINAL for v in views)
        fatal = [nid for nid in inv.errors if _required(workflow, nid)]
        if any(s == "cancelled" for s, _ in states.values()):
            out["status"] = "CANCELLED"
            return out
        if fatal:
            first = inv.errors[fatal[0]]
            out.update(status="FAILED", failure=f"Node '{workflow.name_of(fatal[0])}' failed: {first.message}")
            if first.failure_code:
                out["failureCode"] = first.failure_code
        elif all(s in ("done", "error") for s, _ in states.values()):
            out.update(status="SUCCEEDED", output=output)
        else:
            if views and all(v.status == "PENDING" for v in views):
                out["status"] = "PENDING"
                return out
            if views and all(v.status in ("PENDING", "THROTTLED") for v in views):
                out["status"] = "THROTTLED"
                return out
            out.update(status="RUNNING", progress=_progress(states), output=output)
        if node_errors:
            out["nodeErrors"] = node_errors
        if out["status"] in ("SUCCEEDED", "FAILED") and all_terminal:
            out["cost"] = {"credits": sum(int(v.cost or 0) for v in views)}
        return out


def _required(workflow: Workflow, node_id: str) -> bool:
    node = workflow.node(node_id)
    return node is not None and node.required


def _progress(states: dict[str, tuple[NodeState, TaskView | None]]) -> float:
    parts = []
    for state, view in states.values():
        if state in ("done", "error"):
            parts.append(1.0)
        elif view is not None and view.progress is not None:
            parts.append(view.progress)
        else:
            parts.append(0.0)
    return min(0.99, round(sum(parts) / max(1, len(parts)), 4))


def _apply_overrides(workflow: Workflow, node_outputs: JsonObject) -> tuple[dict[str, dict[str, JsonObject]],
                                                                            frozenset[str]]:
    """The nodes' output values with ``nodeOutputs`` applied; 400 for a node or key the workflow lacks."""
    values = {n.id: dict(n.defaults) for n in workflow.nodes if n.kind != "task"}
    given: set[str] = set()
    for node_id, outputs in node_outputs.items():
        path = ["nodeOutputs", node_id]
        if not UUID_V4.match(node_id):
            raise ApiError(400, f"nodeOutputs: {node_id!r} is not a node id (a UUID)",
                           [{"code": "invalid_string", "path": path, "message": "Invalid uuid"}])
        node = workflow.node(node_id)
        if node is None:
            raise ApiError(400, f"nodeOutputs: workflow {workflow.name!r} has no node {node_id}",
                           [{"code": "custom", "path": path, "message": "Unknown node"}])
        types = node.output_types()
        for key, value in outputs.items():
            if key not in types:
                raise ApiError(400, f"nodeOutputs.{node_id}.{key}: node {node.name!r} has no output {key!r}; "
                                    f"its outputs: {', '.join(types)}",
                               [{"code": "custom", "path": [*path, key], "message": "Unknown output key"}])
            if value["type"] != types[key]:
                raise ApiError(400, f"nodeOutputs.{node_id}.{key}: node {node.name!r} outputs {types[key]!r}, "
                                    f"got type {value['type']!r}",
                               [{"code": "invalid_literal", "path": [*path, key, "type"],
                                 "message": f"Expected {types[key]!r}"}])
            values.setdefault(node_id, {})[key] = dict(value)
            if node.kind == "task":
                given.add(node_id)
    return values, frozenset(given)


def _deep_copy(value: JsonObject) -> JsonObject:
    return {k: (_deep_copy(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in value.items()}


def _put(body: JsonObject, path: str, value: object) -> None:
    """Set ``body[path]`` for a dotted path whose numeric parts are list indexes (lists grow as needed)."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: object = body
    for here, following in zip(parts, [*parts[1:], None], strict=True):
        fresh: object = value if following is None else ([] if isinstance(following, int) else {})
        if isinstance(target, dict) and isinstance(here, str):
            if following is None or here not in target:
                target[here] = fresh
            target = target[here]
        elif isinstance(target, list) and isinstance(here, int):
            while len(target) <= here:
                target.append({} if not isinstance(following, int) else [])
            if following is None:
                target[here] = fresh
            target = target[here]

"""Published workflows and their invocations as Runway sends them, and ``nodeOutputs`` as a person writes them.

Wire shapes (``runwayml`` 5.24 ``types/workflow_*``): ``GET /v1/workflows`` lists each published
workflow by name with its versions; ``GET /v1/workflows/{id}`` gives one version with its graph
(nodes and edges; the SDK leaves a node untyped, so a node is read leniently here);
``GET /v1/workflow_invocations/{id}`` gives a run: PENDING, THROTTLED, RUNNING (``progress`` and
a partial ``output``: node id -> output URLs), SUCCEEDED (possibly with ``nodeErrors``: a
partial run), FAILED or CANCELLED, and ``cost`` once every node's task is terminal.

:func:`node_states` joins a workflow's graph and an invocation into one line per node (what a
view shows); :func:`node_outputs_body` turns ``{"Prompt": "a red fox"}`` into the typed
``nodeOutputs`` Runway takes, checked against the graph before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runway_nb.api import media
from runway_nb.api.media import Prepared, ReadFile
from runway_nb.api.status import StatusChecks
from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, normalize_status
from runway_nb.errors import ValidationError

__all__ = [
    "INPUT",
    "MEDIA_TYPES",
    "SKIPPED",
    "NodeError",
    "NodeOutputs",
    "NodeState",
    "PublishedWorkflow",
    "Workflow",
    "WorkflowEdge",
    "WorkflowInvocation",
    "WorkflowNode",
    "WorkflowVersion",
    "node_outputs_body",
    "node_states",
]

MEDIA_TYPES = ("image", "video", "audio")
VALUE_TYPES = ("primitive", *MEDIA_TYPES)
INPUT = "INPUT"  # a node status: an input of the workflow (a prompt, an image), given or its default
SKIPPED = "SKIPPED"  # a node status: the run ended without running it
INPUT_SHOWN_LIMIT = 100_000  # characters: an input's data: URI longer than this is not shown (notebook size)

_LENIENT = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class WorkflowVersion(BaseModel):
    model_config = _LENIENT

    id: str
    version: int
    created_at: datetime | None = Field(default=None, alias="createdAt")


class PublishedWorkflow(BaseModel):
    """One entry of ``GET /v1/workflows``: a name and its versions."""

    model_config = _LENIENT

    name: str
    versions: list[WorkflowVersion] = Field(default_factory=list)

    @property
    def latest(self) -> WorkflowVersion | None:
        return max(self.versions, key=lambda v: v.version, default=None)

    @property
    def id(self) -> str | None:
        """The id of the newest version (what running it by name runs)."""
        latest = self.latest
        return latest.id if latest is not None else None


class WorkflowNode(BaseModel):
    """A node of a workflow's graph: an input (a prompt, an image) or a generation step."""

    model_config = _LENIENT

    id: str
    name: str | None = None
    type: str | None = None  # "primitive"/"image"/... for inputs, the operation (e.g. text_to_image) for steps
    model: str | None = None
    optional: bool = False
    outputs: dict[str, str] = Field(default_factory=dict)  # output key -> value type
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)  # inputs: output key -> typed value

    @model_validator(mode="before")
    @classmethod
    def _output_types(cls, data: Any) -> Any:
        # {"outputs": {"prompt": {"type": "primitive"}}} on the wire; key -> type here
        if isinstance(data, dict) and isinstance(data.get("outputs"), dict):
            data = {**data, "outputs": {str(k): str(v.get("type") if isinstance(v, dict) else v)
                                        for k, v in data["outputs"].items()}}
        return data

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def is_input(self) -> bool:
        return self.type in VALUE_TYPES

    @property
    def media_kind(self) -> str | None:
        """The kind of media this node outputs (image, video, audio), if any."""
        return next((t for t in self.outputs.values() if t in MEDIA_TYPES), None)


class WorkflowEdge(BaseModel):
    model_config = _LENIENT

    source: str
    target: str
    source_output: str | None = Field(default=None, alias="sourceOutput")
    target_input: str | None = Field(default=None, alias="targetInput")


class Workflow(BaseModel):
    """``GET /v1/workflows/{id}``: one published version, with its graph."""

    model_config = _LENIENT

    id: str
    name: str
    description: str | None = None
    version: int | None = None
    created_at: datetime | None = Field(default=None, alias="createdAt")
    nodes: list[WorkflowNode] = Field(default_factory=list)
    edges: list[WorkflowEdge] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _from_graph(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "raw" in data:
            return data
        graph = data.get("graph")
        if not isinstance(graph, dict):
            graph = {}
        nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), str)]
        edges = [e for e in graph.get("edges") or []
                 if isinstance(e, dict) and isinstance(e.get("source"), str) and isinstance(e.get("target"), str)]
        return {**data, "nodes": nodes, "edges": edges, "raw": dict(data)}

    def node(self, key: str) -> WorkflowNode | None:
        """The node with this id, or else this name (case-insensitive)."""
        found = next((n for n in self.nodes if n.id == key), None)
        if found is None:
            folded = key.strip().casefold()
            found = next((n for n in self.nodes if (n.name or "").casefold() == folded), None)
        return found

    def sources(self, node_id: str) -> list[str]:
        """The nodes whose outputs feed ``node_id``."""
        return list(dict.fromkeys(e.source for e in self.edges if e.target == node_id))


class NodeError(BaseModel):
    """A node that failed (``failure_code`` is absent when it failed before generation began)."""

    model_config = _LENIENT

    message: str
    failure_code: str | None = Field(default=None, alias="failureCode")
    node_name: str | None = Field(default=None, alias="nodeName")


class WorkflowInvocation(StatusChecks, BaseModel):
    """``GET /v1/workflow_invocations/{id}``: a run of a workflow, as last seen."""

    model_config = _LENIENT

    id: str
    status: str
    created_at: datetime | None = Field(default=None, alias="createdAt")
    progress: float | None = None
    output: dict[str, list[str]] = Field(default_factory=dict)
    node_errors: dict[str, NodeError] = Field(default_factory=dict, alias="nodeErrors")
    failure: str | None = None
    failure_code: str | None = Field(default=None, alias="failureCode")
    cost: float | None = None  # credits, once every node's task is terminal
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "raw" in data:
            return data
        out: dict[str, Any] = {**data, "raw": dict(data), "status": normalize_status(data.get("status", ""))}
        cost = data.get("cost")
        out["cost"] = cost.get("credits") if isinstance(cost, dict) else cost
        output = data.get("output")
        out["output"] = {str(k): [str(u) for u in v] for k, v in output.items() if isinstance(v, list)} \
            if isinstance(output, dict) else {}
        if data.get("nodeErrors") is None:
            out.pop("nodeErrors", None)
        return out

    @property
    def partial(self) -> bool:
        """SUCCEEDED with nodes that failed: a partial run (the status alone does not say so)."""
        return self.succeeded and bool(self.node_errors)


class NodeState(BaseModel):
    """One node as a run shows it: its status, its outputs, its error."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    type: str | None = None
    model: str | None = None
    status: str
    kind: str | None = None  # image, video, audio: how to show ``outputs``
    outputs: list[str] = Field(default_factory=list)
    value: str | float | bool | None = None  # an input's primitive value (a prompt)
    error: NodeError | None = None
    optional: bool = False


def node_states(workflow: Workflow | None, invocation: WorkflowInvocation | None,
                given: Mapping[str, Mapping[str, Any]] | None = None) -> list[NodeState]:
    """Every node of the run in graph order (nodes the graph does not know, e.g. without a graph, last).

    A step is SUCCEEDED once it has outputs, FAILED with an entry in ``nodeErrors``, RUNNING
    while the run runs and its inputs are ready, PENDING before, and SKIPPED when the run ended
    without it. An input node (or a step whose output was given in ``nodeOutputs``) is INPUT.
    """
    given = given or {}
    inv_status = invocation.status if invocation is not None else PENDING
    output = invocation.output if invocation is not None else {}
    errors = invocation.node_errors if invocation is not None else {}
    nodes = list(workflow.nodes) if workflow is not None else []
    known = {n.id for n in nodes}
    nodes += [WorkflowNode(id=nid, name=(errors[nid].node_name if nid in errors else None))
              for nid in [*output, *errors] if nid not in known]
    states: dict[str, NodeState] = {}
    for node in nodes:
        if node.id in states:
            continue
        states[node.id] = _state(node, workflow, inv_status, output, errors, given, states)
    return list(states.values())


def _state(node: WorkflowNode, workflow: Workflow | None, inv_status: str, output: Mapping[str, list[str]],
           errors: Mapping[str, NodeError], given: Mapping[str, Mapping[str, Any]],
           before: Mapping[str, NodeState]) -> NodeState:
    outputs: list[str] = []
    value: str | float | bool | None = None
    error: NodeError | None = None
    kind = node.media_kind
    if node.is_input or node.id in given:
        status = INPUT
        value, outputs = _input_value(node, given.get(node.id, {}))
    elif node.id in output:
        status, outputs = SUCCEEDED, output[node.id]
    elif node.id in errors:
        status, error = FAILED, errors[node.id]
    elif inv_status in TERMINAL:
        status = CANCELLED if inv_status == CANCELLED else SKIPPED
    elif inv_status in (PENDING, THROTTLED):
        status = inv_status
    else:
        sources = workflow.sources(node.id) if workflow is not None else []
        ready = all(s in before and before[s].status in (INPUT, SUCCEEDED) for s in sources)
        status = RUNNING if ready else PENDING
    return NodeState(id=node.id, name=node.label, type=node.type, model=node.model, optional=node.optional,
                     status=status, kind=kind if outputs else None, outputs=outputs, value=value, error=error)


def _input_value(node: WorkflowNode, given: Mapping[str, Any]) -> tuple[str | float | bool | None, list[str]]:
    """An input node's primitive value and its shown media (given in nodeOutputs, else its default)."""
    values = {**node.defaults, **given}
    value: str | float | bool | None = None
    shown: list[str] = []
    for typed in values.values():
        if not isinstance(typed, Mapping):
            continue
        if typed.get("type") == "primitive" and isinstance(typed.get("value"), (str, int, float, bool)):
            value = typed["value"] if value is None else value
        uri = typed.get("uri")
        if typed.get("type") in MEDIA_TYPES and isinstance(uri, str) and (
                uri.startswith("https://") or (uri.startswith("data:") and len(uri) <= INPUT_SHOWN_LIMIT)):
            shown.append(uri)
    return value, shown


# ---------------------------------------------------------------------- nodeOutputs as a person writes them
NodeOutputs = dict[str, dict[str, dict[str, Any]]]  # node id -> output key -> typed value


def node_outputs_body(workflow: Workflow, given: Mapping[str, Any], *,
                      read_file: ReadFile) -> tuple[NodeOutputs, dict[tuple[str, str], Prepared]]:
    """``nodeOutputs`` for Runway, and the media still to upload (``(node id, key) -> Prepared``).

    ``given`` maps a node (its id or its name, any case) to its outputs: ``{key: value}``, or the
    value alone when the node has one output. A value is Runway's typed form
    (``{"type": "primitive", "value": ...}``, ``{"type": "image", "uri": ...}``) or plain: text,
    a number or a bool for a primitive output; for a media output anything a media field takes
    (a URL, a data URI, a local path, bytes, a PIL image). Checked against the graph: an unknown
    node or key, or a value of the wrong type, raises :class:`~runway_nb.errors.ValidationError`
    naming ``node_outputs.<node>[.<key>]`` before anything is sent.
    """
    body: NodeOutputs = {}
    pending: dict[tuple[str, str], Prepared] = {}
    for raw_key, outputs in given.items():
        node = workflow.node(str(raw_key))
        if node is None:
            names = [n.label for n in workflow.nodes if n.outputs]
            raise ValidationError(f"node_outputs.{raw_key}", raw_key, names,
                                  message=f"node_outputs: workflow {workflow.name!r} has no node {raw_key!r}; "
                                          f"its nodes: {', '.join(names)}")
        types = node.outputs
        if not (isinstance(outputs, Mapping) and outputs and "type" not in outputs):
            if len(types) != 1:
                raise ValidationError(f"node_outputs.{node.label}", outputs, [f"{{{k!r}: ...}}" for k in types],
                                      message=f"node_outputs.{node.label}: the node has outputs "
                                              f"{', '.join(types) or '(none)'}; name the one to set, e.g. "
                                              f"{{{node.label!r}: {{{next(iter(types), 'key')!r}: ...}}}}")
            outputs = {next(iter(types)): outputs}
        for key, value in outputs.items():
            where = f"node_outputs.{node.label}.{key}"
            kind = types.get(str(key))
            if kind is None:
                raise ValidationError(where, key, list(types),
                                      message=f"{where}: node {node.label!r} has no output {key!r}; "
                                              f"its outputs: {', '.join(types) or '(none)'}")
            typed, prepared = _typed(value, kind, where, read_file)
            body.setdefault(node.id, {})[str(key)] = typed
            if prepared is not None:
                pending[(node.id, str(key))] = prepared
    return body, pending


def _typed(value: Any, kind: str, where: str, read_file: ReadFile) -> tuple[dict[str, Any], Prepared | None]:
    if isinstance(value, Mapping) and "type" in value:
        if value.get("type") != kind:
            raise ValidationError(where, value.get("type"), [kind],
                                  message=f"{where}: this output is of type {kind!r}, got {value.get('type')!r}")
        return dict(value), None
    if kind == "primitive":
        if not isinstance(value, (str, int, float, bool)):
            raise ValidationError(where, value, "text, a number or a bool")
        return {"type": "primitive", "value": value}, None
    prepared = media.prepare(value, where, kind, read_file=read_file)
    if prepared.uri is not None:
        return {"type": kind, "uri": prepared.uri}, None
    return {"type": kind, "uri": ""}, prepared


"""``%%runway --workflow NAME_OR_ID``: run a published workflow from a cell.

Overrides of the workflow's node outputs (``nodeOutputs``) are given with ``-p``, one per node
output, the node named by its name (any case) or id::

    -p "Prompt=a red fox in fresh snow"      the node's only output
    -p "Motion.prompt=slow push in"          NODE.KEY=VALUE: one output of the node
    -p "Style reference={photo}"             a notebook variable (a path, bytes, a PIL image)

The cell body, when there is one, is the text of the workflow's first text input (its first
input node with a primitive output), filled from the notebook's variables as a prompt is. The
cell returns the :class:`~runway_nb.client.workflows.WorkflowRun`, shown as a live WorkflowView;
``--wait`` blocks until the run ends, ``-o NAME`` assigns it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

from runway_nb.api.workflow import Workflow
from runway_nb.client.workflows import PartialRunWarning, WorkflowRun
from runway_nb.errors import RunwayError, ValidationError
from runway_nb.notebook.api import install_views
from runway_nb.notebook.interpolate import interpolate, is_missing, whole_field
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.magics.values import check_variable_name, unquote
from runway_nb.notebook.session import get_session

__all__ = ["run_workflow", "workflow_overrides"]

# %%runway options that do not apply to a workflow (its nodes carry their own models and inputs)
_TASK_OPTIONS = ("model", "ratio", "duration", "seed", "image", "video", "character", "reference", "type",
                 "rows", "cols")


def workflow_overrides(items: list[str] | None, body: str | None, workflow: Workflow,
                       ns: Mapping[str, Any]) -> dict[str, Any]:
    """``-p NODE[.KEY]=VALUE`` items (and the cell body) as ``node_outputs`` for ``workflows.run``."""
    overrides: dict[str, Any] = {}
    if body is not None and body.strip():
        node = next((n for n in workflow.nodes if n.is_input and "primitive" in n.outputs.values()), None)
        if node is None:
            raise UsageError(f"--workflow: {workflow.name!r} has no text input for the cell body; "
                             f"set node outputs with -p NODE.KEY=VALUE")
        text_key = next(k for k, kind in node.outputs.items() if kind == "primitive")
        overrides.setdefault(node.id, {})[text_key] = interpolate(body.strip(), ns).text
    for item in items or []:
        target, sep, raw = unquote(item).partition("=")
        target = target.strip()
        raw = unquote(raw)
        if not sep or not target:
            raise UsageError(f"--param: {item!r} is not NODE=VALUE or NODE.KEY=VALUE (e.g. -p \"Prompt=a red fox\")")
        node_key, key = _split_target(target, workflow)
        whole = whole_field(raw, ns)
        value = whole if not is_missing(whole) else interpolate(raw, ns).text
        if key is None:
            overrides[node_key] = value
        else:
            outputs = overrides.setdefault(node_key, {})
            if not isinstance(outputs, dict):
                raise UsageError(f"--param: node {node_key!r} is set twice")
            outputs[key] = value
    return overrides


def _split_target(target: str, workflow: Workflow) -> tuple[str, str | None]:
    """``"Motion.prompt"`` -> ``("Motion", "prompt")``; a node whose own name holds a dot wins."""
    if workflow.node(target) is not None:
        return target, None
    node, dot, key = target.rpartition(".")
    if dot and node and workflow.node(node) is not None:
        return node, key
    return target, None  # unknown: the client names the nodes there are


def run_workflow(args: argparse.Namespace, cell: str | None, ns: Mapping[str, Any], host: MagicsHost) -> WorkflowRun:
    """Run ``args.workflow`` with the cell's overrides; the run (shown as a WorkflowView in a kernel)."""
    given = [f"--{name}" for name in _TASK_OPTIONS if getattr(args, name, None)]
    if given:
        raise UsageError(f"--workflow: {', '.join(given)} do not apply to a workflow (its nodes carry their own "
                         f"models and inputs); set node outputs with -p NODE.KEY=VALUE")
    out = check_variable_name("--out", args.out)
    install_views()  # in a kernel, the run shows through the widgets
    client = get_session().client_for(getattr(args, "provider", None))
    try:
        workflow = client.workflows.find(unquote(args.workflow))
        run: WorkflowRun = client.workflows.run(workflow.id, workflow_overrides(args.param, cell, workflow, ns))
    except ValidationError as exc:
        raise UsageError(f"--{'workflow' if exc.field == 'workflow' else 'param'}: {exc}") from None
    if out:
        host.assign(out, run)
    if args.wait:
        _wait(run)
    return run


def _wait(run: WorkflowRun) -> None:
    """Block until the run ends; a failure or a partial run is said on stderr, not raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialRunWarning)  # said below, once
            run.wait(raise_on_failure=False)
    except KeyboardInterrupt:
        print(f"\nrunway-nb: stopped waiting; workflow run {run.id} keeps running on the server.", file=sys.stderr)
        return
    except RunwayError as exc:
        print(f"runway-nb: {exc}", file=sys.stderr)
        return
    invocation = run.invocation
    if invocation is not None and invocation.failed:
        print(f"runway-nb: workflow run {run.id} failed [{invocation.failure_code or '?'}]: "
              f"{invocation.failure or ''}".rstrip(), file=sys.stderr)
    elif run.partial:
        print(f"runway-nb: {run.partial_text()}", file=sys.stderr)

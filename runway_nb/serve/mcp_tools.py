"""The MCP face: tools on the official ``mcp`` SDK (``MCPServer``), over streamable HTTP.

Tools (names and hints as in the tasks capability):

- ``retrieve-task-status-and-output`` (read-only, idempotent): ``{id, wait_seconds?}`` -> the
  normalized task; with ``wait_seconds`` (0 < s <= 60) it waits that long at most for the task to
  finish and answers it as it is then, with ``waited: {limit, elapsed, finished}``;
- ``cancel-delete-task`` (destructive, idempotent): ``{id}`` -> ``{"id": ..., "cancelled": true}``;
- ``create-task`` (creates a paid task): endpoint (any operation of the catalog), model, prompt,
  ratio, ... -> the new task's id.

Every answer is JSON text (and the same object as structured content). A failure is a tool
error (``isError``) whose text is the JSON error body the REST face would send, e.g.
``{"error": "...", "status": 404}``, or ``{"error": ..., "status": 400, "field": "ratio"}``.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations at runtime.

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.applications import Starlette

from runway_nb.api import catalog
from runway_nb.serve.ops import TaskOps
from runway_nb.serve.shape import MAX_WAIT_SECONDS, CancelledOut, CreatedOut, RetrievedOut, error_answer
from runway_nb.version import __version__

__all__ = ["CANCEL", "CREATE", "RETRIEVE", "TOOL_NAMES", "build_mcp_app", "build_mcp_server"]

RETRIEVE = "retrieve-task-status-and-output"
CANCEL = "cancel-delete-task"
CREATE = "create-task"
TOOL_NAMES = (RETRIEVE, CANCEL, CREATE)

TaskId = Annotated[str, Field(description="The task id returned when the task was created.",
                              min_length=1, max_length=2048)]
# The range is published in the schema and checked by TaskOps, so a bad value is answered with
# the same JSON error body (naming wait_seconds) as everything else. ``strict``: no booleans.
WaitSeconds = Annotated[float | None, Field(
    strict=True,
    description=f"Wait up to this many seconds (more than 0, at most {MAX_WAIT_SECONDS:g}) for the task to be "
                f"SUCCEEDED, FAILED or CANCELLED, then answer it as it is; the answer then carries "
                f"waited: {{limit, elapsed, finished}} (finished false: the time ran out, the task is still going). "
                f"Omit to answer at once.",
    json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_WAIT_SECONDS})]


def _ok(model: BaseModel) -> CallToolResult:
    data = model.model_dump(mode="json")
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data))], structured_content=data)


def _fail(exc: BaseException, ops: TaskOps) -> CallToolResult:
    answer = error_answer(exc, ops.scrub)
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(answer.body))], is_error=True)


def build_mcp_server(ops: TaskOps, *, log_level: str = "WARNING") -> MCPServer:
    """An ``MCPServer`` with the three tools bound to ``ops``."""
    server = MCPServer(
        name="runway-nb",
        log_level=log_level.upper(),  # type: ignore[arg-type]  # the SDK wants a Literal of level names; the CLI checks ours
        title="Runway tasks (runway-nb serve)",
        version=__version__,
        instructions=(
            f"Runway generation tasks on provider {ops.provider!r}. Use {RETRIEVE} to read a task's status, "
            f"progress and output URLs; {CANCEL} to stop a running task or delete a finished one; "
            f"{CREATE} to start a new generation (it spends credits). Tasks take from seconds to minutes: "
            f"call {RETRIEVE} with wait_seconds (at most {MAX_WAIT_SECONDS:g}) until status is SUCCEEDED, "
            f"FAILED or CANCELLED; each call returns when the task finishes or the time is up, never later."),
    )

    async def retrieve_task_status_and_output(id: TaskId,
                                              wait_seconds: WaitSeconds = None) -> Annotated[CallToolResult,
                                                                                             RetrievedOut]:
        """Retrieve task status and output, optionally waiting a bounded time for it to finish.

        Answers the task as JSON: id, status (PENDING, THROTTLED, RUNNING, SUCCEEDED, FAILED,
        CANCELLED), progress (0..1 or null), output (URLs once SUCCEEDED), failure, failureCode,
        createdAt, estimatedCost, cost, provider. With wait_seconds it returns as soon as the task
        finishes or when the time is up, whichever comes first, and adds waited: {limit, elapsed,
        finished}; finished false means the task is still going (call again to keep waiting).
        """
        try:
            if wait_seconds is None:
                return _ok(await ops.get(id))
            return _ok(await ops.wait(id, wait_seconds, name="wait_seconds"))
        except Exception as exc:
            return _fail(exc, ops)

    async def cancel_delete_task(id: TaskId) -> Annotated[CallToolResult, CancelledOut]:
        """Cancel or delete a task.

        Cancels a task that is still running (PENDING, THROTTLED or RUNNING) or deletes a finished one
        together with its outputs. Afterwards the task can no longer be retrieved. Answers
        {"id": ..., "cancelled": true}; an unknown (or already deleted) id is an error with status 404.
        """
        try:
            await ops.cancel(id)
        except Exception as exc:
            return _fail(exc, ops)
        return _ok(CancelledOut(id=id, cancelled=True))

    async def create_task(
        endpoint: Annotated[str, Field(description=f"The operation (the path after /v1/), one of: "
                                                   f"{', '.join(catalog.ENDPOINTS)}.",
                                       json_schema_extra={"enum": list(catalog.ENDPOINTS)})],
        model: Annotated[str | None, Field(description="The model, e.g. gen4_image (text_to_image), gen4_turbo "
                                                       "(image_to_video), veo3.1 (text_to_video); required by "
                                                       "every operation that names one.")] = None,
        prompt: Annotated[str | None, Field(description="The prompt text (promptText).")] = None,
        ratio: Annotated[str | None, Field(description="Output size as W:H pixels, e.g. 1280:720; the "
                                                        "model's default when omitted.")] = None,
        duration: Annotated[int | float | None, Field(description="Seconds of video, for video models; the "
                                                                  "model's default when omitted.")] = None,
        seed: Annotated[int | None, Field(description="0..4294967295; random when omitted.")] = None,
        image: Annotated[str | None, Field(description="Input image (promptImage) as an https:// URL, a "
                                                       "runway:// URI or a data: URI.")] = None,
        video: Annotated[str | None, Field(description="Input video (videoUri) as an https:// URL, a "
                                                       "runway:// URI or a data: URI.")] = None,
        params: Annotated[dict[str, Any] | None, Field(description="Any other request fields, by Runway's "
                                                                   "camelCase names (e.g. referenceImages, "
                                                                   "contentModeration).")] = None,
    ) -> Annotated[CallToolResult, CreatedOut]:
        """Create a generation task on any operation (this spends credits).

        Any operation of Runway's API that creates a task: images, video, audio, recipes, routed
        generation (generate/...). Fields the arguments below do not name go in params, by Runway's
        camelCase names. Validates the request against runway-nb's model catalog first; a bad value
        is an error naming the field and what is allowed, and nothing is sent. Answers the new task's
        id (wait for it with retrieve-task-status-and-output and wait_seconds), the parameters it
        runs with and its estimated cost.
        """
        fields: dict[str, Any] = dict(params or {})
        for name, value in (("model", model), ("prompt", prompt), ("ratio", ratio), ("duration", duration),
                            ("seed", seed), ("image", image), ("video", video)):
            if value is not None:
                fields[name] = value
        try:
            return _ok(await ops.create(endpoint, fields))
        except Exception as exc:
            return _fail(exc, ops)

    server.add_tool(retrieve_task_status_and_output, name=RETRIEVE, title="Retrieve task status and output",
                    annotations=ToolAnnotations(title="Retrieve task status and output", read_only_hint=True,
                                                destructive_hint=False, idempotent_hint=True,
                                                open_world_hint=True))
    server.add_tool(cancel_delete_task, name=CANCEL, title="Cancel or delete a task",
                    annotations=ToolAnnotations(title="Cancel or delete a task", read_only_hint=False,
                                                destructive_hint=True, idempotent_hint=True,
                                                open_world_hint=True))
    if ops.can_create:
        server.add_tool(create_task, name=CREATE, title="Create a generation task",
                        annotations=ToolAnnotations(title="Create a generation task", read_only_hint=False,
                                                    destructive_hint=False, idempotent_hint=False,
                                                    open_world_hint=True))
    return server


def build_mcp_app(ops: TaskOps, *, host: str = "127.0.0.1", path: str = "/mcp",
                  log_level: str = "WARNING") -> tuple[MCPServer, Starlette]:
    """The server and its streamable-HTTP starlette app (MCP endpoint at ``path``).

    On a loopback ``host`` the SDK turns on DNS-rebinding protection (Host/Origin checks).
    """
    server = build_mcp_server(ops, log_level=log_level)
    return server, server.streamable_http_app(streamable_http_path=path, host=host)

"""Runway's official task routes: ``POST /v1/{endpoint}``, ``GET``/``DELETE /v1/tasks/{id}``.

``GET /v1/tasks/{id}`` after a successful ``DELETE`` answers **404** (cancelled and deleted tasks
alike), as Runway documents ("Aborted and deleted tasks will not be able to be fetched again").
A second ``DELETE`` answers 404 too. Cancelling a task seen RUNNING is charged (Runway: no refund
once RUNNING); cancelling a PENDING/THROTTLED task costs nothing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from runway_nb.api.operations import ANSWER_FIELDS
from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.messages import (
    ApiError,
    JsonObject,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
    read_json_body,
)
from runway_nb.sim.state import TaskView

__all__ = ["OfficialApi", "credits_json", "official_task"]

_UUID4 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")


def credits_json(value: float) -> float | int:
    """Credits as the API writes them: whole numbers without a fraction."""
    return int(value) if float(value).is_integer() else round(float(value), 4)


def official_task(ctx: SimContext, v: TaskView) -> JsonObject:
    """The task JSON of ``GET /v1/tasks/{id}`` (valid against the spec for every status)."""
    out: JsonObject = {"id": v.id, "createdAt": v.created_at, "status": v.status}
    if v.status in ("PENDING", "THROTTLED"):
        out["estimatedCost"] = {"credits": credits_json(v.estimated_cost)}
    elif v.status == "RUNNING":
        out["progress"] = v.progress
        out["estimatedCost"] = {"credits": credits_json(v.estimated_cost)}
    elif v.status == "SUCCEEDED":
        out["output"] = ctx.output_urls(v)
        out["cost"] = {"credits": int(v.cost or 0)}
    elif v.status == "FAILED":
        out["failure"] = v.failure or "The task failed."
        if v.failure_code:
            out["failureCode"] = v.failure_code
        out["cost"] = {"credits": int(v.cost or 0)}
    else:  # CANCELLED
        out["cost"] = {"credits": int(v.cost or 0)}
    return out


def _task_id(raw: str) -> str:
    task_id = unquote(raw)
    if not _UUID4.match(task_id):
        raise ApiError(400, "id: Invalid uuid",
                       [{"code": "invalid_string", "path": ["id"], "message": "Invalid uuid"}])
    return task_id


class OfficialApi:
    def __init__(self, ctx: SimContext, tasks: TaskFactory):
        self._ctx = ctx
        self._tasks = tasks

    def create(self, req: SimRequest, endpoint: str) -> SimResponse:
        task = self._tasks.create(endpoint, read_json_body(req), "official")
        answer: JsonObject = {"id": task.id}
        if "estimatedCost" in ANSWER_FIELDS.get(endpoint, ("estimatedCost",)):
            answer["estimatedCost"] = {"credits": credits_json(task.estimated_cost)}
        return json_response(200, answer)

    def get(self, req: SimRequest, task_id: str) -> SimResponse:
        view = self._ctx.store.view(_task_id(task_id))
        if view is None:
            raise ApiError(404, "Task not found.")
        return json_response(200, official_task(self._ctx, view))

    def delete(self, req: SimRequest, task_id: str) -> SimResponse:
        if self._ctx.store.cancel_or_delete(_task_id(task_id)) is None:
            raise ApiError(404, "Task not found: it does not exist, or was already deleted or cancelled.")
        return empty_response(204)

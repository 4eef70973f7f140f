"""CometAPI's routes: ``POST /runwayml/v1/{endpoint}`` and ``GET /runwayml/v1/tasks/{id}``.

Creates take the official body (``X-Runway-Version`` optional, checked when sent). A just-created
task is ``task_not_exist`` for ``comet_not_exist_seconds``; GETs answer the bare official-like
task, or with ``comet_envelope`` CometAPI's ``{"code", "data": {...}}`` envelope around it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from runway_nb.sim.checks import API_VERSION, check_version
from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.messages import JsonObject, SimRequest, SimResponse, json_response, read_json_body
from runway_nb.sim.state import TaskView
from runway_nb.sim.wire.official import credits_json, official_task

__all__ = ["CometApi", "comet_bare"]

_COMET_STATUS = {"PENDING": "QUEUED", "THROTTLED": "QUEUED", "RUNNING": "IN_PROGRESS",
                 "SUCCEEDED": "SUCCESS", "FAILED": "FAILURE", "CANCELLED": "FAILURE"}
_CST = timezone(timedelta(hours=8))  # CometAPI's envelope shows createdAt with +08:00


def comet_bare(ctx: SimContext, v: TaskView) -> JsonObject:
    """CometAPI's task without the envelope: official fields, THROTTLED as PENDING, CANCELLED as FAILED."""
    status = "PENDING" if v.status == "THROTTLED" else ("FAILED" if v.status == "CANCELLED" else v.status)
    out: JsonObject = {"id": v.id, "status": status, "createdAt": v.created_at}
    if status == "RUNNING":
        out["progress"] = v.progress
    elif status == "SUCCEEDED":
        out["output"] = ctx.output_urls(v)
    elif status == "FAILED":
        out["failure"] = v.failure or "The task was cancelled."
        if v.failure_code:
            out["failureCode"] = v.failure_code
    return out


def comet_envelope(ctx: SimContext, view: TaskView) -> JsonObject:
    inner = official_task(ctx, view)
    inner["createdAt"] = datetime.fromtimestamp(view.created_wall, tz=_CST).isoformat(timespec="seconds")
    if view.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
        progress = "100%"
    elif view.status == "RUNNING":
        progress = f"{int((view.progress or 0) * 100)}%"
    else:
        progress = "0%"
    return {"code": "success", "message": "", "data": {
        "task_id": view.id,
        "action": view.endpoint.upper(),
        "status": _COMET_STATUS[view.status],
        "fail_reason": view.failure or "",
        "submit_time": int(view.created_wall),
        "start_time": int(view.started_wall or 0),
        "finish_time": int(view.finished_wall or 0),
        "progress": progress,
        "data": inner,
    }}


class CometApi:
    def __init__(self, ctx: SimContext, tasks: TaskFactory):
        self._ctx = ctx
        self._tasks = tasks

    def create(self, req: SimRequest, endpoint: str) -> SimResponse:
        version = req.header("x-runway-version")
        if version is not None and version.strip() != API_VERSION:
            check_version(req)
        task = self._tasks.create(endpoint, read_json_body(req), "comet")
        return json_response(200, {"id": task.id, "estimatedCost": {"credits": credits_json(task.estimated_cost)}})

    def get(self, req: SimRequest, task_id: str) -> SimResponse:
        config = self._ctx.config
        view = self._ctx.store.view(unquote(task_id))
        if view is None or view.age_sim < config.comet_not_exist_seconds:
            body = {"code": "task_not_exist", "message": "task_not_exist", "data": None}
            return json_response(404 if config.comet_not_exist_as_http_error else 200, body)
        if not config.comet_envelope:
            return json_response(200, comet_bare(self._ctx, view))
        return json_response(200, comet_envelope(self._ctx, view))

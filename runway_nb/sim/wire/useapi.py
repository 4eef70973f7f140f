"""useapi.net's routes: ``POST /v1/runwayml/gen4/create`` and ``GET /v1/runwayml/tasks/{taskId}``.

Creates become official ``image_to_video`` tasks on ``gen4_turbo``; task ids read
``user:...-runwayml:...-task:<uuid>``; answers use the web app's task format.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.inputs import UUID_RE
from runway_nb.sim.messages import ApiError, JsonObject, SimRequest, SimResponse, json_response, read_json_body
from runway_nb.sim.state import TaskView
from runway_nb.sim.wire.webapp import webapp_task

__all__ = ["UseapiApi", "useapi_task"]

_RATIOS = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960", "4:3": "1104:832",
           "3:4": "832:1104", "21:9": "1584:672"}
_DEFAULT_SECONDS = 5


def useapi_task(ctx: SimContext, v: TaskView) -> JsonObject:
    return webapp_task(ctx, v, useapi=True)


class UseapiApi:
    def __init__(self, ctx: SimContext, tasks: TaskFactory):
        self._ctx = ctx
        self._tasks = tasks

    def create(self, req: SimRequest) -> SimResponse:
        body = read_json_body(req)
        image = body.get("image")
        if not image:
            raise ApiError(400, "Parameter image is required")
        ratio = _RATIOS.get(str(body.get("aspect_ratio") or "16:9"))
        if ratio is None:
            raise ApiError(400, f"Parameter aspect_ratio must be one of {', '.join(_RATIOS)}")
        official: JsonObject = {"model": "gen4_turbo", "promptImage": image, "ratio": ratio,
                                "duration": int(body.get("seconds") or _DEFAULT_SECONDS)}
        if body.get("text_prompt"):
            official["promptText"] = body["text_prompt"]
        if body.get("seed") is not None:
            official["seed"] = body["seed"]
        task = self._tasks.create("image_to_video", official, "useapi")
        view = self._ctx.store.view(task.id)
        assert view is not None  # created just above
        return json_response(200, useapi_task(self._ctx, view))

    def get(self, req: SimRequest, task_id: str) -> SimResponse:
        tid = unquote(task_id).rsplit("-task:", 1)[-1]
        view = self._ctx.store.view(tid) if re.fullmatch(UUID_RE, tid) else None
        if view is None:
            raise ApiError(404, "Not found.")
        return json_response(200, useapi_task(self._ctx, view))

"""makevid.ai's routes: ``POST /api/v1/create_runway`` and ``GET /api/v1/get_runway/{id}``.

With an ``init_image`` a create becomes an official ``image_to_video`` task on ``gen4_turbo``,
else ``text_to_video`` on ``gen4.5``; answers wrap the web app's task format in ``{"task": ...}``.
"""

from __future__ import annotations

from urllib.parse import unquote

from runway_nb.sim.context import SimContext
from runway_nb.sim.create import TaskFactory
from runway_nb.sim.messages import ApiError, JsonObject, SimRequest, SimResponse, json_response, read_json_body
from runway_nb.sim.state import TaskView
from runway_nb.sim.wire.webapp import webapp_task

__all__ = ["MakevidApi", "makevid_task"]

_DEFAULT_SECONDS = 10
_RATIO = "1280:720"


def makevid_task(ctx: SimContext, v: TaskView) -> JsonObject:
    return webapp_task(ctx, v, useapi=False)


class MakevidApi:
    def __init__(self, ctx: SimContext, tasks: TaskFactory):
        self._ctx = ctx
        self._tasks = tasks

    def create(self, req: SimRequest) -> SimResponse:
        body = read_json_body(req)
        prompt = body.get("text_prompt")
        seconds = int(body.get("seconds") or _DEFAULT_SECONDS)
        if body.get("init_image"):
            official: JsonObject = {"model": "gen4_turbo", "promptImage": body["init_image"],
                                    "ratio": _RATIO, "duration": seconds}
            if prompt:
                official["promptText"] = prompt
            endpoint = "image_to_video"
        else:
            if not prompt:
                raise ApiError(400, "text_prompt is required when no init_image is given.")
            official = {"model": "gen4.5", "promptText": prompt, "ratio": _RATIO, "duration": seconds}
            endpoint = "text_to_video"
        if body.get("seed") is not None:
            official["seed"] = body["seed"]
        task = self._tasks.create(endpoint, official, "makevid")
        view = self._ctx.store.view(task.id)
        assert view is not None  # created just above
        return json_response(200, {"task": makevid_task(self._ctx, view), "server_id": "runway-nb-sim"})

    def get(self, req: SimRequest, task_id: str) -> SimResponse:
        view = self._ctx.store.view(unquote(task_id))
        if view is None:
            raise ApiError(404, "Task not found")
        return json_response(200, {"task": makevid_task(self._ctx, view)})

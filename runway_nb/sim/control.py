"""The simulator's own routes for tests and demos: ``/_sim/health``, ``/_sim/stats``, ``/_sim/tasks``,
``/_sim/config`` (read and change settings) and ``/_sim/advance`` (move a manual clock)."""

from __future__ import annotations

from collections.abc import Callable

from runway_nb.sim.checks import API_VERSION
from runway_nb.sim.config import SimConfig
from runway_nb.sim.context import SimContext
from runway_nb.sim.messages import ApiError, SimRequest, SimResponse, error_response, json_response, read_json_body

__all__ = ["ControlApi"]


class ControlApi:
    def __init__(self, ctx: SimContext, configure: Callable[..., SimConfig]):
        self._ctx = ctx
        self._configure = configure  # SimApp.configure: settings changes reach the store and clock too

    def health(self, req: SimRequest) -> SimResponse:
        ctx = self._ctx
        return json_response(200, {"status": "ok", "apiVersion": API_VERSION, "tasks": ctx.store.count(),
                                   "simTime": round(ctx.store.tick(), 3), "speed": ctx.clock.speed,
                                   "manualClock": ctx.clock.manual})

    def stats(self, req: SimRequest) -> SimResponse:
        return json_response(200, self._ctx.stats.snapshot())

    def tasks(self, req: SimRequest) -> SimResponse:
        """Every task the simulator holds (not cancelled or deleted), in creation order, with its status."""
        store = self._ctx.store
        tasks = []
        for task_id in store.ids():
            view = store.view(task_id)
            if view is not None:
                tasks.append({"id": view.id, "status": view.status, "endpoint": view.endpoint, "model": view.model,
                              "createdAt": view.created_at})
        return json_response(200, {"tasks": tasks, "count": len(tasks)})

    def get_config(self, req: SimRequest) -> SimResponse:
        return json_response(200, self._ctx.config.plain())

    def set_config(self, req: SimRequest) -> SimResponse:
        try:
            self._configure(**read_json_body(req))
        except ApiError as err:
            return error_response("official", err)
        except (TypeError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, self._ctx.config.plain())

    def advance(self, req: SimRequest) -> SimResponse:
        try:
            seconds = float(read_json_body(req).get("seconds", 0))
            self._ctx.clock.advance(seconds)
        except (ApiError, TypeError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, {"simTime": round(self._ctx.store.tick(), 3)})

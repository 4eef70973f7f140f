"""Creating a task from an official-format body: validation, limits, credits, moderation, the render.

Every dialect translates its create body into the official format and comes here. Moderation
failures are charged like successes (Runway: "same credit cost as successful generations");
unreadable inputs fail with ``ASSET.INVALID`` when PENDING ends and are refunded.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from urllib.parse import urlsplit

from runway_nb.api import catalog
from runway_nb.errors import ValidationError
from runway_nb.sim.context import SimContext
from runway_nb.sim.inputs import OUTPUT_PATH, InputResolver, probe_seconds, unreadable_input
from runway_nb.sim.jobs import OutputPlan, Sources, plan_outputs, prompt_of, render_job
from runway_nb.sim.messages import ApiError, Dialect, Issue, JsonObject
from runway_nb.sim.render import Renderer
from runway_nb.sim.state import Task

__all__ = ["DAILY_LIMIT_ERROR", "MODERATION_FAILURE", "TaskFactory"]

log = logging.getLogger("runway_nb.sim")

MODERATION_FAILURE = ("Your input was flagged by our content moderation system. "
                      "Please adjust your prompt and try again.")
DAILY_LIMIT_ERROR = "Your daily task limit has been reached."
_DEFAULT_SIZE = (1280, 720)


class TaskFactory:
    """Creates tasks in the store and starts their renders."""

    def __init__(self, ctx: SimContext, inputs: InputResolver, renderer: Renderer):
        self._ctx = ctx
        self._inputs = inputs
        self._renderer = renderer

    def create(self, endpoint: str, body: JsonObject, dialect: Dialect) -> Task:
        """Validate ``body`` (official format) for ``endpoint``, then create and schedule the task."""
        ctx = self._ctx
        try:
            catalog.validate(endpoint, _for_validation(body), strict=True)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        model = str(catalog.model_key(endpoint, body))
        limit = ctx.config.daily_limit
        if limit is not None and ctx.store.daily_count(model) >= limit:
            raise ApiError(429, DAILY_LIMIT_ERROR)
        sources = self._inputs.sources(endpoint, body)

        task_id = ctx.store.new_id()
        seed = body.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = uuid.UUID(task_id).int % (2 ** 32)
        out_kind = _output_kind(endpoint, model)
        try:
            width, height = catalog.output_size(endpoint, body)
        except Exception:  # a catalog gap must not break the simulator
            log.warning("sim: no output size for %s/%s; using 1280x720", endpoint, model)
            width, height = _DEFAULT_SIZE
        duration = None
        media_in = sources.video or sources.audio
        input_seconds = probe_seconds(media_in) if media_in else None
        if out_kind == "video":
            try:
                duration = catalog.output_duration(endpoint, body, input_duration=input_seconds or None)
            except Exception:  # a catalog gap: the default length
                duration = None
        plan = plan_outputs(endpoint, body, kind=out_kind, size=(int(width), int(height)),
                            video_seconds=float(duration) if duration else None, input_seconds=input_seconds,
                            source_image=sources.image)
        try:
            estimate = catalog.estimate_credits(endpoint, body, input_duration=input_seconds or None)
        except Exception:  # a catalog gap: free
            estimate = None
        cost = float(estimate) if estimate is not None else 0.0
        if ctx.store.balance < math.ceil(cost):
            raise ApiError(400, "You do not have enough credits to run this task.")
        task = Task(
            id=task_id, endpoint=endpoint, model=model, body=dict(body), created_wall=time.time(),
            created_sim=ctx.clock.now(), pending_seconds=ctx.config.pending_seconds,
            run_seconds=float(ctx.config.run_seconds(model, endpoint, plan.duration if out_kind == "video" else None)),
            estimated_cost=cost, seed=int(seed), out_kind=out_kind, out_size=plan.size,
            out_duration=plan.duration, out_count=plan.count, out_format=plan.output_format, dialect=dialect,
            preset_failure=self._moderate(endpoint, body) or unreadable_input(sources.image, sources.video),
        )
        ctx.store.add(task)
        ctx.stats.count_create(endpoint)
        if task.preset_failure is None:
            self._start_render(task, sources)
        return task

    def restart_render(self, task: Task) -> None:
        """Render ``task`` again (its render was cut off by a server restart); when its inputs are
        gone (an upload that did not outlive the server), its render fails instead."""
        try:
            sources = self._inputs.sources(task.endpoint, task.body)
        except ApiError as err:
            self._ctx.store.fail_render(task, f"input no longer available after a restart: {err}")
            return
        self._start_render(task, sources)

    def _start_render(self, task: Task, sources: Sources) -> None:
        plan = OutputPlan(task.out_kind, task.out_size, task.out_duration, task.out_count, task.out_format)
        job = render_job(task.endpoint, task.model, task.body, plan, task.seed, sources)
        self._ctx.store.attach_future(task.id, self._renderer.submit(job))

    def _moderate(self, endpoint: str, body: JsonObject) -> tuple[str, str] | None:
        text = " ".join([prompt_of(endpoint, body),
                         str(body.get("negativePrompt") or "")]).lower()
        for word in self._ctx.config.moderation_words:
            if word and word.lower() in text:
                return MODERATION_FAILURE, "SAFETY.INPUT.TEXT"
        return None


def _output_kind(endpoint: str, model: str) -> str:
    try:
        return catalog.get(endpoint, model).output
    except Exception:  # not in the catalog: what the operation makes
        return catalog.OUTPUT_KINDS.get(endpoint, "video")


def _for_validation(body: JsonObject) -> JsonObject:
    """A copy of ``body`` in which the simulator's own output URLs (plain http on loopback)
    read as https, so the catalog's URI rules accept them."""
    return {k: _https_outputs(v) for k, v in body.items()}


def _https_outputs(value: object) -> object:
    if isinstance(value, dict):
        return {k: _https_outputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_https_outputs(v) for v in value]
    if isinstance(value, str) and value.startswith("http://"):
        try:
            path = urlsplit(value).path
        except ValueError:  # not a URL at all: left as it is, for the catalog to refuse
            return value
        if OUTPUT_PATH.search(path):
            return "https://sim.runway-nb.invalid" + path
    return value


def _issue_path(field_name: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+", field_name or ""):
        parts.append(int(token) if token.isdigit() else token)
    return parts


def _validation_error(exc: ValidationError) -> ApiError:
    """The catalog's verdict as Runway's 400: a message and one zod-style issue per problem."""
    field_name = str(exc.field or "")
    text = str(exc)
    message = text if not field_name or text.startswith(field_name) else f"{field_name}: {text}"
    issues: list[Issue] = []
    problems: list[ValidationError] = getattr(exc, "errors", None) or [exc]  # the catalog sets .errors
    for sub in problems:
        sub_field = str(getattr(sub, "field", "") or "")
        sub_value = getattr(sub, "value", None)
        sub_allowed = getattr(sub, "allowed", None)
        if sub_value is None:
            code = "invalid_type"
        elif isinstance(sub_allowed, (list, tuple, set, frozenset)):
            code = "invalid_enum_value"
        else:
            code = "custom"
        path = [] if sub_field == "body" else _issue_path(sub_field)
        issues.append({"code": code, "path": path, "message": str(sub)})
    return ApiError(400, message, issues)

"""What ``runway-nb serve`` answers, on both faces (REST and MCP).

- :class:`TaskOut`: one normalized task shape for every provider (built from our
  :class:`~runway_nb.api.task.Task`, whichever dialect it was read from);
- :func:`error_answer`: our typed errors mapped to an HTTP status, a JSON error body
  ``{"error": "...", "status": N}`` and headers (``Retry-After`` on 429);
- :func:`check_task_id`: the ids we pass on to a provider;
- :func:`check_wait`: the bounded wait a GET may ask for (``?wait=``, ``wait_seconds``) and
  :class:`WaitedTaskOut`, the task answered after such a wait.

Nothing here knows about starlette or mcp.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runway_nb import errors
from runway_nb.api.task import STATUSES, Task

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_WAIT_SECONDS",
    "CancelledOut",
    "CreatedOut",
    "ErrorAnswer",
    "ErrorOut",
    "NotSupportedError",
    "RetrievedOut",
    "Scrubber",
    "TaskOut",
    "WaitOut",
    "WaitedTaskOut",
    "check_task_id",
    "check_wait",
    "error_answer",
    "task_out",
]

MAX_ID_LENGTH = 2048
# The longest wait one GET may ask for: below the request timeouts of common HTTP and MCP clients,
# so a caller that wants longer asks again (and never holds a request open for good).
MAX_WAIT_SECONDS = 60.0
_BAD_ID = re.compile(r"[\x00-\x20\x7f/\\]")


class NotSupportedError(errors.ValidationError):
    """The configured provider has no route for this (e.g. useapi cannot cancel): HTTP 501."""


class TaskOut(BaseModel):
    """A task as ``runway-nb serve`` reports it, whatever provider it came from."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "Task"})

    id: str = Field(description="The provider's task id (pass it back unchanged to GET or DELETE the task).")
    status: str = Field(description="PENDING, THROTTLED, RUNNING, SUCCEEDED, FAILED or CANCELLED; providers' "
                                    "other spellings (QUEUED, PROCESSING, SUCCESS, ...) are mapped onto these. "
                                    "A status no provider documents is passed on upper-cased.",
                        examples=list(STATUSES))
    progress: float | None = Field(description="0..1 while RUNNING when the provider says; otherwise null.",
                                   ge=0, le=1)
    output: list[str] = Field(description="Output URLs once SUCCEEDED (Runway's expire within 24-48 h); "
                                          "empty otherwise.")
    failure: str | None = Field(description="Why the task FAILED, in the provider's words; null otherwise.")
    failureCode: str | None = Field(description="Runway's failure code (e.g. SAFETY.INPUT.TEXT) when given.")
    createdAt: str | None = Field(description="When the task was created, ISO-8601 UTC with a Z; null when "
                                              "the provider does not say.")
    estimatedCost: float | None = Field(description="Credits the provider estimated; null when not reported.")
    cost: float | None = Field(description="Credits charged once finished; null when not reported.")
    provider: str = Field(description="Which backend answered: runway, sim, comet, useapi or makevid.")


class WaitOut(BaseModel):
    """How a bounded wait ended (only in answers to a GET that asked for one)."""

    model_config = ConfigDict(extra="forbid")

    limit: float = Field(description="The seconds the caller allowed (`wait` / `wait_seconds`).")
    elapsed: float = Field(description="The seconds the server waited before answering.", ge=0)
    finished: bool = Field(description="True when the task is SUCCEEDED, FAILED or CANCELLED. False when the time "
                                       "ran out first: the task is still going, and its current state is "
                                       "answered; ask again to keep waiting.")


class WaitedTaskOut(TaskOut):
    """The task after a bounded wait: the normalized task plus how the wait ended."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "WaitedTask"})

    waited: WaitOut = Field(description="Present only when the GET asked to wait.")


class RetrievedOut(TaskOut):
    """What the MCP retrieve tool answers: the task, with ``waited`` when ``wait_seconds`` was given."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "RetrievedTask"})

    waited: WaitOut | None = Field(None, description="Only when wait_seconds was given: how the wait ended.")


class CreatedOut(BaseModel):
    """The answer to a create: the new task's id and what it was created with."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "CreatedTask"})

    id: str = Field(description="The new task's id: GET /v1/tasks/{id} until it is finished.")
    endpoint: str = Field(description="The endpoint the task was created on, e.g. image_to_video.")
    model: str | None = Field(description="The model it runs.")
    params: dict[str, Any] = Field(description="The request body as sent (ratio, duration and seed filled with "
                                               "the model's defaults when not given; data: URIs shortened).")
    estimatedCost: float | None = Field(description="Credits the task is expected to cost, when known.")
    provider: str = Field(description="Which backend it was created on.")


class CancelledOut(BaseModel):
    """The answer of the MCP cancel tool (REST answers 204 with no body)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    cancelled: bool = Field(description="Always true: the task was cancelled (if running) or deleted.")


class ErrorOut(BaseModel):
    """Every error, from either face."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "Error"})

    error: str = Field(description="What went wrong, in words (never contains the API key).")
    status: int = Field(description="The HTTP status this error maps to (also the REST status code).")
    field: str | None = Field(None, description="For validation errors: the request field at fault.")
    retryAfter: float | None = Field(None, description="For 429: seconds to wait before trying again.")


def _iso(task: Task) -> str | None:
    if task.created_at is None:
        return None
    moment = task.created_at.astimezone(timezone.utc)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def task_out(task: Task, provider: str) -> TaskOut:
    """The normalized shape of a :class:`Task` read from any dialect."""
    progress = task.progress
    if progress is not None and (math.isnan(progress) or not 0 <= progress <= 1):
        progress = None
    return TaskOut(
        id=task.id,
        status=task.status,
        progress=progress,
        output=list(task.outputs),
        failure=task.failure,
        failureCode=task.failure_code,
        createdAt=_iso(task),
        estimatedCost=task.estimated_cost,
        cost=task.cost,
        provider=provider,
    )


def check_task_id(task_id: Any) -> str:
    """An id fit to put in a provider's URL, or :class:`ValidationError` naming ``id``."""
    if not isinstance(task_id, str) or not task_id.strip():
        raise errors.ValidationError("id", task_id, "a non-empty task id string",
                                     message="id is required: the task id returned when the task was created")
    if len(task_id) > MAX_ID_LENGTH or task_id in (".", "..") or _BAD_ID.search(task_id):
        raise errors.ValidationError("id", task_id, f"a task id of at most {MAX_ID_LENGTH} characters without "
                                                    "spaces, slashes or control characters")
    return task_id


def check_wait(value: object, name: str = "wait") -> float:
    """Seconds to wait, ``0 < seconds <= MAX_WAIT_SECONDS``, from a number or a query string;
    otherwise :class:`ValidationError` naming ``name``, the value and the allowed range."""
    allowed = f"a number of seconds greater than 0 and at most {MAX_WAIT_SECONDS:g}"
    seconds: float | None = None
    if isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= MAX_WAIT_SECONDS:
        raise errors.ValidationError(name, value, allowed,
                                     message=f"{name}={value!r} is not allowed; {name} must be {allowed} "
                                             f"(the task is answered as it is when the time is up)")
    return seconds


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------

@dataclass
class ErrorAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.body["error"])


class Scrubber:
    """Removes a secret from any text we send out, just in case an upstream echoed it."""

    def __init__(self, secret: str | None, masked: str = "****"):
        self._secret = secret if secret and len(secret) >= 6 else None
        self._masked = masked

    def __call__(self, text: str) -> str:
        if self._secret and self._secret in text:
            return text.replace(self._secret, self._masked)
        return text


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "status": status}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def error_answer(exc: BaseException, scrub: Scrubber | None = None) -> ErrorAnswer:
    """Map any exception to a status, a JSON body and headers.

    Upstream 5xx, unreadable answers and unreachable upstreams become 502 (the adapter is a
    gateway: the fault is behind it); an upstream timeout becomes 504. Client-side faults
    (400, 401, 403, 404, 409, 429, ...) keep their status.
    """
    scrub = scrub or Scrubber(None)
    text = scrub(str(exc)) or type(exc).__name__
    if isinstance(exc, errors.ValidationError):
        status = 501 if isinstance(exc, NotSupportedError) else 400
        return ErrorAnswer(status, _body(status, text, field=exc.field))
    if isinstance(exc, errors.RateLimitError):
        after = exc.retry_after
        headers = {}
        if after is not None and math.isfinite(after):
            headers["Retry-After"] = str(max(0, math.ceil(after)))
        return ErrorAnswer(429, _body(429, text, retryAfter=after if headers else None), headers)
    if isinstance(exc, errors.NotFoundError):  # includes TaskNotVisibleError
        return ErrorAnswer(404, _body(404, text))
    if isinstance(exc, errors.BadRequestError):
        return ErrorAnswer(400, _body(400, text))
    if isinstance(exc, errors.AuthenticationError):
        return ErrorAnswer(401, _body(401, text))
    if isinstance(exc, errors.PermissionDeniedError):
        return ErrorAnswer(403, _body(403, text))
    if isinstance(exc, (errors.ServerError, errors.ResponseFormatError, errors.APIConnectionError)):
        return ErrorAnswer(502, _body(502, text))
    if isinstance(exc, errors.APITimeoutError):
        return ErrorAnswer(504, _body(504, text))
    if isinstance(exc, errors.OutcomeUnknownError):
        return ErrorAnswer(502, _body(502, text))
    if isinstance(exc, errors.APIError):
        code = exc.status_code
        if code is not None and 400 <= code < 500:
            return ErrorAnswer(code, _body(code, text))
        return ErrorAnswer(502, _body(502, text))
    return ErrorAnswer(500, _body(500, f"internal error in runway-nb serve ({type(exc).__name__})"))

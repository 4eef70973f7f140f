"""Typed exceptions. Every message is built from data we control; none carries the API key.

``APIConnectionError`` and ``APITimeoutError`` are also the builtin ``ConnectionError`` and
``TimeoutError``, so ``except TimeoutError:`` catches them. Their old names
(``errors.ConnectionError``, ``errors.TimeoutError``) still resolve, with a DeprecationWarning,
but are not module attributes: ``from runway_nb.errors import *`` never shadows a builtin.
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any, Protocol

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "DailyLimitError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseFormatError",
    "RunwayError",
    "ServerError",
    "TaskCancelledError",
    "TaskFailedError",
    "TaskNotVisibleError",
    "ValidationError",
    "failure_hint",
]


class FinishedTask(Protocol):
    """What an error needs of a task (``runway_nb.Task`` has it; this module cannot import it)."""

    @property
    def id(self) -> str: ...

    @property
    def failure(self) -> str | None: ...

    @property
    def failure_code(self) -> str | None: ...


class RunwayError(Exception):
    """Base class of every error runway-nb raises."""


class ValidationError(RunwayError, ValueError):
    """Bad input, caught before any request is sent (no credits spent).

    ``field`` is the request field, ``value`` what was given and ``allowed`` a description
    of what is accepted. When a check found several problems, ``errors`` lists each of them
    (this error first); otherwise it is empty.
    """

    def __init__(self, field: str, value: object, allowed: object, message: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.errors: list[ValidationError] = []
        if message is None:
            message = f"{field}={_short(value)} is not allowed; allowed: {_allowed_text(allowed)}"
        super().__init__(message)


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 15] + f"...({len(text)} chars)"


def _allowed_text(allowed: object) -> str:
    if isinstance(allowed, (list, tuple, set, frozenset)):
        items = list(allowed)
        if len(items) > 30:
            return ", ".join(str(a) for a in items[:30]) + f", ... ({len(items)} in all)"
        return ", ".join(str(a) for a in items)
    return str(allowed)


class APIError(RunwayError):
    """The server answered with an error, or could not be reached."""

    status_code: int | None = None

    # ``body`` is the server's answer as decoded JSON (or a clipped text of it)
    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.body = body


class APIConnectionError(APIError, builtins.ConnectionError):
    """The request could not reach the server (connection refused, reset, DNS)."""


class BadRequestError(APIError):
    """HTTP 400: the server rejected the input. ``issues`` is Runway's list, when given."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = 400, body: Any = None,
                 issues: list[dict[str, Any]] | None = None):
        super().__init__(message, status_code=status_code, body=body)
        self.issues = issues or []


class AuthenticationError(APIError):
    """HTTP 401: the key is missing, malformed, disabled, or meant for another host."""

    status_code = 401


class PermissionDeniedError(APIError):
    status_code = 403


class NotFoundError(APIError):
    """HTTP 404: no such task (never existed, deleted, or cancelled)."""

    status_code = 404


class RateLimitError(APIError):
    """HTTP 429. ``retry_after`` is in seconds when the server said."""

    status_code = 429

    def __init__(self, message: str, *, status_code: int | None = 429, body: Any = None,
                 retry_after: float | None = None):
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class DailyLimitError(RateLimitError):
    """HTTP 429 on create because the account's daily generation limit is reached.

    Retrying does not help until the rolling 24 h window frees a slot.
    """


class ServerError(APIError):
    """HTTP 5xx."""


class ResponseFormatError(APIError):
    """The server answered 2xx, but not with a task this dialect can read."""


class TaskNotVisibleError(NotFoundError):
    """CometAPI's ``task_not_exist``: a just-created task is not visible yet.

    The client treats it as PENDING for a bounded time after creation, then as not found.
    """


class APITimeoutError(RunwayError, builtins.TimeoutError):
    """Waiting for a task, or for an answer, took longer than allowed."""

    def __init__(self, message: str, task: FinishedTask | None = None):
        super().__init__(message)
        self.task = task


class OutcomeUnknownError(RunwayError):
    """A create request may have reached the server, but no answer came back.

    It is not resent (a second POST could create and bill a second task). The task may exist:
    check the account's tasks in Runway's dashboard, or the runway-nb journal, before retrying.
    """

    def __init__(self, message: str, *, endpoint: str, cause: BaseException | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.__cause__ = cause


_HINTS: list[tuple[str, str]] = [
    ("SAFETY.INPUT", "Content moderation rejected an input (prompt or media). Rephrase or change "
                     "the input; retrying the same request will fail again and still costs credits."),
    ("SAFETY.OUTPUT", "Content moderation rejected the generated output. A different prompt or seed "
                      "may pass; repeated moderation failures can get an account suspended."),
    ("INTERNAL.BAD_OUTPUT", "The output was rejected for quality. Overlaid text or graphics in an "
                            "input image often cause this; retrying rarely helps without changing inputs."),
    ("INPUT_PREPROCESSING.SAFETY", "Content moderation rejected the prompt text. Rephrase it."),
    ("INPUT_PREPROCESSING", "Preparing the inputs failed on Runway's side. Retry after a short wait."),
    ("ASSET.INVALID", "An input file was not usable (format, duration, resolution or Content-Type). "
                      "Fix the input and submit again."),
    ("THIRD_PARTY", "The partner model behind this request was unavailable. Retry after a delay."),
    ("INTERNAL", "Runway had an internal error. Retrying the same request usually works."),
]


def failure_hint(failure_code: str | None) -> str:
    """A plain-language explanation of a Runway failure code family."""
    code = (failure_code or "INTERNAL").upper()
    for prefix, hint in _HINTS:
        if code == prefix or code.startswith(prefix + ".") or code.startswith(prefix):
            return hint
    return "The task failed. Check the failure text; retrying may or may not help."


class TaskFailedError(RunwayError):
    """A task ended FAILED. ``task`` is the final :class:`runway_nb.Task`."""

    def __init__(self, task: FinishedTask):
        self.task = task
        self.failure = task.failure
        self.failure_code = task.failure_code
        self.hint = failure_hint(self.failure_code)
        code = f" [{self.failure_code}]" if self.failure_code else ""
        super().__init__(f"Task {task.id} failed{code}: {self.failure or 'no reason given'}. {self.hint}")


class TaskCancelledError(RunwayError):
    """Raised by ``wait(raise_on_failure=True)`` when the task ended CANCELLED."""

    def __init__(self, task: FinishedTask):
        self.task = task
        super().__init__(f"Task {task.id} was cancelled.")


# Old names that shadowed builtins: served on attribute access only, with a warning.
_DEPRECATED_ALIASES: dict[str, type[RunwayError]] = {
    "ConnectionError": APIConnectionError,
    "TimeoutError": APITimeoutError,
}


def __getattr__(name: str) -> type[RunwayError]:
    new = _DEPRECATED_ALIASES.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"runway_nb.errors.{name} is deprecated; use runway_nb.errors.{new.__name__} "
                  f"(it is also the builtin {name})", DeprecationWarning, stacklevel=2)
    return new

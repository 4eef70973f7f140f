"""What the simulator's handlers take and give: ``SimRequest``, ``SimResponse`` and ``ApiError``.

Transports and the HTTP server turn their own request objects into :class:`SimRequest` and
:class:`SimResponse` back into theirs; nothing here knows about sockets or httpx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ApiError",
    "Dialect",
    "Issue",
    "JsonObject",
    "SimRequest",
    "SimResponse",
    "empty_response",
    "error_response",
    "json_response",
    "read_json_body",
    "text_response",
]

# A JSON object as parsed from a request body or built for an answer (JSON is untyped).
JsonObject = dict[str, Any]
# One entry of an error's ``issues`` list, as Runway's zod-style validation errors give them.
Issue = dict[str, Any]
# Which provider's wire format a route speaks.
Dialect = Literal["official", "comet", "useapi", "makevid"]


@dataclass
class SimRequest:
    method: str
    path: str  # as received (percent-encoded), without the query string
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    query: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:  # any JSON value: the caller checks its shape
        if not self.body:
            return {}
        return json.loads(self.body)


@dataclass
class SimResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    fault: str | None = None  # 'drop' (answer lost) or 'drop_before' (connection refused)
    delay: float = 0.0  # real seconds the adapter waits before answering

    def json(self) -> Any:  # any JSON value: the caller checks its shape
        return json.loads(self.body)


class ApiError(Exception):
    """An error answer, shaped later by the route's dialect (:func:`error_response`)."""

    def __init__(self, status: int, message: str, issues: list[Issue] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.issues = issues
        self.headers = headers or {}


def json_response(status: int, obj: object, headers: dict[str, str] | None = None) -> SimResponse:
    body = json.dumps(obj, separators=(",", ":")).encode()
    h = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body))}
    h.update(headers or {})
    return SimResponse(status, h, body)


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> SimResponse:
    body = text.encode()
    return SimResponse(status, {"Content-Type": content_type, "Content-Length": str(len(body))}, body)


def empty_response(status: int = 204) -> SimResponse:
    return SimResponse(status, {}, b"")


def error_response(dialect: Dialect, err: ApiError) -> SimResponse:
    """``err`` as the dialect words errors: useapi.net adds the status as ``code``, the others
    give Runway's ``{"error", "issues"}``."""
    if dialect == "useapi":
        body: JsonObject = {"error": err.message, "code": err.status}
    else:
        body = {"error": err.message}
        if err.issues:
            body["issues"] = err.issues
    return json_response(err.status, body, err.headers)


def read_json_body(req: SimRequest) -> JsonObject:
    """The request body as a JSON object, or a 400 ``ApiError``."""
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.",
                       [{"code": "invalid_type", "path": [], "message": "Expected object"}])
    return body

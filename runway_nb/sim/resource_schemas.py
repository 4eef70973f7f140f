"""What the resource routes (workflows, routers, voices) share: request checks, id look-ups and
cursor pages.

``resource_schemas.json`` holds the request body schemas of those routes, copied from Runway's
spec (``openapi-2024-11-06.json``; a test keeps the copy equal to the spec). Bodies are checked
with the catalog's JSON-Schema checker and refused as Runway refuses them: 400 with
``{"error", "issues"}``. Lists page with an opaque ``cursor`` and a ``limit`` (1-100, default 50).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from typing import Literal, TypeVar
from urllib.parse import parse_qs, unquote

from runway_nb.api.schema_validator import Issue, check
from runway_nb.sim.messages import ApiError, JsonObject, SimRequest, SimResponse, json_response
from runway_nb.sim.messages import Issue as WireIssue

__all__ = ["UUID_ANY", "UUID_V4", "SchemaName", "check_body", "check_id", "find_by_id", "page", "page_params",
           "page_response"]

SchemaName = Literal["workflow_run", "router_create", "router_update", "generate_video", "generate_image",
                     "generate_audio", "voice_create", "voice_update", "voice_preview"]

UUID_V4 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
# Router ids: any UUID version 1-8 (the spec's pattern for them)
UUID_ANY = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")

_ZOD_CODES = {"required": "invalid_type", "type": "invalid_type", "enum": "invalid_enum_value",
              "unknown": "unrecognized_keys", "pattern": "invalid_string", "form": "invalid_string"}
_schemas: dict[str, JsonObject] | None = None
_lock = threading.Lock()
T = TypeVar("T")


def _load() -> dict[str, JsonObject]:
    global _schemas
    with _lock:
        if _schemas is None:
            text = files("runway_nb.sim").joinpath("resource_schemas.json").read_text(encoding="utf-8")
            _schemas = dict(json.loads(text)["schemas"])
        return _schemas


def request_schema(name: SchemaName) -> JsonObject:
    """The spec's request body schema of one resource route."""
    return _load()[name]


def check_body(name: SchemaName, body: JsonObject, what: str) -> None:
    """Refuse ``body`` (400, Runway's error body) when it breaks the spec's request schema."""
    issues = check(request_schema(name), body, "", lambda _path: what)
    if issues:
        raise validation_error(issues)


def validation_error(issues: Sequence[Issue]) -> ApiError:
    """Problems found by the schema checker, as Runway words a 400: a message and zod-style issues."""
    wire: list[WireIssue] = [{"code": _ZOD_CODES.get(i.kind, "custom"), "path": _issue_path(i.path),
                              "message": i.message} for i in issues]
    message = issues[0].message
    if len(issues) > 1:
        message += f" (and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})"
    return ApiError(400, message, wire)


def _issue_path(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def check_id(raw: str, pattern: re.Pattern[str] = UUID_V4) -> str:
    """A path id, decoded; 400 when it is not a UUID (as ``GET /v1/tasks/{id}`` answers)."""
    value = unquote(raw)
    if not pattern.match(value):
        raise ApiError(400, "id: Invalid uuid", [{"code": "invalid_string", "path": ["id"], "message": "Invalid uuid"}])
    return value


def find_by_id(items: Mapping[str, T], lock: threading.Lock, raw_id: str, *, missing: str,
               pattern: re.Pattern[str] = UUID_V4) -> T:
    """The item a path id names: 400 when the id breaks ``pattern``, 404 ``missing`` when no item has it."""
    item_id = check_id(raw_id, pattern)
    with lock:
        item = items.get(item_id)
    if item is None:
        raise ApiError(404, missing)
    return item


def page_params(req: SimRequest) -> tuple[int, int]:
    """``(limit, offset)`` from ``?limit=&cursor=``; 400 for a limit outside 1-100 or a bad cursor."""
    query = parse_qs(req.query, keep_blank_values=True)
    raw_limit = query.get("limit", ["50"])[-1]
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100 or not raw_limit.strip().lstrip("+").isdigit():
        raise ApiError(400, "limit: Expected an integer from 1 to 100",
                       [{"code": "too_small" if limit < 1 else "too_big", "path": ["limit"],
                         "message": "Expected an integer from 1 to 100"}])
    cursor = query.get("cursor", [None])[-1]
    if cursor is None:
        return limit, 0
    offset = _decode_cursor(cursor)
    if offset is None:
        raise ApiError(400, "cursor: Invalid cursor", [{"code": "custom", "path": ["cursor"],
                                                        "message": "Invalid cursor"}])
    return limit, offset


def _decode_cursor(cursor: str) -> int | None:
    if not 1 <= len(cursor) <= 1000:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, number = text.partition(":")
    return int(number) if kind == "offset" and number.isdigit() else None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def page(items: Sequence[T], limit: int, offset: int) -> tuple[list[T], bool, str | None]:
    """One page of ``items``: ``(items, hasMore, nextCursor)``."""
    chunk = list(items[offset:offset + limit])
    more = offset + limit < len(items)
    return chunk, more, _encode_cursor(offset + limit) if more else None


def page_response(req: SimRequest, items: Sequence[T], to_json: Callable[[T], JsonObject]) -> SimResponse:
    """The page of ``items`` (already in list order) that ``req``'s ``?limit=&cursor=`` asks for, as
    Runway answers a list: ``{"data", "hasMore", "nextCursor"}``."""
    limit, offset = page_params(req)
    chunk, more, cursor = page(items, limit, offset)
    return json_response(200, {"data": [to_json(item) for item in chunk], "hasMore": more, "nextCursor": cursor})

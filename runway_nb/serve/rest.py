"""The REST face: a starlette app over :class:`~runway_nb.serve.ops.TaskOps`.

Routes: ``GET``/``DELETE /v1/tasks/{id}`` (``GET ...?wait=N`` waits up to N seconds for the task
to finish), ``POST /v1/{operation}`` for every operation of the catalog (the operation may hold
a slash: ``POST /v1/recipes/product_ad``), ``GET /openapi.json`` and ``GET /`` (a small index).
Every error answers ``{"error": "...", "status": N}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runway_nb import errors
from runway_nb.api import catalog
from runway_nb.serve.openapi import openapi_document
from runway_nb.serve.ops import TaskOps
from runway_nb.serve.shape import error_answer
from runway_nb.version import __version__

__all__ = ["MAX_BODY_BYTES", "build_rest_app"]

log = logging.getLogger("runway_nb.serve")

# The create route takes every method so that it answers 404/405 itself, as routing would.
_EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

MAX_BODY_BYTES = 16 * 1024 * 1024  # a few data: URIs (Runway caps each at 5,242,880 characters)


def _error(exc: BaseException, ops: TaskOps) -> JSONResponse:
    answer = error_answer(exc, ops.scrub)
    if answer.status >= 500 and answer.status not in (501, 502, 504):
        log.error("unexpected error answering a request", exc_info=exc)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def _plain_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


async def _read_json(request: Request) -> Any:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise errors.ValidationError("body", None, "a JSON object of request fields",
                                     message="the request body is empty; send a JSON object such as "
                                             '{"model": "gen4_image", "promptText": "..."}')
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.ValidationError("body", raw[:80].decode("utf-8", "replace"), "JSON",
                                     message="the request body is not valid JSON") from None


class _TooLarge(Exception):
    pass


_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class _LoopbackHostOnly:
    """Refuse requests whose ``Host`` is not a loopback name (DNS-rebinding protection).

    A web page can make a browser send requests to 127.0.0.1 under its own domain name after
    re-pointing that name's DNS; such requests carry the page's host name, not a loopback one.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = ""
            for name, value in scope.get("headers") or []:
                if name == b"host":
                    host = value.decode("latin-1")
                    break
            hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if hostname.lower() not in _LOOPBACK_NAMES:
                response = _plain_error(421, "this server only answers requests addressed to 127.0.0.1, "
                                             "localhost or [::1] (start it with --host to change that)")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_rest_app(ops: TaskOps, *, loopback_only: bool = True) -> Any:
    """The ASGI app answering for ``ops`` (one provider, one key).

    With ``loopback_only`` (the default, for a server bound to 127.0.0.1), requests addressed
    to any other host name are refused, and creates must be sent as ``application/json`` so
    that a web page cannot submit one as a "simple" cross-site request.
    """

    async def get_task(request: Request) -> Response:
        waits = request.query_params.getlist("wait")
        try:
            if len(waits) > 1:
                raise errors.ValidationError("wait", waits, "one value", message="wait is given more than once")
            if waits:
                answer: BaseModel = await ops.wait(request.path_params["id"], waits[0], name="wait")
            else:
                answer = await ops.get(request.path_params["id"])
        except Exception as exc:
            return _error(exc, ops)
        return JSONResponse(answer.model_dump(mode="json"))

    async def delete_task(request: Request) -> Response:
        try:
            await ops.cancel(request.path_params["id"])
        except Exception as exc:
            return _error(exc, ops)
        return Response(status_code=204)

    async def task(request: Request) -> Response:
        return await (delete_task if request.method == "DELETE" else get_task)(request)

    async def create_task(request: Request) -> Response:
        # One catch-all route, so an operation may hold a slash; it answers what routing would.
        endpoint = request.path_params["endpoint"]
        method = request.method
        if endpoint.startswith("tasks/") and "/" not in endpoint[len("tasks/"):]:
            return _plain_error(405, f"method {method} is not allowed on {request.url.path}",
                                {"Allow": "DELETE, GET, HEAD"})
        if endpoint not in catalog.ENDPOINTS:
            hint = (f"; tasks are created on {', '.join('/v1/' + e for e in catalog.ENDPOINTS)}"
                    if method == "POST" else "")
            return _plain_error(404, f"no route {method} {request.url.path}{hint}")
        if method != "POST":
            return _plain_error(405, f"method {method} is not allowed on {request.url.path}", {"Allow": "POST"})
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            return _plain_error(415, "send the request body as JSON with Content-Type: application/json")
        try:
            body = await _read_json(request)
            created = await ops.create(endpoint, body)
        except _TooLarge:
            return _plain_error(413, f"the request body is larger than {MAX_BODY_BYTES} bytes; upload big media "
                                     f"first and pass its runway:// URI")
        except Exception as exc:
            return _error(exc, ops)
        return JSONResponse(created.model_dump(mode="json"), status_code=201,
                            headers={"Location": f"/v1/tasks/{created.id}"})

    async def openapi(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(openapi_document(server_url=base, can_create=ops.can_create))

    async def index(request: Request) -> Response:
        return JSONResponse({
            "service": "runway-nb serve",
            "version": __version__,
            "provider": ops.provider,
            "routes": ["GET /v1/tasks/{id}", "GET /v1/tasks/{id}?wait=SECONDS", "DELETE /v1/tasks/{id}",
                       *(f"POST /v1/{e}" for e in catalog.ENDPOINTS if ops.can_create)],
            "openapi": "/openapi.json",
        })

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"no route {request.method} {request.url.path}",
                   405: f"method {request.method} is not allowed on {request.url.path}"}.get(exc.status_code,
                                                                                           str(exc.detail))
        return _plain_error(exc.status_code, message, dict(exc.headers) if exc.headers else None)

    async def server_error(request: Request, exc: Exception) -> Response:
        return _error(exc, ops)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/tasks/{id}", task, methods=["GET", "DELETE"]),
        # ``path``: operations such as recipes/product_ad and generate/audio hold a slash
        Route("/v1/{endpoint:path}", create_task, methods=list(_EVERY_METHOD)),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    return _LoopbackHostOnly(app) if loopback_only else app

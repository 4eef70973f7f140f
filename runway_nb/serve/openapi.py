"""The OpenAPI 3.1 document of the REST face, built from the same models it answers with."""

from __future__ import annotations

import copy
from typing import Any

from runway_nb.api import catalog
from runway_nb.serve.shape import MAX_WAIT_SECONDS, CreatedOut, ErrorOut, TaskOut, WaitedTaskOut
from runway_nb.version import __version__

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"

# status -> (component name, description)
_ERRORS = {
    400: ("BadRequest", "The id or the request body is not valid (the body's `field` names the culprit), or "
                        "the provider rejected the input."),
    401: ("Unauthorized", "The provider rejected the API key this server was started with (the adapter itself "
                          "does not authenticate its callers)."),
    403: ("Forbidden", "The provider refused the request for this key."),
    404: ("NotFound", "No such task at the provider: it never existed, or it was cancelled or deleted."),
    429: ("TooManyRequests", "The provider is rate limiting (or the daily generation limit is reached). "
                             "`Retry-After` says how many seconds to wait, when the provider said."),
    501: ("NotImplemented", "The configured provider has no route for this operation (useapi and makevid "
                            "can only read tasks; comet cannot cancel)."),
    502: ("BadGateway", "The provider is failing (5xx), unreachable, or answered something that is not a task."),
    504: ("GatewayTimeout", "The provider did not answer in time."),
}


def _schema(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    defs = schema.pop("$defs", {})
    return schema, defs


def _error_response(status: int) -> dict[str, Any]:
    _name, description = _ERRORS[status]
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/{_ERRORS[s][0]}"} for s in statuses}


def _body_schema(endpoint: str) -> dict[str, Any]:
    """The create body, as loose as runway-nb accepts it (aliases, defaults filled): ``model`` is
    listed (and required) only where the catalog's models take one."""
    infos = catalog.models(endpoint)
    properties: dict[str, Any] = {}
    required: list[str] = []
    models = sorted({m.model for m in infos if "model" in m.fields})
    if models:
        properties["model"] = {"type": "string", "enum": models}
        if all("model" in m.required for m in infos):
            required.append("model")
    fields = set().union(*(m.fields for m in infos)) if infos else set()
    if not infos or "promptText" in fields:
        properties["promptText"] = {"type": "string"}
    if not infos or "ratio" in fields:
        properties["ratio"] = {"type": "string", "examples": ["1280:720"]}
    if not infos or "duration" in fields:
        properties["duration"] = {"type": "number"}
    if not infos or "seed" in fields:
        properties["seed"] = {"type": "integer", "minimum": 0, "maximum": catalog.SEED_MAX}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


def _create_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for endpoint in catalog.ENDPOINTS:
        words = endpoint.replace("/", " ").replace("_", " ")
        paths[f"/v1/{endpoint}"] = {
            "post": {
                "operationId": "create_" + endpoint.replace("/", "_"),
                "summary": f"Create a {words} task",
                "description": (
                    "Passes the body to the provider after runway-nb's validation against the model catalog "
                    "(ratio, duration and seed are filled with the model's defaults when missing). Field names "
                    "may be camelCase as in Runway's API or snake_case (`prompt` = `promptText`, `image` = "
                    "`promptImage`, `video` = `videoUri`). Media must be https:// URLs, runway:// upload URIs "
                    "or data: URIs. Poll the new task with GET /v1/tasks/{id}."),
                "tags": ["Tasks"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _body_schema(endpoint)}},
                },
                "responses": {
                    "201": {
                        "description": "The task was created; `Location` is its URL on this server.",
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "/v1/tasks/{id} of the new task."}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreatedTask"}}},
                    },
                    **_errors(400, 401, 403, 429, 501, 502, 504),
                },
            }
        }
    return paths


def _document() -> dict[str, Any]:
    task_schema, task_defs = _schema(TaskOut)
    created_schema, created_defs = _schema(CreatedOut)
    error_schema, error_defs = _schema(ErrorOut)
    waited_schema, waited_defs = _schema(WaitedTaskOut)
    task_path = {
        "parameters": [{
            "name": "id",
            "in": "path",
            "required": True,
            "description": "The task id the provider returned at creation (useapi's long taskId included).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 2048},
        }],
        "get": {
            "operationId": "gettask",
            "summary": "Retrieve task status and output",
            "description": "Reads the task from the configured provider and answers it in one normalized "
                           "shape, whatever the provider's own dialect. With `wait`, waits up to that many "
                           "seconds for the task to be SUCCEEDED, FAILED or CANCELLED (other requests are "
                           "answered meanwhile), then answers it as it is, with `waited`.",
            "tags": ["Tasks"],
            "parameters": [{
                "name": "wait",
                "in": "query",
                "required": False,
                "description": f"Seconds to wait at most for the task to finish (more than 0, at most "
                               f"{MAX_WAIT_SECONDS:g}). The answer comes as soon as the task finishes, or when the "
                               f"time is up with the task as it is then and `waited.finished` false. Any other "
                               f"value is a 400 naming `wait`.",
                "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WAIT_SECONDS},
            }],
            "responses": {
                "200": {"description": "The task; a `WaitedTask` (with `waited`) when `wait` was given.",
                        "content": {"application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/Task"},
                            {"$ref": "#/components/schemas/WaitedTask"},
                        ]}}}},
                **_errors(400, 401, 403, 404, 429, 502, 504),
            },
        },
        "delete": {
            "operationId": "deletetask",
            "summary": "Cancel or delete a task",
            "description": "Cancels a task that is still PENDING, THROTTLED or RUNNING, or deletes a finished "
                           "one (its outputs go too). Afterwards the task answers 404. Safe to repeat: a "
                           "second DELETE answers 404 and changes nothing.",
            "tags": ["Tasks"],
            "responses": {
                "204": {"description": "Cancelled or deleted."},
                **_errors(400, 401, 403, 404, 429, 501, 502, 504),
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "runway-nb serve: Runway tasks",
            "version": __version__,
            "summary": "Runway's tasks API (retrieve, cancel/delete, create) over any provider runway-nb reads.",
            "description": (
                "A local adapter started by `runway-nb serve`. It reads and cancels tasks on the configured "
                "provider (Runway, CometAPI, useapi.net, makevid.ai or the runway-nb simulator) with the API "
                "key from the server's environment, and answers every task in one normalized shape.\n\n"
                "**Authentication:** none. The adapter binds 127.0.0.1 by default, so only programs on this "
                "machine can reach it; it spends the credits of the key it was started with, so do not bind "
                "it to a public interface."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [{"name": "Tasks", "description": "Generation tasks."}],
        "security": [],
        "paths": {"/v1/tasks/{id}": task_path, **_create_paths()},
        "components": {
            "schemas": {"Task": task_schema, "WaitedTask": waited_schema, "CreatedTask": created_schema,
                        "Error": error_schema, **task_defs, **waited_defs, **created_defs, **error_defs},
            "responses": {name: _error_response(status) for status, (name, _) in _ERRORS.items()},
            "headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                        "schema": {"type": "integer", "minimum": 0}}},
        },
    }


_CACHE: dict[str, Any] = {}


def openapi_document(*, server_url: str | None = None, can_create: bool = True) -> dict[str, Any]:
    """The document; ``server_url`` fills ``servers``, ``can_create`` keeps the create routes."""
    if "doc" not in _CACHE:
        _CACHE["doc"] = _document()
    doc: dict[str, Any] = copy.deepcopy(_CACHE["doc"])
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/"), "description": "this runway-nb serve process"}]
    if not can_create:
        doc["paths"] = {k: v for k, v in doc["paths"].items() if k == "/v1/tasks/{id}"}
    return doc

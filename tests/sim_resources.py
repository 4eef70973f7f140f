"""What the simulator's resource tests share: a manual-clock simulator behind a real HTTP server,
and checks of every answer against Runway's spec (``$ref``s resolved)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from shared_docs import OPENAPI_SPEC, shared_file

from runway_nb.sim import SimClock, SimConfig, Simulator

HEADERS = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
_SPEC_URI = "urn:runway-openapi"


@functools.cache
def spec() -> dict[str, Any]:
    return json.loads(shared_file(OPENAPI_SPEC).read_text())


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(_SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    return {"$ref": f"{_SPEC_URI}#/" + _pointer("paths", path, method, "responses", str(status), "content",
                                                "application/json", "schema")}


def validator(path: str, method: str, status: int) -> jsonschema.Draft202012Validator:
    """A validator of the spec's response schema for ``method path`` answering ``status``."""
    return jsonschema.Draft202012Validator(response_schema(path, method, status), registry=_registry())


def check(response: httpx.Response, path: str, method: str, status: int) -> Any:
    """Assert ``response`` has ``status`` and a body valid against the spec's schema for it; return the body."""
    assert response.status_code == status, response.text
    body = response.json()
    validator(path, method, status).validate(body)
    return body


def spec_request_schema(path: str, method: str) -> dict[str, Any]:
    return spec()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def check_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """Runway's error body: ``{"error": str, "issues"?: [...]}`` and nothing else."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert set(body) <= {"error", "issues"}, body
    return body


@contextmanager
def manual_sim(**settings: Any) -> Iterator[tuple[Simulator, httpx.Client]]:
    """A simulator whose clock moves only when the test advances it, behind a loopback HTTP server."""
    settings.setdefault("run_seconds", 10)
    settings.setdefault("pending_seconds", 1)
    sim = Simulator(SimConfig(**settings), clock=SimClock(manual=True))
    client = httpx.Client(base_url=sim.url, headers=HEADERS, timeout=30)
    try:
        yield sim, client
    finally:
        client.close()
        sim.close()


def step(sim: Simulator, seconds: float) -> None:
    """Let every render finish, then move sim time (answers then never depend on rendering speed)."""
    assert sim.wait_media(60)
    sim.advance(seconds)

"""``runway-nb serve`` creates on every operation of the catalog (``catalog.ENDPOINTS``), over
real HTTP on loopback: REST ``POST /v1/{operation}`` (slashes included, e.g. ``recipes/product_ad``),
the MCP ``create-task`` tool, and the OpenAPI document. The tests are parametrized over the
catalog, so every operation it gains is covered without a change here.

Two upstreams: a recording provider (what serve sends, for every operation, whatever the
simulator implements) and the simulator (end to end, until the task has SUCCEEDED).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("mcp")

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from starlette.testclient import TestClient

from runway_nb.api import catalog
from runway_nb.serve.app import ServeOptions, start_in_thread
from runway_nb.serve.mcp_tools import CREATE
from runway_nb.serve.ops import clean_params
from runway_nb.serve.rest import build_rest_app
from runway_nb.serve.shape import CreatedOut, Scrubber
from runway_nb.sim import Simulator

ENDPOINTS = list(catalog.ENDPOINTS)

def example(endpoint: str) -> dict[str, Any]:
    """A minimal valid body for ``endpoint``, from the catalog (its first current model)."""
    infos = catalog.models(endpoint, include_legacy=False) or catalog.models(endpoint)
    assert infos, f"the catalog lists {endpoint} but no model for it: no body to create with"
    return catalog.example_body(endpoint, infos[0].model)


class _Recorder(BaseHTTPRequestHandler):
    """A provider that accepts any create and reports every task SUCCEEDED; it records each create."""

    created: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.created.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
        self._answer({"id": str(uuid.uuid4())})

    def do_GET(self) -> None:
        task_id = self.path.rsplit("/", 1)[-1]
        self._answer({"id": task_id, "status": "SUCCEEDED", "createdAt": "2026-12-01T10:00:00.000Z",
                      "output": ["https://example.com/output.bin"]})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorded():
    """serve in front of the recording provider: (the running service, the list of creates it received)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    running = start_in_thread(ServeOptions(provider="runway", base_url=f"http://127.0.0.1:{server.server_port}",
                                           api_key="key_" + "7" * 64, port=0, mcp_port=0, max_retries=0,
                                           outputs=False))  # its output URL is not a real file to keep
    yield running, _Recorder.created
    running.stop()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sim():
    simulator = Simulator(speed=100.0, concurrency=8)
    yield simulator
    simulator.close()


@pytest.fixture(scope="module")
def served(sim):
    running = start_in_thread(ServeOptions(provider="sim", simulator=sim, port=0, mcp_port=0, max_retries=0))
    yield running
    running.stop()


@pytest.fixture()
def http(served):
    with httpx.Client(base_url=served.rest_url, timeout=90, trust_env=False) as client:
        yield client


# ---------------------------------------------------------------------------------------
# REST: what reaches the provider, then end to end on the simulator
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_rest_sends_every_operation_to_the_providers_route(recorded, endpoint):
    running, creates = recorded
    body = example(endpoint)
    with httpx.Client(base_url=running.rest_url, timeout=90, trust_env=False) as client:
        response = client.post(f"/v1/{endpoint}", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["endpoint"] == endpoint and created["provider"] == "runway"
        path, sent = creates[-1]
        assert path == f"/v1/{endpoint}"  # the whole operation, slash included
        assert body.items() <= sent.items()  # sent as given (defaults may be added)
        answer = client.get(f"/v1/tasks/{created['id']}", params={"wait": 10}).json()
    assert answer["status"] == "SUCCEEDED" and answer["waited"]["finished"] is True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_rest_creates_on_every_operation_and_the_task_finishes(http, endpoint):
    body = example(endpoint)
    response = http.post(f"/v1/{endpoint}", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["endpoint"] == endpoint and created["provider"] == "sim"
    assert response.headers["location"] == f"/v1/tasks/{created['id']}"
    task = http.get(f"/v1/tasks/{created['id']}", params={"wait": 60})
    assert task.status_code == 200, task.text
    answer = task.json()
    assert answer["id"] == created["id"]
    assert answer["waited"]["finished"] is True and answer["status"] == "SUCCEEDED", answer
    assert answer["output"]


def test_unknown_operations_and_wrong_methods_answer_like_routing(http):
    body = http.post("/v1/recipes/no_such_recipe", json={}).json()
    assert body["status"] == 404 and "/v1/recipes/no_such_recipe" in body["error"]
    assert all(f"/v1/{e}" in body["error"] for e in ENDPOINTS)  # says where tasks are created
    assert http.post("/v1/nothing/here/at/all", json={}).status_code == 404
    assert http.get("/v1/nothing/here/at/all").status_code == 404
    wrong = http.get(f"/v1/{ENDPOINTS[0]}")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    on_task = http.post("/v1/tasks/abc", json={})
    assert on_task.status_code == 405 and "GET" in on_task.headers["allow"] and "DELETE" in on_task.headers["allow"]


def test_the_index_lists_every_operation(http):
    routes = http.get("/").json()["routes"]
    assert {f"POST /v1/{e}" for e in ENDPOINTS} <= set(routes)
    assert "GET /v1/tasks/{id}?wait=SECONDS" in routes


# ---------------------------------------------------------------------------------------
# routing of operations with a slash, whatever the catalog holds today
# ---------------------------------------------------------------------------------------

class _RecordingOps:
    """A stand-in for TaskOps that records what the REST app asked it to create."""

    provider = "sim"
    can_create = True
    scrub = Scrubber(None)

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []

    async def create(self, endpoint: str, params: dict[str, Any]) -> CreatedOut:
        self.created.append((endpoint, params))
        return CreatedOut(id="t-1", endpoint=endpoint, model=params.get("model"), params=params,
                          estimatedCost=None, provider=self.provider)


@pytest.mark.parametrize("operation", ["recipes/product_ad", "generate/audio"])
def test_an_operation_with_a_slash_reaches_create_whole(monkeypatch, operation):
    monkeypatch.setattr(catalog, "ENDPOINTS", (*catalog.ENDPOINTS, operation))
    ops = _RecordingOps()
    with TestClient(build_rest_app(ops, loopback_only=False)) as client:  # type: ignore[arg-type]  # a stand-in for TaskOps
        response = client.post(f"/v1/{operation}", json={"version": "v1"})
    assert response.status_code == 201, response.text
    assert ops.created == [(operation, {"version": "v1"})]
    assert response.json()["endpoint"] == operation


def test_media_nested_in_any_operation_must_be_remote():
    # Routed generation's ``input``, a recipe's objects, audio ``media``: never a local path.
    for bad, where in (({"input": {"promptImage": "/etc/passwd"}}, "input.promptImage"),
                       ({"productImages": [{"uri": "file:///etc/passwd"}]}, "productImages[0].uri"),
                       ({"media": {"type": "audio", "uri": "/tmp/a.mp3"}}, "media.uri"),
                       ({"audioUri": "~/voice.wav"}, "audioUri")):
        with pytest.raises(Exception) as info:
            clean_params(bad)
        assert getattr(info.value, "field", None) == where
    ok = {"input": {"promptImage": "https://example.com/a.png", "maxCreditsPerGeneration": {"video": 5}},
          "dropBackgroundAudio": True, "media": {"type": "audio", "uri": "runway://abc"}}
    assert clean_params(ok) == ok


# ---------------------------------------------------------------------------------------
# OpenAPI
# ---------------------------------------------------------------------------------------

def test_openapi_lists_every_operation_and_the_wait_parameter(http):
    doc = http.get("/openapi.json").json()
    creates = {path: item["post"] for path, item in doc["paths"].items() if "post" in item}
    assert set(creates) == {f"/v1/{e}" for e in ENDPOINTS}
    ids = [op["operationId"] for op in creates.values()]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)
    for endpoint in ENDPOINTS:
        schema = creates[f"/v1/{endpoint}"]["requestBody"]["content"]["application/json"]["schema"]
        models = {m.model for m in catalog.models(endpoint) if "model" in m.fields}
        if models:
            assert set(schema["properties"]["model"]["enum"]) == models
    get = doc["paths"]["/v1/tasks/{id}"]["get"]
    (wait,) = [p for p in get["parameters"] if p["name"] == "wait"]
    assert wait["in"] == "query" and wait["schema"]["exclusiveMinimum"] == 0 and wait["schema"]["maximum"] == 60
    variants = get["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert {v["$ref"] for v in variants} == {"#/components/schemas/Task", "#/components/schemas/WaitedTask"}
    waited = doc["components"]["schemas"]["WaitedTask"]
    assert "waited" in waited["required"]
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(doc)


# ---------------------------------------------------------------------------------------
# MCP
# ---------------------------------------------------------------------------------------

def _mcp(url: str, body) -> Any:
    async def main():
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), timeout=120))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_mcp_create_tool_accepts_every_operation(recorded, endpoint):
    served, creates = recorded
    fields = example(endpoint)
    args: dict[str, Any] = {"endpoint": endpoint, "params": fields}
    if "model" in fields:
        args["model"] = fields.pop("model")

    async def body(session):
        return await session.call_tool(CREATE, args)

    result = _mcp(served.mcp_url, body)
    assert not result.is_error, result.content
    created = json.loads(result.content[0].text)
    assert created["endpoint"] == endpoint and created["id"]
    assert creates[-1][0] == f"/v1/{endpoint}"


def test_mcp_create_tool_still_requires_a_model_where_the_operation_has_one(recorded):
    served, _ = recorded

    async def body(session):
        return await session.call_tool(CREATE, {"endpoint": "text_to_image", "prompt": "a fox"})

    result = _mcp(served.mcp_url, body)
    # model is optional in the schema (routed generation and recipes have none), required where a model is
    error = json.loads(result.content[0].text)
    assert result.is_error and error["status"] == 400 and error["field"] == "model"

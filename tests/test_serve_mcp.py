"""``runway-nb serve``, MCP face: a real MCP client session (the official ``mcp`` SDK's
``ClientSession`` over streamable HTTP) against the server on a loopback port, backed by the
simulator."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest

pytest.importorskip("mcp")

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from runway_nb.api import catalog
from runway_nb.serve.app import ServeOptions, start_in_thread
from runway_nb.serve.mcp_tools import CANCEL, CREATE, RETRIEVE
from runway_nb.serve.shape import MAX_WAIT_SECONDS
from runway_nb.sim import Simulator

TASK_KEYS = {"id", "status", "progress", "output", "failure", "failureCode", "createdAt", "estimatedCost", "cost",
             "provider"}
IMAGE = {"endpoint": "text_to_image", "model": "gen4_image", "prompt": "a red fox in snow", "ratio": "1024:1024"}


@pytest.fixture(scope="module")
def sim():
    simulator = Simulator(speed=100.0, concurrency=4)
    yield simulator
    simulator.close()


@pytest.fixture(scope="module")
def served(sim):
    running = start_in_thread(ServeOptions(provider="sim", simulator=sim, port=0, mcp_port=0, max_retries=0))
    yield running
    running.stop()


def run_session(url: str, body) -> object:
    """Open a real MCP session on ``url`` and run ``await body(session)``."""

    async def main():
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), timeout=60))


def _json(result) -> dict:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return json.loads(result.content[0].text)


def _ok(result) -> dict:
    assert not result.is_error, result.content
    data = _json(result)
    assert result.structured_content == data  # the same object, as text and as structured content
    return data


def _tool_error(result, status: int) -> dict:
    assert result.is_error
    data = _json(result)
    assert data["status"] == status and data["error"]
    return data


def test_tools_are_listed_with_names_and_hints(served):
    async def body(session):
        return (await session.list_tools()).tools

    tools = run_session(served.mcp_url, body)
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {RETRIEVE, CANCEL, CREATE}
    assert RETRIEVE == "retrieve-task-status-and-output" and CANCEL == "cancel-delete-task"

    retrieve = by_name[RETRIEVE].annotations
    assert (retrieve.read_only_hint, retrieve.destructive_hint, retrieve.idempotent_hint) == (True, False, True)
    cancel = by_name[CANCEL].annotations
    assert (cancel.read_only_hint, cancel.destructive_hint, cancel.idempotent_hint) == (False, True, True)
    create = by_name[CREATE].annotations
    assert create.read_only_hint is False and create.idempotent_hint is False

    for name in (RETRIEVE, CANCEL):
        schema = by_name[name].input_schema
        assert schema["required"] == ["id"] and schema["properties"]["id"]["type"] == "string"
    # every task key, always; ``waited`` only in answers to a call that asked to wait
    assert set(by_name[RETRIEVE].output_schema["properties"]) == TASK_KEYS | {"waited"}
    assert set(by_name[RETRIEVE].output_schema["required"]) == TASK_KEYS
    wait_arg = by_name[RETRIEVE].input_schema["properties"]["wait_seconds"]
    assert (wait_arg["exclusiveMinimum"], wait_arg["maximum"]) == (0, MAX_WAIT_SECONDS)
    create_props = by_name[CREATE].input_schema["properties"]
    assert {"endpoint", "model", "prompt", "ratio", "duration", "seed", "image", "video"} <= set(create_props)
    assert create_props["endpoint"]["enum"] == list(catalog.ENDPOINTS)  # every operation, from the catalog
    # routed generation (generate/...) names no model: only the operation is always required
    assert set(by_name[CREATE].input_schema["required"]) == {"endpoint"}


def test_create_retrieve_until_succeeded_then_cancel(served):
    async def body(session):
        created = _ok(await session.call_tool(CREATE, IMAGE))
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            task = _ok(await session.call_tool(RETRIEVE, {"id": created["id"]}))
            seen.append(task["status"])
            if task["status"] == "SUCCEEDED":
                break
            await asyncio.sleep(0.03)
        image = await asyncio.to_thread(httpx.get, task["output"][0], timeout=10, trust_env=False)
        cancelled = _ok(await session.call_tool(CANCEL, {"id": created["id"]}))  # deletes the finished task
        after = await session.call_tool(RETRIEVE, {"id": created["id"]})
        again = await session.call_tool(CANCEL, {"id": created["id"]})
        return created, task, seen, image, cancelled, after, again

    created, task, seen, image, cancelled, after, again = run_session(served.mcp_url, body)
    assert created["provider"] == "sim" and created["params"]["ratio"] == "1024:1024"
    assert isinstance(created["params"]["seed"], int) and created["estimatedCost"] > 0
    assert seen[-1] == "SUCCEEDED", seen
    assert set(task) == TASK_KEYS and task["id"] == created["id"] and len(task["output"]) == 1
    assert task["createdAt"].endswith("Z") and task["provider"] == "sim"
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    assert cancelled == {"id": created["id"], "cancelled": True}
    _tool_error(after, 404)  # deleted
    _tool_error(again, 404)


def test_cancel_a_running_task(served, sim):
    sim.configure(concurrency=0)  # queued for good, until cancelled

    async def body(session):
        created = _ok(await session.call_tool(CREATE, IMAGE))
        before = _ok(await session.call_tool(RETRIEVE, {"id": created["id"]}))
        cancelled = _ok(await session.call_tool(CANCEL, {"id": created["id"]}))
        after = await session.call_tool(RETRIEVE, {"id": created["id"]})
        return created, before, cancelled, after

    try:
        created, before, cancelled, after = run_session(served.mcp_url, body)
    finally:
        sim.configure(concurrency=4)
    assert before["status"] in ("PENDING", "THROTTLED")
    assert cancelled == {"id": created["id"], "cancelled": True}
    _tool_error(after, 404)


def test_bad_ids_are_tool_errors(served):
    missing = str(uuid.uuid4())

    async def body(session):
        return (await session.call_tool(RETRIEVE, {"id": missing}),
                await session.call_tool(CANCEL, {"id": missing}),
                await session.call_tool(RETRIEVE, {"id": "not-a-uuid"}),
                await session.call_tool(RETRIEVE, {"id": "a/../../v1/organization"}),
                await session.call_tool(RETRIEVE, {}))

    unknown, cancel_unknown, malformed, traversal, missing_arg = run_session(served.mcp_url, body)
    assert missing in _tool_error(unknown, 404)["error"]
    _tool_error(cancel_unknown, 404)
    _tool_error(malformed, 400)
    assert _tool_error(traversal, 400)["field"] == "id"
    assert missing_arg.is_error and "id" in missing_arg.content[0].text


def test_create_validation_errors_name_the_field(served, sim):
    before = sim.stats.creates

    async def body(session):
        return (await session.call_tool(CREATE, {**IMAGE, "ratio": "1:1"}),
                await session.call_tool(CREATE, {**IMAGE, "endpoint": "text_to_sound"}),
                await session.call_tool(CREATE, {**IMAGE, "model": "no_such_model"}),
                await session.call_tool(CREATE, {"endpoint": "image_to_video", "model": "gen4_turbo",
                                                 "ratio": "1280:720", "image": "/etc/passwd"}),
                await session.call_tool(CREATE, {**IMAGE, "seed": -1}))

    ratio, endpoint, model, image, seed = run_session(served.mcp_url, body)
    assert _tool_error(ratio, 400)["field"] == "ratio" and "1024:1024" in _json(ratio)["error"]
    assert _tool_error(endpoint, 400)["field"] == "endpoint"
    assert _tool_error(model, 400)["field"] == "model"
    assert _tool_error(image, 400)["field"] == "promptImage"
    assert _tool_error(seed, 400)["field"] == "seed"
    assert sim.stats.creates == before  # nothing was sent


def test_create_with_extra_params_and_duration(served):
    async def body(session):
        created = _ok(await session.call_tool(CREATE, {
            "endpoint": "image_to_video", "model": "gen4_turbo", "prompt": "waves",
            "image": "https://example.com/a.png", "ratio": "1280:720", "duration": 5, "seed": 42,
            "params": {"contentModeration": {"publicFigureThreshold": "low"}}}))
        task = _ok(await session.call_tool(RETRIEVE, {"id": created["id"]}))
        return created, task

    created, task = run_session(served.mcp_url, body)
    assert created["params"]["duration"] == 5 and created["params"]["seed"] == 42
    assert created["params"]["promptImage"] == "https://example.com/a.png"
    assert created["params"]["contentModeration"] == {"publicFigureThreshold": "low"}
    assert task["id"] == created["id"]


def test_mcp_endpoint_refuses_foreign_host_headers(served):
    # The SDK's DNS-rebinding protection is on for a loopback bind.
    response = httpx.post(served.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"host": "evil.example", "accept": "application/json, text/event-stream"},
                          trust_env=False, timeout=10)
    assert response.status_code in (400, 403, 421)


def test_read_only_provider_has_no_create_tool(sim):
    running = start_in_thread(ServeOptions(provider="useapi", base_url=sim.url, api_key="key_" + "1" * 32,
                                           port=0, mcp_port=0, max_retries=0))
    try:
        async def body(session):
            tools = (await session.list_tools()).tools
            return [t.name for t in tools], await session.call_tool(CANCEL, {"id": str(uuid.uuid4())})

        names, cancel = run_session(running.mcp_url, body)
    finally:
        running.stop()
    assert names == [RETRIEVE, CANCEL]
    _tool_error(cancel, 501)

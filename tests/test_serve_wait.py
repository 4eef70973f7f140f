"""``runway-nb serve``: the bounded wait of ``GET /v1/tasks/{id}?wait=N`` and of the retrieve tool's
``wait_seconds``, over real HTTP on loopback, against a simulator on a manual clock: its tasks
cannot finish until the test moves the clock, so a wait that must time out does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("mcp")

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from runway_nb.serve.app import ServeOptions, start_in_thread
from runway_nb.serve.mcp_tools import CANCEL, CREATE, RETRIEVE
from runway_nb.serve.shape import MAX_WAIT_SECONDS, WaitedTaskOut
from runway_nb.sim import SimClock, Simulator

TASK_KEYS = {"id", "status", "progress", "output", "failure", "failureCode", "createdAt", "estimatedCost", "cost",
             "provider"}
IMAGE = {"model": "gen4_image", "promptText": "a red fox in snow", "ratio": "1024:1024"}
IMAGE_TOOL = {"endpoint": "text_to_image", "model": "gen4_image", "prompt": "a red fox in snow", "ratio": "1024:1024"}
GOING = ("PENDING", "THROTTLED", "RUNNING")
DONE_AFTER = 600.0  # sim seconds: far more than any image takes


@pytest.fixture(scope="module")
def sim():
    # Manual clock: nothing moves until sim.advance(). speed=100 makes the client poll every
    # 0.05 real seconds (Runway's 5 s floor, at the simulator's speed).
    simulator = Simulator(speed=100.0, concurrency=4, clock=SimClock(manual=True))
    yield simulator
    simulator.close()


@pytest.fixture(scope="module")
def served(sim):
    running = start_in_thread(ServeOptions(provider="sim", simulator=sim, port=0, mcp_port=0, max_retries=0))
    yield running
    running.stop()


@pytest.fixture()
def http(served):
    with httpx.Client(base_url=served.rest_url, timeout=MAX_WAIT_SECONDS + 30, trust_env=False) as client:
        yield client


def _create(http: httpx.Client) -> str:
    response = http.post("/v1/text_to_image", json=IMAGE)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _waited(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TASK_KEYS | {"waited"}
    WaitedTaskOut.model_validate(body)
    return body


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["error"]
    return body


# ---------------------------------------------------------------------------------------
# REST
# ---------------------------------------------------------------------------------------

def test_a_wait_returns_as_soon_as_the_task_finishes_and_other_requests_are_answered_meanwhile(http, sim):
    task_id = _create(http)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(http.get, f"/v1/tasks/{task_id}", params={"wait": 30})
        # While that request waits, the same server answers others: a plain GET and a create.
        plain = http.get(f"/v1/tasks/{task_id}")
        assert plain.status_code == 200 and plain.json()["status"] in GOING
        assert set(plain.json()) == TASK_KEYS  # no ``waited`` without ``wait``
        other = _create(http)
        assert not waiting.done()  # the clock has not moved: the task cannot have finished
        sim.advance(DONE_AFTER)
        body = _waited(waiting.result(timeout=MAX_WAIT_SECONDS + 30))
    assert body["id"] == task_id and body["status"] == "SUCCEEDED" and len(body["output"]) == 1
    assert body["waited"]["finished"] is True and body["waited"]["limit"] == 30
    assert body["waited"]["elapsed"] >= 0
    assert http.get(f"/v1/tasks/{other}").status_code == 200


def test_a_wait_on_a_finished_task_answers_it(http, sim):
    task_id = _create(http)
    sim.advance(DONE_AFTER)
    body = _waited(http.get(f"/v1/tasks/{task_id}?wait=5"))
    assert body["status"] == "SUCCEEDED" and body["waited"]["finished"] is True and body["waited"]["limit"] == 5


def test_a_wait_that_times_out_answers_the_task_as_it_is(http, sim):
    task_id = _create(http)
    sim.advance(3)  # started, far from done: RUNNING with some progress
    body = _waited(http.get(f"/v1/tasks/{task_id}", params={"wait": "0.5"}))
    assert body["id"] == task_id and body["status"] in GOING and body["output"] == []
    assert body["waited"]["finished"] is False and body["waited"]["limit"] == 0.5
    # the task is untouched: still there, still going, and it finishes later as usual
    assert http.get(f"/v1/tasks/{task_id}").json()["status"] in GOING
    sim.advance(DONE_AFTER)
    assert _waited(http.get(f"/v1/tasks/{task_id}?wait=10"))["status"] == "SUCCEEDED"


@pytest.mark.parametrize("value", ["0", "-1", "61", "1e9", "abc", "", "nan", "inf", "-inf"])
def test_bad_wait_values_are_a_400_naming_wait_the_value_and_the_range(http, sim, value):
    task_id = str(uuid.uuid4())
    before = sim.stats.requests
    body = _error(http.get(f"/v1/tasks/{task_id}", params={"wait": value}), 400)
    assert body["field"] == "wait"
    assert repr(value) in body["error"] and f"{MAX_WAIT_SECONDS:g}" in body["error"]
    assert "greater than 0" in body["error"]
    assert sim.stats.requests == before  # refused before anything was sent


def test_wait_given_twice_is_a_400(http):
    task_id = str(uuid.uuid4())
    assert _error(http.get(f"/v1/tasks/{task_id}?wait=1&wait=2"), 400)["field"] == "wait"


def test_a_wait_on_an_unknown_task_is_a_404_at_once(http):
    missing = str(uuid.uuid4())
    assert missing in _error(http.get(f"/v1/tasks/{missing}?wait=30"), 404)["error"]


def test_a_task_deleted_during_a_wait_ends_the_wait(http):
    task_id = _create(http)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(http.get, f"/v1/tasks/{task_id}", params={"wait": 30})
        assert http.delete(f"/v1/tasks/{task_id}").status_code == 204
        _error(waiting.result(timeout=MAX_WAIT_SECONDS + 30), 404)


# ---------------------------------------------------------------------------------------
# MCP
# ---------------------------------------------------------------------------------------

def run_session(url: str, body) -> object:
    async def main():
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), timeout=MAX_WAIT_SECONDS + 60))


def _ok(result) -> dict:
    assert not result.is_error, result.content
    data = json.loads(result.content[0].text)
    assert result.structured_content == data
    return data


def _tool_error(result, status: int) -> dict:
    assert result.is_error
    data = json.loads(result.content[0].text)
    assert data["status"] == status and data["error"]
    return data


def test_mcp_wait_seconds_returns_when_the_task_finishes(served, sim):
    async def body(session):
        created = _ok(await session.call_tool(CREATE, IMAGE_TOOL))
        waiting = asyncio.create_task(session.call_tool(RETRIEVE, {"id": created["id"], "wait_seconds": 30}))
        plain = _ok(await session.call_tool(RETRIEVE, {"id": created["id"]}))  # answered meanwhile
        still_waiting = not waiting.done()
        sim.advance(DONE_AFTER)
        return created, plain, still_waiting, _ok(await waiting)

    created, plain, still_waiting, task = run_session(served.mcp_url, body)
    assert set(plain) == TASK_KEYS and plain["status"] in GOING
    assert still_waiting
    assert set(task) == TASK_KEYS | {"waited"} and task["id"] == created["id"]
    assert task["status"] == "SUCCEEDED" and len(task["output"]) == 1
    assert task["waited"]["finished"] is True and task["waited"]["limit"] == 30


def test_mcp_wait_seconds_times_out_with_the_current_state(served, sim):
    async def body(session):
        created = _ok(await session.call_tool(CREATE, IMAGE_TOOL))
        waited = _ok(await session.call_tool(RETRIEVE, {"id": created["id"], "wait_seconds": 0.5}))
        cancelled = _ok(await session.call_tool(CANCEL, {"id": created["id"]}))
        return waited, cancelled

    waited, cancelled = run_session(served.mcp_url, body)
    assert waited["status"] in GOING and waited["output"] == []
    assert waited["waited"]["finished"] is False and waited["waited"]["limit"] == 0.5
    assert cancelled["cancelled"] is True


def test_mcp_bad_wait_seconds_are_tool_errors_naming_the_argument(served, sim):
    task_id = str(uuid.uuid4())

    async def body(session):
        return [await session.call_tool(RETRIEVE, {"id": task_id, "wait_seconds": value})
                for value in (0, -5, MAX_WAIT_SECONDS + 1, True, "soon")]

    before = sim.stats.requests
    results = run_session(served.mcp_url, body)
    for result in results[:3]:
        data = _tool_error(result, 400)
        assert data["field"] == "wait_seconds" and f"{MAX_WAIT_SECONDS:g}" in data["error"]
    for result in results[3:]:  # not a number at all: refused by the input schema, naming it
        assert result.is_error and "wait_seconds" in result.content[0].text
    assert sim.stats.requests == before  # nothing was sent upstream


# ---------------------------------------------------------------------------------------
# Waits in slices
# ---------------------------------------------------------------------------------------

def test_waits_in_slices_go_on_with_one_schedule_and_teach_the_history(clean_env):
    # A caller (an agent) that waits 10 s at a time until the task ends: each wait goes on with
    # the task's schedule, so the run time recorded for the next task of the kind (the history
    # the schedule uses) counts from when the run began, not from when the last wait did.
    from runway_nb.client.core import AsyncRunway
    from runway_nb.client.eta import RUN_TIMES, run_kind
    from runway_nb.client.watch import AdvancingClock
    from runway_nb.serve.ops import TaskOps

    sim = Simulator(clock=SimClock(manual=True), concurrency=2, run_seconds=40.0)
    client = AsyncRunway(provider="sim", simulator=sim, clock=AdvancingClock(sim.clock), journal=False)
    ops = TaskOps(client)
    RUN_TIMES.clear()

    async def in_slices() -> list[dict]:
        created = await ops.create("text_to_image", {"model": "gen4_image", "promptText": "a red fox in snow",
                                                      "ratio": "1024:1024"})
        sim.wait_media()  # rendered at once: the task ends when its 40 s are run
        answers = []
        while not answers or not answers[-1]["waited"]["finished"]:
            answers.append((await ops.wait(created.id, 10)).model_dump())
            assert len(answers) < 20
        return answers

    try:
        answers = asyncio.run(in_slices())
        assert len(answers) >= 4 and answers[-1]["status"] == "SUCCEEDED"
        assert all(a["waited"]["elapsed"] <= 10 + 5 for a in answers)
        run = RUN_TIMES.typical(run_kind("text_to_image", {"model": "gen4_image"}))
        assert run is not None and 40.0 - 2.0 <= run <= 40.0 + 6.0
    finally:
        RUN_TIMES.clear()
        sim.close()


def test_two_waits_on_one_task_at_once_share_its_polls(clean_env):
    # Two callers wait on the same task together: one GET serves both (the task's floor holds
    # across them), and both get its end.
    from runway_nb.client.core import AsyncRunway
    from runway_nb.serve.ops import TaskOps

    sim = Simulator(speed=100.0, concurrency=4, run_seconds=60.0)  # 0.6 s real; a floor is 0.05 s
    client = AsyncRunway(provider="sim", simulator=sim, journal=False)
    ops = TaskOps(client)
    body = {"model": "gen4_image", "promptText": "a red fox in snow", "ratio": "1024:1024"}

    def gets() -> int:
        return sim.stats.requests_for("GET", "/v1/tasks/{id}")

    async def waits(n: int) -> tuple[list[str], int]:
        created = await ops.create("text_to_image", body)
        before = gets()
        answers = await asyncio.gather(*(ops.wait(created.id, 30) for _ in range(n)))
        return [a.status for a in answers], gets() - before

    try:
        alone, alone_gets = asyncio.run(waits(1))
        together, together_gets = asyncio.run(waits(3))
        assert alone == ["SUCCEEDED"] and together == ["SUCCEEDED"] * 3
        assert together_gets <= alone_gets + 2, (alone_gets, together_gets)
    finally:
        sim.close()

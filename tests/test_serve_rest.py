"""``runway-nb serve``, REST face: real HTTP over loopback sockets against the simulator.

Also: the normalized task shape read from every dialect, the error -> status mapping, and
the ``runway-nb serve`` command run once end to end as a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from runway_nb import errors, parse_task
from runway_nb.serve.app import ServeOptions, start_in_thread
from runway_nb.serve.ops import clean_params
from runway_nb.serve.shape import Scrubber, TaskOut, check_task_id, error_answer, task_out
from runway_nb.sim import Simulator

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

TASK_KEYS = {"id", "status", "progress", "output", "failure", "failureCode", "createdAt", "estimatedCost", "cost",
             "provider"}
IMAGE = {"model": "gen4_image", "promptText": "a red fox in snow", "ratio": "1024:1024"}
SIM_KEY = "key_" + "5eed" * 32


def _http(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=15.0, trust_env=False)


@pytest.fixture(scope="module")
def sim():
    # 100 sim seconds per real second: an image takes 9 sim seconds, i.e. ~0.1 s.
    simulator = Simulator(speed=100.0, concurrency=4)
    yield simulator
    simulator.close()


@pytest.fixture(scope="module")
def served(sim):
    # max_retries=0: upstream faults reach the caller at once (the mapping is under test).
    running = start_in_thread(ServeOptions(provider="sim", simulator=sim, api_key=SIM_KEY, port=0, mcp_port=0,
                                           max_retries=0))
    yield running
    running.stop()


@pytest.fixture()
def http(served):
    with _http(served.rest_url) as client:
        yield client


def _create(http: httpx.Client, body: dict | None = None, endpoint: str = "text_to_image") -> dict:
    response = http.post(f"/v1/{endpoint}", json=body or IMAGE)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/tasks/{created['id']}"
    return created


def _wait(http: httpx.Client, task_id: str, statuses=("SUCCEEDED", "FAILED", "CANCELLED"), timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        response = http.get(f"/v1/tasks/{task_id}")
        assert response.status_code == 200, response.text
        task = response.json()
        seen.append(task["status"])
        if task["status"] in statuses:
            return task
        time.sleep(0.03)
    raise AssertionError(f"task {task_id} never reached {statuses}; saw {seen[-5:]}")


def _assert_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    return body


# ---------------------------------------------------------------------------------------
# the two routes, against the simulator over real sockets
# ---------------------------------------------------------------------------------------

def test_get_a_created_task_until_succeeded(http, served):
    created = _create(http)
    assert created["endpoint"] == "text_to_image" and created["model"] == "gen4_image"
    assert created["provider"] == "sim" and created["estimatedCost"] > 0
    assert isinstance(created["params"]["seed"], int)  # filled by validation

    statuses = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = http.get(f"/v1/tasks/{created['id']}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        task = response.json()
        assert set(task) == TASK_KEYS  # the same keys in every state
        TaskOut.model_validate(task)
        statuses.append(task["status"])
        if task["status"] == "SUCCEEDED":
            break
        time.sleep(0.02)
    assert statuses[-1] == "SUCCEEDED", statuses
    assert set(statuses) <= {"PENDING", "THROTTLED", "RUNNING", "SUCCEEDED"}

    assert task["id"] == created["id"] and task["provider"] == "sim"
    assert task["progress"] is None and task["failure"] is None and task["failureCode"] is None
    assert task["cost"] is not None and task["estimatedCost"] == created["estimatedCost"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", task["createdAt"])
    assert abs(datetime.fromisoformat(task["createdAt"].replace("Z", "+00:00"))
               - datetime.now(timezone.utc)).total_seconds() < 60
    assert len(task["output"]) == 1
    # The output URL is the simulator's loopback server: the image is really there.
    image = httpx.get(task["output"][0], timeout=10, trust_env=False)
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_delete_answers_204_then_the_task_is_gone(http, sim):
    sim.configure(concurrency=0)  # nothing starts: the task stays queued, so DELETE cancels it
    try:
        created = _create(http)
        assert http.get(f"/v1/tasks/{created['id']}").json()["status"] in ("PENDING", "THROTTLED")
        response = http.delete(f"/v1/tasks/{created['id']}")
        assert response.status_code == 204 and response.content == b""
    finally:
        sim.configure(concurrency=4)
    _assert_error(http.get(f"/v1/tasks/{created['id']}"), 404)
    body = _assert_error(http.delete(f"/v1/tasks/{created['id']}"), 404)  # repeat: 404, nothing changes
    assert created["id"] in body["error"]


def test_delete_a_finished_task_deletes_it(http):
    created = _create(http)
    _wait(http, created["id"])
    assert http.delete(f"/v1/tasks/{created['id']}").status_code == 204
    _assert_error(http.get(f"/v1/tasks/{created['id']}"), 404)


def test_unknown_id_is_404_with_a_json_error_body(http):
    missing = str(uuid.uuid4())
    body = _assert_error(http.get(f"/v1/tasks/{missing}"), 404)
    assert set(body) == {"error", "status"}
    _assert_error(http.delete(f"/v1/tasks/{missing}"), 404)


def test_malformed_id_is_the_providers_400(http):
    body = _assert_error(http.get("/v1/tasks/not-a-uuid"), 400)
    assert "uuid" in body["error"].lower()


# ---------------------------------------------------------------------------------------
# errors mapped from the provider (the simulator's fault injection)
# ---------------------------------------------------------------------------------------

def test_rate_limit_is_429_with_retry_after(http, sim):
    sim.configure(script=["429"], retry_after=7)
    response = http.get(f"/v1/tasks/{uuid.uuid4()}")
    body = _assert_error(response, 429)
    assert response.headers["retry-after"] == "7"
    assert body["retryAfter"] == 7


def test_a_long_retry_after_goes_back_to_the_caller_at_once(sim):
    # With retries on, a short Retry-After is waited out, a long one is the caller's to honour.
    running = start_in_thread(ServeOptions(provider="sim", simulator=sim, port=0, mcp_port=0, max_retries=2))
    try:
        with _http(running.rest_url) as http:
            sim.configure(script=["429"], retry_after=0.2)
            _assert_error(http.get(f"/v1/tasks/{uuid.uuid4()}"), 404)  # retried once, then the real answer
            sim.configure(script=["429"], retry_after=30)
            started = time.monotonic()
            response = http.get(f"/v1/tasks/{uuid.uuid4()}")
            assert time.monotonic() - started < 5
            _assert_error(response, 429)
            assert response.headers["retry-after"] == "30"
    finally:
        running.stop()


@pytest.mark.parametrize("fault", ["502", "503", "504"])
def test_upstream_5xx_is_502(http, sim, fault):
    sim.configure(script=[fault])
    _assert_error(http.get(f"/v1/tasks/{uuid.uuid4()}"), 502)


def test_upstream_rejecting_the_key_is_401_and_the_key_is_not_echoed(http, sim):
    sim.configure(api_key="key_" + "0" * 128)
    try:
        response = http.get(f"/v1/tasks/{uuid.uuid4()}")
    finally:
        sim.configure(api_key=None)
    _assert_error(response, 401)
    assert SIM_KEY not in response.text


def test_create_validation_error_names_the_field_and_sends_nothing(http, sim):
    before = sim.stats.creates
    body = _assert_error(http.post("/v1/text_to_image", json={**IMAGE, "ratio": "3:2"}), 400)
    assert body["field"] == "ratio" and "ratio" in body["error"]
    body = _assert_error(http.post("/v1/image_to_video", json={"model": "gen4_turbo", "promptImage": "/etc/passwd",
                                                               "ratio": "1280:720"}), 400)
    assert body["field"] == "promptImage"  # the server never reads its own files for a caller
    body = _assert_error(http.post("/v1/text_to_image", json={**IMAGE, "strict": False}), 400)
    assert body["field"] == "strict"
    _assert_error(http.post("/v1/text_to_image", content=b"{not json", headers={"content-type": "application/json"}),
                  400)
    assert sim.stats.creates == before


def test_http_level_errors_are_json_too(http, served):
    _assert_error(http.get("/v1/nothing/here/at/all"), 404)
    _assert_error(http.post("/v1/organization", json={}), 404)
    response = http.put(f"/v1/tasks/{uuid.uuid4()}")
    _assert_error(response, 405)
    assert "DELETE" in response.headers["allow"] and "GET" in response.headers["allow"]
    # a create must be JSON (a web page cannot send one as a "simple" cross-site request)
    _assert_error(http.post("/v1/text_to_image", content=b"{}", headers={"content-type": "text/plain"}), 415)
    # DNS rebinding: a request addressed to another host name is refused
    _assert_error(http.get("/openapi.json", headers={"host": "evil.example:8080"}), 421)
    assert http.get("/openapi.json", headers={"host": "localhost"}).status_code == 200


# ---------------------------------------------------------------------------------------
# OpenAPI
# ---------------------------------------------------------------------------------------

def test_openapi_document_is_31_and_describes_both_routes(http, served):
    response = http.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"][0]["url"] == served.rest_url
    task_path = doc["paths"]["/v1/tasks/{id}"]
    assert task_path["get"]["operationId"] == "gettask"
    assert task_path["delete"]["operationId"] == "deletetask"
    assert "200" in task_path["get"]["responses"] and "204" in task_path["delete"]["responses"]
    for op in (task_path["get"], task_path["delete"]):
        assert {"404", "429", "502"} <= set(op["responses"])
    assert task_path["parameters"][0]["name"] == "id" and task_path["parameters"][0]["in"] == "path"
    schemas = doc["components"]["schemas"]
    assert set(schemas["Task"]["properties"]) == TASK_KEYS
    assert set(schemas["Task"]["required"]) == TASK_KEYS
    assert set(schemas["Error"]["required"]) == {"error", "status"}
    assert "Retry-After" in doc["components"]["responses"]["TooManyRequests"]["headers"]
    assert "/v1/text_to_image" in doc["paths"]
    # every $ref resolves
    refs = re.findall(r'"\$ref": "#/([^"]+)"', response.text.replace('":"', '": "'))
    for ref in refs:
        node = doc
        for part in ref.split("/"):
            node = node[part]
    try:
        from openapi_spec_validator import validate
    except ImportError:  # the basic checks above still ran
        return
    validate(doc)


# ---------------------------------------------------------------------------------------
# other providers, through the simulator's dialect routes over HTTP
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim_url(sim):
    return sim.url  # starts the simulator's loopback server


def _sim_create(sim_url: str, provider: str) -> str:
    headers = {"Authorization": f"Bearer {SIM_KEY}"}
    with httpx.Client(base_url=sim_url, headers=headers, timeout=10, trust_env=False) as c:
        if provider == "useapi":
            return c.post("/v1/runwayml/gen4/create", json={"image": "https://example.com/a.png",
                                                            "text_prompt": "a fox", "seconds": 5}).json()["taskId"]
        if provider == "makevid":
            return c.post("/api/v1/create_runway", json={"text_prompt": "a fox", "seconds": 5}).json()["task"]["id"]
        answer = c.post("/runwayml/v1/text_to_image", json=IMAGE, headers={"X-Runway-Version": "2024-11-06"})
        return answer.json()["id"]


@pytest.mark.parametrize("provider", ["comet", "useapi", "makevid"])
def test_other_providers_answer_the_same_shape(sim, sim_url, provider):
    sim.configure(comet_not_exist_seconds=0)
    task_id = _sim_create(sim_url, provider)
    running = start_in_thread(ServeOptions(provider=provider, base_url=sim_url, api_key=SIM_KEY, port=0,
                                           mcp_port=0, max_retries=0))
    try:
        with _http(running.rest_url) as http:
            task = _wait(http, task_id, timeout=30)
            assert set(task) == TASK_KEYS and task["provider"] == provider
            assert task["id"] == task_id and task["status"] == "SUCCEEDED"
            assert len(task["output"]) == 1 and task["output"][0].startswith(sim_url)
            assert task["createdAt"].endswith("Z")
            _assert_error(http.get(f"/v1/tasks/{uuid.uuid4()}"), 404)
            if provider in ("useapi", "makevid"):
                _assert_error(http.delete(f"/v1/tasks/{task_id}"), 501)
                _assert_error(http.post("/v1/text_to_image", json=IMAGE), 501)
                assert "/v1/text_to_image" not in http.get("/openapi.json").json()["paths"]
            else:
                _assert_error(http.delete(f"/v1/tasks/{task_id}"), 501)  # CometAPI has no cancel route
    finally:
        running.stop()
        sim.configure(comet_not_exist_seconds=2.0)


# ---------------------------------------------------------------------------------------
# the normalizer, unit-tested on each dialect's payloads
# ---------------------------------------------------------------------------------------

COMET_BARE = {"id": "d0658ae1-bbdd-4adc-aaba-fd8070e14d79", "status": "SUCCEEDED",
              "createdAt": "2026-01-05T10:00:00.000Z", "output": ["https://example.com/output.mp4"]}
COMET_ENVELOPE = {"code": "success", "message": "", "data": {
    "task_id": "7a1c", "action": "IMAGE_TO_VIDEO", "status": "IN_PROGRESS", "fail_reason": "",
    "submit_time": 1767607200, "progress": "45%",
    "data": {"id": "7a1c", "status": "RUNNING", "createdAt": "2026-01-05T18:00:00+08:00"}}}
USEAPI = {"taskId": "user:1234-runwayml:me@example.com-task:0b7e5c44-5b4b-4d7e-9f3c-0e0a1f7c1a10",
          "id": "0b7e5c44-5b4b-4d7e-9f3c-0e0a1f7c1a10", "createdAt": "2026-01-05T10:00:00.123Z",
          "taskType": "gen4", "status": "FAILED", "progressRatio": "0",
          "error": {"errorMessage": "Input flagged", "reason": "SAFETY.INPUT.TEXT", "message": "Input flagged",
                    "moderation_category": "TEXT"},
          "artifacts": []}
MAKEVID = {"task": {"id": "5f3b0a9e-6a0f-4a43-9d61-0f6d1b1b7c21", "createdAt": "2026-01-05T10:00:00.000Z",
                    "taskType": "gen4.5", "status": "RUNNING", "progressRatio": "0.35", "error": None,
                    "artifacts": []}}


def test_normalized_shape_from_comet_bare():
    out = task_out(parse_task(COMET_BARE, "comet"), "comet").model_dump(mode="json")
    assert out == {"id": COMET_BARE["id"], "status": "SUCCEEDED", "progress": None,
                   "output": ["https://example.com/output.mp4"], "failure": None, "failureCode": None,
                   "createdAt": "2026-01-05T10:00:00.000Z", "estimatedCost": None, "cost": None,
                   "provider": "comet"}


def test_normalized_shape_from_comet_envelope():
    out = task_out(parse_task(COMET_ENVELOPE, "comet"), "comet").model_dump(mode="json")
    assert set(out) == TASK_KEYS
    assert out["id"] == "7a1c" and out["status"] == "RUNNING" and out["progress"] == pytest.approx(0.45)
    assert out["createdAt"] == "2026-01-05T10:00:00.000Z"  # +08:00 converted to UTC


def test_normalized_shape_from_useapi():
    out = task_out(parse_task(USEAPI, "useapi"), "useapi").model_dump(mode="json")
    assert out["id"] == USEAPI["taskId"]  # the id useapi needs to GET it again
    assert out["status"] == "FAILED" and out["output"] == []
    assert out["failure"] == "Input flagged" and out["failureCode"] == "SAFETY.INPUT.TEXT"
    assert out["createdAt"] == "2026-01-05T10:00:00.123Z" and out["provider"] == "useapi"


def test_normalized_shape_from_makevid():
    out = task_out(parse_task(MAKEVID, "makevid"), "makevid").model_dump(mode="json")
    assert out["id"] == MAKEVID["task"]["id"] and out["status"] == "RUNNING"
    assert out["progress"] == pytest.approx(0.35) and out["failure"] is None
    assert set(out) == TASK_KEYS


def test_normalized_shape_from_the_simulators_own_dialect_payloads(sim):
    with httpx.Client(transport=sim.transport(), base_url="http://sim",
                      headers={"Authorization": "Bearer x", "X-Runway-Version": "2024-11-06"}) as c:
        task_id = c.post("/v1/text_to_image", json=IMAGE).json()["id"]
    view = sim.app.store.view(task_id)
    for dialect, payload in (("runway", sim.app.official_task(view)), ("comet", sim.app.comet_bare(view)),
                             ("useapi", sim.app.useapi_task(view)), ("makevid", {"task": sim.app.makevid_task(view)})):
        out = task_out(parse_task(payload, dialect), dialect).model_dump(mode="json")
        assert set(out) == TASK_KEYS, dialect
        assert out["id"].endswith(task_id) and out["createdAt"].endswith("Z"), dialect


def test_unknown_status_spellings_are_mapped_or_kept():
    task = parse_task({"id": "a", "status": "canceled"}, "runway")
    assert task_out(task, "runway").status == "CANCELLED"
    assert task_out(parse_task({"id": "a", "status": "weird"}, "runway"), "runway").status == "WEIRD"


# ---------------------------------------------------------------------------------------
# the error mapping and the other guards, unit-tested
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc,status", [
    (errors.ValidationError("ratio", "3:2", ["1280:720"]), 400),
    (errors.BadRequestError("bad"), 400),
    (errors.AuthenticationError("no"), 401),
    (errors.PermissionDeniedError("no"), 403),
    (errors.NotFoundError("gone"), 404),
    (errors.TaskNotVisibleError("not yet", status_code=404), 404),
    (errors.APIError("conflict", status_code=409), 409),
    (errors.RateLimitError("slow down", retry_after=2.5), 429),
    (errors.DailyLimitError("daily limit"), 429),
    (errors.ServerError("boom", status_code=500), 502),
    (errors.ServerError("boom", status_code=503), 502),
    (errors.ResponseFormatError("not a task"), 502),
    (errors.APIConnectionError("refused"), 502),
    (errors.APITimeoutError("slow"), 504),
    (errors.OutcomeUnknownError("maybe", endpoint="text_to_image"), 502),
    (RuntimeError("bug"), 500),
])
def test_error_mapping(exc, status):
    answer = error_answer(exc)
    assert answer.status == status and answer.body["status"] == status and answer.body["error"]
    if isinstance(exc, errors.RateLimitError) and exc.retry_after is not None:
        assert answer.headers == {"Retry-After": "3"} and answer.body["retryAfter"] == 2.5
    if isinstance(exc, errors.ValidationError):
        assert answer.body["field"] == "ratio"
    if status == 500:
        assert "bug" not in answer.message  # internals stay in the log


def test_error_text_never_carries_the_key():
    key = "key_" + "ab" * 64
    answer = error_answer(errors.AuthenticationError(f"upstream said: bad token {key}"), Scrubber(key, "key_…abab"))
    assert key not in answer.message and "key_…abab" in answer.message


@pytest.mark.parametrize("bad", ["", " ", "..", ".", "a/b", "a b", "x" * 3000, "a\nb", None, 5])
def test_check_task_id_refuses_unsafe_ids(bad):
    with pytest.raises(errors.ValidationError) as info:
        check_task_id(bad)
    assert info.value.field == "id"


def test_check_task_id_keeps_useapi_ids():
    assert check_task_id(USEAPI["taskId"]) == USEAPI["taskId"]


def test_clean_params_refuses_local_media_and_control_flags():
    ok = {"model": "gen4_turbo", "image": "https://example.com/a.png",
          "referenceImages": [{"uri": "data:image/png;base64,AA"}]}
    assert clean_params(ok) == ok
    for bad, field in (({"image": "photo.png"}, "promptImage"),
                       ({"promptImage": "http://10.0.0.1/a.png"}, "promptImage"),
                       ({"referenceImages": [{"uri": "/etc/passwd"}]}, "referenceImages[0].uri"),
                       ({"fill_defaults": False}, "fill_defaults")):
        with pytest.raises(errors.ValidationError) as info:
            clean_params(bad)
        assert info.value.field == field


# ---------------------------------------------------------------------------------------
# the command, end to end
# ---------------------------------------------------------------------------------------

def test_cli_serve_end_to_end_never_prints_the_key(tmp_path):
    canary = "key_" + "c0ffee42" * 16
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "COMETAPI_KEY", "USEAPI_TOKEN", "MAKEVID_API_KEY",
                        "RUNWAY_NB_PROVIDER", "RUNWAYML_BASE_URL")}
    env.update(RUNWAY_API_KEY=canary, PYTHONUNBUFFERED="1")
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "runway_nb.cli", "serve", "--port", "0", "--mcp-port", "0",
                                 "--provider", "sim", "--sim-speed", "50", "--access-log", "--log-level", "info"],
                                stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=tmp_path)
    try:
        line = proc.stdout.readline().decode()
        match = re.search(r"rest=(http://127\.0\.0\.1:\d+) openapi=\S+ mcp=(http://127\.0\.0\.1:\d+/mcp) "
                          r"provider=sim .*key=(\S+)", line)
        assert match, line + stderr_path.read_text()
        rest, _mcp, masked = match.groups()
        assert masked == "key_…ee42"
        with _http(rest) as http:
            created = _create(http)
            task = http.get(f"/v1/tasks/{created['id']}").json()
            assert task["id"] == created["id"] and set(task) == TASK_KEYS
    finally:
        proc.terminate()
        try:
            rest_out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest_out, _ = proc.communicate()
    assert proc.returncode == 0, stderr_path.read_text()
    output = line + rest_out.decode() + stderr_path.read_text()
    assert canary not in output
    assert canary[4:20] not in output


def test_cli_refuses_to_start_without_a_key_for_a_real_provider(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_PROVIDER")}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-m", "runway_nb.cli", "serve", "--provider", "runway", "--port", "0",
                           "--mcp-port", "0"], capture_output=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr.decode()
    assert b"RUNWAYML_API_SECRET" in done.stderr and done.stdout == b""

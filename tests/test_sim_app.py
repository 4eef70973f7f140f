"""The simulator's request handler, driven in-process through ``SimTransport`` with a manual clock."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
import time
from itertools import pairwise

import av
import httpx
import jsonschema
import pytest
from PIL import Image
from shared_docs import OPENAPI_SPEC, shared_file

from runway_nb.sim import AsyncSimTransport, SimApp, SimClock, SimConfig, SimTransport
from runway_nb.sim.state import progress_curve

HEADERS = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}


@functools.cache
def _spec() -> dict:
    return json.loads(shared_file(OPENAPI_SPEC).read_text())


def _schema(path: str, method: str, status: str) -> dict:
    return _spec()["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def check(instance, path: str, method: str, status: str) -> None:
    jsonschema.Draft202012Validator(_schema(path, method, status)).validate(instance)


def check_task(task: dict) -> None:
    check(task, "/v1/tasks/{id}", "get", "200")


def png_bytes(w: int = 64, h: int = 48, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


I2V = {"model": "gen4_turbo", "promptImage": "https://example.com/a.jpg", "ratio": "1280:720",
       "duration": 2, "promptText": "slow dolly in"}
T2I = {"model": "gen4_image", "promptText": "a red fox in snow", "ratio": "1280:720"}


def make(**settings):
    settings.setdefault("run_seconds", 30)
    settings.setdefault("pending_seconds", 1)
    app = SimApp(SimConfig(**settings), clock=SimClock(manual=True))
    client = httpx.Client(transport=SimTransport(app), base_url="http://sim", headers=HEADERS)
    return app, client


@pytest.fixture
def sim():
    app, client = make()
    yield app, client
    client.close()
    app.close()


def create(client, endpoint="image_to_video", body=None) -> str:
    r = client.post(f"/v1/{endpoint}", json=body or I2V)
    assert r.status_code == 200, r.text
    check(r.json(), f"/v1/{endpoint}", "post", "200")
    return r.json()["id"]


def get(client, task_id) -> dict:
    r = client.get(f"/v1/tasks/{task_id}")
    assert r.status_code == 200, r.text
    check_task(r.json())
    return r.json()


def finish(app, seconds=60.0):
    assert app.wait_media(60)
    app.clock.advance(seconds)


# ------------------------------------------------------------------------------------------ lifecycle


def test_lifecycle_pending_running_succeeded_with_real_outputs(sim):
    app, client = sim
    body = dict(I2V, promptImage=data_uri(png_bytes()), seed=42)
    tid = create(client, body=body)
    t = get(client, tid)
    assert t["status"] == "PENDING" and t["createdAt"].endswith("Z")
    assert t["estimatedCost"]["credits"] > 0
    assert app.wait_media(60)

    app.clock.advance(1.0)  # pending over, a slot is free
    t = get(client, tid)
    assert t["status"] == "RUNNING" and t["progress"] == 0.0
    seen = [0.0]
    for _ in range(5):
        app.clock.advance(2.5)  # half a progress step: no change
        assert get(client, tid)["progress"] == seen[-1]
        app.clock.advance(2.5)
        p = get(client, tid)["progress"]
        assert p > seen[-1] and p < 1
        seen.append(p)
    app.clock.advance(4.99)  # 29.99 s of 30: still running, below 1
    t = get(client, tid)
    assert t["status"] == "RUNNING" and t["progress"] < 1
    app.clock.advance(0.01)
    t = get(client, tid)
    assert t["status"] == "SUCCEEDED"
    assert t["cost"]["credits"] == pytest.approx(t["cost"]["credits"]) and isinstance(t["cost"]["credits"], int)
    assert len(t["output"]) == 1 and t["output"][0].startswith("http://sim/_sim/outputs/")

    r = client.get(t["output"][0])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert int(r.headers["content-length"]) == len(r.content)
    with av.open(io.BytesIO(r.content)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        frames = sum(1 for _ in container.decode(video=0))
        rate = float(stream.average_rate)
    assert frames / rate == pytest.approx(2.0, abs=0.1)
    # history: PENDING at 0, RUNNING at 1 (never THROTTLED), SUCCEEDED at 31
    assert app.store.history(tid) == [(0.0, "PENDING"), (1.0, "RUNNING"), (31.0, "SUCCEEDED")]


def test_text_to_image_png_size_and_same_seed_same_output(sim):
    app, client = sim
    a = create(client, "text_to_image", dict(T2I, seed=7))
    b = create(client, "text_to_image", dict(T2I, seed=7))
    finish(app)
    ta, tb = get(client, a), get(client, b)
    assert ta["status"] == tb["status"] == "SUCCEEDED"
    img_a = client.get(ta["output"][0])
    img_b = client.get(tb["output"][0])
    assert img_a.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(img_a.content)).size == (1280, 720)
    assert img_a.content == img_b.content


def test_progress_curve_is_quantised_eased_and_below_one():
    assert progress_curve(0, 30) == progress_curve(4.99, 30) == 0.0
    assert progress_curve(5, 30) == progress_curve(9.9, 30) > 0
    values = [progress_curve(t, 60) for t in range(0, 60, 5)]
    assert values == sorted(values) and values[-1] < 1
    steps = [b - a for a, b in pairwise(values)]
    assert steps[0] < steps[len(steps) // 2] > steps[-1]  # ease in, ease out
    assert progress_curve(1000, 30) == 0.99


def test_throttled_beyond_concurrency_promoted_in_submission_order():
    app, client = make(concurrency=2, run_seconds=20)
    try:
        ids = [create(client, body=dict(I2V, seed=i)) for i in range(5)]
        other = create(client, "text_to_image", T2I)  # another model has its own slots
        assert app.wait_media(60)
        app.clock.advance(1.0)
        statuses = [get(client, i)["status"] for i in ids]
        assert statuses == ["RUNNING", "RUNNING", "THROTTLED", "THROTTLED", "THROTTLED"]
        assert get(client, other)["status"] == "RUNNING"
        # Nobody polls for a long while: promotion is still computed at the exact times.
        app.clock.advance(100)
        starts = []
        for i in ids:
            hist = app.store.history(i)
            assert get(client, i)["status"] == "SUCCEEDED"
            starts.append(next(t for t, s in hist if s == "RUNNING"))
        assert starts == [1.0, 1.0, 21.0, 21.0, 41.0]
        assert [s for _, s in app.store.history(ids[2])] == ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED"]
    finally:
        client.close()
        app.close()


def test_more_concurrency_promotes_throttled_now():
    app, client = make(concurrency=1)
    try:
        a, b = create(client), create(client, body=dict(I2V, seed=5))
        app.clock.advance(2)
        assert get(client, b)["status"] == "THROTTLED"
        r = client.post("/_sim/config", json={"concurrency": 3})
        assert r.status_code == 200 and r.json()["concurrency"] == 3
        assert get(client, b)["status"] == "RUNNING" and get(client, a)["status"] == "RUNNING"
    finally:
        client.close()
        app.close()


def test_moderation_word_fails_with_safety_code(sim):
    app, client = sim
    tid = create(client, body=dict(I2V, promptText="something Forbidden here"))
    app.clock.advance(1.0)
    t = get(client, tid)
    assert t["status"] == "FAILED"
    assert t["failureCode"] == "SAFETY.INPUT.TEXT"
    assert "moderation" in t["failure"]
    assert isinstance(t["cost"]["credits"], int)


def test_render_waits_keep_task_running_at_099(sim):
    app, client = sim
    import threading

    gate = threading.Event()
    real = app.renderer.render
    app.renderer.render = lambda job: (gate.wait(30), real(job))[1]
    tid = create(client)
    app.clock.advance(100)
    t = get(client, tid)
    assert t["status"] == "RUNNING" and t["progress"] == 0.99
    gate.set()
    assert app.wait_media(60)
    app.clock.advance(0.001)
    assert get(client, tid)["status"] == "SUCCEEDED"


# ------------------------------------------------------------------------------------------ delete


def test_delete_cancels_active_then_404_and_deletes_terminal(sim):
    app, client = sim
    pending = create(client)
    assert client.delete(f"/v1/tasks/{pending}").status_code == 204
    r = client.get(f"/v1/tasks/{pending}")
    assert r.status_code == 404
    check(r.json(), "/v1/tasks/{id}", "get", "404")
    r = client.delete(f"/v1/tasks/{pending}")
    assert r.status_code == 404 and "error" in r.json()
    # the cancelled task's own view has the CANCELLED shape (not served by GET, which 404s)
    view = app.store.view(pending, include_gone=True)
    cancelled = app.official_task(view)
    assert cancelled["status"] == "CANCELLED" and cancelled["cost"] == {"credits": 0}
    check_task(cancelled)

    done = create(client, "text_to_image", T2I)
    finish(app)
    url = get(client, done)["output"][0]
    assert client.get(url).status_code == 200
    assert client.delete(f"/v1/tasks/{done}").status_code == 204
    assert client.get(f"/v1/tasks/{done}").status_code == 404
    assert client.get(url).status_code == 404  # outputs go with the task
    assert client.delete(f"/v1/tasks/{done}").status_code == 404
    unknown = "7b7e5f3e-1111-4222-8333-444455556666"
    r = client.delete(f"/v1/tasks/{unknown}")
    assert r.status_code == 404 and isinstance(r.json()["error"], str)


def test_cancelling_running_task_frees_its_slot():
    app, client = make(concurrency=1)
    try:
        a, b = create(client), create(client, body=dict(I2V, seed=9))
        app.clock.advance(5)
        assert get(client, b)["status"] == "THROTTLED"
        assert client.delete(f"/v1/tasks/{a}").status_code == 204
        assert get(client, b)["status"] == "RUNNING"
    finally:
        client.close()
        app.close()


# ------------------------------------------------------------------------------------------ auth & errors


def test_auth_and_version_headers():
    app, client = make(api_key="key_right")
    try:
        raw = httpx.Client(transport=SimTransport(app), base_url="http://sim")
        r = raw.get("/v1/organization", headers={"X-Runway-Version": "2024-11-06"})
        assert r.status_code == 401 and isinstance(r.json()["error"], str)
        r = raw.get("/v1/organization", headers={"X-Runway-Version": "2024-11-06", "Authorization": "Basic x"})
        assert r.status_code == 401
        r = raw.get("/v1/organization", headers={"X-Runway-Version": "2024-11-06", "Authorization": "Bearer key_wrong"})
        assert r.status_code == 401 and "key_wrong" not in r.text
        ok = {"Authorization": "Bearer key_right"}
        r = raw.get("/v1/organization", headers=ok)
        assert r.status_code == 400 and "X-Runway-Version" in r.json()["error"]
        r = raw.get("/v1/organization", headers={**ok, "X-Runway-Version": "2023-01-01"})
        assert r.status_code == 400 and "2024-11-06" in r.json()["error"]
        assert raw.get("/v1/organization", headers={**ok, "X-Runway-Version": "2024-11-06"}).status_code == 200
        assert raw.post("/v1/tasks/x", headers=ok).status_code == 405
        assert raw.get("/v1/nothing", headers=ok).status_code == 404
        raw.close()
    finally:
        client.close()
        app.close()


def test_validation_errors_are_400_with_issues(sim):
    app, client = sim
    r = client.post("/v1/image_to_video", json=dict(I2V, ratio="1:1"))
    assert r.status_code == 400
    body = r.json()
    check(body, "/v1/image_to_video", "post", "400")
    assert body["issues"][0]["path"] == ["ratio"] and "ratio" in body["error"]
    r = client.post("/v1/image_to_video", json={"model": "gen4.5", "promptText": "x", "ratio": "1280:720"})
    assert r.status_code == 400
    assert {tuple(i["path"]) for i in r.json()["issues"]} >= {("promptImage",), ("duration",)}
    r = client.post("/v1/text_to_image", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert app.stats.creates == 0


def test_daily_limit_429_without_retry_after():
    app, client = make(daily_limit=2)
    try:
        create(client)
        create(client)
        r = client.post("/v1/image_to_video", json=I2V)
        assert r.status_code == 429
        assert r.json() == {"error": "Your daily task limit has been reached."}
        assert "retry-after" not in r.headers
        assert client.post("/v1/text_to_image", json=T2I).status_code == 200  # per model
        org = client.get("/v1/organization").json()
        assert org["tier"]["models"]["gen4_turbo"]["maxDailyGenerations"] == 2
        assert org["usage"]["models"]["gen4_turbo"]["dailyGenerations"] == 2
        app.clock.advance(86400)
        assert client.post("/v1/image_to_video", json=I2V).status_code == 200  # rolling window
    finally:
        client.close()
        app.close()


# ------------------------------------------------------------------------------------------ schemas


def test_every_status_shape_validates_against_the_spec():
    app, client = make(concurrency=1)
    try:
        seen = {}
        a = create(client)
        b = create(client, body=dict(I2V, seed=3))
        bad = create(client, "text_to_image", dict(T2I, promptText="forbidden fox"))
        seen["PENDING"] = get(client, a)
        assert app.wait_media(60)
        app.clock.advance(1)
        seen["RUNNING"] = get(client, a)
        seen["THROTTLED"] = get(client, b)
        seen["FAILED"] = get(client, bad)
        app.clock.advance(200)
        seen["SUCCEEDED"] = get(client, a)
        for status, task in seen.items():
            assert task["status"] == status
            check_task(task)
        assert "progress" not in seen["PENDING"] and "cost" not in seen["RUNNING"]
    finally:
        client.close()
        app.close()


def test_organization_and_usage_validate(sim):
    app, client = sim
    r = client.get("/v1/organization")
    assert r.status_code == 200
    org = r.json()
    check(org, "/v1/organization", "get", "200")
    assert org["creditBalance"] == 10000
    assert org["tier"]["models"]["gen4_turbo"]["maxConcurrentGenerations"] == 2
    tid = create(client, "text_to_image", T2I)
    finish(app)
    cost = get(client, tid)["cost"]["credits"]
    assert cost > 0
    org = client.get("/v1/organization").json()
    check(org, "/v1/organization", "get", "200")
    assert org["creditBalance"] == 10000 - cost
    assert org["usage"]["models"]["gen4_image"]["dailyGenerations"] == 1
    r = client.post("/v1/organization/usage", json={})
    assert r.status_code == 200
    usage = r.json()
    check(usage, "/v1/organization/usage", "post", "200")
    assert usage["models"] == ["gen4_image"]
    assert usage["results"][0]["usedCredits"] == [{"model": "gen4_image", "amount": cost}]
    assert client.post("/v1/organization/usage", json={"startDate": "2026-13-01"}).status_code == 400


def test_upload_flow_then_image_to_video_with_runway_uri(sim):
    app, client = sim
    jobs = []
    real = app.renderer.render
    app.renderer.render = lambda job: (jobs.append(job), real(job))[1]
    r = client.post("/v1/uploads", json={"filename": "face.png", "type": "ephemeral"})
    assert r.status_code == 200
    up = r.json()
    check(up, "/v1/uploads", "post", "200")
    assert up["runwayUri"].startswith("runway://")
    image = png_bytes(80, 60, (10, 200, 10))
    # the presigned target needs no auth header; it takes the fields plus a 'file' part
    plain = httpx.Client(transport=SimTransport(app))
    r = plain.post(up["uploadUrl"], data=up["fields"], files={"file": ("face.png", image, "image/png")})
    assert r.status_code == 204
    stranger = plain.post("http://sim/_sim/upload/" + "0" * 32, data={}, files={"file": ("a.png", image)})
    assert stranger.status_code == 403
    plain.close()

    tid = create(client, body=dict(I2V, promptImage=up["runwayUri"]))
    finish(app)
    assert get(client, tid)["status"] == "SUCCEEDED"
    assert jobs[-1].source_image == image
    r = client.post("/v1/image_to_video", json=dict(I2V, promptImage="runway://sim-uploads/none/x.png"))
    assert r.status_code == 400 and r.json()["error"].startswith("promptImage")
    # an upload whose bytes are no image: the task fails ASSET.INVALID, refunded
    up = client.post("/v1/uploads", json={"filename": "broken.png", "type": "ephemeral"}).json()
    plain = httpx.Client(transport=SimTransport(app))
    assert plain.post(up["uploadUrl"], data=up["fields"],
                      files={"file": ("broken.png", b"\0" * 1024, "image/png")}).status_code == 204
    plain.close()
    tid = create(client, body=dict(I2V, promptImage=up["runwayUri"]))
    app.clock.advance(1)
    t = get(client, tid)
    assert (t["status"], t["failureCode"], t["cost"]["credits"]) == ("FAILED", "ASSET.INVALID", 0)
    r = client.post("/v1/uploads", json={"filename": "notes.txt", "type": "ephemeral"})
    assert r.status_code == 400 and r.json()["issues"][0]["path"] == ["filename"]


def test_chaining_text_to_image_output_into_image_to_video(sim):
    app, client = sim
    jobs = []
    real = app.renderer.render
    app.renderer.render = lambda job: (jobs.append(job), real(job))[1]
    img = create(client, "text_to_image", T2I)
    finish(app)
    url = get(client, img)["output"][0]
    png = client.get(url).content
    vid = create(client, body=dict(I2V, promptImage=url.replace("http://sim", "http://127.0.0.1:9")))
    finish(app)
    assert get(client, vid)["status"] == "SUCCEEDED"
    assert jobs[-1].source_image == png


# ------------------------------------------------------------------------------------------ faults


def test_scripted_429_carries_retry_after(sim):
    app, client = sim
    app.configure(script=["429", "ok"], retry_after=3)
    r = client.get("/v1/organization")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    check(r.json(), "/v1/image_to_video", "post", "429")
    assert client.get("/v1/organization").status_code == 200
    assert app.stats.faults == {"429": 1}


def test_5xx_after_create_commits_exactly_one_task(sim):
    app, client = sim
    app.configure(script=["5xx_after_create"])
    r = client.post("/v1/image_to_video", json=I2V)
    assert r.status_code == 500
    assert app.stats.creates == 1 and len(app.store.ids()) == 1
    assert app.stats.requests_for("POST", "/v1/image_to_video") == 1


def test_drop_before_creates_nothing_and_drop_after_creates(sim):
    app, client = sim
    app.configure(script=["drop_before", "drop", "503", "502"])
    with pytest.raises(httpx.ConnectError):
        client.post("/v1/image_to_video", json=I2V)
    assert app.stats.creates == 0 and app.store.ids() == []
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/image_to_video", json=I2V)
    assert app.stats.creates == 1  # the drop came after the create was committed
    r = client.post("/v1/image_to_video", json=I2V)
    assert r.status_code == 503 and app.stats.creates == 1
    r = client.get("/v1/organization")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert app.stats.faults == {"drop_before": 1, "drop": 1, "5xx": 2}
    assert client.get("/_sim/health").status_code == 200  # control routes never fault


def test_random_faults_are_deterministic_per_seed():
    def run(seed):
        app, client = make(fault_seed=seed, rate_429=0.3, rate_5xx=0.2)
        try:
            return [client.get("/v1/organization").status_code for _ in range(30)]
        finally:
            client.close()
            app.close()

    first = run(11)
    assert first == run(11)
    assert first != run(12)
    assert {429, 200} <= set(first)


def test_slow_fault_sleeps_in_async_transport_without_blocking_the_loop():
    app = SimApp(SimConfig(run_seconds=30), clock=SimClock(manual=True))

    async def main():
        app.configure(script=["slow", "ok"], slow_seconds=0.4)
        async with httpx.AsyncClient(transport=AsyncSimTransport(app), base_url="http://sim",
                                     headers=HEADERS) as ac:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.02)
                    ticks += 1

            tick_task = asyncio.create_task(ticker())
            t0 = time.monotonic()
            r = await ac.get("/v1/organization")
            elapsed = time.monotonic() - t0
            tick_task.cancel()
            assert r.status_code == 200 and elapsed >= 0.38 and ticks >= 10
            r = await ac.post("/v1/text_to_image", json=T2I)
            tid = r.json()["id"]
            r = await ac.get(f"/v1/tasks/{tid}")
            assert r.json()["status"] == "PENDING"
            app.configure(script=["drop"])
            with pytest.raises(httpx.RemoteProtocolError):
                await ac.get(f"/v1/tasks/{tid}")

    try:
        asyncio.run(main())
    finally:
        app.close()


# ------------------------------------------------------------------------------------------ providers


def test_comet_bare_task_not_exist_window_and_envelope():
    app, client = make(comet_not_exist_seconds=2.0)
    try:
        comet = httpx.Client(transport=SimTransport(app), base_url="http://sim",
                             headers={"Authorization": "Bearer comet_key"})  # version header optional
        r = comet.post("/runwayml/v1/image_to_video", json=I2V)
        comet.close()
        assert r.status_code == 200
        tid = r.json()["id"]
        r = client.get(f"/runwayml/v1/tasks/{tid}")
        assert r.status_code == 200
        assert r.json() == {"code": "task_not_exist", "message": "task_not_exist", "data": None}
        app.configure(comet_not_exist_as_http_error=True)
        r = client.get(f"/runwayml/v1/tasks/{tid}")
        assert r.status_code == 404 and r.json()["code"] == "task_not_exist"
        app.clock.advance(2.0)
        bare = client.get(f"/runwayml/v1/tasks/{tid}").json()
        assert bare == {"id": tid, "status": "RUNNING", "createdAt": bare["createdAt"], "progress": 0.0}
        app.configure(comet_envelope=True)
        env = client.get(f"/runwayml/v1/tasks/{tid}").json()
        assert env["code"] == "success" and env["message"] == ""
        data = env["data"]
        assert set(data) == {"task_id", "action", "status", "fail_reason", "submit_time", "start_time",
                             "finish_time", "progress", "data"}
        assert (data["task_id"], data["action"], data["status"], data["progress"]) == (
            tid, "IMAGE_TO_VIDEO", "IN_PROGRESS", "0%")
        assert data["data"]["id"] == tid and data["data"]["createdAt"].endswith("+08:00")
        assert isinstance(data["submit_time"], int) and data["finish_time"] == 0
        finish(app)
        data = client.get(f"/runwayml/v1/tasks/{tid}").json()["data"]
        assert data["status"] == "SUCCESS" and data["progress"] == "100%"
        assert data["data"]["status"] == "SUCCEEDED" and data["data"]["output"][0].endswith(".mp4")
        raw = httpx.Client(transport=SimTransport(app), base_url="http://sim")
        assert raw.get(f"/runwayml/v1/tasks/{tid}").status_code == 401
        raw.close()
    finally:
        client.close()
        app.close()


USEAPI_KEYS = {"taskId", "id", "name", "image", "createdAt", "updatedAt", "taskType", "options", "status",
               "error", "progressText", "progressRatio", "estimatedTimeToStartSeconds", "artifacts",
               "sharedAsset"}
ARTIFACT_KEYS = {"id", "createdAt", "updatedAt", "userId", "createdBy", "taskId", "parentAssetGroupId",
                 "filename", "url", "fileSize", "isDirectory", "previewUrls", "private", "privateInTeam",
                 "deleted", "reported", "metadata", "favorite"}


def test_useapi_create_and_get_shapes(sim):
    app, client = sim
    r = client.post("/v1/runwayml/gen4/create", json={"text_prompt": "cat chasing dog",
                                                      "image": "https://example.com/cat.jpg",
                                                      "seconds": 5, "aspect_ratio": "16:9", "seed": 123})
    assert r.status_code == 200, r.text
    task = r.json()
    assert set(task) == USEAPI_KEYS
    assert task["taskId"] == f"user:1-runwayml:sim@example.com-task:{task['id']}"
    assert task["status"] == "PENDING" and task["taskType"] == "gen4"
    assert task["options"]["text_prompt"] == "cat chasing dog" and task["options"]["seed"] == 123
    assert task["options"]["seconds"] == 5
    quoted = task["taskId"].replace(":", "%3A").replace("@", "%40")
    finish(app)
    done = client.get(f"/v1/runwayml/tasks/{quoted}").json()
    assert done["status"] == "SUCCEEDED" and done["progressRatio"] == "1" and done["error"] is None
    art = done["artifacts"][0]
    assert set(art) == ARTIFACT_KEYS | {"assetId"}
    assert isinstance(art["fileSize"], str) and int(art["fileSize"]) > 0
    assert art["metadata"]["dimensions"] == [1280, 720] and art["metadata"]["size"] == {"width": 1280, "height": 720}
    assert client.get(art["url"]).status_code == 200
    assert client.get(f"/v1/runwayml/tasks/{task['taskId']}").json()["id"] == task["id"]

    bad = client.post("/v1/runwayml/gen4/create", json={"text_prompt": "a forbidden act",
                                                        "image": "https://example.com/c.jpg"}).json()
    app.clock.advance(1)
    failed = client.get(f"/v1/runwayml/tasks/{bad['taskId']}").json()
    assert failed["status"] == "FAILED"
    assert set(failed["error"]) == {"errorMessage", "reason", "message", "moderation_category", "tally_asimov"}
    assert failed["error"]["reason"] == "SAFETY.INPUT.TEXT"
    r = client.get("/v1/runwayml/tasks/user:1-runwayml:x-task:7b7e5f3e-1111-4222-8333-444455556666")
    assert r.status_code == 404 and r.json() == {"error": "Not found.", "code": 404}
    r = client.post("/v1/runwayml/gen4/create", json={"text_prompt": "no image"})
    assert r.status_code == 400 and r.json()["code"] == 400


def test_makevid_create_and_get_shapes(sim):
    app, client = sim
    r = client.post("/api/v1/create_runway", json={"seconds": 5, "text_prompt": "Hyperspeed shot",
                                                   "enhance_prompt": True,
                                                   "init_image": "https://example.com/x.jpg",
                                                   "image_as_end_frame": False})
    assert r.status_code == 200, r.text
    body = r.json()
    task = body["task"]
    assert set(task) == USEAPI_KEYS - {"taskId"}
    assert task["progressRatio"] is None and task["name"] is None and task["image"] is None
    assert isinstance(task["estimatedTimeToStartSeconds"], int)
    finish(app)
    got = client.get(f"/api/v1/get_runway/{task['id']}")
    assert got.status_code == 200
    done = got.json()["task"]
    assert done["status"] == "SUCCEEDED" and done["progressRatio"] == "1"
    assert set(done["artifacts"][0]) == ARTIFACT_KEYS
    assert done["artifacts"][0]["url"].endswith(".mp4")
    assert done["options"]["text_prompt"] == "Hyperspeed shot"
    assert client.get("/api/v1/get_runway/7b7e5f3e-1111-4222-8333-444455556666").status_code == 404


# ------------------------------------------------------------------------------------------ misc routes


def test_outputs_support_range_and_head(sim):
    app, client = sim
    tid = create(client, "text_to_image", T2I)
    finish(app)
    url = get(client, tid)["output"][0]
    full = client.get(url)
    r = client.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == full.content[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(full.content)}"
    r = client.get(url, headers={"Range": "bytes=-5"})
    assert r.status_code == 206 and r.content == full.content[-5:]
    r = client.get(url, headers={"Range": f"bytes={len(full.content)}-"})
    assert r.status_code == 416
    r = client.head(url)
    assert r.status_code == 200 and r.headers["content-length"] == str(len(full.content))
    assert r.headers["accept-ranges"] == "bytes"


def test_control_routes(sim):
    app, _client = sim
    raw = httpx.Client(transport=SimTransport(app), base_url="http://sim")
    assert raw.get("/_sim/health").json()["status"] == "ok"
    r = raw.post("/_sim/config", json={"speed": 5, "rate_429": 0.5, "api_key": "secret"})
    assert r.status_code == 200 and r.json()["rate_429"] == 0.5 and r.json()["api_key"] == "<set>"
    assert raw.post("/_sim/config", json={"no_such": 1}).status_code == 400
    assert raw.post("/_sim/config", json={"rate_5xx": 2}).status_code == 400
    stats = raw.get("/_sim/stats").json()
    assert stats["creates"] == 0 and stats["requests"]["POST /_sim/config"] == 3
    raw.close()

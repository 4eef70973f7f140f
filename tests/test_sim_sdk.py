"""The official ``runwayml`` SDK against the simulator's HTTP server."""

from __future__ import annotations

import io
import time

import pytest
import runwayml
from PIL import Image
from runwayml import RunwayML

from runway_nb.sim import SimApp, SimConfig, SimServer

KEY = "key_" + "0" * 128


@pytest.fixture(scope="module")
def server():
    app = SimApp(SimConfig(pending_seconds=0.2, run_seconds=1.0, api_key=KEY))
    with SimServer(app, port=0) as srv:
        yield srv
    app.close()


@pytest.fixture
def client(server):
    server.app.configure(script=[])
    with RunwayML(api_key=KEY, base_url=server.url) as c:
        yield c


def _png(tmp_path):
    path = tmp_path / "start.png"
    Image.new("RGB", (96, 64), (30, 90, 200)).save(path)
    return path


def test_upload_image_to_video_retrieve_wait_delete(client, server, tmp_path):
    upload = client.uploads.create_ephemeral(file=_png(tmp_path))
    assert upload.uri.startswith("runway://")

    created = client.image_to_video.create(model="gen4_turbo", prompt_image=upload.uri, ratio="1280:720",
                                           duration=2, prompt_text="a slow dolly in")
    assert created.id
    statuses = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = client.tasks.retrieve(created.id)
        statuses.append(task.status)
        if task.status == "SUCCEEDED":
            break
        time.sleep(0.2)
    assert statuses[-1] == "SUCCEEDED" and statuses[0] in ("PENDING", "RUNNING")
    assert task.output[0].startswith(server.url + "/_sim/outputs/")
    assert task.cost.credits > 0

    done = created.wait_for_task_output(timeout=60)  # one ~6 s SDK sleep, then SUCCEEDED
    assert done.status == "SUCCEEDED" and done.output == task.output

    client.tasks.delete(created.id)
    with pytest.raises(runwayml.NotFoundError):
        client.tasks.retrieve(created.id)
    with pytest.raises(runwayml.NotFoundError):
        client.tasks.delete(created.id)


def test_organization_and_errors(client, server):
    org = client.organization.retrieve()
    assert org.credit_balance >= 0
    assert org.tier.models["gen4_turbo"].max_concurrent_generations == 2
    with pytest.raises(runwayml.BadRequestError) as info:
        client.image_to_video.create(model="gen4_turbo", prompt_image="https://example.com/a.jpg",
                                     ratio="1:1")
    assert info.value.status_code == 400 and "ratio" in str(info.value)
    with pytest.raises(runwayml.AuthenticationError):
        RunwayML(api_key="key_" + "1" * 128, base_url=server.url).organization.retrieve()


def test_sdk_retries_a_scripted_429_using_retry_after(client, server):
    before = server.app.stats.requests_for("GET", "/v1/organization")
    server.app.configure(script=["429", "ok"], retry_after=0.2)
    t0 = time.monotonic()
    client.organization.retrieve()
    assert time.monotonic() - t0 >= 0.15
    assert server.app.stats.requests_for("GET", "/v1/organization") == before + 2


def test_sdk_tuple_upload(client, server):
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (255, 0, 0)).save(buf, "PNG")
    upload = client.uploads.create_ephemeral(file=("red.png", buf.getvalue()))
    assert server.app.uploads.resolve(upload.uri).data == buf.getvalue()

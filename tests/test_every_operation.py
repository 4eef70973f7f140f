"""Every task operation of the catalog, end to end over real HTTP on the simulator server.

Each operation is created through ``Runway.create`` with its catalog example body (media replaced
by real inputs as data URIs), ends SUCCEEDED, its outputs open as media of the operation's kind
(Pillow for images, PyAV for video and audio), and the official ``runwayml`` SDK reads the task.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import av
import httpx
import pytest
from PIL import Image
from runwayml import RunwayML

from runway_nb.api import catalog
from runway_nb.client import Runway
from runway_nb.errors import ValidationError
from runway_nb.sim import SimApp, SimConfig, SimServer
from runway_nb.sim.audio import render_sound
from runway_nb.sim.media import render_video

KEY = "key_" + "0" * 128
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _inputs() -> dict[str, str]:
    buf = io.BytesIO()
    Image.new("RGB", (320, 192), (40, 120, 200)).save(buf, "PNG")
    video = render_video(320, 192, 2.0, prompt="input clip", model="test", seed=1)
    audio = render_sound("rain on a tin roof", duration=2.0, seed=1, fmt="wav")
    return {"jpg": _data_uri("image/png", buf.getvalue()), "mp4": _data_uri("video/mp4", video),
            "mp3": _data_uri("audio/wav", audio)}


INPUTS = _inputs()


def _with_inputs(value: Any) -> Any:
    """The example body with each placeholder https://example.com/input.<ext> replaced by real media."""
    if isinstance(value, str) and value.startswith("https://example.com/input."):
        return INPUTS.get(value.rsplit(".", 1)[-1], INPUTS["jpg"])
    if isinstance(value, list):
        return [_with_inputs(v) for v in value]
    if isinstance(value, dict):
        return {k: _with_inputs(v) for k, v in value.items()}
    return value


def _first_current(endpoint: str) -> catalog.ModelInfo:
    return next(m for m in catalog.models(endpoint) if m.retired is None)


@pytest.fixture(scope="module")
def server():
    app = SimApp(SimConfig(pending_seconds=0.1, run_seconds=0.3, api_key=KEY, credits=10_000_000))
    with SimServer(app, port=0) as srv:
        yield srv  # routed examples name the router the simulator starts with
    app.close()


def _kind_of(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return "image"
    except Exception:  # not an image: PyAV decides below
        pass
    with av.open(io.BytesIO(data)) as container:
        if container.streams.video:
            return "video"
        if container.streams.audio:
            return "audio"
    return "unknown"


@pytest.mark.parametrize("endpoint", catalog.ENDPOINTS)
def test_operation_succeeds_with_media_of_its_kind(server, endpoint):
    info = _first_current(endpoint)
    body = _with_inputs(catalog.example_body(endpoint, info.model))
    with Runway(api_key=KEY, base_url=server.url) as client:
        handle = client.create(endpoint, **body)
        task = handle.wait(timeout=120)
        assert task.status == "SUCCEEDED", (endpoint, task)
        assert task.outputs
        for url in task.outputs:
            data = httpx.get(url).content
            assert _kind_of(data) == info.output, (endpoint, url)
    with RunwayML(api_key=KEY, base_url=server.url) as sdk:
        assert sdk.tasks.retrieve(handle.id).status == "SUCCEEDED"


def test_sdk_style_namespaces_reach_every_operation(server):
    with Runway(api_key=KEY, base_url=server.url) as client:
        for endpoint in catalog.ENDPOINTS:
            node: Any = client
            for part in endpoint.split("/"):
                node = getattr(node, part)
            assert node.name == endpoint
        handle = client.recipes.marketing_stock_image.create(
            **_with_inputs(catalog.example_body("recipes/marketing_stock_image", "marketing_stock_image")))
        assert handle.wait(timeout=120).status == "SUCCEEDED"


@pytest.mark.parametrize("model", sorted({m.model for m in catalog.models("text_to_speech") if m.voices}))
def test_speech_voices_by_name(server, model):
    with Runway(api_key=KEY, base_url=server.url) as client:
        outs = []
        for voice in ("Maya", "arjun"):
            task = client.text_to_speech.create(model=model, prompt="Hello from the simulator.", voice=voice,
                                                seed=7).wait(timeout=60)
            assert task.status == "SUCCEEDED"
            outs.append(httpx.get(task.outputs[0]).content)
        assert outs[0] != outs[1]  # a different voice sounds different
        with av.open(io.BytesIO(outs[0])) as container:
            seconds = float(container.duration or 0) / 1_000_000
        assert 1.0 <= seconds <= 3.0  # about 14 characters a second


def test_retired_model_is_explained_before_sending_and_refused_by_the_simulator(server):
    body = {"model": "gen4", "prompt_image": INPUTS["jpg"], "prompt_text": "a fox"}
    with Runway(api_key=KEY, base_url=server.url) as client, \
            pytest.raises(ValidationError, match=r"retired.*use gen4_turbo"):
        client.create("image_to_video", **body)
    with httpx.Client(base_url=server.url, headers=HEADERS) as http:
        answer = http.post("/v1/image_to_video", json={"model": "gen4", "promptImage": INPUTS["jpg"]})
    assert answer.status_code == 400 and "retired" in answer.json()["error"]

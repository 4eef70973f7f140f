"""Every model of every task operation in the catalog, end to end over real HTTP on the simulator server.

Each current model is created through ``Runway.create`` with its catalog example body, its media
replaced by small real files made here (Pillow, PyAV, ``wave``) so renders follow real inputs.
It ends SUCCEEDED; each output is fetched and opens as media of the model's output kind (Pillow
for images, PyAV for video and audio); as many outputs come back as the body asks for; and the
official ``runwayml`` SDK reads the task. One model of each operation is also created through the
SDK-style namespace (``client.recipes.product_ad.create(...)``) with raw bytes as its media.
Retired models are refused, with an explanation before sending.
"""

from __future__ import annotations

import base64
import io
import math
import re
import wave
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import httpx
import pytest
from PIL import Image
from runwayml import RunwayML

from runway_nb.api import catalog
from runway_nb.api.examples import body_variants
from runway_nb.client import Runway
from runway_nb.errors import ValidationError
from runway_nb.sim import SimApp, SimConfig, SimServer

KEY = "key_" + "0" * 128
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
WAIT_SECONDS = 60


# ---------------------------------------------------------------------------------------------
# small real inputs, made here (not by the simulator)
# ---------------------------------------------------------------------------------------------

def _png() -> bytes:
    img = Image.new("RGB", (160, 96))
    img.putdata([(x * 255 // 159, y * 255 // 95, 128) for y in range(96) for x in range(160)])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _mp4(seconds: float = 1.0, fps: int = 24) -> bytes:
    """An H.264 clip, 128x72, a bar sweeping across a gradient."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 128, 72, "yuv420p"
        n = round(seconds * fps)
        for i in range(n):
            img = Image.new("RGB", (128, 72), (30, 60, 90))
            x = i * 128 // n
            img.paste((230, 200, 40), (x, 0, min(128, x + 12), 72))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _wav(seconds: float = 1.5, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV: a vowel-like tone with a slow vibrato, loud enough to hear."""
    frames = bytearray()
    for i in range(round(seconds * rate)):
        t = i / rate
        pitch = 180 + 20 * math.sin(2 * math.pi * 5 * t)
        value = 0.4 * math.sin(2 * math.pi * pitch * t) + 0.2 * math.sin(2 * math.pi * 2 * pitch * t)
        frames += int(value * 32767).to_bytes(2, "little", signed=True)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


MEDIA = {"jpg": ("image/png", _png()), "mp4": ("video/mp4", _mp4()), "mp3": ("audio/wav", _wav())}


def _data_uri(ext: str) -> str:
    mime, data = MEDIA[ext]
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


INPUT_URIS = {ext: _data_uri(ext) for ext in MEDIA}


def _with_inputs(value: Any, *, as_bytes: bool = False) -> Any:
    """The example body with each placeholder https://example.com/input.<ext> replaced by real media:
    a data URI, or the raw bytes for the client to turn into one."""
    if isinstance(value, str) and value.startswith("https://example.com/input."):
        ext = value.rsplit(".", 1)[-1]
        return MEDIA[ext][1] if as_bytes else INPUT_URIS[ext]
    if isinstance(value, list):
        return [_with_inputs(v, as_bytes=as_bytes) for v in value]
    if isinstance(value, dict):
        return {k: _with_inputs(v, as_bytes=as_bytes) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# the cases: every current model, plus two outputs for each model that can make several
# ---------------------------------------------------------------------------------------------

def _current(endpoint: str) -> list[catalog.ModelInfo]:
    return [m for m in catalog.models(endpoint) if m.retired is None]


def _several(info: catalog.ModelInfo) -> int | None:
    """The fewest outputs above one that the model's count field allows (2 unless its enum says
    otherwise), or None when it makes one output only."""
    rule = info.output_count
    if rule is None or rule["max"] == 1:
        return None
    allowed = info.schema.get("properties", {}).get(rule["field"], {}).get("enum")
    return min((int(n) for n in allowed if n > 1), default=None) if allowed else 2


def _cases() -> Iterator[Any]:
    """(endpoint, model, variant, count): each current model; each other shape its body can take
    (multi_shot_video's custom mode); several outputs where the model can make them."""
    for endpoint in catalog.ENDPOINTS:
        for info in _current(endpoint):
            name = f"{endpoint}:{info.model}"
            yield pytest.param(endpoint, info.model, 0, None, id=name)
            for variant in range(1, body_variants(endpoint, info.model)):
                yield pytest.param(endpoint, info.model, variant, None, id=f"{name}:variant{variant}")
            several = _several(info)
            if several is not None:
                yield pytest.param(endpoint, info.model, 0, several, id=f"{name}:x{several}")


def _body(endpoint: str, model: str, count: int | None, *, variant: int = 0,
          as_bytes: bool = False) -> dict[str, Any]:
    body = _with_inputs(catalog.example_body(endpoint, model, variant=variant), as_bytes=as_bytes)
    rule = catalog.get(endpoint, model).output_count
    if count is not None:
        assert rule is not None
        body[rule["field"]] = count
    return body


def _expected_count(info: catalog.ModelInfo, body: dict[str, Any]) -> int:
    rule = info.output_count
    if rule is None:
        return 1
    asked = body.get(rule["field"])
    return int(asked) if isinstance(asked, int) else rule["default"]


def _ratio(body: dict[str, Any]) -> Fraction | None:
    """The width:height the body asks for, when it names one in numbers ("1280:720", "16:9")."""
    m = re.fullmatch(r"(\d+):(\d+)", str(body.get("ratio", "")))
    return Fraction(int(m.group(1)), int(m.group(2))) if m else None


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    app = SimApp(SimConfig(pending_seconds=0.05, run_seconds=0.1, api_key=KEY, credits=100_000_000))
    with SimServer(app, port=0) as srv:
        yield srv  # routed examples name the router the simulator starts with
    app.close()


@pytest.fixture(scope="module")
def client(server: SimServer) -> Iterator[Runway]:
    with Runway(api_key=KEY, base_url=server.url, poll_floor=0.05, journal=False) as c:
        yield c


@pytest.fixture(scope="module")
def sdk(server: SimServer) -> Iterator[RunwayML]:
    with RunwayML(api_key=KEY, base_url=server.url) as s:
        yield s


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------

def _open_image(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size


def _open_video(data: bytes) -> tuple[int, int, float]:
    """Width, height and seconds of a video that has a video stream with frames."""
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video, "no video stream"
        stream = container.streams.video[0]
        frame = next(container.decode(stream), None)
        assert frame is not None, "the video stream has no frames"
        return frame.width, frame.height, float(container.duration or 0) / 1_000_000


def _open_audio(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio, "no audio stream"
        seconds = float(container.duration or 0) / 1_000_000
        assert next(container.decode(audio=0), None) is not None, "the audio stream has no samples"
    assert seconds > 0, "the audio lasts no time"
    return seconds


INPUT_IMAGE_SIZE = _open_image(MEDIA["jpg"][1])
INPUT_VIDEO = _open_video(MEDIA["mp4"][1])
INPUT_AUDIO_SECONDS = _open_audio(MEDIA["mp3"][1])


def _check_follows_input(endpoint: str, body: dict[str, Any], size: tuple[int, int] | None,
                         seconds: float) -> None:
    """Transforms keep what their input has: upscale scales it, HDR keeps its frames, the voice
    operations keep its length, an avatar speaks as long as its audio."""
    if endpoint == "image_upscale":
        factor = int(body.get("scaleFactor", 2))
        assert size == (INPUT_IMAGE_SIZE[0] * factor, INPUT_IMAGE_SIZE[1] * factor), size
    elif endpoint == "video_to_hdr":
        assert size == INPUT_VIDEO[:2] and seconds == pytest.approx(INPUT_VIDEO[2], abs=0.1)
    elif endpoint in ("speech_to_speech", "voice_dubbing", "voice_isolation") or (
            endpoint == "avatar_videos" and body["speech"]["type"] == "audio"):
        assert seconds == pytest.approx(INPUT_AUDIO_SECONDS, abs=0.15)
    elif endpoint == "video_to_audio":
        assert seconds == pytest.approx(body.get("duration", INPUT_VIDEO[2]), abs=0.15)


def _check_outputs(endpoint: str, info: catalog.ModelInfo, body: dict[str, Any], outputs: list[str]) -> None:
    assert len(outputs) == _expected_count(info, body), outputs
    ratio = _ratio(body)
    for url in outputs:
        answer = httpx.get(url)
        assert answer.status_code == 200, url
        size: tuple[int, int] | None = None
        if info.output == "audio":
            seconds = _open_audio(answer.content)
        elif info.output == "image":
            size, seconds = _open_image(answer.content), 0.0
        else:
            width, height, seconds = _open_video(answer.content)
            size = (width, height)
        if size is not None and ratio is not None:  # the shape asked for (within a pixel's rounding)
            assert abs(Fraction(*size) / ratio - 1) < 0.02, (size, body["ratio"])
        _check_follows_input(endpoint, body, size, seconds)


def _check_sdk_reads(sdk: RunwayML, task_id: str, outputs: list[str]) -> None:
    seen = sdk.tasks.retrieve(task_id)
    assert seen.status == "SUCCEEDED"
    assert list(seen.output) == outputs


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("endpoint", "model", "variant", "count"), list(_cases()))
def test_model_succeeds_with_media_of_its_kind(server, client, sdk, endpoint, model, variant, count):
    info = catalog.get(endpoint, model)
    body = _body(endpoint, model, count, variant=variant)
    handle = client.create(endpoint, **body)
    task = handle.wait(timeout=WAIT_SECONDS)
    assert task.status == "SUCCEEDED", (endpoint, model, task)
    _check_outputs(endpoint, info, body, task.outputs)
    _check_sdk_reads(sdk, handle.id, task.outputs)


@pytest.mark.parametrize("endpoint", catalog.ENDPOINTS)
def test_sdk_style_namespace_creates_each_operation(server, client, sdk, endpoint):
    info = _current(endpoint)[0]
    node: Any = client
    for part in endpoint.split("/"):
        node = getattr(node, part)
    assert node.name == endpoint
    body = _body(endpoint, info.model, None, as_bytes=True)  # raw bytes: the client makes them URIs
    handle = node.create(**body)
    task = handle.wait(timeout=WAIT_SECONDS)
    assert task.status == "SUCCEEDED", (endpoint, task)
    _check_outputs(endpoint, info, body, task.outputs)
    _check_sdk_reads(sdk, handle.id, task.outputs)


def test_routed_generation_takes_nested_media_as_bytes_and_several_outputs(server, client, sdk):
    body = {"configId": "default", "input": {"promptText": "a red fox running through snow", "outputCount": 2,
                                             "referenceImages": [{"uri": MEDIA["jpg"][1]}]}}
    handle = client.generate.image.create(**body)
    task = handle.wait(timeout=WAIT_SECONDS)
    assert task.status == "SUCCEEDED", task
    assert body["input"]["referenceImages"][0]["uri"] == MEDIA["jpg"][1]  # the caller's dict is left alone
    assert len(task.outputs) == 2
    for url in task.outputs:
        _open_image(httpx.get(url).content)
    _check_sdk_reads(sdk, handle.id, task.outputs)


_FORMAT_FIELDS = ("outputFormat", "format")
_CONTAINERS = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg_opus": "ogg"}


def _format_cases() -> Iterator[Any]:
    for endpoint in catalog.ENDPOINTS:
        for info in (m for m in _current(endpoint) if m.output == "audio"):
            props = info.schema.get("properties", {})
            for field in _FORMAT_FIELDS:
                for fmt in props.get(field, {}).get("enum", []):
                    yield pytest.param(endpoint, info.model, field, fmt, id=f"{endpoint}:{info.model}:{fmt}")


@pytest.mark.parametrize(("endpoint", "model", "field", "fmt"), list(_format_cases()))
def test_audio_comes_in_each_format_the_model_offers(server, client, endpoint, model, field, fmt):
    info = catalog.get(endpoint, model)
    body = {**_body(endpoint, model, None), field: fmt}
    rate = 16000 if fmt != "ogg_opus" and "sampleRate" in info.fields else None  # Opus is always 48 kHz
    if rate is not None:
        body["sampleRate"] = rate
    task = client.create(endpoint, **body).wait(timeout=WAIT_SECONDS)
    assert task.status == "SUCCEEDED", task
    data = httpx.get(task.outputs[0]).content
    assert _open_audio(data) > 0
    with av.open(io.BytesIO(data)) as container:
        assert _CONTAINERS[fmt] in container.format.name.split(","), container.format.name
        if rate is not None:
            assert container.streams.audio[0].sample_rate == rate


@pytest.mark.parametrize("model", sorted({m.model for m in catalog.models("text_to_speech") if m.voices}))
def test_speech_voices_by_name(server, client, model):
    outs = []
    for voice in ("Maya", "arjun"):
        task = client.text_to_speech.create(model=model, prompt="Hello from the simulator.", voice=voice,
                                            seed=7).wait(timeout=WAIT_SECONDS)
        assert task.status == "SUCCEEDED"
        outs.append(httpx.get(task.outputs[0]).content)
    assert outs[0] != outs[1]  # a different voice sounds different
    assert 1.0 <= _open_audio(outs[0]) <= 3.0  # about 14 characters a second


@pytest.mark.parametrize(("endpoint", "model"), [(ep, m.model) for ep in catalog.ENDPOINTS
                                                 for m in catalog.models(ep) if m.retired is not None])
def test_retired_model_is_explained_before_sending_and_refused_by_the_simulator(server, client, endpoint, model):
    info = catalog.get(endpoint, model)
    body: dict[str, Any] = {"model": model, "promptText": "a fox"}
    for name, kinds in info.media_fields.items():
        kind = kinds.split(" ")[0].split("|")[0]
        uri = INPUT_URIS["mp4" if kind == "video" else "mp3" if kind == "audio" else "jpg"]
        body[name] = [{"uri": uri}] if kinds.endswith(" list") else uri
    replacement = (info.retired or {}).get("replacement")
    with pytest.raises(ValidationError, match=rf"retired.*use {re.escape(replacement)}" if replacement else "retired"):
        client.create(endpoint, **body)
    with httpx.Client(base_url=server.url, headers=HEADERS) as http:
        answer = http.post(f"/v1/{endpoint}", json=body)
    assert answer.status_code == 400 and "retired" in answer.json()["error"], answer.text

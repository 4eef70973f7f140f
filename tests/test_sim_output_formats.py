"""The simulator makes each output in the format its request asks for, and avatar videos speak.

Every task is created over real HTTP on a simulator server; each output is fetched and opened with
Pillow or PyAV, and its real format is checked against what was asked: Pillow's ``img.format``,
PyAV's container and codec names, the HDR colour tags, the frames inside a sequence's zip. The
output URL's extension and Content-Type must match the file.
"""

from __future__ import annotations

import base64
import io
import json
import math
import time
import wave
import zipfile
from collections.abc import Iterator
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from runway_nb.sim import SimApp, SimConfig, SimServer, audio

KEY = "key_" + "0" * 128
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
WAIT_SECONDS = 60.0
FPS = 24


def _mp4(seconds: float = 0.5, *, with_sound: bool = False) -> bytes:
    """A small H.264 clip, 96x64 at 24 fps, a bar sweeping across; with an AAC tone when asked."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        sound = out.add_stream("aac", rate=48000) if with_sound else None
        n = round(seconds * FPS)
        for i in range(n):
            img = Image.new("RGB", (96, 64), (30, 60, 90))
            img.paste((230, 200, 40), (i * 96 // n, 0, i * 96 // n + 8, 64))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            import numpy as np

            t = np.arange(round(seconds * 48000)) / 48000
            frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, 0
            for packet in [*sound.encode(frame), *sound.encode(None)]:
                out.mux(packet)
    return buf.getvalue()


def _wav(seconds: float, rate: int = 16000) -> bytes:
    frames = bytearray()
    for i in range(round(seconds * rate)):
        frames += int(0.4 * math.sin(2 * math.pi * 200 * i / rate) * 32767).to_bytes(2, "little", signed=True)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


CLIP = _mp4()
CLIP_WITH_SOUND = _mp4(with_sound=True)
SPEECH_AUDIO_SECONDS = 1.7


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    app = SimApp(SimConfig(pending_seconds=0.05, run_seconds=0.1, api_key=KEY, credits=100_000_000))
    with SimServer(app, port=0) as srv:
        yield srv
    app.close()


def _run(server: SimServer, endpoint: str, body: dict[str, Any]) -> tuple[list[str], list[httpx.Response]]:
    """Create a task, wait until it SUCCEEDS, and fetch its outputs (URLs and answers)."""
    created = httpx.post(f"{server.url}/v1/{endpoint}", json=body, headers=HEADERS, timeout=30)
    assert created.status_code == 200, created.text
    task_id = created.json()["id"]
    assert server.app.store.wait_media(WAIT_SECONDS)  # the render is done: the task ends within run_seconds
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        task = httpx.get(f"{server.url}/v1/tasks/{task_id}", headers=HEADERS, timeout=30).json()
        if task["status"] not in ("PENDING", "THROTTLED", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert task["status"] == "SUCCEEDED", task
    answers = [httpx.get(url, timeout=30) for url in task["output"]]
    assert all(a.status_code == 200 for a in answers)
    return task["output"], answers


def _one(server: SimServer, endpoint: str, body: dict[str, Any], ext: str, content_type: str) -> bytes:
    urls, answers = _run(server, endpoint, body)
    assert len(urls) == 1
    assert urls[0].endswith(f".{ext}"), urls[0]
    assert answers[0].headers["content-type"] == content_type
    return answers[0].content


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------

IMAGE_CASES = [
    ("muse_image", "2352:1008", "webp", "webp", "image/webp", "WEBP"),
    ("muse_image", "2352:1008", "jpeg", "jpg", "image/jpeg", "JPEG"),
    ("muse_image", "2352:1008", "png", "png", "image/png", "PNG"),
    ("recraft_v4_1_flash", None, "webp", "webp", "image/webp", "WEBP"),
    ("seedream5_lite", None, "jpeg", "jpg", "image/jpeg", "JPEG"),
]


@pytest.mark.parametrize(("model", "ratio", "fmt", "ext", "content_type", "pil_format"), IMAGE_CASES,
                         ids=[f"{c[0]}:{c[2]}" for c in IMAGE_CASES])
def test_image_comes_in_the_format_asked(server, model, ratio, fmt, ext, content_type, pil_format):
    from runway_nb.api import catalog

    body = {**catalog.example_body("text_to_image", model), "outputFormat": fmt}
    if ratio is not None:
        body["ratio"] = ratio
    data = _one(server, "text_to_image", body, ext, content_type)
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == pil_format
        assert img.width > 100 and img.height > 100


def test_image_without_a_format_is_a_png(server):
    data = _one(server, "text_to_image", {"model": "muse_image", "promptText": "a red fox", "ratio": "2352:1008"},
                "png", "image/png")
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"


def test_upscale_of_a_jpeg_is_a_jpeg_named_so(server):
    buf = io.BytesIO()
    Image.new("RGB", (80, 48), (200, 120, 40)).save(buf, "JPEG")
    body = {"model": "magnific_precision_upscaler_v2", "imageUri": _uri("image/jpeg", buf.getvalue())}
    data = _one(server, "image_upscale", body, "jpg", "image/jpeg")
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (160, 96)


# ---------------------------------------------------------------------------------------------
# videos
# ---------------------------------------------------------------------------------------------

def _video_stream(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        frames = sum(1 for _ in container.decode(stream))
        return {"container": container.format.name, "codec": cc.name, "profile": cc.profile,
                "pix_fmt": cc.pix_fmt, "trc": cc.color_trc, "primaries": cc.color_primaries,
                "matrix": cc.colorspace, "frames": frames, "size": (cc.width, cc.height),
                "audio": [s.codec_context.name for s in container.streams.audio]}


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def _exr(data: bytes) -> tuple[str, tuple[int, int], float]:
    """(pixel format, size, brightest value) of one OpenEXR file, as FFmpeg decodes it."""
    import numpy as np

    with av.open(io.BytesIO(data), format="exr_pipe") as container:
        frame = next(container.decode(video=0))
        assert frame.format.name == "gbrpf16le"  # read as half floats (a conversion would clip them to 1.0)
        brightest = max(float(np.frombuffer(plane, dtype=np.float16).max()) for plane in frame.planes)
        return frame.format.name, (frame.width, frame.height), brightest


def test_prores_is_a_prores_mov_of_the_profile_asked(server):
    body = {"model": "aleph2", "videoUri": _uri("video/mp4", CLIP), "promptText": "a fox",
            "outputFormat": "prores", "proresProfile": "422 HQ"}
    info = _video_stream(_one(server, "video_to_video", body, "mov", "video/quicktime"))
    assert info["container"].startswith("mov")
    assert (info["codec"], info["profile"], info["pix_fmt"]) == ("prores", "HQ", "yuv422p10le")
    assert info["trc"] == 1 and info["primaries"] == 1  # BT.709
    assert info["frames"] == 12


def test_prores_without_a_profile_is_4444(server):
    body = {"model": "aleph2", "videoUri": _uri("video/mp4", CLIP), "promptText": "a fox", "outputFormat": "prores"}
    info = _video_stream(_one(server, "video_to_video", body, "mov", "video/quicktime"))
    assert (info["codec"], info["profile"]) == ("prores", "4444")


def test_png_sequence_is_a_zip_of_png_frames(server):
    body = {"model": "aleph2", "videoUri": _uri("video/mp4", CLIP), "promptText": "a fox",
            "outputFormat": "png_sequence"}
    members = _zip_members(_one(server, "video_to_video", body, "zip", "application/zip"))
    assert sorted(members) == [f"frame_{i:04d}.png" for i in range(1, 13)]
    sizes = set()
    for data in members.values():
        with Image.open(io.BytesIO(data)) as img:
            assert img.format == "PNG"
            sizes.add(img.size)
    assert len(sizes) == 1


def test_text_to_video_mp4_stays_h264(server):
    body = {"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 2, "outputFormat": "mp4"}
    info = _video_stream(_one(server, "text_to_video", body, "mp4", "video/mp4"))
    assert (info["codec"], info["pix_fmt"], info["frames"]) == ("h264", "yuv420p", 48)


@pytest.mark.parametrize(("fmt", "trc"), [(None, 16), ("hdr10", 16), ("hlg", 18)])
def test_hdr_mp4_is_10_bit_bt2020_with_its_transfer(server, fmt, trc):
    body: dict[str, Any] = {"model": "ruby", "videoUri": _uri("video/mp4", CLIP_WITH_SOUND)}
    if fmt is not None:
        body["outputFormat"] = fmt
    info = _video_stream(_one(server, "video_to_hdr", body, "mp4", "video/mp4"))
    assert info["container"].startswith("mov,mp4")
    assert info["pix_fmt"] == "yuv420p10le"
    assert (info["primaries"], info["trc"], info["matrix"]) == (9, trc, 9)  # BT.2020, PQ (16) / HLG (18), 2020nc
    assert info["frames"] == 12 and info["size"] == (96, 64)
    assert info["audio"] == ["aac"]  # the source's sound is kept


def test_hdr_prores_is_a_pq_prores_mov(server):
    body = {"model": "ruby", "videoUri": _uri("video/mp4", CLIP), "outputFormat": "hdr_prores"}
    info = _video_stream(_one(server, "video_to_hdr", body, "mov", "video/quicktime"))
    assert (info["codec"], info["profile"], info["pix_fmt"]) == ("prores", "HQ", "yuv422p10le")  # 422 HQ: the default
    assert (info["primaries"], info["trc"], info["matrix"]) == (9, 16, 9)
    assert info["frames"] == 12


def test_hdr_prores_takes_the_profile_asked(server):
    body = {"model": "ruby", "videoUri": _uri("video/mp4", CLIP), "outputFormat": "hdr_prores",
            "proresProfile": "4444"}
    info = _video_stream(_one(server, "video_to_hdr", body, "mov", "video/quicktime"))
    assert (info["codec"], info["profile"]) == ("prores", "4444")
    assert (info["primaries"], info["trc"], info["matrix"]) == (9, 16, 9)


def test_hdr_exr_sequence_is_a_zip_of_linear_half_float_frames(server):
    body = {"model": "ruby", "videoUri": _uri("video/mp4", CLIP_WITH_SOUND), "outputFormat": "hdr_exr_sequence"}
    members = _zip_members(_one(server, "video_to_hdr", body, "zip", "application/zip"))
    frames = sorted(n for n in members if n.endswith(".exr"))
    assert frames == [f"frame_{i:04d}.exr" for i in range(1, 13)]
    pix_fmt, size, brightest = _exr(members[frames[0]])
    assert pix_fmt == "gbrpf16le" and size == (96, 64)  # half float
    assert 1.0 < brightest <= 2.1  # linear display light, 1.0 = 100 nits: SDR white is 2.03
    colorimetry = json.loads(members["colorimetry.json"])
    assert colorimetry["primaries"] == "BT.2020" and colorimetry["transfer"] == "linear"
    assert "provenance.json" in members
    with av.open(io.BytesIO(members["audio.wav"])) as sound:  # the source's sound, as WAV
        assert sound.format.name == "wav" and sound.streams.audio[0].codec_context.name == "pcm_s16le"


@pytest.mark.parametrize("version", ["1_3", "2_0"])
def test_acescg_exr_sequence_uses_vfx_frame_names(server, version):
    body = {"model": "ruby", "videoUri": _uri("video/mp4", CLIP), "outputFormat": f"hdr_exr_acescg_sequence_{version}"}
    members = _zip_members(_one(server, "video_to_hdr", body, "zip", "application/zip"))
    frames = sorted(n for n in members if n.endswith(".exr"))
    assert frames == [f"frame.{i:04d}.exr" for i in range(1, 13)]
    assert _exr(members[frames[0]])[0] == "gbrpf16le"
    colorimetry = json.loads(members["colorimetry.json"])
    assert colorimetry["colorspace"] == "ACEScg" and colorimetry["acesVersion"] == version.replace("_", ".")
    assert "audio.wav" not in members  # the source is silent


# ---------------------------------------------------------------------------------------------
# avatar videos speak
# ---------------------------------------------------------------------------------------------

def _streams(data: bytes) -> tuple[float, float, str]:
    """(video seconds, audio seconds, audio codec) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name.startswith("mov,mp4")
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        video_seconds = frames / float(video.average_rate)
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio, "the avatar video has no audio stream"
        sound = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(sound))
        return video_seconds, samples / sound.codec_context.sample_rate, sound.codec_context.name


def test_avatar_speaks_its_text_for_as_long_as_the_speech(server):
    text = "Hello, I am your tennis coach. Keep your elbow up."
    body = {"model": "gwm1_avatars", "avatar": {"type": "runway-preset", "presetId": "tennis-coach"},
            "speech": {"type": "text", "text": text, "voice": {"type": "preset", "presetId": "victoria"}}}
    video_s, audio_s, codec = _streams(_one(server, "avatar_videos", body, "mp4", "video/mp4"))
    speech_s = audio.speech_seconds(text)
    assert codec == "aac"
    assert video_s == pytest.approx(speech_s, abs=1 / FPS)
    assert audio_s == pytest.approx(speech_s, abs=0.05)
    assert audio_s == pytest.approx(video_s, abs=0.06)


def test_avatar_speaks_the_audio_it_is_given(server):
    body = {"model": "gwm1_avatars", "avatar": {"type": "runway-preset", "presetId": "cat-character"},
            "speech": {"type": "audio", "audio": _uri("audio/wav", _wav(SPEECH_AUDIO_SECONDS))}}
    video_s, audio_s, codec = _streams(_one(server, "avatar_videos", body, "mp4", "video/mp4"))
    assert codec == "aac"
    assert audio_s == pytest.approx(SPEECH_AUDIO_SECONDS, abs=0.05)
    assert video_s == pytest.approx(SPEECH_AUDIO_SECONDS, abs=1 / FPS)


def test_avatar_voice_changes_the_sound(server):
    def speech(voice: str) -> bytes:
        body = {"model": "gwm1_avatars", "avatar": {"type": "runway-preset", "presetId": "influencer"},
                "speech": {"type": "text", "text": "Hi there", "voice": {"type": "preset", "presetId": voice}}}
        with av.open(io.BytesIO(_one(server, "avatar_videos", body, "mp4", "video/mp4"))) as container:
            return b"".join(bytes(p) for p in container.demux(audio=0) if p.size)

    assert speech("victoria") != speech("vincent")


# ---------------------------------------------------------------------------------------------
# across a restart of the server (--db)
# ---------------------------------------------------------------------------------------------

def test_the_format_survives_a_server_restart(tmp_path):
    from runway_nb.sim import SimClock, SimTransport
    from runway_nb.sim.persist import open_db

    def client(app: SimApp) -> httpx.Client:
        return httpx.Client(transport=SimTransport(app), base_url="http://sim",
                            headers={"Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"})

    config = {"pending_seconds": 0.5, "run_seconds": 1.0}
    path = tmp_path / "sim.sqlite3"
    clock = SimClock(manual=True)
    app = SimApp(SimConfig(**config), clock=clock)
    db, _ = open_db(app, path)
    body = {"model": "muse_image", "promptText": "a red fox", "ratio": "2352:1008", "outputFormat": "webp"}
    with client(app) as http:
        task_id = http.post("/v1/text_to_image", json=body).json()["id"]
        app.wait_media()
        clock.advance(2.0)
        url = http.get(f"/v1/tasks/{task_id}").json()["output"][0]
    db.close()
    app.close()

    app2 = SimApp(SimConfig(**config), clock=SimClock(manual=True))
    db2, loaded = open_db(app2, path)
    try:
        assert loaded == 1
        with client(app2) as http:
            task = http.get(f"/v1/tasks/{task_id}").json()
            assert task["status"] == "SUCCEEDED"
            assert task["output"][0].endswith(".webp") and task["output"][0].rsplit("/", 1)[1] == url.rsplit("/", 1)[1]
            answer = http.get(task["output"][0])
            assert answer.headers["content-type"] == "image/webp"
            with Image.open(io.BytesIO(answer.content)) as img:
                assert img.format == "WEBP"
    finally:
        db2.close()
        app2.close()

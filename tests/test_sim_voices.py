"""The simulator's custom voices and voice previews, over real HTTP with a manual clock; and the
request schemas the resource routes check bodies with, compared with the spec."""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import wave
from importlib.resources import files

import httpx
import pytest
import runwayml
from sim_resources import check, check_error, manual_sim, spec_request_schema, step

from runway_nb.sim.voices import PROCESSING_SECONDS

VOICE = "/v1/voices/{id}"
PROMPT = "A warm, low narrator's voice with a slight rasp and an unhurried pace."


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def wav_data_uri(seconds: float, rate: int = 8000) -> str:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 9))) for i in range(int(seconds * rate))))
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


def test_preview_serves_real_audio_of_the_stated_length():
    with manual_sim() as (_sim, client):
        preview = check(client.post("/v1/voices/preview", json={"prompt": PROMPT, "model": "eleven_ttv_v3"}),
                        "/v1/voices/preview", "post", 200)
        audio = httpx.get(preview["url"])
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        assert wav_seconds(audio.content) == pytest.approx(preview["durationSecs"], abs=0.01)
        with wave.open(io.BytesIO(audio.content)) as w:
            frames = w.readframes(w.getnframes())
        assert max(abs(v) for (v,) in struct.iter_unpack("<h", frames)) > 5000  # audible, not silence
        other = client.post("/v1/voices/preview", json={"prompt": "A bright, quick young voice, very cheerful.",
                                                        "model": "eleven_multilingual_ttv_v2"}).json()
        assert httpx.get(other["url"]).content != audio.content


def test_a_voice_is_processing_then_ready_with_a_preview_url():
    with manual_sim() as (sim, client):
        created = check(client.post("/v1/voices", json={"name": "Narrator", "description": "for lessons",
                                                        "from": {"type": "text", "prompt": PROMPT,
                                                                 "model": "eleven_ttv_v3"}}),
                        "/v1/voices", "post", 200)
        voice = check(client.get(f"/v1/voices/{created['id']}"), VOICE, "get", 200)
        assert voice["status"] == "PROCESSING" and voice["description"] == "for lessons"
        step(sim, PROCESSING_SECONDS)
        voice = check(client.get(f"/v1/voices/{created['id']}"), VOICE, "get", 200)
        assert voice["status"] == "READY"
        assert wav_seconds(httpx.get(voice["previewUrl"]).content) > 1

        renamed = check(client.patch(f"/v1/voices/{created['id']}", json={"name": "Host", "description": None}),
                        VOICE, "patch", 200)
        assert renamed["name"] == "Host" and renamed["description"] is None
        assert client.delete(f"/v1/voices/{created['id']}").status_code == 204
        check_error(client.get(f"/v1/voices/{created['id']}"), 404)
        check_error(client.delete(f"/v1/voices/{created['id']}"), 404)


def test_a_clone_from_a_too_short_sample_fails_and_a_long_one_is_ready():
    with manual_sim() as (sim, client):
        short = client.post("/v1/voices", json={"name": "Short", "from": {"type": "audio",
                                                                          "audio": wav_data_uri(2)}}).json()
        good = client.post("/v1/voices", json={"name": "Good", "from": {"type": "audio",
                                                                        "audio": wav_data_uri(12)}}).json()
        step(sim, PROCESSING_SECONDS)
        failed = check(client.get(f"/v1/voices/{short['id']}"), VOICE, "get", 200)
        assert failed["status"] == "FAILED" and "10 seconds" in failed["failureReason"]
        assert check(client.get(f"/v1/voices/{good['id']}"), VOICE, "get", 200)["status"] == "READY"


def test_voices_list_pages_newest_first():
    with manual_sim() as (sim, client):
        ids = []
        for i in range(3):
            ids.append(client.post("/v1/voices", json={"name": f"Voice {i}", "from": {
                "type": "text", "prompt": PROMPT, "model": "eleven_ttv_v3"}}).json()["id"])
            step(sim, 1)
        first = check(client.get("/v1/voices?limit=2"), "/v1/voices", "get", 200)
        assert [v["id"] for v in first["data"]] == ids[::-1][:2] and first["hasMore"]
        rest = check(client.get("/v1/voices", params={"limit": 2, "cursor": first["nextCursor"]}),
                     "/v1/voices", "get", 200)
        assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["nextCursor"] is None
        check_error(client.get("/v1/voices?limit=0"))
        check_error(client.get("/v1/voices?cursor=%%%"))


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/voices/preview", {"prompt": "too short", "model": "eleven_ttv_v3"}),
    ("/v1/voices/preview", {"prompt": PROMPT, "model": "eleven_v3"}),
    ("/v1/voices", {"name": "", "from": {"type": "text", "prompt": PROMPT, "model": "eleven_ttv_v3"}}),
    ("/v1/voices", {"name": "x", "from": {"type": "audio"}}),
    ("/v1/voices", {"name": "x", "from": {"type": "video", "uri": "https://example.com/a.mp4"}}),
    ("/v1/voices", {"name": "x", "from": {"type": "audio", "audio": "http://example.com/a.mp3"}}),
])
def test_bad_voice_bodies_are_refused(path, body):
    with manual_sim() as (_sim, client):
        assert check_error(client.post(path, json=body))["issues"]
        assert client.get("/v1/voices").json()["data"] == []


def test_the_official_sdk_reads_voices():
    with manual_sim() as (sim, _client):
        sdk = runwayml.RunwayML(api_key="key_test", base_url=sim.url, max_retries=0)
        created = sdk.voices.create(name="SDK voice", from_={"type": "text", "prompt": PROMPT,
                                                             "model": "eleven_ttv_v3"})
        step(sim, PROCESSING_SECONDS)
        voice = sdk.voices.retrieve(created.id)
        assert voice.status == "READY" and voice.preview_url
        assert [v.id for v in sdk.voices.list(limit=10).data] == [created.id]
        preview = sdk.voices.preview(prompt=PROMPT, model="eleven_ttv_v3")
        assert preview.duration_secs > 0
        sdk.close()


def test_the_request_schemas_are_the_specs():
    """``resource_schemas.json`` is a copy of the spec's request schemas: it must not drift."""
    copied = json.loads(files("runway_nb.sim").joinpath("resource_schemas.json").read_text())["schemas"]
    where = {"workflow_run": ("/v1/workflows/{id}", "post"), "router_create": ("/v1/routers", "post"),
             "router_update": ("/v1/routers/{id}", "patch"), "generate_video": ("/v1/generate/video", "post"),
             "generate_image": ("/v1/generate/image", "post"), "generate_audio": ("/v1/generate/audio", "post"),
             "voice_create": ("/v1/voices", "post"), "voice_update": ("/v1/voices/{id}", "patch"),
             "voice_preview": ("/v1/voices/preview", "post")}
    assert set(copied) == set(where)
    for name, (path, method) in where.items():
        assert copied[name] == spec_request_schema(path, method), name

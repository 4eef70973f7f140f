"""Runway's custom voices: ``/v1/voices`` (list, create, get, update, delete) and ``/v1/voices/preview``.

A created voice is PROCESSING for :data:`PROCESSING_SECONDS` of sim time, then READY (with a
``previewUrl`` that serves real audio) or FAILED: a voice cloned from an audio sample fails when
the sample cannot be read or is not 10 s to 5 min long (Runway's stated limits). Samples behind
``https://`` URLs cannot be fetched offline and are taken as valid. Voices live in the server's
process (they are not written to ``--db``).

The audio (previews and voice samples) comes from :func:`speech_audio`: a WAV of the simulator's
speech renderer, different per voice and seed, whose length follows the text.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from runway_nb.sim.context import SimContext
from runway_nb.sim.inputs import InputResolver
from runway_nb.sim.messages import (
    JsonObject,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
    read_json_body,
)
from runway_nb.sim.resource_schemas import check_body, find_by_id, page_response
from runway_nb.sim.state import iso_z

__all__ = ["PROCESSING_SECONDS", "SAMPLE_RATE", "VoicesApi", "speech_audio"]

PROCESSING_SECONDS = 10.0  # sim seconds a new voice stays PROCESSING
SAMPLE_RATE = 16000
_PREVIEWS_KEPT = 200  # previews are kept in memory, oldest dropped first
_SAMPLE_MIN, _SAMPLE_MAX = 10.0, 300.0  # Runway: "between 10 seconds and 5 minutes long"


def speech_audio(text: str, *, voice: str, seed: int) -> tuple[bytes, float]:
    """``(WAV bytes, seconds)``: the simulator's speech (:func:`~runway_nb.sim.audio.render_speech`)
    saying ``text`` in ``voice``; pitch and timbre follow the voice, the length follows the text."""
    from runway_nb.sim import audio  # numpy loads with the first preview, not on import

    spoken = text.strip() or "a"
    seconds = round(min(audio.speech_seconds(spoken), audio.MAX_SECONDS), 3)
    return audio.render_speech(spoken, voice=voice, seed=seed, fmt="wav", sample_rate=SAMPLE_RATE), seconds


def _audio_seconds(data: bytes) -> float | None:
    """The length of an audio sample, or None when it cannot be read."""
    try:
        import av  # PyAV loads when a sample is first checked, not on import

        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                return None
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except Exception:  # any decoder error means the same: unreadable
        return None
    return None


@dataclass
class Voice:
    id: str
    name: str
    description: str | None
    created_wall: float
    created_sim: float
    sample_text: str  # what its preview says
    failure: str | None = None  # decided at creation, shown once processing ends
    sample: bytes | None = None  # its preview audio, rendered on first request


class VoicesApi:
    """The voices routes; also serves the audio behind ``previewUrl`` and preview ``url``."""

    def __init__(self, ctx: SimContext):
        self._ctx = ctx
        self._inputs = InputResolver(ctx.store, ctx.uploads)
        self._lock = threading.Lock()
        self._voices: dict[str, Voice] = {}
        self._previews: OrderedDict[str, bytes] = OrderedDict()

    # ------------------------------------------------------------------ JSON
    def _json(self, voice: Voice) -> JsonObject:
        out: JsonObject = {"id": voice.id, "name": voice.name, "description": voice.description,
                           "createdAt": iso_z(voice.created_wall)}
        if self._ctx.clock.now() - voice.created_sim < PROCESSING_SECONDS:
            out["status"] = "PROCESSING"
        elif voice.failure is not None:
            out["status"] = "FAILED"
            out["failureReason"] = voice.failure
        else:
            out["status"] = "READY"
            out["previewUrl"] = f"{self._ctx.base_url()}/_sim/audio/voices/{voice.id}.wav"
        return out

    def _find(self, raw_id: str) -> Voice:
        return find_by_id(self._voices, self._lock, raw_id, missing="Voice not found.")

    # ------------------------------------------------------------------ routes
    def list_voices(self, req: SimRequest) -> SimResponse:
        with self._lock:
            voices = sorted(self._voices.values(), key=lambda v: v.created_sim, reverse=True)
        return page_response(req, voices, self._json)

    def create(self, req: SimRequest) -> SimResponse:
        body = read_json_body(req)
        check_body("voice_create", body, "POST /v1/voices")
        source = body["from"]
        failure = None
        if source["type"] == "audio":
            data = self._inputs.resolve("from.audio", source["audio"])
            if data is not None:
                seconds = _audio_seconds(data)
                if seconds is None:
                    failure = "The audio sample could not be read. Use an MP3, WAV or M4A recording."
                elif not _SAMPLE_MIN <= seconds <= _SAMPLE_MAX:
                    failure = (f"The audio sample is {seconds:.1f} s long; it must be between 10 seconds "
                               "and 5 minutes long.")
            sample = f"This is {body['name']}, a voice cloned from a recording."
        else:
            sample = str(source["prompt"])
        description = body.get("description")
        voice = Voice(id=str(uuid.uuid4()), name=str(body["name"]),
                      description=description if isinstance(description, str) else None,
                      created_wall=time.time(), created_sim=self._ctx.clock.now(), sample_text=sample,
                      failure=failure)
        with self._lock:
            self._voices[voice.id] = voice
        return json_response(200, {"id": voice.id})

    def get(self, req: SimRequest, voice_id: str) -> SimResponse:
        return json_response(200, self._json(self._find(voice_id)))

    def update(self, req: SimRequest, voice_id: str) -> SimResponse:
        voice = self._find(voice_id)
        body = read_json_body(req)
        check_body("voice_update", body, "PATCH /v1/voices/{id}")
        with self._lock:
            if "name" in body:
                voice.name = str(body["name"])
            if "description" in body:
                voice.description = body["description"] if isinstance(body["description"], str) else None
        return json_response(200, self._json(voice))

    def delete(self, req: SimRequest, voice_id: str) -> SimResponse:
        voice = self._find(voice_id)
        with self._lock:
            self._voices.pop(voice.id, None)
        return empty_response(204)

    def preview(self, req: SimRequest) -> SimResponse:
        body = read_json_body(req)
        check_body("voice_preview", body, "POST /v1/voices/preview")
        prompt = str(body["prompt"])
        seed = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")
        data, seconds = speech_audio(prompt, voice=str(body["model"]), seed=seed)
        token = uuid.uuid4().hex
        with self._lock:
            self._previews[token] = data
            while len(self._previews) > _PREVIEWS_KEPT:
                self._previews.popitem(last=False)
        return json_response(200, {"url": f"{self._ctx.base_url()}/_sim/audio/previews/{token}.wav",
                                   "durationSecs": seconds})

    def audio(self, req: SimRequest, kind: str, token: str) -> SimResponse:
        """``GET /_sim/audio/{voices|previews}/{id}.wav``: the audio behind a voice or a preview."""
        data: bytes | None = None
        with self._lock:
            if kind == "previews":
                data = self._previews.get(token)
                voice = None
            else:
                voice = self._voices.get(token)
        if voice is not None and self._json(voice)["status"] == "READY":
            if voice.sample is None:
                voice.sample, _ = speech_audio(voice.sample_text, voice=voice.id, seed=0)
            data = voice.sample
        if data is None:
            return json_response(404, {"error": "Audio not found."}, {"Access-Control-Allow-Origin": "*"})
        headers = {"Content-Type": "audio/wav", "Content-Length": str(len(data)), "Accept-Ranges": "none",
                   "Access-Control-Allow-Origin": "*", "Cache-Control": "private, max-age=3600"}
        return SimResponse(200, headers, b"" if req.method == "HEAD" else data)

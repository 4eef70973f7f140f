"""What a task renders: the :class:`~runway_nb.sim.render.RenderJob` for each operation.

The catalog says what an operation outputs (image, video, audio); this module reads the
operation's body for the rest: the text to speak and the voice, the output format (audio, image
or video; ``sim/formats.py``), the input to transform, the upscale factor, how many outputs, and
an avatar's speech (its video lasts as long as the speech or the audio it is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from runway_nb.api import catalog, lookup
from runway_nb.sim import audio
from runway_nb.sim.formats import requested_format
from runway_nb.sim.messages import JsonObject
from runway_nb.sim.render import DEFAULT_VIDEO_SECONDS, AudioMode, RenderJob, Soundtrack

__all__ = ["AUDIO_DEFAULT_FORMAT", "MAX_OUTPUTS", "MAX_VIDEO_PIXELS", "OutputPlan", "Sources", "avatar_voice",
           "plan_outputs", "render_job", "video_render_size"]

AUDIO_DEFAULT_FORMAT = "mp3"
MAX_VIDEO_PIXELS = 1920 * 1080  # larger videos render as a same-shaped stand-in of this many pixels
MAX_OUTPUTS = 10
_TRANSFORMS: dict[str, AudioMode] = {"speech_to_speech": "voice", "voice_dubbing": "dub", "voice_isolation": "isolate"}


@dataclass(frozen=True)
class Sources:
    """The bytes behind a body's input media (None: absent, or not fetchable offline)."""

    image: bytes | None = None
    video: bytes | None = None
    audio: bytes | None = None


@dataclass(frozen=True)
class OutputPlan:
    """What a task will output, known when it is created."""

    kind: str                   # "image" | "video" | "audio"
    size: tuple[int, int]       # images and videos
    duration: float | None      # seconds of video or audio, when known
    count: int                  # outputs
    output_format: str | None   # the format asked for (formats.requested_format); None: the kind's default


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def prompt_of(endpoint: str, body: JsonObject) -> str:
    """The text a task is about (:func:`runway_nb.api.lookup.prompt_of`), "" when it has none."""
    return lookup.prompt_of(endpoint, body) or ""


def voice_of(body: JsonObject) -> str | None:
    """The preset voice a body asks for (``voice.presetId``), or "custom" for a reference voice."""
    voice = body.get("voice")
    if isinstance(voice, dict):
        preset = voice.get("presetId")
        return str(preset) if isinstance(preset, str) else "custom"
    return None


def avatar_voice(body: JsonObject) -> str:
    """The voice an avatar speaks its text in: the preset asked for, a custom voice by its id, or
    without one a voice of its own (from the avatar's preset or id)."""
    speech = body.get("speech")
    voice = speech.get("voice") if isinstance(speech, dict) else None
    if isinstance(voice, dict):
        if isinstance(voice.get("presetId"), str):
            return str(voice["presetId"])
        return f"custom:{voice.get('id')}"
    avatar = body.get("avatar")
    who = (avatar.get("presetId") or avatar.get("avatarId")) if isinstance(avatar, dict) else None
    return f"avatar:{who}"


def _avatar_soundtrack(endpoint: str, body: JsonObject) -> Soundtrack | None:
    speech = body.get("speech")
    if endpoint != "avatar_videos" or not isinstance(speech, dict):
        return None
    return "speech" if isinstance(speech.get("text"), str) else "audio"


def plan_outputs(endpoint: str, body: JsonObject, *, kind: str, size: tuple[int, int],
                 video_seconds: float | None, input_seconds: float | None,
                 source_image: bytes | None = None) -> OutputPlan:
    """The outputs of a new task: kind, size, length, how many, and their format (``source_image``:
    the input an upscale keeps the kind of)."""
    info = catalog.find_for_body(endpoint, body)
    rule = info.output_count if info is not None else None
    asked = body.get(rule["field"]) if rule else body.get("outputCount")
    if isinstance(asked, (int, float)) and not isinstance(asked, bool) and float(asked).is_integer():
        count = max(1, min(MAX_OUTPUTS, int(asked)))
    else:  # not asked: the model's default (marketing_stock_image makes four)
        count = max(1, min(MAX_OUTPUTS, rule["default"])) if rule else 1
    if kind != "audio":
        duration = (video_seconds or DEFAULT_VIDEO_SECONDS) if kind == "video" else None
        if kind == "video" and _avatar_soundtrack(endpoint, body) == "speech":  # as long as its words
            duration = min(audio.speech_seconds(prompt_of(endpoint, body)), audio.MAX_SECONDS)
        return OutputPlan(kind, size, duration, count, requested_format(endpoint, body, kind,
                                                                        source_image=source_image))
    fmt = body.get("outputFormat") or body.get("format") or AUDIO_DEFAULT_FORMAT
    seconds = _number(body.get("duration"))
    if seconds is None and endpoint in _TRANSFORMS:
        seconds = input_seconds
    if seconds is None and endpoint in ("text_to_speech", "generate/audio"):
        seconds = audio.speech_seconds(prompt_of(endpoint, body))
    return OutputPlan("audio", size, seconds, count, str(fmt))


def render_job(endpoint: str, model: str, body: JsonObject, plan: OutputPlan, seed: int,
               sources: Sources) -> RenderJob:
    """The render for a task of ``endpoint`` whose outputs are ``plan``."""
    prompt = prompt_of(endpoint, body)
    if plan.kind == "audio":
        return _audio_job(endpoint, model, body, plan, seed, sources, prompt)
    if endpoint == "image_upscale" and sources.image is not None:
        factor = body.get("scaleFactor", 2)
        return RenderJob.for_upscale(sources.image, int(factor) if isinstance(factor, (int, float)) else 2,
                                     model=model, seed=seed)
    profile = body.get("proresProfile")
    prores_profile = profile if isinstance(profile, str) else None
    if endpoint == "video_to_hdr" and sources.video is not None:
        return RenderJob.for_hdr(sources.video, model=model, seed=seed, output_format=plan.output_format,
                                 prores_profile=prores_profile)
    image, video = sources.image, sources.video
    size = plan.size
    soundtrack = _avatar_soundtrack(endpoint, body) if plan.kind == "video" else None
    if plan.kind == "video":
        size = video_render_size(size)
        if video is not None:
            image = None  # a video render follows one source: the input video when there is one
    # video_to_hdr without a readable input renders a stand-in SDR video, delivered in the HDR format asked
    return RenderJob(plan.kind, size, plan.duration, prompt, model, seed, plan.count, image, video,
                     output_format=plan.output_format, prores_profile=prores_profile, soundtrack=soundtrack,
                     voice=avatar_voice(body) if soundtrack == "speech" else None,
                     source_audio=sources.audio if soundtrack == "audio" else None)


def video_render_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a video of ``size`` is rendered at: as asked up to 1080p; beyond that (4K) a stand-in
    of the same shape scaled down to 1080p's pixel count, since a 4K render costs seconds of CPU per
    second of video and the simulator's pictures show nothing finer at 4K."""
    width, height = size
    if width * height <= MAX_VIDEO_PIXELS:
        return size
    scale = math.sqrt(MAX_VIDEO_PIXELS / (width * height))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def _audio_job(endpoint: str, model: str, body: JsonObject, plan: OutputPlan, seed: int, sources: Sources,
               prompt: str) -> RenderJob:
    sample_rate = body.get("sampleRate")
    rate = int(sample_rate) if isinstance(sample_rate, (int, float)) and not isinstance(sample_rate, bool) else None
    mode: AudioMode | None = _TRANSFORMS.get(endpoint)
    source = sources.audio if sources.audio is not None else sources.video
    duration = plan.duration
    if mode is not None and source is not None:
        pass
    elif endpoint == "video_to_audio" and sources.video is not None:
        mode = "video_sound"
    elif endpoint == "text_to_speech" or (endpoint == "generate/audio" and _wants_speech(body)):
        mode = "speech"
    else:  # sound_effect, a routed sound, or an input that cannot be fetched offline: a sound alone
        mode, source = "sound", None
        duration = duration or 3.0
    if endpoint == "voice_dubbing" and isinstance(body.get("targetLang"), str):
        prompt = str(body["targetLang"])
    return RenderJob.for_audio(
        mode, model=model, seed=seed, prompt=prompt, count=plan.count, voice=voice_of(body),
        audio_format=plan.output_format, sample_rate=rate,
        duration=duration if mode in ("sound", "video_sound") else None,
        loop=body.get("loop") is True, source_audio=source if mode in ("voice", "dub", "isolate") else None,
        source_video=sources.video if mode == "video_sound" else None)


def _wants_speech(body: JsonObject) -> bool:
    inp = body.get("input")
    return isinstance(inp, dict) and (inp.get("type") == "speech" or "voice" in inp)

"""Rendering a task's outputs off the request path: :class:`RenderJob` and the :class:`Renderer` pool.

Renders run on a small thread pool and are cached (most recently used first), so tasks that ask
for the same picture are rendered once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from runway_nb.sim.formats import IMAGE_FORMATS, video_format

__all__ = ["AUDIO_MODES", "DEFAULT_SOUND_SECONDS", "DEFAULT_VIDEO_SECONDS", "SOUNDTRACKS", "AudioMode", "RenderJob",
           "Renderer", "Soundtrack"]

DEFAULT_VIDEO_SECONDS = 5.0  # a video whose catalog entry gives no duration
DEFAULT_SOUND_SECONDS = 5.0  # a sound effect or soundtrack asked for without a duration ("auto")
DEFAULT_AUDIO_FORMAT = "mp3"
DEFAULT_VOICE = "Maya"
_CACHE_SIZE = 24

# What an "audio" job makes:
#   "speech"      text_to_speech: ``prompt`` spoken in ``voice`` (length follows the text)
#   "sound"       sound_effect: ``prompt`` as a sound of ``duration`` seconds (``loop``: seamless)
#   "voice"       speech_to_speech: ``source_audio`` (audio, or a video with sound) re-voiced as ``voice``
#   "dub"         voice_dubbing: new speech as long as ``source_audio`` in the language ``prompt``
#                 (in ``voice``, or without one a voice cloned from the input)
#   "isolate"     voice_isolation: ``source_audio`` band-passed to the voice
#   "video_sound" video_to_audio: a soundtrack of ``duration`` seconds for ``source_video``
AudioMode = Literal["speech", "sound", "voice", "dub", "isolate", "video_sound"]
AUDIO_MODES: tuple[AudioMode, ...] = ("speech", "sound", "voice", "dub", "isolate", "video_sound")
# The sound track a generated video carries (avatar_videos); None: silent.
#   "speech"  ``prompt`` spoken in ``voice``, as text_to_speech says it (the video lasts as long)
#   "audio"   ``source_audio`` re-encoded as AAC (without it, made-up speech of the video's length)
Soundtrack = Literal["speech", "audio"]
SOUNDTRACKS: tuple[Soundtrack, ...] = ("speech", "audio")
AVATAR_SAMPLE_RATE = 48000
_UPSCALE = re.compile(r"upscale:(\d+)")


@dataclass(frozen=True)
class RenderJob:
    """Everything a render depends on (and so everything its cache key covers).

    ``kind`` is "image", "video" or "audio". Images and videos are generated from ``prompt``
    (and a source) unless ``transform`` says to transform the source:

    * ``transform="upscale:<factor>"`` (kind "image"): ``source_image`` enlarged ``factor`` times,
      long side at most 4096 (image_upscale);
    * ``transform="hdr"`` (kind "video"): ``source_video`` re-encoded as 10-bit HDR (video_to_hdr).

    ``output_format`` says which file an image or video output is (``sim/formats.py``; None: PNG,
    an MP4, HDR10 for "hdr"), with ``prores_profile`` for the ProRes formats. A video may carry a
    ``soundtrack`` (:data:`Soundtrack`: an avatar speaking ``prompt`` in ``voice``, or ``source_audio``).

    Audio jobs (kind "audio") say what to make in ``audio_mode`` (see :data:`AudioMode`), with
    ``voice``, ``audio_format`` ("mp3", "wav", "flac", "ogg_opus"; None: mp3), ``sample_rate``
    (None: 44.1 kHz; Opus is always 48 kHz), ``duration`` (sound and video_sound; None: 5 s, or a
    video_sound's video length), ``loop`` (sound) and ``source_audio`` (voice, dub, isolate).
    ``size`` means nothing to audio, upscale and hdr jobs (their inputs decide); ``count`` outputs
    are made with seeds ``seed``, ``seed + 1``, ... (outputCount / numVariants).
    The factories :meth:`for_audio`, :meth:`for_upscale` and :meth:`for_hdr` fill the rest in.
    """

    kind: str  # "image" | "video" | "audio"
    size: tuple[int, int]  # width, height of generated images and videos
    duration: float | None  # seconds of a video, a sound effect or a soundtrack; None: the default
    prompt: str  # the prompt; the text to speak for "speech"; the target language for "dub"
    model: str
    seed: int
    count: int
    source_image: bytes | None
    source_video: bytes | None
    transform: str | None = None  # "upscale:<factor>" (image) | "hdr" (video) | None: generate
    audio_mode: AudioMode | None = None  # kind "audio" only
    voice: str | None = None  # a voice name (presetId); "speech" falls back to Maya
    audio_format: str | None = None  # "mp3" | "wav" | "flac" | "ogg_opus"; None: mp3
    sample_rate: int | None = None  # Hz; None: the format's default
    loop: bool = False  # "sound": the end flows into the start
    source_audio: bytes | None = None  # the input of "voice", "dub" and "isolate", or a video's "audio" soundtrack
    output_format: str | None = None  # image: "png" | "jpeg" | "webp"; video: a formats.VideoFormat; None: default
    prores_profile: str | None = None  # "422 HQ", "4444", ... for the ProRes video formats; None: Runway's default
    soundtrack: Soundtrack | None = None  # kind "video" only

    def __post_init__(self) -> None:
        if self.kind not in ("image", "video", "audio"):
            raise ValueError(f"RenderJob.kind must be image, video or audio; got {self.kind!r}")
        if self.kind == "audio":
            if self.audio_mode not in AUDIO_MODES:
                raise ValueError(f"an audio job needs audio_mode, one of {AUDIO_MODES}; got {self.audio_mode!r}")
            if self.transform is not None:
                raise ValueError("an audio job takes no transform")
        elif self.audio_mode is not None:
            raise ValueError(f"audio_mode is for audio jobs, not {self.kind!r} ones")
        if self.soundtrack is not None and (self.kind != "video" or self.soundtrack not in SOUNDTRACKS):
            raise ValueError(f"a soundtrack is one of {SOUNDTRACKS}, for video jobs; got {self.soundtrack!r}")
        if self.output_format is not None:
            if self.kind == "audio":
                raise ValueError("an audio job's format is audio_format")
            if self.kind == "image" and self.output_format not in IMAGE_FORMATS:
                raise ValueError(f"an image format is one of {', '.join(IMAGE_FORMATS)}; got {self.output_format!r}")
            if self.kind == "video":
                video_format(self.output_format)
        if self.transform is not None:
            if self.kind == "image" and _UPSCALE.fullmatch(self.transform) is None:
                raise ValueError(f"an image transform is 'upscale:<factor>'; got {self.transform!r}")
            if self.kind == "video" and self.transform != "hdr":
                raise ValueError(f"the video transform is 'hdr'; got {self.transform!r}")

    @classmethod
    def for_audio(cls, mode: AudioMode, *, model: str, seed: int, prompt: str = "", count: int = 1,
                  voice: str | None = None, audio_format: str | None = None, sample_rate: int | None = None,
                  duration: float | None = None, loop: bool = False, source_audio: bytes | None = None,
                  source_video: bytes | None = None) -> RenderJob:
        """An audio job (see the class docstring for what each field means to each mode)."""
        return cls("audio", (0, 0), duration, prompt, model, seed, count, None, source_video, audio_mode=mode,
                   voice=voice, audio_format=audio_format, sample_rate=sample_rate, loop=loop,
                   source_audio=source_audio)

    @classmethod
    def for_upscale(cls, source_image: bytes, factor: int, *, model: str, seed: int = 0) -> RenderJob:
        """image_upscale: ``source_image`` enlarged ``factor`` times."""
        return cls("image", (0, 0), None, "", model, seed, 1, source_image, None, transform=f"upscale:{int(factor)}")

    @classmethod
    def for_hdr(cls, source_video: bytes, *, model: str, seed: int = 0, output_format: str | None = None,
                prores_profile: str | None = None) -> RenderJob:
        """video_to_hdr: ``source_video`` as HDR (``output_format``; None: HDR10)."""
        return cls("video", (0, 0), None, "", model, seed, 1, None, source_video, transform="hdr",
                   output_format=output_format, prores_profile=prores_profile)

    def cache_key(self) -> str:
        h = hashlib.sha1()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bytes):
                h.update(hashlib.sha1(value).digest())
            else:
                h.update(repr(value).encode())
            h.update(b"\x00")
        return h.hexdigest()


class Renderer:
    """Renders jobs on ``workers`` threads; ``close()`` drops the ones not started."""

    def __init__(self, workers: int = 2):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runway-sim-render")
        self._cache: OrderedDict[str, list[bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._closed = False

    def submit(self, job: RenderJob) -> Future[list[bytes]]:
        return self._executor.submit(self.render, job)

    def render(self, job: RenderJob) -> list[bytes]:
        """The job's outputs, rendered now in this thread (or from the cache)."""
        key = job.cache_key()
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        outs = [_render_one(job, (job.seed + i) % (2 ** 32)) for i in range(job.count)]
        with self._cache_lock:
            self._cache[key] = outs
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return outs

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)


def _render_one(job: RenderJob, seed: int) -> bytes:
    """One output of ``job`` with ``seed``. PIL, PyAV and numpy load on the first render, not on import."""
    if job.kind == "audio":
        return _render_audio(job, seed)
    from runway_nb.sim import delivery, media

    w, h = job.size
    if job.kind == "image":
        if job.transform is not None:  # keeps its input's kind (formats.requested_format says which)
            return media.upscale_image(_required(job.source_image, "an upscale needs source_image"),
                                       int(job.transform.partition(":")[2]))
        return media.render_image(w, h, prompt=job.prompt, model=job.model, seed=seed, source=job.source_image,
                                  image_format=job.output_format or "png")
    if job.transform == "hdr":
        fmt = video_format(job.output_format, endpoint="video_to_hdr")
        return delivery.deliver_video(_required(job.source_video, "an hdr job needs source_video"), fmt,
                                      prores_profile=job.prores_profile)
    duration = DEFAULT_VIDEO_SECONDS if job.duration is None else job.duration
    video = media.render_video(w, h, duration, prompt=job.prompt, model=job.model, seed=seed,
                               source_image=job.source_image, source_video=job.source_video)
    if job.soundtrack is not None:
        video = _with_soundtrack(video, job, seed, duration)
    return delivery.deliver_video(video, video_format(job.output_format), prores_profile=job.prores_profile)


def _with_soundtrack(video: bytes, job: RenderJob, seed: int, duration: float) -> bytes:
    """``video`` with ``job``'s sound track: its speech, or its audio (made-up speech of the video's
    length when that audio is missing or cannot be decoded)."""
    from runway_nb.sim import audio, media

    voice = job.voice or DEFAULT_VOICE
    if job.soundtrack == "speech":
        return media.add_audio_track(video, audio.render_speech(job.prompt, voice=voice, seed=seed, fmt="wav",
                                                                sample_rate=AVATAR_SAMPLE_RATE))
    if job.source_audio is not None:
        try:
            return media.add_audio_track(video, job.source_audio)
        except ValueError:  # not audio after all: the stand-in below, as for an audio URL not fetchable offline
            pass
    babble = audio.render_babble(duration, voice=voice, seed=seed, fmt="wav", sample_rate=AVATAR_SAMPLE_RATE)
    return media.add_audio_track(video, babble)


def _render_audio(job: RenderJob, seed: int) -> bytes:
    from runway_nb.sim import audio

    fmt = audio.check_format(job.audio_format or DEFAULT_AUDIO_FORMAT)
    rate = job.sample_rate
    mode = job.audio_mode
    if mode == "speech":
        return audio.render_speech(job.prompt, voice=job.voice or DEFAULT_VOICE, seed=seed, fmt=fmt, sample_rate=rate)
    if mode == "sound":
        duration = DEFAULT_SOUND_SECONDS if job.duration is None else job.duration
        return audio.render_sound(job.prompt, duration=duration, seed=seed, fmt=fmt, loop=job.loop, sample_rate=rate)
    if mode == "video_sound":
        video = _required(job.source_video, "video_sound needs source_video")
        duration = job.duration if job.duration is not None else _video_seconds(video)
        return audio.audio_for_video(video, duration=duration, seed=seed, fmt=fmt, prompt=job.prompt,
                                     sample_rate=rate)
    if mode in ("voice", "dub", "isolate"):
        source = _required(job.source_audio or job.source_video, f"{mode} needs source_audio")
        language = (job.prompt or None) if mode == "dub" else None
        return audio.transform_audio(source, mode=mode, seed=seed, fmt=fmt, voice=job.voice, sample_rate=rate,
                                     language=language)
    raise ValueError(f"unknown audio_mode {mode!r}")  # pragma: no cover - __post_init__ checks it


def _required(data: bytes | None, message: str) -> bytes:
    if not data:
        raise ValueError(message)
    return data


def _video_seconds(video: bytes) -> float:
    from runway_nb.sim import media

    try:
        seconds = float(media.probe(video).get("duration") or 0.0)
    except ValueError:
        seconds = 0.0
    return seconds if seconds > 0 else DEFAULT_SOUND_SECONDS

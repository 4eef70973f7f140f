"""Tests for runway_nb.sim.audio and audio RenderJobs: real, audible, deterministic audio files."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from sim_media_samples import video_with_sound

from runway_nb.sim import audio, media
from runway_nb.sim.audio import (
    audio_content_type,
    audio_ext,
    audio_for_video,
    probe_audio,
    render_sound,
    render_speech,
    speech_seconds,
    transform_audio,
)
from runway_nb.sim.render import Renderer, RenderJob

TEXT_10S = "The quick brown fox jumps over the lazy dog, then naps. Rain falls on the old town roofs today."
assert len(TEXT_10S) == 95
# longest codec frame: mp3 1152 samples at 44.1 kHz, Opus 20 ms; PCM and FLAC are sample exact
FRAME_SECONDS = {"mp3": 1152 / 44100, "wav": 1 / 44100, "flac": 1 / 44100, "ogg_opus": 0.02}
CODECS = {"mp3": ("mp3", "mp3"), "wav": ("pcm_s16le", "wav"), "flac": ("flac", "flac"), "ogg_opus": ("opus", "ogg")}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def pcm(data: bytes) -> tuple[np.ndarray, int]:
    """Decoded mono samples in [-1, 1] and the sample rate."""
    with av.open(io.BytesIO(data)) as c:
        frames = list(c.decode(audio=0))
        rate = frames[0].sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [out.to_ndarray().reshape(-1) for f in frames for out in resampler.resample(f)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float64), rate


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def pitch(x: np.ndarray, rate: int) -> float:
    """Median pitch (Hz) of the loud 40 ms frames, by autocorrelation."""
    n = int(0.04 * rate)
    estimates = []
    for i in range(0, len(x) - n, n):
        w = x[i:i + n] - x[i:i + n].mean()
        if rms(w) < 0.1:
            continue
        ac = np.fft.irfft(np.abs(np.fft.rfft(w, 2 * n)) ** 2)[:n]
        lo, hi = rate // 400, rate // 60
        estimates.append(rate / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(estimates))


def band_level(x: np.ndarray, rate: int, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spectrum[np.argmin(np.abs(freqs - hz))])


def wav_of(x: np.ndarray, rate: int) -> bytes:
    return audio._encode(np.asarray(x, dtype=np.float32), rate, "wav")


# ---------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------

def test_format_helpers():
    assert [audio_ext(f) for f in audio.AUDIO_FORMATS] == ["mp3", "wav", "flac", "ogg"]
    assert [audio_content_type(f) for f in audio.AUDIO_FORMATS] == ["audio/mpeg", "audio/wav", "audio/flac",
                                                                   "audio/ogg"]
    with pytest.raises(ValueError, match="audio format"):
        audio_ext("aac")


@pytest.mark.parametrize("fmt", audio.AUDIO_FORMATS)
def test_speech_in_every_format_lasts_as_the_text(fmt):
    data = render_speech(TEXT_10S, voice="Maya", seed=1, fmt=fmt)
    info = probe_audio(data)
    codec, container = CODECS[fmt]
    assert (info["codec"], info["container"], info["channels"]) == (codec, container, 1)
    assert info["sample_rate"] == (48000 if fmt == "ogg_opus" else 44100)
    assert speech_seconds(TEXT_10S) == pytest.approx(95 / 14)
    assert abs(info["duration"] - 95 / 14) <= FRAME_SECONDS[fmt]
    x, _ = pcm(data)
    assert rms(x) > 0.05  # plainly audible (-26 dBFS), not a near-silent file


def test_speech_length_follows_the_text_with_a_one_second_floor():
    short = probe_audio(render_speech("Hi", voice="Maya", seed=1, fmt="wav"))
    long = probe_audio(render_speech(TEXT_10S * 3, voice="Maya", seed=1, fmt="wav"))
    assert short["duration"] == pytest.approx(1.0, abs=1e-4)
    assert long["duration"] == pytest.approx(3 * 95 / 14, abs=1e-4)


def test_speech_pauses_at_punctuation_and_speaks_between():
    x, _ = pcm(render_speech("Hello there. How are you today? Fine, thanks.", voice="Arjun", seed=3, fmt="wav"))
    frames = x[: len(x) // 441 * 441].reshape(-1, 441)  # 10 ms frames
    levels = np.sqrt(np.mean(frames ** 2, axis=1))
    assert (levels < 0.005).sum() >= 20  # at least 200 ms of pause
    assert (levels > 0.1).sum() >= 50  # and half a second of loud voicing


def test_long_speech_is_made_in_chunks_that_join_seamlessly(monkeypatch):
    whole = audio._speech_samples(TEXT_10S, "Maya", 3, 7.0, 44100)
    monkeypatch.setattr(audio, "_CHUNK", 4096)  # 75 chunks instead of one
    pieces = audio._speech_samples(TEXT_10S, "Maya", 3, 7.0, 44100)
    assert len(pieces) == len(whole) == 7 * 44100
    # the pulse train and every track run on across chunks; only the noise filters restart
    assert float(np.corrcoef(whole, pieces)[0, 1]) > 0.9999


@pytest.mark.parametrize("rate", [16000, 24000, 48000])
def test_speech_sample_rate(rate):
    for fmt in ("wav", "mp3", "flac"):
        info = probe_audio(render_speech("Hello", voice="Maya", seed=1, fmt=fmt, sample_rate=rate))
        assert info["sample_rate"] == rate
    # Opus decodes at 48 kHz whatever it was fed
    info = probe_audio(render_speech("Hello", voice="Maya", seed=1, fmt="ogg_opus", sample_rate=rate))
    assert info["sample_rate"] == 48000


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="sample_rate"):
        render_speech("Hello", voice="Maya", seed=1, fmt="wav", sample_rate=12345)
    with pytest.raises(ValueError, match="audio format"):
        render_speech("Hello", voice="Maya", seed=1, fmt="aiff")
    with pytest.raises(ValueError, match="duration"):
        render_sound("rain", duration=0, seed=1, fmt="wav")
    with pytest.raises(ValueError, match="duration"):
        render_sound("rain", duration=float("nan"), seed=1, fmt="wav")
    with pytest.raises(ValueError, match="could not open"):
        transform_audio(b"not audio at all", mode="isolate", seed=1, fmt="wav")
    with pytest.raises(ValueError, match="audio"):
        probe_audio(media.render_image(64, 64, prompt="x", model="m", seed=1))


# ---------------------------------------------------------------------------
# determinism and variety
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", audio.AUDIO_FORMATS)
def test_speech_is_deterministic_and_varies_by_voice_and_seed(fmt):
    one = render_speech("Good morning, everyone.", voice="Maya", seed=7, fmt=fmt)
    assert render_speech("Good morning, everyone.", voice="Maya", seed=7, fmt=fmt) == one
    assert render_speech("Good morning, everyone.", voice="Bernard", seed=7, fmt=fmt) != one
    assert render_speech("Good morning, everyone.", voice="Maya", seed=8, fmt=fmt) != one
    assert render_speech("Good evening, everyone.", voice="Maya", seed=7, fmt=fmt) != one


def test_voices_speak_at_their_own_pitch():
    estimates = {}
    for name in ("Chad", "Mark", "Clint", "Serene"):
        x, rate = pcm(render_speech(TEXT_10S, voice=name, seed=2, fmt="wav"))
        estimates[name] = pitch(x, rate)
        assert estimates[name] == pytest.approx(audio._Voice.named(name).pitch, rel=0.15)
    assert estimates["Serene"] > 2 * estimates["Chad"]  # a high and a low voice, clearly apart


@pytest.mark.parametrize("fmt", audio.AUDIO_FORMATS)
def test_sound_effect_has_exactly_the_duration(fmt):
    data = render_sound("thunder then rain", duration=4.5, seed=1, fmt=fmt)
    info = probe_audio(data)
    assert abs(info["duration"] - 4.5) <= FRAME_SECONDS[fmt]
    assert rms(pcm(data)[0]) > 0.05
    assert render_sound("thunder then rain", duration=4.5, seed=1, fmt=fmt) == data
    assert render_sound("thunder then rain", duration=4.5, seed=2, fmt=fmt) != data
    assert render_sound("a laser beep", duration=4.5, seed=1, fmt=fmt) != data


def test_sound_effect_fades_unless_it_loops():
    once, _ = pcm(render_sound("wind and waves", duration=2.0, seed=4, fmt="wav"))
    assert once[0] == 0 and once[-1] == 0  # faded in and out
    looped, _ = pcm(render_sound("wind and waves", duration=2.0, seed=4, fmt="wav", loop=True))
    assert len(looped) == len(once) == 88200
    step = np.max(np.abs(np.diff(looped)))
    assert abs(looped[-1] - looped[0]) <= step  # the end runs on into the start like any two samples
    assert rms(looped[:2205]) > 0.02 and rms(looped[-2205:]) > 0.02  # no fade at either end


def test_sound_effect_tones_follow_the_prompt():
    def tonality(prompt: str) -> float:
        x, _ = pcm(render_sound(prompt, duration=3.0, seed=5, fmt="wav"))
        spectrum = np.abs(np.fft.rfft(x))
        return float(spectrum.max() / spectrum.mean())

    assert tonality("alarm beep beep bell chime") > tonality("heavy rain storm")


# ---------------------------------------------------------------------------
# transforms keep the input's length
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["voice", "dub", "isolate"])
@pytest.mark.parametrize("fmt", audio.AUDIO_FORMATS)
def test_transform_keeps_the_input_length(mode, fmt):
    source = render_speech("Testing one two three, testing.", voice="Maya", seed=1, fmt="mp3")
    length = probe_audio(source)["duration"]
    out = transform_audio(source, mode=mode, seed=2, fmt=fmt, voice="Bernard")
    info = probe_audio(out)
    assert info["codec"] == CODECS[fmt][0]
    assert abs(info["duration"] - length) <= FRAME_SECONDS[fmt]
    assert rms(pcm(out)[0]) > 0.02
    assert transform_audio(source, mode=mode, seed=2, fmt=fmt, voice="Bernard") == out


def test_transform_of_a_resampled_input_keeps_its_length():
    x = 0.5 * np.sin(2 * np.pi * 300 * np.arange(22050 * 3 + 17) / 22050)
    source = wav_of(x, 22050)
    for mode in ("voice", "dub", "isolate"):
        out = probe_audio(transform_audio(source, mode=mode, seed=1, fmt="wav", voice="Maya"))
        assert out["sample_rate"] == 44100
        assert out["duration"] == pytest.approx((22050 * 3 + 17) / 22050, abs=1 / 44100)


def test_isolate_keeps_the_speech_band_and_drops_hum_and_whine():
    rate = 44100
    t = np.arange(rate * 2) / rate
    speech_tone, hum, whine = (np.sin(2 * np.pi * f * t) for f in (1000, 30, 15000))
    source = wav_of(0.3 * speech_tone + 0.3 * hum + 0.3 * whine, rate)
    x, _ = pcm(transform_audio(source, mode="isolate", seed=1, fmt="wav"))
    kept = band_level(x, rate, 1000)
    assert band_level(x, rate, 30) < 0.05 * kept
    assert band_level(x, rate, 15000) < 0.05 * kept


def test_isolate_keeps_speech_recognisable():
    source = render_speech(TEXT_10S, voice="Maya", seed=1, fmt="wav")
    x, _ = pcm(source)
    y, _ = pcm(transform_audio(source, mode="isolate", seed=9, fmt="wav"))
    assert len(x) == len(y)
    assert float(np.corrcoef(x, y)[0, 1]) > 0.8


def test_voice_follows_the_input_rhythm_and_changes_with_the_voice():
    rate = 44100
    burst = 0.5 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    source = wav_of(np.concatenate([burst, np.zeros(rate), burst]), rate)
    out = transform_audio(source, mode="voice", seed=1, fmt="wav", voice="Kylie")
    x, _ = pcm(out)
    assert len(x) == 3 * rate
    assert rms(x[rate + 2205: 2 * rate - 2205]) < 1e-3  # silent where the input is
    assert rms(x[:rate]) > 0.05 and rms(x[2 * rate:]) > 0.05
    assert transform_audio(source, mode="voice", seed=1, fmt="wav", voice="Tom") != out


def test_dub_without_a_voice_clones_one_from_the_input():
    source = render_speech("Bonjour tout le monde.", voice="Maya", seed=1, fmt="wav")
    one = transform_audio(source, mode="dub", seed=1, fmt="wav")
    assert transform_audio(source, mode="dub", seed=1, fmt="wav") == one
    other_source = render_speech("Bonjour tout le monde.", voice="Kirk", seed=1, fmt="wav")
    assert transform_audio(other_source, mode="dub", seed=1, fmt="wav") != one
    german = transform_audio(source, mode="dub", seed=1, fmt="wav", language="de")
    assert german != transform_audio(source, mode="dub", seed=1, fmt="wav", language="ja")
    assert probe_audio(german)["duration"] == probe_audio(source)["duration"]


def test_transform_of_a_video_uses_its_audio_track():
    video = video_with_sound(2.5)
    length = probe_audio(video)["duration"]
    assert length == pytest.approx(2.5, abs=0.05)
    for mode in ("voice", "dub", "isolate"):
        out = probe_audio(transform_audio(video, mode=mode, seed=1, fmt="flac", voice="Maya"))
        assert out["duration"] == pytest.approx(length, abs=1 / 44100)


def test_transform_of_a_silent_video_lasts_the_video():
    video = media.render_video(160, 120, 2.0, prompt="a cat", model="gen4_turbo", seed=1)
    dub = transform_audio(video, mode="dub", seed=1, fmt="wav", voice="Maya")
    assert probe_audio(dub)["duration"] == pytest.approx(2.0, abs=1 / 44100)
    assert rms(pcm(dub)[0]) > 0.05
    isolated, _ = pcm(transform_audio(video, mode="isolate", seed=1, fmt="wav"))
    assert len(isolated) == 88200 and rms(isolated) == 0  # no voice in it to isolate


# ---------------------------------------------------------------------------
# video_to_audio
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac"])
def test_audio_for_video_has_the_duration_and_follows_the_video(fmt):
    video = media.render_video(160, 120, 2.0, prompt="a street", model="gen4_turbo", seed=1)
    data = audio_for_video(video, duration=3.25, seed=1, fmt=fmt, prompt="footsteps")
    info = probe_audio(data)
    assert abs(info["duration"] - 3.25) <= FRAME_SECONDS[fmt]
    assert rms(pcm(data)[0]) > 0.05
    assert audio_for_video(video, duration=3.25, seed=1, fmt=fmt, prompt="footsteps") == data
    assert audio_for_video(video, duration=3.25, seed=2, fmt=fmt, prompt="footsteps") != data
    other = media.render_video(160, 120, 2.0, prompt="a street", model="gen4_turbo", seed=2)
    assert audio_for_video(other, duration=3.25, seed=1, fmt=fmt, prompt="footsteps") != data


# ---------------------------------------------------------------------------
# RenderJob / Renderer
# ---------------------------------------------------------------------------

def test_renderer_makes_audio_jobs():
    renderer = Renderer(workers=1)
    try:
        speech = RenderJob.for_audio("speech", model="eleven_multilingual_v2", seed=3, prompt="Hello world.",
                                     voice="Maya", audio_format="wav", sample_rate=24000)
        [out] = renderer.render(speech)
        assert out == render_speech("Hello world.", voice="Maya", seed=3, fmt="wav", sample_rate=24000)
        sounds = renderer.render(RenderJob.for_audio("sound", model="mirelo_sfx_2_0", seed=3, prompt="rain",
                                                     count=2, duration=1.5, audio_format="flac"))
        assert len(sounds) == 2 and sounds[0] != sounds[1]
        assert [probe_audio(s)["duration"] for s in sounds] == [1.5, 1.5]
        assert sounds[1] == render_sound("rain", duration=1.5, seed=4, fmt="flac")
        default = renderer.render(RenderJob.for_audio("sound", model="eleven_text_to_sound_v2", seed=3,
                                                      prompt="rain"))[0]
        assert probe_audio(default)["codec"] == "mp3"
        assert probe_audio(default)["duration"] == pytest.approx(5.0, abs=1152 / 44100)
        [isolated] = renderer.render(RenderJob.for_audio("isolate", model="eleven_voice_isolation", seed=1,
                                                         source_audio=out, audio_format="wav"))
        assert probe_audio(isolated)["duration"] == pytest.approx(probe_audio(out)["duration"], abs=1 / 24000)
        dubs = [renderer.render(RenderJob.for_audio("dub", model="eleven_voice_dubbing", seed=1, prompt=lang,
                                                    source_audio=out, audio_format="wav"))[0] for lang in ("de", "ja")]
        assert dubs[0] == transform_audio(out, mode="dub", seed=1, fmt="wav", language="de")
        assert dubs[0] != dubs[1]
        video = media.render_video(160, 120, 2.0, prompt="a street", model="gen4_turbo", seed=1)
        [track] = renderer.render(RenderJob.for_audio("video_sound", model="mirelo_sfx_2_0", seed=1,
                                                      source_video=video, audio_format="wav"))
        assert probe_audio(track)["duration"] == pytest.approx(2.0, abs=1 / 44100)  # the video's length
        [spoken] = renderer.render(RenderJob.for_audio("voice", model="eleven_multilingual_sts_v2", seed=1,
                                                       source_video=video_with_sound(1.0), voice="Tom"))
        assert probe_audio(spoken)["duration"] == pytest.approx(1.0, abs=0.05)
    finally:
        renderer.close()


def test_audio_cache_key_covers_every_field():
    base = RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav")
    variants = [
        RenderJob.for_audio("speech", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav"),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="mp3"),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav",
                            sample_rate=16000),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav", loop=True),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav",
                            voice="Maya"),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav",
                            source_audio=b"x"),
        RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.5, audio_format="wav"),
    ]
    keys = {base.cache_key(), *(v.cache_key() for v in variants)}
    assert len(keys) == 1 + len(variants)
    same = RenderJob.for_audio("sound", model="m", seed=1, prompt="rain", duration=2.0, audio_format="wav")
    assert same.cache_key() == base.cache_key()


def test_render_job_checks_its_kind_and_mode():
    with pytest.raises(ValueError, match="audio_mode"):
        RenderJob("audio", (0, 0), None, "x", "m", 1, 1, None, None)
    with pytest.raises(ValueError, match="audio_mode"):
        RenderJob("image", (64, 64), None, "x", "m", 1, 1, None, None, audio_mode="speech")
    with pytest.raises(ValueError, match="kind"):
        RenderJob("podcast", (0, 0), None, "x", "m", 1, 1, None, None)
    renderer = Renderer(workers=1)
    try:
        with pytest.raises(ValueError, match="source_audio"):
            renderer.render(RenderJob.for_audio("dub", model="m", seed=1))
        with pytest.raises(ValueError, match="audio format"):
            renderer.render(RenderJob.for_audio("speech", model="m", seed=1, prompt="x", audio_format="aiff"))
    finally:
        renderer.close()

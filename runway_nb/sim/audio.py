"""Real, deterministic audio for the offline simulator: speech, sound effects, voice transforms.

Nothing here is a model: speech is a formant synthesiser (a pitch-controlled pulse train through
three resonances, written as FOF grains so the whole track is computed with numpy array
arithmetic, no per-sample Python loop), sound effects are noise beds, decaying bursts and chirps.
What matters to the simulator is that the files are genuine, audible, of the right length and
format, different per voice and seed, and byte-identical for the same request.

Public interface::

    render_speech(text, *, voice, seed, fmt, sample_rate=None) -> bytes        # text_to_speech
    render_sound(prompt, *, duration, seed, fmt, loop=False) -> bytes          # sound_effect
    transform_audio(source, *, mode, seed, fmt, voice=None, language=None)     # speech_to_speech ("voice"),
        -> bytes                                                               # voice_dubbing ("dub"),
                                                                               # voice_isolation ("isolate")
    audio_for_video(video, *, duration, seed, fmt, prompt="") -> bytes         # video_to_audio
    render_babble(seconds, *, voice, seed, fmt) -> bytes   # made-up speech of a length (avatar placeholder)
    (each also takes sample_rate=None)
    speech_seconds(text) -> float          # how long render_speech(text) lasts
    probe_audio(data) -> AudioInfo
    audio_ext(fmt), audio_content_type(fmt), check_format(fmt)

Formats: "mp3" (libmp3lame), "wav" (16-bit PCM), "flac", "ogg_opus" (Opus in Ogg, always
48 kHz: Opus decoders only produce 48 kHz). All outputs are mono; the default sample rate is
44.1 kHz. Speech lasts ``max(1, len(text) / 14)`` seconds; a transform lasts as long as its
input. numpy and PyAV are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict, get_args

from runway_nb.api.estimates import SPEECH_CHARS_PER_SECOND, speech_seconds

if TYPE_CHECKING:  # pragma: no cover - types only: numpy loads with the first render
    import numpy as np
    from numpy.typing import NDArray

    _Array = NDArray[np.float32]
    _Rng = np.random.Generator

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_SAMPLE_RATE",
    "AudioFormat",
    "AudioInfo",
    "TransformMode",
    "audio_content_type",
    "audio_ext",
    "audio_for_video",
    "check_format",
    "probe_audio",
    "render_babble",
    "render_sound",
    "render_speech",
    "speech_seconds",
    "transform_audio",
]

AudioFormat = Literal["mp3", "wav", "flac", "ogg_opus"]
TransformMode = Literal["voice", "dub", "isolate"]
AUDIO_FORMATS: tuple[AudioFormat, ...] = get_args(AudioFormat)
DEFAULT_SAMPLE_RATE = 44100
OPUS_SAMPLE_RATE = 48000
SAMPLE_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
CHARS_PER_SECOND = SPEECH_CHARS_PER_SECOND  # the speaking rate estimates use too (api.estimates)
NO_AUDIO_SECONDS = 3.0  # a transform's input whose length cannot be told
MAX_SECONDS = 600.0

_EXT: dict[AudioFormat, str] = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg_opus": "ogg"}
_CONTENT_TYPE: dict[AudioFormat, str] = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac",
                                         "ogg_opus": "audio/ogg"}


@dataclass(frozen=True)
class _Encoding:
    container: str
    codec: str
    sample_format: str
    bit_rate: int | None
    options: dict[str, str]


# LAME's quality 7 ("fast") keeps 10 s of mp3 well inside the render budget; libopus likewise.
_ENCODINGS: dict[AudioFormat, _Encoding] = {
    "mp3": _Encoding("mp3", "libmp3lame", "s16p", 128_000, {"compression_level": "7"}),
    "wav": _Encoding("wav", "pcm_s16le", "s16", None, {}),
    "flac": _Encoding("flac", "flac", "s16", None, {}),
    "ogg_opus": _Encoding("ogg", "libopus", "s16", 64_000, {"compression_level": "5"}),
}


class AudioInfo(TypedDict):
    """What :func:`probe_audio` tells about audio bytes."""

    duration: float  # seconds, from the decoded samples
    samples: int
    sample_rate: int
    channels: int
    codec: str  # "mp3", "pcm_s16le", "flac", "opus", "aac", ...
    container: str  # as FFmpeg names the demuxer: "mp3", "wav", "flac", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", ...


# ---------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------

def check_format(fmt: str) -> AudioFormat:
    """``fmt`` as an :data:`AudioFormat`; ValueError for anything else."""
    for known in AUDIO_FORMATS:
        if fmt == known:
            return known
    raise ValueError(f"audio format must be one of {', '.join(AUDIO_FORMATS)}; got {fmt!r}")


def audio_ext(fmt: str) -> str:
    """The file extension (no dot) for ``fmt``: mp3, wav, flac or ogg."""
    return _EXT[check_format(fmt)]


def audio_content_type(fmt: str) -> str:
    """The MIME type for ``fmt``: audio/mpeg, audio/wav, audio/flac or audio/ogg."""
    return _CONTENT_TYPE[check_format(fmt)]


def _output_rate(fmt: AudioFormat, sample_rate: int | None) -> int:
    if fmt == "ogg_opus":
        return OPUS_SAMPLE_RATE
    if sample_rate is None:
        return DEFAULT_SAMPLE_RATE
    if isinstance(sample_rate, bool) or sample_rate not in SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {SAMPLE_RATES}; got {sample_rate!r}")
    return sample_rate


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"{name} must be more than 0 and at most {MAX_SECONDS:g} seconds, got {value!r}")
    return seconds


def _encode(samples: _Array, sample_rate: int, fmt: AudioFormat) -> bytes:
    """Mono float samples in [-1, 1] as ``fmt`` bytes (bit-exact container: same input, same bytes)."""
    import av
    import numpy as np
    from av.audio.stream import AudioStream

    enc = _ENCODINGS[fmt]
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16).reshape(1, -1)
    buf = io.BytesIO()
    container = av.open(buf, mode="w", format=enc.container, options={"fflags": "+bitexact"})
    try:
        stream = container.add_stream(enc.codec, rate=sample_rate, options=enc.options)
        assert isinstance(stream, AudioStream)  # an audio encoder's stream
        cc = stream.codec_context
        cc.layout = "mono"
        cc.format = enc.sample_format
        if enc.bit_rate:
            cc.bit_rate = enc.bit_rate
        frame = av.AudioFrame.from_ndarray(pcm, format=enc.sample_format, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = 0
        for packet in stream.encode(frame):  # PyAV cuts the frame into the codec's frame size
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return buf.getvalue()


# ---------------------------------------------------------------------------
# randomness and voices: everything derives from sha256 of the request
# ---------------------------------------------------------------------------

def _digest(*parts: object) -> bytes:
    h = hashlib.sha256(b"runway-nb/sim/audio")
    for part in parts:
        h.update(b"\x00")
        h.update(part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass"))
    return h.digest()


def _rng(*parts: object) -> _Rng:
    import numpy as np

    return np.random.default_rng(int.from_bytes(_digest(*parts)[:16], "little"))


@dataclass(frozen=True)
class _Voice:
    """A voice's fixed traits, from a hash of its name."""

    pitch: float  # Hz, the speaking pitch
    formant_scale: float  # vocal tract: > 1 is a smaller (brighter) one
    bandwidth: float  # formant bandwidth factor: > 1 is duller
    breath: float  # aspiration mixed into voiced sounds
    vibrato_hz: float
    vibrato_depth: float
    pitch_range: float  # how much the pitch moves with stress

    @staticmethod
    def named(name: str) -> _Voice:
        d = _digest("voice", name.strip().lower())
        u = [b / 255.0 for b in d[:8]]
        low = d[8] % 2 == 0  # a lower or a higher register, as voices are
        pitch = 82 + 68 * u[0] if low else 160 + 100 * u[0]
        scale = (0.9 + 0.12 * u[1]) if low else (1.04 + 0.16 * u[1])
        return _Voice(pitch=pitch, formant_scale=scale, bandwidth=0.8 + 0.6 * u[2], breath=0.02 + 0.12 * u[3],
                      vibrato_hz=4.2 + 2.0 * u[4], vibrato_depth=0.004 + 0.012 * u[5],
                      pitch_range=0.08 + 0.14 * u[6])


# ---------------------------------------------------------------------------
# speech: text -> a plan of syllables -> samples
# ---------------------------------------------------------------------------

# (F1, F2, F3) in Hz for an adult lower voice; higher voices scale them by formant_scale
_VOWELS: dict[str, tuple[float, float, float]] = {
    "a": (730, 1090, 2440), "e": (530, 1840, 2480), "i": (300, 2250, 3000), "o": (570, 840, 2410),
    "u": (310, 870, 2240), "y": (420, 1950, 2550), "ə": (500, 1500, 2500),
}
_VOWEL_KEYS = tuple(_VOWELS)
_SIBILANTS = frozenset("szcxjq")
_BREATHY = frozenset("fvhw")
_STOPS = frozenset("ptkbdg")
_PAUSE_WEIGHTS = {"sentence": 5.0, "clause": 3.0, "space": 1.0, "other": 1.0}
_TOKEN = re.compile(r"(?P<word>[^\W_]+)|(?P<sentence>[.!?…]+)|(?P<clause>[,;:\u2013\u2014-]+)|(?P<space>\s+)|.",
                    re.UNICODE)



@dataclass
class _Syllable:
    start: float
    end: float
    letters: str
    stress: float
    sentence: int
    question: bool = False


def _syllables(text: str, duration: float, rng: _Rng) -> list[_Syllable]:
    """Split ``text`` into syllables and pauses spread over ``duration`` seconds, by letter count."""
    units: list[tuple[str, float]] = [("", 1.0)]  # (letters or "" for a pause, weight)
    ends: list[int] = []  # index in units where a sentence ends, and whether it asks
    questions: list[bool] = []
    for m in _TOKEN.finditer(text.strip()):
        kind = m.lastgroup
        if kind == "word":
            word = m.group()
            count = max(1, round(len(word) / 3))
            cuts = [round(i * len(word) / count) for i in range(count + 1)]
            units.extend((word[a:b], float(b - a)) for a, b in itertools.pairwise(cuts))
        elif kind == "sentence":
            units.append(("", _PAUSE_WEIGHTS["sentence"]))
            ends.append(len(units))
            questions.append("?" in m.group())
        else:
            units.append(("", _PAUSE_WEIGHTS[kind or "other"] * (min(len(m.group()), 3) if kind == "space" else 1)))
    if not any(letters for letters, _ in units):  # no letters at all: hum one syllable
        units.append(("a", 1.0))
    units.append(("", 2.0))
    unit_seconds = duration / sum(w for _, w in units)
    out: list[_Syllable] = []
    t = 0.0
    sentence = 0
    word_start = True
    for i, (letters, weight) in enumerate(units):
        while sentence < len(ends) and i >= ends[sentence]:
            sentence += 1
        span = weight * unit_seconds
        if letters:
            stress = 1.0 if word_start else 0.65 + 0.3 * float(rng.random())
            out.append(_Syllable(t, t + span, letters, stress, sentence,
                                 sentence < len(questions) and questions[sentence]))
            word_start = False
        else:
            word_start = True
        t += span
    return out


@dataclass
class _Tracks:
    """Breakpoints (seconds, value) of the synthesiser's controls; linear in between."""

    pitch_t: list[float]
    pitch_v: list[float]
    formant_t: list[float]
    formant_v: list[tuple[float, float, float]]
    voiced_t: list[float]
    voiced_v: list[float]
    hiss_t: list[float]  # sibilant noise (s, z, sh)
    hiss_v: list[float]
    breath_t: list[float]  # breathy noise (f, h, the burst after a stop)
    breath_v: list[float]

    @staticmethod
    def empty() -> _Tracks:
        return _Tracks([], [], [], [], [], [], [], [], [], [])


def _envelope(ts: list[float], vs: list[float], points: list[tuple[float, float]]) -> None:
    """Append (time, value) points, nudging times so they keep increasing (np.interp needs it)."""
    for t, v in points:
        if ts and t <= ts[-1]:
            t = ts[-1] + 1e-6
        ts.append(t)
        vs.append(v)


def _plan(syllables: list[_Syllable], voice: _Voice, rng: _Rng) -> _Tracks:
    tr = _Tracks.empty()
    sentence_spans: dict[int, tuple[float, float]] = {}
    for s in syllables:
        lo, hi = sentence_spans.get(s.sentence, (s.start, s.end))
        sentence_spans[s.sentence] = (min(lo, s.start), max(hi, s.end))
    for s in syllables:
        length = s.end - s.start
        onset = s.letters[0].lower()
        vowel = next((c for c in s.letters.lower() if c in _VOWELS), None)
        if vowel is None:
            vowel = _VOWEL_KEYS[int(rng.integers(len(_VOWEL_KEYS)))]
        voiced_start = s.start
        if onset in _SIBILANTS or onset in _BREATHY:
            fric = min(0.09, 0.35 * length)
            ts, vs = (tr.hiss_t, tr.hiss_v) if onset in _SIBILANTS else (tr.breath_t, tr.breath_v)
            level = 0.9 if onset in _SIBILANTS else 0.7
            _envelope(ts, vs, [(s.start, 0.0), (s.start + 0.2 * fric, level), (s.start + 0.8 * fric, level),
                               (s.start + fric, 0.0)])
            voiced_start = s.start + 0.7 * fric
        elif onset in _STOPS:  # closure, then a short burst
            gap = min(0.03, 0.2 * length)
            _envelope(tr.breath_t, tr.breath_v, [(s.start + gap, 0.0), (s.start + gap + 0.004, 1.0),
                                                 (s.start + gap + 0.018, 0.0)])
            voiced_start = s.start + gap + 0.012
        voiced_len = max(1e-3, s.end - voiced_start)
        attack, release = min(0.025, 0.25 * voiced_len), min(0.04, 0.3 * voiced_len)
        _envelope(tr.voiced_t, tr.voiced_v, [(voiced_start, 0.0), (voiced_start + attack, s.stress),
                                             (s.end - release, 0.85 * s.stress), (s.end, 0.0)])
        f1, f2, f3 = _VOWELS[vowel]
        wobble = 1.0 + 0.04 * (float(rng.random()) - 0.5)
        formants = (f1 * wobble, f2 * wobble, f3)
        for at in (voiced_start + 0.3 * voiced_len, s.end - 0.15 * voiced_len):
            if tr.formant_t and at <= tr.formant_t[-1]:
                at = tr.formant_t[-1] + 1e-6
            tr.formant_t.append(at)
            tr.formant_v.append(formants)
        lo, hi = sentence_spans[s.sentence]
        position = (0.5 * (s.start + s.end) - lo) / max(hi - lo, 1e-6)
        declination = 1.08 - 0.18 * position
        rise = 1.0 + 0.3 * position ** 3 if s.question else 1.0
        accent = 1.0 + voice.pitch_range * (s.stress - 0.8) * 2.0 + 0.03 * float(rng.standard_normal())
        _envelope(tr.pitch_t, tr.pitch_v, [(0.5 * (voiced_start + s.end), voice.pitch * declination * rise * accent)])
    return tr


_CONTROL_BLOCK = 32  # control tracks are computed every 32 samples, then linearly filled in


def _track(xs: list[float], ys: list[float], start: int, n: int, sample_rate: int, default: float = 0.0) -> _Array:
    """The breakpoints (xs seconds, ys) at samples ``start:start + n``: np.interp at every 32nd
    sample (times in float64) and straight lines between, several times cheaper than per sample."""
    import numpy as np

    if not xs:
        return np.full(n, default, dtype=np.float32)
    blocks = -(-n // _CONTROL_BLOCK)
    times = (start + _CONTROL_BLOCK * np.arange(blocks + 1, dtype=np.float64)) / sample_rate
    knots = np.interp(times, np.asarray(xs), np.asarray(ys)).astype(np.float32)
    frac = np.arange(_CONTROL_BLOCK, dtype=np.float32) / np.float32(_CONTROL_BLOCK)
    fine = knots[:-1, None] + (knots[1:] - knots[:-1])[:, None] * frac[None, :]
    return np.asarray(fine.reshape(-1)[:n], dtype=np.float32)


def _smooth_noise(n: int, sample_rate: int, rng: _Rng, hz: float) -> _Array:
    """Slowly wandering noise in about [-1, 1]: random points ``hz`` times a second, interpolated."""
    import numpy as np

    points = max(2, int(n / sample_rate * hz) + 2)
    xs = np.linspace(0.0, n, points)
    return np.interp(np.arange(n, dtype=np.float32), xs, rng.uniform(-1.0, 1.0, points)).astype(np.float32)


_CHUNK = 1 << 20  # samples synthesised at a time (~24 s at 44.1 kHz): bounds memory for long audio


def _synthesise(tr: _Tracks, n: int, sample_rate: int, voice: _Voice, rng: _Rng) -> _Array:
    """The tracks as ``n`` samples at ``sample_rate``, made :data:`_CHUNK` samples at a time."""
    import numpy as np

    out = np.empty(n, dtype=np.float32)
    jitter = _smooth_noise(n, sample_rate, rng, 18.0)
    cycles = 0.0  # glottal cycles so far: the pulse train runs on across chunks
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        out[start:stop], cycles = _synthesise_chunk(tr, start, stop, sample_rate, voice, rng, jitter[start:stop],
                                                    cycles)
    return _normalise(out)


def _synthesise_chunk(tr: _Tracks, start: int, stop: int, sample_rate: int, voice: _Voice, rng: _Rng,
                      jitter: _Array, cycles_before: float) -> tuple[_Array, float]:
    """Samples ``start:stop``: FOF grains per glottal pulse for the voiced part (each formant a
    decaying sine restarted at every pulse), shaped noise for the rest; and the cycle count after."""
    import numpy as np

    n = stop - start
    vibrato = np.arange(start, stop, dtype=np.float64) * (2 * math.pi * voice.vibrato_hz / sample_rate)
    pitch = _track(tr.pitch_t, tr.pitch_v, start, n, sample_rate, voice.pitch)
    pitch *= 1.0 + voice.vibrato_depth * np.sin(vibrato.astype(np.float32))
    pitch *= 1.0 + 0.015 * jitter
    cycles = np.cumsum(pitch.astype(np.float64) / sample_rate)
    cycles += cycles_before
    since_pulse = ((cycles % 1.0) / pitch).astype(np.float32)  # seconds since the last glottal pulse
    nyquist = 0.45 * sample_rate
    formants = np.asarray(tr.formant_v or [_VOWELS["ə"]], dtype=np.float64) * voice.formant_scale
    formant_t = tr.formant_t or [0.0]
    voiced = np.zeros(n, dtype=np.float32)
    for i, (gain, bandwidth) in enumerate(((1.0, 90.0), (0.55, 110.0), (0.28, 160.0))):
        freq = np.minimum(_track(formant_t, list(formants[:, i]), start, n, sample_rate), np.float32(nyquist))
        decay = np.exp(np.float32(-math.pi * bandwidth * voice.bandwidth) * since_pulse)
        voiced += np.float32(gain) * decay * np.sin(np.float32(2 * math.pi) * freq * since_pulse)
    voiced *= 1.0 - np.exp(np.float32(-2500.0) * since_pulse)  # a soft start to each grain
    white = rng.standard_normal(n, dtype=np.float32)
    hiss = np.diff(white, n=2, prepend=np.zeros(2, dtype=np.float32)) * np.float32(0.25)  # high-passed twice
    smooth = _band_noise(white, 3)
    breath = white - smooth * np.float32(1 / math.sqrt(3))  # gently high-passed
    voiced_env = _track(tr.voiced_t, tr.voiced_v, start, n, sample_rate)
    out = voiced * voiced_env
    # aspiration: quieter than the voicing and louder just after each pulse, as a glottis leaks
    puffs = np.exp(np.float32(-300.0) * since_pulse)
    out += np.float32(0.3 * voice.breath) * smooth * voiced_env * puffs
    out += np.float32(0.35) * hiss * _track(tr.hiss_t, tr.hiss_v, start, n, sample_rate)
    out += np.float32(0.25) * breath * _track(tr.breath_t, tr.breath_v, start, n, sample_rate)
    return out, float(cycles[-1]) if n else cycles_before


def _normalise(x: _Array, peak: float = 0.89) -> _Array:
    import numpy as np

    top = float(np.max(np.abs(x))) if x.size else 0.0
    if top < 1e-6:
        return x
    return np.asarray(x * np.float32(peak / top), dtype=np.float32)


def _speech_samples(text: str, voice_name: str, seed: int, seconds: float, sample_rate: int) -> _Array:
    voice = _Voice.named(voice_name)
    rng = _rng("speech", seed, voice_name, text)
    n = max(1, round(seconds * sample_rate))
    return _synthesise(_plan(_syllables(text, seconds, rng), voice, rng), n, sample_rate, voice, rng)


def render_speech(text: str, *, voice: str, seed: int, fmt: str, sample_rate: int | None = None) -> bytes:
    """Speech-like audio saying ``text`` (syllables by its letters, pauses at spaces and
    punctuation) in ``voice`` (pitch and timbre from a hash of its name), lasting
    :func:`speech_seconds` (``text``). The same inputs give the same bytes."""
    audio_format = check_format(fmt)
    rate = _output_rate(audio_format, sample_rate)
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    seconds = min(speech_seconds(text), MAX_SECONDS)
    return _encode(_speech_samples(text, voice, seed, seconds, rate), rate, audio_format)


def _babble(seconds: float, rng: _Rng) -> str:
    """Made-up words enough to fill ``seconds`` at the speaking rate (what dubbing says)."""
    onsets, vowels = "bdfghklmnprstvz", "aeiou"
    words: list[str] = []
    length = 0
    target = max(1, int(seconds * CHARS_PER_SECOND))
    while length < target:
        word = "".join(onsets[int(rng.integers(len(onsets)))] + vowels[int(rng.integers(len(vowels)))]
                       for _ in range(1 + int(rng.integers(3))))
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)
    return text[: target - 1] + "."


def render_babble(seconds: float, *, voice: str, seed: int, fmt: str, sample_rate: int | None = None) -> bytes:
    """Speech of made-up words lasting exactly ``seconds`` in ``voice`` (what stands in for an
    avatar's audio that cannot be fetched offline). The same inputs give the same bytes."""
    audio_format = check_format(fmt)
    rate = _output_rate(audio_format, sample_rate)
    length = _check_seconds("seconds", seconds)
    rng = _rng("babble", seed, voice)
    target = _Voice.named(voice)
    n = max(1, round(length * rate))
    samples = _synthesise(_plan(_syllables(_babble(length, rng), length, rng), target, rng), n, rate, target, rng)
    return _encode(samples, rate, audio_format)


# ---------------------------------------------------------------------------
# sound effects
# ---------------------------------------------------------------------------

_SFX_WORDS: dict[str, tuple[str, ...]] = {
    "rumble": ("thunder", "explosion", "boom", "earthquake", "engine", "rumble", "bass", "drum", "impact", "crash"),
    "wash": ("rain", "water", "ocean", "waves", "sea", "wind", "storm", "stream", "river", "fire", "crowd",
             "applause", "static", "forest", "traffic", "city", "hiss"),
    "tick": ("click", "tick", "clock", "footsteps", "steps", "knock", "typing", "keyboard", "drip", "crackle",
             "rain", "fire", "hooves", "clap"),
    "tone": ("beep", "alarm", "bell", "chime", "laser", "bird", "birds", "whistle", "siren", "ring", "phone",
             "synth", "ding", "notification", "sci-fi", "robot", "zap"),
    "whoosh": ("whoosh", "swoosh", "swipe", "wind", "transition", "riser", "swell", "jet", "car", "pass"),
}


def _sfx_weights(prompt: str, rng: _Rng) -> dict[str, float]:
    words = set(re.findall(r"[a-z\-]+", prompt.lower()))
    weights = {layer: 0.05 + 0.35 * float(rng.random()) for layer in _SFX_WORDS}  # a faint mix of everything
    for layer, keys in _SFX_WORDS.items():
        if words.intersection(keys):
            weights[layer] += 1.5
    return weights


def _band_noise(white: _Array, smoothing: int) -> _Array:
    """White noise low-passed by a moving average of ``smoothing`` samples (1: unchanged),
    scaled back to about unit level: shifted sums for short windows, a running sum for long ones."""
    import numpy as np

    if smoothing <= 1:
        return white
    if smoothing <= 8:
        box = white.copy()
        for k in range(1, smoothing):
            box[k:] += white[:-k]
        return np.asarray(box * np.float32(1.0 / math.sqrt(smoothing)), dtype=np.float32)
    sums = np.cumsum(white, dtype=np.float64)
    wide = np.empty(len(white), dtype=np.float64)
    wide[:smoothing] = sums[:smoothing]
    wide[smoothing:] = sums[smoothing:] - sums[:-smoothing]
    return (wide * (1.0 / math.sqrt(smoothing))).astype(np.float32)


def _sfx_samples(key: tuple[object, ...], n: int, sample_rate: int, activity: _Array | None = None) -> _Array:
    """``n`` samples of layered noise and tones from a hash of ``key`` (prompt first). ``activity``
    (one value per sample, 0..1) loudens the bed and places the hits, e.g. a video's motion."""
    import numpy as np

    rng = _rng("sound", *key)
    prompt = str(key[0])
    weights = _sfx_weights(prompt, rng)
    seconds = n / sample_rate
    t = np.arange(n, dtype=np.float32) / np.float32(sample_rate)
    white = rng.standard_normal(n, dtype=np.float32)
    out = np.zeros(n, dtype=np.float32)
    # a bed of coloured noise, slowly swelling (rain, wind, waves)
    swell = 0.55 + 0.45 * _smooth_noise(n, sample_rate, rng, 0.4 + 1.2 * float(rng.random()))
    if activity is not None:
        swell = swell * (0.3 + 0.7 * activity)
    wash_colour = int(1 + rng.integers(1, 6) * sample_rate // 22050)
    out += np.float32(0.35 * weights["wash"]) * _band_noise(white, wash_colour) * swell
    # a low rumble
    rumble = _band_noise(white, max(2, sample_rate // 400))
    out += np.float32(0.5 * weights["rumble"]) * rumble * (0.6 + 0.4 * _smooth_noise(n, sample_rate, rng, 2.0))
    # hits: decaying bursts of noise (clicks, knocks, crashes)
    hits = int(seconds * (1 + 10 * float(rng.random())) * weights["tick"])
    for start in _event_times(hits, n, rng, activity):
        decay = float(np.exp(rng.uniform(math.log(0.004), math.log(0.25 if weights["rumble"] > 1 else 0.06))))
        length = min(n - start, int(decay * 6 * sample_rate) + 1)
        env = np.exp(-np.arange(length, dtype=np.float32) / np.float32(decay * sample_rate))
        grain = _band_noise(white[start:start + length], 1 + int(rng.integers(4)))
        level = 0.6 * float(rng.uniform(0.3, 1.0)) * min(1.0, weights["tick"])
        out[start:start + length] += np.float32(level) * grain * env
    # tones: exponential chirps with a decay (beeps, lasers, birdsong, bells)
    tones = int(max(1.0, seconds * (0.5 + 2 * float(rng.random()))) * min(weights["tone"], 2.0))
    for start in _event_times(tones, n, rng, activity):
        length = min(n - start, int(rng.uniform(0.06, 0.9) * sample_rate) + 1)
        f_from = float(rng.uniform(300, 3000))
        f_to = f_from if rng.random() < 0.5 else float(rng.uniform(300, 3000))  # a beep or a chirp
        f_to = min(f_to, 0.4 * sample_rate)
        f_from = min(f_from, 0.4 * sample_rate)
        tt = np.arange(length, dtype=np.float64) / sample_rate
        span = length / sample_rate
        ratio = f_to / f_from
        if abs(ratio - 1.0) < 1e-3:
            phase = 2 * math.pi * f_from * tt
        else:
            phase = 2 * math.pi * f_from * span / math.log(ratio) * (np.power(ratio, tt / span) - 1.0)
        env = np.minimum(1.0, tt / 0.005) * np.minimum(1.0, (span - tt) / 0.01) * np.exp(-tt / (0.6 * span + 1e-3))
        out[start:start + length] += (0.5 * weights["tone"] * np.sin(phase) * env).astype(np.float32)
    # a whoosh: band noise under a rise-and-fall
    if weights["whoosh"] > 0.6:
        centre, width = float(rng.uniform(0.2, 0.8)) * seconds, float(rng.uniform(0.15, 0.4)) * seconds
        shape = np.exp(-(((t - np.float32(centre)) / np.float32(width)) ** 2))
        out += np.float32(0.5 * weights["whoosh"]) * _band_noise(white[::-1].copy(), 3) * shape
    return _normalise(out, 0.85)


def _event_times(count: int, n: int, rng: _Rng, activity: _Array | None) -> list[int]:
    """``count`` sample positions, uniform or (with ``activity``) where activity is high."""
    import numpy as np

    if count <= 0 or n < 2:
        return []
    if activity is None:
        return sorted(int(x) for x in rng.integers(0, n - 1, count))
    weights = activity.astype(np.float64) ** 2 + 1e-3
    cdf = np.cumsum(weights)
    picks = np.searchsorted(cdf, rng.uniform(0, cdf[-1], count))
    return sorted(int(min(x, n - 2)) for x in picks)


def _fade(x: _Array, sample_rate: int, fade_in: float = 0.005, fade_out: float = 0.03) -> _Array:
    import numpy as np

    a = min(len(x) // 4, int(fade_in * sample_rate))
    b = min(len(x) // 4, int(fade_out * sample_rate))
    if a:
        x[:a] *= np.linspace(0.0, 1.0, a, dtype=np.float32)
    if b:
        x[-b:] *= np.linspace(1.0, 0.0, b, dtype=np.float32)
    return x


def _loop(x: _Array, n: int, sample_rate: int) -> _Array:
    """The first ``n`` samples of ``x`` (which is longer) with the surplus cross-faded into the
    start, so the sound plays seamlessly in a loop."""
    import numpy as np

    overlap = len(x) - n
    if overlap <= 0:
        return x[:n]
    ramp = np.linspace(0.0, 1.0, overlap, dtype=np.float32)
    head = x[:overlap] * np.sqrt(ramp) + x[n:] * np.sqrt(1.0 - ramp)
    return np.concatenate([head, x[overlap:n]]).astype(np.float32)


def render_sound(prompt: str, *, duration: float, seed: int, fmt: str, loop: bool = False,
                 sample_rate: int | None = None) -> bytes:
    """A sound effect of exactly ``duration`` seconds: noise beds, hits and chirps whose mix
    follows words of ``prompt`` ("rain", "thunder", "beep", ...) and a hash of it and ``seed``.
    ``loop``: the end flows into the start (no fades)."""
    audio_format = check_format(fmt)
    rate = _output_rate(audio_format, sample_rate)
    seconds = _check_seconds("duration", duration)
    n = max(1, round(seconds * rate))
    if loop:
        extra = min(int(0.25 * rate), n // 4)
        samples = _loop(_sfx_samples((prompt, seed), n + extra, rate), n, rate)
    else:
        samples = _fade(_sfx_samples((prompt, seed), n, rate), rate)
    return _encode(samples, rate, audio_format)


# ---------------------------------------------------------------------------
# transforms of existing audio (or a video's soundtrack)
# ---------------------------------------------------------------------------

def _decode_mono(source: bytes, sample_rate: int) -> tuple[_Array | None, float]:
    """The first audio track of ``source`` (audio or video) as mono float samples at
    ``sample_rate``, and its length in seconds. Without an audio track: (None, the container's
    length, or 3 s when it has none)."""
    import av
    import numpy as np

    try:
        container = av.open(io.BytesIO(source), mode="r")
    except Exception as exc:  # FFmpeg raises many kinds
        raise ValueError(f"could not open source media ({type(exc).__name__}: {exc})") from None
    try:
        if not container.streams.audio:
            seconds = container.duration / 1_000_000 if container.duration else 0.0
            return None, seconds if seconds > 0 else NO_AUDIO_SECONDS
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[_Array] = []
        in_samples = 0
        in_rate = 0
        try:
            for frame in container.decode(stream):
                in_samples += frame.samples
                in_rate = frame.sample_rate
                chunks.extend(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)
                              for out in resampler.resample(frame))
        except av.FFmpegError as exc:
            if not in_samples:
                raise ValueError(f"could not decode the source's audio ({exc})") from None
        chunks.extend(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1) for out in resampler.resample(None))
        if not in_samples:
            seconds = container.duration / 1_000_000 if container.duration else 0.0
            return None, seconds if seconds > 0 else NO_AUDIO_SECONDS
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
        return samples, in_samples / in_rate
    finally:
        container.close()


def _fit_length(x: _Array, n: int) -> _Array:
    import numpy as np

    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])


def _speech_band(x: _Array, sample_rate: int, low: float = 100.0, high: float = 7000.0) -> _Array:
    """``x`` band-passed to the speech band: a linear-phase FIR (Blackman-windowed sincs, about
    0.1 s long) applied by FFT overlap-add, block by block, so long inputs stay cheap in memory."""
    import numpy as np

    taps = int(0.045 * sample_rate) * 2 + 1
    k = np.arange(taps) - (taps - 1) / 2
    high = min(high, 0.45 * sample_rate)

    lowpass_high, lowpass_low = (2 * f / sample_rate * np.sinc(2 * f / sample_rate * k) for f in (high, low))
    fir = (lowpass_high - lowpass_low) * np.blackman(taps)
    block = 1 << 16
    size = 1 << (block + taps - 2).bit_length()  # a power of two holding block + taps - 1
    response = np.fft.rfft(fir, size)
    y = np.zeros(len(x) + taps - 1, dtype=np.float32)
    for start in range(0, len(x), block):
        seg = x[start:start + block]
        y[start:start + len(seg) + taps - 1] += np.fft.irfft(np.fft.rfft(seg, size) * response, size)[
            : len(seg) + taps - 1].astype(np.float32)
    delay = (taps - 1) // 2
    return np.asarray(y[delay:delay + len(x)], dtype=np.float32)


def _loudness(x: _Array, sample_rate: int, hop: float = 0.01) -> _Array:
    """Per-sample loudness of ``x`` (RMS over ``hop``-second frames, interpolated), 0..1."""
    import numpy as np

    n = len(x)
    size = max(1, int(hop * sample_rate))
    frames = max(1, n // size)
    rms = np.sqrt(np.mean(x[: frames * size].reshape(frames, size).astype(np.float64) ** 2, axis=1))
    top = float(rms.max()) if rms.size else 0.0
    if top < 1e-6:
        return np.zeros(n, dtype=np.float32)
    centres = (np.arange(frames) + 0.5) * size
    level = np.interp(np.arange(n), centres, rms / top)
    return np.asarray(np.clip((level - 0.08) / 0.5, 0.0, 1.0), dtype=np.float32)  # a gate, then up to full


def transform_audio(source: bytes, *, mode: TransformMode, seed: int, fmt: str, voice: str | None = None,
                    sample_rate: int | None = None, language: str | None = None) -> bytes:
    """New audio exactly as long as ``source`` (audio, or a video's audio track):

    * "isolate": the input band-passed to the speech band (100 Hz to 7 kHz), quiet parts gated;
    * "voice": speech in ``voice`` that follows the input's rhythm (loud where it is loud);
    * "dub": new speech filling the same length, in ``voice`` or, without one, a voice from
      a hash of the input (the speaker's voice, "cloned"); its words depend on ``language``.

    A source without audio lasts its container's length (3 s when unknown); "isolate" of it is
    silence."""
    audio_format = check_format(fmt)
    rate = _output_rate(audio_format, sample_rate)
    if mode not in ("voice", "dub", "isolate"):
        raise ValueError(f"mode must be 'voice', 'dub' or 'isolate'; got {mode!r}")
    data = bytes(source)
    if not data:
        raise ValueError("source audio is empty")
    samples, seconds = _decode_mono(data, rate)
    seconds = min(seconds, MAX_SECONDS)
    n = max(1, round(seconds * rate))
    import numpy as np

    if mode == "isolate":
        if samples is None:
            out = np.zeros(n, dtype=np.float32)
        else:
            x = _fit_length(samples, n)
            out = _normalise(_speech_band(x, rate) * (0.15 + 0.85 * _loudness(x, rate)))
        return _encode(out, rate, audio_format)
    source_key = hashlib.sha256(data).hexdigest()
    voice_name = voice or ("clone:" + source_key if mode == "dub" else f"seed:{seed}")
    rng = _rng("transform", mode, seed, voice_name, source_key, language if mode == "dub" else None)
    target = _Voice.named(voice_name)
    speech = _synthesise(_plan(_syllables(_babble(seconds, rng), seconds, rng), target, rng), n, rate, target, rng)
    if mode == "voice" and samples is not None:
        follow = _loudness(_fit_length(samples, n), rate)
        speech = _normalise(speech * follow)
    return _encode(speech, rate, audio_format)


def _video_activity(video: bytes, n: int, sample_rate: int) -> _Array | None:
    """How busy ``video`` is over time, 0..1 per output sample, from its packet sizes (a big
    packet is a frame that changed a lot); None when it has no video stream."""
    import av
    import numpy as np

    try:
        container = av.open(io.BytesIO(video), mode="r")
    except Exception as exc:  # FFmpeg raises many kinds
        raise ValueError(f"could not open source video ({type(exc).__name__}: {exc})") from None
    times: list[float] = []
    sizes: list[float] = []
    try:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None and packet.time_base is not None:
                times.append(float(packet.pts * packet.time_base))
                sizes.append(float(packet.size))
    except av.FFmpegError:
        pass  # what was read so far is enough to follow
    finally:
        container.close()
    if len(sizes) < 2:
        return None
    order = np.argsort(times)
    ts, ss = np.asarray(times)[order], np.asarray(sizes)[order]
    ts -= ts[0]
    level = np.sqrt(ss / ss.max())
    span = max(float(ts[-1]), 1e-3)
    positions = np.arange(n, dtype=np.float64) / n * span
    return np.asarray(np.interp(positions, ts, level), dtype=np.float32)


def audio_for_video(video: bytes, *, duration: float, seed: int, fmt: str, prompt: str = "",
                    sample_rate: int | None = None) -> bytes:
    """A soundtrack of exactly ``duration`` seconds for ``video``: the sound-effect mix of
    :func:`render_sound`, keyed by the video's hash, ``prompt`` and ``seed``, louder and
    busier where the video changes most (stretched over the duration)."""
    audio_format = check_format(fmt)
    rate = _output_rate(audio_format, sample_rate)
    seconds = _check_seconds("duration", duration)
    data = bytes(video)
    if not data:
        raise ValueError("source video is empty")
    n = max(1, round(seconds * rate))
    activity = _video_activity(data, n, rate)
    key = (prompt or "ambience", seed, hashlib.sha256(data).hexdigest())
    return _encode(_fade(_sfx_samples(key, n, rate, activity), rate), rate, audio_format)


# ---------------------------------------------------------------------------
# probe
# ---------------------------------------------------------------------------

def probe_audio(data: bytes) -> AudioInfo:
    """Decode the first audio track of ``data`` and describe it; ValueError if there is none."""
    import av

    try:
        container = av.open(io.BytesIO(bytes(data)), mode="r")
    except Exception as exc:  # FFmpeg raises many kinds
        raise ValueError(f"not a recognised audio file ({type(exc).__name__}: {exc})") from None
    try:
        if not container.streams.audio:
            raise ValueError("media has no audio stream")
        stream = container.streams.audio[0]
        samples = 0
        rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels
        for frame in container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate
            channels = len(frame.layout.channels)
        return {"duration": round(samples / rate, 6) if rate else 0.0, "samples": samples, "sample_rate": rate,
                "channels": channels, "codec": stream.codec_context.codec.canonical_name,
                "container": container.format.name}
    finally:
        container.close()

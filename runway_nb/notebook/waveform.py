"""Audio outputs as pictures: a peak envelope decoded in the kernel, drawn as inline SVG.

The static output embeds the SVG, so a saved notebook (nbconvert, a reopened notebook without a
kernel) shows what the sound looks like beside its ``<audio>`` player; the live widgets get the
same peaks in a trait and draw the same bars (the browser never parses markup from the kernel).

- :func:`analyze`: encoded audio bytes (mp3, wav, flac, ogg, ...) -> :class:`Waveform`
  (duration in seconds and :data:`BARS` peaks from 0 to 1), decoded with PyAV and numpy.
- :meth:`Waveform.svg` / :func:`waveform_svg`: the picture. A fixed viewBox, one vertical bar
  per peak, ``currentColor`` so it follows the notebook's theme, and an accessible name
  (``<title>`` and ``aria-label``: "Waveform, 4.2 s").
- :func:`audio_duration`: the length in seconds.

PyAV and numpy are imported on first use: loading the magic stays light.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from av.audio.frame import AudioFrame

__all__ = ["BARS", "Waveform", "analyze", "audio_duration", "duration_text", "waveform_svg"]

#: Bars in a waveform (a peak each).
BARS = 120
#: The SVG's drawing box: two units per bar, 48 tall (it is stretched to the player's width).
VIEW_WIDTH = BARS * 2
VIEW_HEIGHT = 48
_BAR_WIDTH = 1.4
_MIN_BAR = 1.0  # silence still draws a line, so the picture is never empty


@dataclass(frozen=True)
class Waveform:
    """What an audio output looks like: its length and its loudest moments, ``BARS`` of them."""

    duration: float
    peaks: tuple[float, ...]

    def svg(self) -> str:
        return waveform_svg(self.peaks, self.duration)

    def label(self) -> str:
        return f"Waveform, {duration_text(self.duration)}"


def duration_text(seconds: float) -> str:
    """``"4.2 s"``, ``"2 min 03.5 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def analyze(data: bytes, bars: int = BARS) -> Waveform:
    """Decode ``data`` (an encoded audio file) into its duration and a ``bars``-peak envelope.

    Raises ``ValueError`` when the bytes hold no decodable audio stream.
    """
    decoded = _decode(data)
    samples = decoded.planes.shape[1]
    duration = samples / decoded.rate if decoded.rate else 0.0
    return Waveform(duration=round(duration, 3), peaks=_envelope(decoded, bars))


def audio_duration(data: bytes) -> float:
    """The length of the audio in ``data``, in seconds (from the decoded samples)."""
    return analyze(data, bars=1).duration


def waveform_svg(peaks: Sequence[float], duration: float) -> str:
    """The peaks as an inline SVG: one centred bar per peak, drawn in ``currentColor``."""
    label = html.escape(f"Waveform, {duration_text(duration)}", quote=True)
    n = max(1, len(peaks))
    step = VIEW_WIDTH / n
    middle = VIEW_HEIGHT / 2
    strokes = []
    for i, peak in enumerate(peaks):
        value = min(1.0, max(0.0, float(peak))) if peak == peak else 0.0  # NaN draws as silence
        height = max(_MIN_BAR, value * (VIEW_HEIGHT - 2))
        x = step * i + step / 2
        strokes.append(f"M{x:.1f} {middle - height / 2:.1f}v{height:.1f}")
    return (f'<svg class="rnb-waveform" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW_WIDTH} {VIEW_HEIGHT}" '
            f'width="100%" height="{VIEW_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="{label}" '
            'style="display:block;max-width:640px;color:inherit">'
            f"<title>{label}</title>"
            f'<path d="{"".join(strokes)}" stroke="currentColor" stroke-width="{_BAR_WIDTH * n / BARS:.2f}" '
            'fill="none" opacity="0.8"/></svg>')


# ---------------------------------------------------------------------- decoding
# Full scale of the sample formats read as they are; u8 is centred on 128. Anything else
# (rare codecs' formats) is converted to planar float first.
_FULL_SCALE = {"s16": 32768.0, "s16p": 32768.0, "s32": 2147483648.0, "s32p": 2147483648.0, "u8": 128.0,
               "u8p": 128.0, "flt": 1.0, "fltp": 1.0, "dbl": 1.0, "dblp": 1.0}


@dataclass(frozen=True)
class _Decoded:
    planes: npt.NDArray[Any]  # (channels, samples) in the decoder's own sample type
    format: str
    rate: int


def _decode(data: bytes) -> _Decoded:
    """Every sample of the first audio stream, one row per channel, without converting them.

    The peaks are taken in the samples' own type (a max and a min per bar) and scaled once,
    which keeps a 10 s file well under 50 ms.
    """
    import av
    import numpy as np

    chunks: list[npt.NDArray[Any]] = []
    rate = 0
    fmt = ""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ValueError("no audio stream in these bytes")
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            resampler: av.AudioResampler | None = None
            for frame in container.decode(stream):
                rate = rate or int(frame.sample_rate)
                name = frame.format.name
                if resampler is None and name in _FULL_SCALE and fmt in ("", name):
                    fmt = name
                    chunks.append(_planes(frame))
                    continue
                if resampler is None:  # an unusual (or changing) format: planar float from here on
                    resampler = av.AudioResampler(format="fltp")
                    chunks = [np.abs(_scaled(c, fmt)).max(axis=0, keepdims=True) for c in chunks]
                    fmt = "fltp"
                chunks.extend(_mono(f) for f in resampler.resample(frame))
            if resampler is not None:
                chunks.extend(_mono(f) for f in resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise ValueError(f"not decodable audio: {exc}") from exc
    if not chunks:
        return _Decoded(np.zeros((1, 0), dtype=np.float32), fmt or "fltp", rate)
    rows = min(c.shape[0] for c in chunks)
    return _Decoded(np.concatenate([c[:rows] for c in chunks], axis=1), fmt, rate)


def _planes(frame: AudioFrame) -> npt.NDArray[Any]:
    """A decoded frame as (channels, samples): packed formats come as one interleaved row."""
    import numpy as np

    array: npt.NDArray[Any] = np.asarray(frame.to_ndarray())
    if frame.format.is_planar:
        return array
    channels = max(1, len(frame.layout.channels))
    rows: npt.NDArray[Any] = array.reshape(-1, channels).T
    return rows


def _mono(frame: AudioFrame) -> npt.NDArray[Any]:
    import numpy as np

    loudest: npt.NDArray[Any] = np.abs(_planes(frame)).max(axis=0, keepdims=True)
    return loudest


def _scaled(planes: npt.NDArray[Any], fmt: str) -> npt.NDArray[np.float32]:
    import numpy as np

    values = planes.astype(np.float32)
    if fmt.startswith("u8"):
        values -= 128.0
    return values / _FULL_SCALE.get(fmt, 1.0)


def _envelope(decoded: _Decoded, bars: int) -> tuple[float, ...]:
    """The loudest |sample| of any channel in each of ``bars`` equal slices, 0..1."""
    import numpy as np

    planes = decoded.planes
    count = planes.shape[1]
    if count == 0 or bars <= 0:
        return tuple(0.0 for _ in range(max(0, bars)))
    edges = np.linspace(0, count, bars + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], count - 1)
    high = np.maximum.reduceat(planes, starts, axis=1).astype(np.float64)
    low = np.minimum.reduceat(planes, starts, axis=1).astype(np.float64)
    if decoded.format.startswith("u8"):
        high, low = high - 128.0, low - 128.0
    peaks = np.maximum(high, -low).max(axis=0) / _FULL_SCALE.get(decoded.format, 1.0)
    peaks[edges[1:] <= edges[:-1]] = 0.0  # fewer samples than bars: the empty slices are silent
    return tuple(round(float(min(1.0, max(0.0, p))), 3) for p in peaks)

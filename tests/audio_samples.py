"""Real encoded audio for tests, made with PyAV: a tone that swells from silence to ``peak``."""

from __future__ import annotations

import io

import av
import numpy as np

#: container format -> encoder
CODECS = {"mp3": "libmp3lame", "wav": "pcm_s16le", "flac": "flac"}


def tone(fmt: str = "wav", seconds: float = 2.0, *, rate: int = 44100, channels: int = 2, freq: float = 440.0,
         peak: float = 0.5, codec: str | None = None, silent_channel: bool = False) -> bytes:
    """``seconds`` of a sine at ``freq`` whose loudness rises linearly from 0 to ``peak``."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec or CODECS[fmt], rate=rate)
        stream.layout = "stereo" if channels == 2 else "mono"
        n = int(seconds * rate)
        t = np.arange(n) / rate
        wave = peak * np.linspace(0.0, 1.0, n) * np.sin(2 * np.pi * freq * t)
        sample_format = stream.codec_context.format.name
        if sample_format.startswith("s16"):
            samples = np.round(wave * 32767).astype(np.int16)
        elif sample_format.startswith("s32"):
            samples = np.round(wave * 2147483647).astype(np.int32)
        elif sample_format.startswith("u8"):
            samples = np.round(wave * 127 + 128).astype(np.uint8)
        else:
            samples = wave.astype(np.float32)
        rows = np.stack([samples] * channels)
        if silent_channel:
            rows[1:] = np.zeros_like(samples) if not sample_format.startswith("u8") else 128
        data = rows if sample_format.endswith("p") else rows.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=sample_format,
                                           layout=stream.layout.name)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def silence(fmt: str = "wav", seconds: float = 1.0) -> bytes:
    return tone(fmt, seconds, peak=0.0)

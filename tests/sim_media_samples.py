"""Sample media the simulator's media tests feed in (made with PyAV on the spot)."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np


def video_with_sound(seconds: float, rate: int = 48000) -> bytes:
    """An MP4 with an H.264 picture and an AAC tone of ``seconds``."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as c:
        v = c.add_stream("libx264", rate=24, options={"preset": "ultrafast"})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("aac", rate=rate)
        a.codec_context.layout = "mono"
        for i in range(round(seconds * 24)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 5 % 255, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 24)
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        t = np.arange(round(seconds * rate)) / rate
        tone = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for p in a.encode(frame):
            c.mux(p)
        for p in a.encode(None):
            c.mux(p)
    return buf.getvalue()

"""A rendered video in the format its request asks for (the formats: ``sim/formats.py``).

Every video the simulator makes is first an SDR H.264 MP4 (BT.709; ``video_to_hdr`` starts from
its input video); :func:`deliver_video` turns it into the file asked for:

* ``mp4``: as it is;
* ``prores``: ProRes in a MOV (``proresProfile``, default 4444), 10-bit, tagged BT.709;
* ``png_sequence``: a zip of 8-bit PNGs, ``frame_0001.png`` ...;
* ``hdr10`` / ``hlg``: 10-bit BT.2020 PQ / HLG MP4s (:func:`~runway_nb.sim.media.render_hdr_video`);
* ``hdr_prores``: a BT.2020 PQ ProRes MOV (default 422 HQ);
* ``hdr_exr_sequence``: a zip of half-float OpenEXR frames holding linear BT.2020 display light,
  1.0 = 100 nits (SDR white at 2.03, i.e. 203 nits), ``frame_0001.exr`` ..., with
  ``colorimetry.json`` and ``provenance.json`` sidecars and ``audio.wav`` when there is sound;
* ``hdr_exr_acescg_sequence_1_3`` / ``_2_0``: the same delivery in ACEScg (AP1 primaries, linear,
  scene-referred), ``frame.0001.exr`` .... A stand-in: Runway inverts the ACES 1.3 / 2.0 SDR
  Output Transform; here the SDR picture's display light (BT.1886 inverse) is only rotated to
  AP1 with SDR white at 1.0, so both versions hold the same pixels and only ``provenance.json``
  names the version.

Zips are byte-identical for the same input (fixed entry times). PIL, PyAV and numpy load lazily.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from runway_nb.sim import media
from runway_nb.sim.formats import VideoFormat

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame
    from numpy.typing import NDArray

__all__ = ["EXR_NITS_PER_UNIT", "PRORES_DEFAULT", "PRORES_HDR_DEFAULT", "PRORES_HDR_PROFILES", "deliver_video"]

PRORES_DEFAULT = "4444"  # Runway's default ProRes profile for ``prores``
PRORES_HDR_DEFAULT = "422 HQ"  # ... and for ``hdr_prores``
PRORES_HDR_PROFILES = ("422", "422 HQ", "4444")  # the tiers Runway offers for HDR ProRes
EXR_NITS_PER_UNIT = 100.0  # hdr_exr_sequence: 1.0 = 100 nits
# linear BT.709 RGB -> linear ACEScg (AP1, D60 white; Bradford-adapted from D65)
_BT709_TO_AP1 = ((0.613097, 0.339523, 0.047379), (0.070194, 0.916354, 0.013452), (0.020616, 0.109570, 0.869815))
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same frames give the same zip


def deliver_video(video: bytes, fmt: VideoFormat, *, prores_profile: str | None = None) -> bytes:
    """``video`` (an SDR MP4, or any video FFmpeg reads) as ``fmt`` (see the module docstring).
    ``prores_profile`` is Runway's ``proresProfile`` ("422 HQ", "4444", ...) for the ProRes formats."""
    if fmt == "mp4":
        return video
    if fmt == "prores":
        return _sdr_prores(video, prores_profile or PRORES_DEFAULT)
    if fmt == "png_sequence":
        return _png_sequence(video)
    if fmt in ("hdr10", "hlg"):
        return media.render_hdr_video(video, transfer="pq" if fmt == "hdr10" else "hlg")
    if fmt == "hdr_prores":
        profile = prores_profile if prores_profile in PRORES_HDR_PROFILES else PRORES_HDR_DEFAULT
        return media.render_hdr_video(video, prores_profile=profile)
    if fmt == "hdr_exr_sequence":
        return _exr_sequence(video, aces_version=None)
    if fmt == "hdr_exr_acescg_sequence_1_3":
        return _exr_sequence(video, aces_version="1.3")
    if fmt == "hdr_exr_acescg_sequence_2_0":
        return _exr_sequence(video, aces_version="2.0")
    raise ValueError(f"unknown video format {fmt!r}")  # pragma: no cover - VideoFormat lists them all


# ---------------------------------------------------------------------------
# ProRes (SDR)
# ---------------------------------------------------------------------------

def _sdr_prores(video: bytes, profile: str) -> bytes:
    """``video`` as ProRes ``profile`` in a MOV: BT.709, limited range, 10-bit 4:2:2 or 4:4:4, its
    sound (when there is one) copied."""
    import av
    from av.video.stream import VideoStream

    if profile not in media.PRORES_PROFILES:
        raise ValueError(f"prores_profile must be one of {', '.join(media.PRORES_PROFILES)}; got {profile!r}")
    encoder_profile, pix_fmt = media.PRORES_PROFILES[profile]
    rate, width, height = media.video_rate_and_size(video)
    w, h = width - width % 2, height - height % 2  # 4:2:2 needs an even width

    def to_prores(frame: VideoFrame) -> VideoFrame:
        out = frame.reformat(width=w, height=h, format=pix_fmt, threads=1)
        out.color_primaries = out.color_trc = 1  # ProRes writes the frame's tags into each frame header
        return out

    buf = io.BytesIO()
    container = av.open(buf, mode="w", format="mov", options={"fflags": "+bitexact"})
    try:
        stream = container.add_stream("prores_ks", rate=rate, options={"profile": encoder_profile})
        assert isinstance(stream, VideoStream)  # a video encoder's stream
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        cc = stream.codec_context
        cc.time_base = 1 / rate
        cc.thread_count = 2  # fixed: the bytes must not depend on the machine
        cc.color_range = 1  # MPEG / limited
        cc.color_primaries = cc.color_trc = cc.colorspace = 1  # BT.709
        mux_audio = media.copy_audio_track(video, container)
        media.encode_frames(container, stream, map(to_prores, media.video_frames(video)))
        mux_audio()
    finally:
        container.close()
    return buf.getvalue()


# ---------------------------------------------------------------------------
# image sequences in a zip
# ---------------------------------------------------------------------------

def _zip(entries: Iterator[tuple[str, bytes]]) -> bytes:
    """A zip of ``entries`` (already compressed media is stored, text is deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()


def _png_sequence(video: bytes) -> bytes:
    from PIL import Image

    def frames() -> Iterator[tuple[str, bytes]]:
        for i, frame in enumerate(media.video_frames(video), start=1):
            out = io.BytesIO()
            Image.fromarray(frame.to_ndarray(format="rgb24")).save(out, format="PNG", compress_level=1)
            yield f"frame_{i:04d}.png", out.getvalue()

    return _zip(frames())


def _linear_rgb(frame: VideoFrame, matrix: tuple[tuple[float, float, float], ...], scale: float) -> NDArray[np.float32]:
    """(height, width, 3) linear light of an SDR frame (BT.1886 display, SDR white = ``scale``)
    with its BT.709 primaries rotated by ``matrix``."""
    import numpy as np

    lut = ((np.arange(256, dtype=np.float64) / 255.0) ** 2.4 * scale).astype(np.float32)
    rgb = lut[frame.to_ndarray(format="rgb24")]
    out: NDArray[np.float32] = rgb @ np.asarray(matrix, dtype=np.float32).T
    return out


def _exr_frame(encoder: VideoCodecContext, rgb: NDArray[np.float32]) -> bytes:
    """One half-float OpenEXR file of ``rgb`` (height, width, 3)."""
    import av
    import numpy as np

    height, width, _ = rgb.shape
    frame = av.VideoFrame(width, height, "gbrpf32le")
    for plane, channel in zip(frame.planes, (1, 2, 0), strict=True):  # gbrp: planes G, B, R
        rows: NDArray[np.float32] = np.frombuffer(plane, dtype=np.float32)  # type: ignore[call-overload]  # a plane is a buffer
        rows.reshape(height, -1)[:, :width] = rgb[:, :, channel]
    frame.pts = 0
    packets = encoder.encode(frame)
    return b"".join(bytes(p) for p in packets)


def _exr_sequence(video: bytes, *, aces_version: str | None) -> bytes:
    """``video`` as a zip of half-float EXR frames, linear BT.2020 display light (1.0 = 100 nits)
    or, with ``aces_version``, ACEScg; with colorimetry and provenance sidecars and its sound."""
    import av

    rate, width, height = media.video_rate_and_size(video)
    if aces_version is None:
        matrix, scale, naming = media.BT709_TO_BT2020, media.SDR_WHITE_NITS / EXR_NITS_PER_UNIT, "frame_{:04d}.exr"
        colorimetry = {"primaries": "BT.2020", "whitePoint": "D65", "transfer": "linear",
                       "reference": "display", "nitsPerUnit": EXR_NITS_PER_UNIT, "sdrWhite": scale}
    else:
        matrix, scale, naming = _BT709_TO_AP1, 1.0, "frame.{:04d}.exr"
        colorimetry = {"colorspace": "ACEScg", "primaries": "ACES AP1", "whitePoint": "ACES (D60)",
                       "transfer": "linear", "reference": "scene", "acesVersion": aces_version}
    provenance = {
        "generator": "runway-nb simulator",
        "upconvert": "SDR (BT.709, BT.1886) to linear light, not a model's HDR reconstruction",
        "acesOutputTransform": (f"approximated: display gamma inverted, primaries rotated to AP1 (ACES {aces_version} "
                                "inverse Output Transform not applied)") if aces_version else None,
        "frameRate": str(rate), "width": width, "height": height,
    }

    def entries() -> Iterator[tuple[str, bytes]]:
        from av.video.codeccontext import VideoCodecContext

        encoder = av.CodecContext.create("exr", "w")
        assert isinstance(encoder, VideoCodecContext)  # an image encoder's context
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "gbrpf32le"
        encoder.time_base = 1 / rate
        encoder.options = {"format": "half", "compression": "zip1"}
        encoder.open()
        for i, frame in enumerate(media.video_frames(video), start=1):
            yield naming.format(i), _exr_frame(encoder, _linear_rgb(frame, matrix, scale))
        yield "colorimetry.json", json.dumps(colorimetry, indent=2).encode()
        yield "provenance.json", json.dumps(provenance, indent=2).encode()
        sound = _wav_of(video)
        if sound is not None:
            yield "audio.wav", sound

    return _zip(entries())


def _wav_of(video: bytes) -> bytes | None:
    """``video``'s first audio track as 16-bit PCM WAV (its rate and channels), or None without one."""
    import av
    from av.audio.stream import AudioStream

    with av.open(io.BytesIO(video), mode="r") as src:
        if not src.streams.audio:
            return None
        in_audio = src.streams.audio[0]
        layout = "mono" if in_audio.codec_context.channels == 1 else "stereo"
        rate = in_audio.codec_context.sample_rate or 48000
        buf = io.BytesIO()
        with av.open(buf, mode="w", format="wav", options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream("pcm_s16le", rate=rate)
            assert isinstance(stream, AudioStream)  # an audio encoder's stream
            stream.codec_context.layout = layout
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            decoded = 0
            try:
                for frame in src.decode(in_audio):
                    for chunk in resampler.resample(frame):
                        decoded += chunk.samples
                        for packet in stream.encode(chunk):
                            out.mux(packet)
            except av.FFmpegError:
                if not decoded:
                    return None
            for chunk in resampler.resample(None):
                for packet in stream.encode(chunk):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return buf.getvalue() if decoded else None

"""Which file format a task's outputs come in: the format a request asks for, its extension, its MIME type.

A request names its format in ``outputFormat`` (or ``format`` on some audio models); without one,
each kind has Runway's default: PNG images, H.264 MP4 videos, MP3 audio, and an HDR10 MP4 for
``video_to_hdr``. What each video format is, as Runway describes it (SDK 5.24), and what the
simulator makes of it (``sim/delivery.py`` makes the files):

* ``mp4`` -> .mp4: H.264 8-bit BT.709 (as Runway);
* ``prores`` -> .mov: ProRes (``proresProfile``, default 4444), 10-bit, BT.709 (as Runway);
* ``png_sequence`` -> .zip: one 8-bit PNG per frame, ``frame_0001.png`` ... (as Runway);
* ``hdr10`` / ``hlg`` -> .mp4: 10-bit BT.2020 + PQ / HLG; H.264 High 10 where Runway uses HEVC Main 10;
* ``hdr_prores`` -> .mov: ProRes (default 422 HQ), 10-bit, BT.2020 + PQ (as Runway);
* ``hdr_exr_sequence`` -> .zip: half-float OpenEXR frames, linear BT.2020 display light, 1.0 = 100
  nits, with ``colorimetry.json`` (as Runway);
* ``hdr_exr_acescg_sequence_1_3`` / ``_2_0`` -> .zip: half-float OpenEXR in ACEScg (AP1, linear),
  ``frame.0001.exr`` ...; a stand-in: the SDR picture is brought to linear light by inverting the
  display's gamma, not by the ACES 1.3 / 2.0 inverse Output Transform, so both versions hold the
  same pixels (their ``provenance.json`` names the version).

docs/sim-formats.md says the same for users.

Image formats: ``png``, ``jpeg`` (``.jpg``), ``webp``. ``image_upscale`` has no format field: its
output keeps its input's kind (a JPEG stays a JPEG, everything else becomes a PNG).
Audio formats: ``mp3``, ``wav``, ``flac``, ``ogg_opus`` (``.ogg``).

Nothing here imports PIL, PyAV or numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["AUDIO_EXTENSIONS", "CONTENT_TYPES", "HDR_DEFAULT_FORMAT", "IMAGE_FORMATS", "OUTPUT_EXTENSIONS",
           "VIDEO_FORMATS", "VideoFormat", "extension", "is_jpeg", "requested_format", "video_format"]

#: Output file extension of each audio format Runway returns.
AUDIO_EXTENSIONS = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg_opus": "ogg"}
IMAGE_FORMATS = {"png": "png", "jpeg": "jpg", "webp": "webp"}

VideoFormat = Literal["mp4", "prores", "png_sequence", "hdr10", "hlg", "hdr_prores", "hdr_exr_sequence",
                      "hdr_exr_acescg_sequence_1_3", "hdr_exr_acescg_sequence_2_0"]
#: Each video format the simulator makes, and its file extension.
VIDEO_FORMATS: dict[VideoFormat, str] = {
    "mp4": "mp4", "prores": "mov", "png_sequence": "zip", "hdr10": "mp4", "hlg": "mp4", "hdr_prores": "mov",
    "hdr_exr_sequence": "zip", "hdr_exr_acescg_sequence_1_3": "zip", "hdr_exr_acescg_sequence_2_0": "zip",
}
_VIDEO_EXTENSIONS: dict[str, str] = {str(name): ext for name, ext in VIDEO_FORMATS.items()}
HDR_DEFAULT_FORMAT: VideoFormat = "hdr10"  # video_to_hdr without an outputFormat

#: MIME type of each output extension.
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "mp4": "video/mp4",
                 "mov": "video/quicktime", "zip": "application/zip", "mp3": "audio/mpeg", "wav": "audio/wav",
                 "flac": "audio/flac", "ogg": "audio/ogg"}
#: The output extensions, as a regex alternation for routes and output URLs.
OUTPUT_EXTENSIONS = "|".join(CONTENT_TYPES)

_FORMAT_FIELDS = ("outputFormat", "format")
_JPEG_MAGIC = b"\xff\xd8\xff"


def is_jpeg(data: bytes | None) -> bool:
    """Whether ``data`` starts as a JPEG file does."""
    return data is not None and data[:3] == _JPEG_MAGIC


def video_format(name: str | None, *, endpoint: str = "") -> VideoFormat:
    """The video format called ``name`` (None: the endpoint's default); ValueError for an unknown one."""
    if name is None:
        return HDR_DEFAULT_FORMAT if endpoint == "video_to_hdr" else "mp4"
    for known in VIDEO_FORMATS:
        if name == known:
            return known
    raise ValueError(f"video format must be one of {', '.join(VIDEO_FORMATS)}; got {name!r}")


def requested_format(endpoint: str, body: Mapping[str, object], kind: str, *,
                     source_image: bytes | None = None) -> str | None:
    """The format ``body`` asks its ``kind`` of output to come in, as the simulator names it
    (None: the kind's default). Audio formats are not checked here (``sim/audio.py`` does)."""
    asked = next((body[f] for f in _FORMAT_FIELDS if isinstance(body.get(f), str)), None)
    if kind == "audio":
        return str(asked) if asked is not None else None
    if kind == "image":
        if endpoint == "image_upscale":  # no format field: the output keeps a JPEG input's kind
            return "jpeg" if is_jpeg(source_image) else "png"
        return str(asked) if asked in IMAGE_FORMATS else None
    if asked in VIDEO_FORMATS:
        return str(asked)
    return HDR_DEFAULT_FORMAT if endpoint == "video_to_hdr" else None


def extension(kind: str, fmt: str | None) -> str:
    """The file extension (no dot) of a ``kind`` output in format ``fmt`` (None: the kind's default)."""
    if kind == "audio":
        return AUDIO_EXTENSIONS.get(fmt or "mp3", "mp3")
    if kind == "image":
        return IMAGE_FORMATS.get(fmt or "png", "png")
    return _VIDEO_EXTENSIONS.get(fmt or "mp4", "mp4")

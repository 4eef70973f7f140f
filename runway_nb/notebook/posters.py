"""Posters: small previews embedded in static output, so a notebook shows its results without its files.

A saved notebook refers to each output by its local file (``runway_outputs/...``) or its URL; on
GitHub, nbviewer, or another machine neither may load. A poster is a ``data:`` URI small enough
to embed (at most :data:`MAX_URI_CHARS` characters, under the promised 30 KB per output):

- video: a JPEG of the frame about 10 % in (the first frames are often a fade or a title),
  decoded with PyAV, encoded with Pillow;
- image: the image downscaled, JPEG, or PNG with a palette when it has transparency (the
  static output shows it, linking to the full file: see ``_static._image_player``);
- audio has no poster here: its picture is the waveform SVG (:mod:`runway_nb.notebook.waveform`).

Each poster is shrunk (quality first, then size) until it fits the budget. Posters are cached
per file (resolved path + mtime + size) so re-renders do not decode again, and per output URL
when its bytes were already at hand (:func:`remember`): nothing here downloads.

Pure: bytes or a path in, a :class:`Poster` out; no widget or client imports. PyAV and Pillow are
imported on first use, so loading the magic stays light.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["GRID_SIDE", "MAX_URI_CHARS", "SIDE", "Poster", "forget", "known", "make", "of_file", "of_file_async",
           "remember"]

#: The widest a poster is, in pixels; it fits in SIDE x SIDE * 3/4, the box players are drawn in
#: (640 x 480): an image's poster is what the static output shows inline.
SIDE = 640
#: The widest a poster in a grid cell is (a cell is a fraction of the notebook's width).
GRID_SIDE = 320
#: The most characters a poster's data: URI may have (30 KB promised; a margin for the markup).
MAX_URI_CHARS = 24_000
#: Largest file read for a poster (a bigger one just plays from its file).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Where in a video its poster frame is taken (a fraction of its duration).
FRAME_AT = 0.1
#: Frames decoded at most after seeking, to find the poster frame.
_MAX_FRAMES = 240
_MAX_ENTRIES = 256
# Tried in turn until the poster fits MAX_URI_CHARS: JPEG quality at each size factor.
_QUALITIES = (72, 58, 45)
_SHRINK = (1.0, 0.8, 0.64, 0.5, 0.4, 0.3)


@dataclass(frozen=True)
class Poster:
    """A preview as a data: URI, and the size of the media it stands for (for layout)."""

    uri: str
    width: int
    height: int


_CACHE: OrderedDict[tuple[str, ...], Poster | None] = OrderedDict()
_LOCK = threading.Lock()


def _cached(key: tuple[str, ...]) -> tuple[bool, Poster | None]:
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return True, _CACHE[key]
    return False, None


def _store(key: tuple[str, ...], poster: Poster | None) -> None:
    with _LOCK:
        _CACHE[key] = poster
        _CACHE.move_to_end(key)
        while len(_CACHE) > _MAX_ENTRIES:
            _CACHE.popitem(last=False)


def forget() -> None:
    """Drop every cached poster (tests)."""
    with _LOCK:
        _CACHE.clear()


# ---------------------------------------------------------------------- making one
def make(source: bytes | str | os.PathLike[str], kind: str, side: int = SIDE) -> Poster | None:
    """The poster of ``source`` (encoded bytes or a file path) of ``kind`` ("video" or "image");
    None for audio, or when the media cannot be decoded."""
    try:
        picture = _video_frame(source) if kind == "video" else _image(source) if kind == "image" else None
    except Exception:  # a truncated, unsupported or hostile file: no poster, the player still plays
        return None
    if picture is None:
        return None
    return _encode(picture, side)


def _open(source: bytes | str | os.PathLike[str]) -> io.BytesIO | str:
    return io.BytesIO(source) if isinstance(source, bytes) else str(source)


def _video_frame(source: bytes | str | os.PathLike[str]) -> Image | None:
    import av

    with av.open(_open(source)) as container:
        stream = container.streams.video[0]
        seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / 1_000_000 if container.duration else 0.0)
        target = seconds * FRAME_AT
        if target > 0 and stream.time_base:
            # to the key frame before the target, then decode forward (a seek never lands after it)
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
        picked = None
        for count, frame in enumerate(container.decode(stream)):
            picked = frame
            if frame.time is None or frame.time >= target or count >= _MAX_FRAMES:
                break
        return picked.to_image() if picked is not None else None


def _image(source: bytes | str | os.PathLike[str]) -> Image:
    from PIL import Image as PILImage

    img = PILImage.open(_open(source))
    img.draft("RGB", (SIDE, SIDE))  # JPEG decodes at a fraction of its size: much faster for big ones
    img.load()
    return img


def _has_alpha(img: Image) -> bool:
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        low, _high = img.convert("RGBA").getchannel("A").getextrema()
        return isinstance(low, (int, float)) and low < 255
    return False


def _encode(img: Image, side: int) -> Poster | None:
    from PIL import Image as PILImage

    width, height = img.size
    if width < 1 or height < 1:
        return None
    alpha = _has_alpha(img)
    base = img.convert("RGBA" if alpha else "RGB")
    for factor in _SHRINK:
        scale = min(1.0, side * factor / width, side * 3 / 4 * factor / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = base.resize(size, PILImage.Resampling.LANCZOS) if size != base.size else base
        for quality in _QUALITIES if not alpha else (0,):
            out = io.BytesIO()
            if alpha:  # a palette PNG keeps the transparency and stays small
                small.quantize(256, method=PILImage.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
                mime = "image/png"
            else:
                small.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
                mime = "image/jpeg"
            uri = f"data:{mime};base64," + base64.b64encode(out.getvalue()).decode("ascii")
            if len(uri) <= MAX_URI_CHARS:
                return Poster(uri, width, height)
    return None


# ---------------------------------------------------------------------- cached
def _file_key(path: str | os.PathLike[str], kind: str, side: int) -> tuple[str, ...] | None:
    try:
        p = Path(path).resolve()
        st = p.stat()
    except (OSError, RuntimeError, ValueError):
        return None
    if not p.is_file() or st.st_size > MAX_FILE_BYTES:
        return None
    return ("file", str(p), str(st.st_mtime_ns), str(st.st_size), kind, str(side))


def of_file(path: str | os.PathLike[str], kind: str, side: int = SIDE) -> Poster | None:
    """The poster of a saved file, made once per version of the file (path, mtime, size)."""
    if kind not in ("video", "image"):
        return None
    key = _file_key(path, kind, side)
    if key is None:
        return None
    hit, poster = _cached(key)
    if hit:
        return poster
    poster = make(key[1], kind, side)
    _store(key, poster)
    return poster


async def of_file_async(path: str | os.PathLike[str], kind: str, side: int = SIDE) -> Poster | None:
    """:func:`of_file` in a thread, for callers on the event loop (the result is cached for the
    static renderer, which then finds it without decoding)."""
    return await asyncio.to_thread(of_file, path, kind, side)


def remember(url: str, data: bytes, kind: str, side: int = SIDE) -> Poster | None:
    """Make and keep the poster of an output whose bytes were fetched anyway (the widgets relay
    outputs a browser cannot load): the static output then embeds it without a download.
    ``kind``: "video", "image", or the bytes' MIME type ("video/mp4")."""
    kind = kind.split("/", 1)[0]
    if kind not in ("video", "image") or not url or not data:
        return None
    key = ("url", url, kind, str(side))
    hit, poster = _cached(key)
    if hit and poster is not None:
        return poster
    poster = make(data, kind, side)
    if poster is not None:
        _store(key, poster)
    return poster


def known(kind: str, *, url: str | None = None, file: str | os.PathLike[str] | None = None,
          side: int = SIDE, read_file: bool = True) -> Poster | None:
    """The poster of an output: from its saved file (made now unless ``read_file`` is False and it
    was not made yet), else one remembered for its URL; None otherwise (nothing is downloaded)."""
    if file is not None and str(file):
        key = _file_key(file, kind, side)
        if key is not None:
            hit, poster = _cached(key)
            if hit:
                return poster
            if read_file:
                return of_file(file, kind, side)
    if url:
        for size in dict.fromkeys((side, SIDE, GRID_SIDE)):
            hit, poster = _cached(("url", url, kind, str(size)))
            if poster is not None:
                return poster
    return None

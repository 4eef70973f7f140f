"""Which URLs may reach a ``src``/``href``, and what kind of media they point at.

The same rules are enforced again in the browser (``safeUrl`` in ``js/common.js``):

- ``http://`` / ``https://`` URLs with a host;
- relative paths of saved files (no scheme, no leading ``/``, no ``:`` or ``\\``);
- ``data:image/<raster>``, ``data:video/...`` and ``data:audio/...`` (never ``data:image/svg+xml``,
  never ``data:text/html``);
- ``blob:`` URLs (only the browser makes those).

Anything else (``javascript:``, ``vbscript:``, ``file:``, protocol-relative ``//host``, URLs
with whitespace or control characters) is dropped before it is put in a trait or in HTML.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path, PurePath
from urllib.parse import quote, urlsplit

__all__ = ["AUDIO_ENDPOINTS", "endpoint_kind", "file_url", "is_remote", "media_kind", "safe_url"]

_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\\]")
_DATA = re.compile(r"^data:(image/(png|jpeg|jpg|gif|webp|avif|bmp)|video/(mp4|webm|ogg|quicktime)"
                   r"|audio/(mpeg|mp3|wav|wave|x-wav|flac|x-flac|ogg|opus|webm|aac|mp4))[;,]", re.I)
_BLOB = re.compile(r"^blob:(https?://[^\s/?#]+|null)/", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.I)
_HOST = re.compile(r"^[^\s/?#@]+(@[^\s/?#]+)?$")

VIDEO_EXT = (".mp4", ".webm", ".mov", ".m4v", ".ogv")
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".bmp")
AUDIO_EXT = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac")
IMAGE_ENDPOINTS = ("text_to_image",)
#: Audio operations, for when the catalog does not know an endpoint (yet): the catalog's
#: ``output`` kind decides whenever it has the model.
AUDIO_ENDPOINTS = ("text_to_speech", "sound_effect", "speech_to_speech", "voice_dubbing", "voice_isolation",
                   "video_to_audio", "generate/audio")


def safe_url(url: object) -> str | None:
    """``url`` if it may be used as a ``src``/``href``, else None."""
    if not isinstance(url, str) or not url or len(url) > 8_000_000:
        return None
    if _BAD_CHARS.search(url):
        return None
    lower = url[:16].lower()
    if lower.startswith(("http://", "https://")):
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        return url if parts.netloc and _HOST.match(parts.netloc) else None
    if _DATA.match(url) or _BLOB.match(url):
        return url
    if _SCHEME.match(url) or url.startswith("/") or ":" in url:
        return None
    return url


def is_remote(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def file_url(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str | None:
    """A saved file as a relative, percent-encoded URL (``runway_outputs/abc_0.mp4``).

    Relative to ``base`` (default: the current directory, which is the notebook's folder in a
    Jupyter kernel). None when no relative path exists (another drive) or it is unsafe.
    """
    p = Path(path)
    if p.is_absolute():
        try:
            rel = os.path.relpath(p, Path(base) if base is not None else Path.cwd())
        except ValueError:
            return None
    else:
        rel = str(p)
    posix = PurePath(rel).as_posix()
    try:
        quoted = quote(posix, safe="/._-~")
    except UnicodeEncodeError:  # a name holding a lone surrogate (not valid Unicode text)
        return None
    return safe_url(quoted)


def media_kind(url: str | None, endpoint: str | None = None, model: str | None = None) -> str:
    """``"video"``, ``"image"`` or ``"audio"``: from the file extension (or a data: URI's type),
    else the catalog's output kind of ``endpoint``/``model``, else from the endpoint's name."""
    text = (url or "").lower()
    if text.startswith("data:"):
        for kind in ("video", "audio"):
            if text.startswith(f"data:{kind}/"):
                return kind
        return "image"
    path = urlsplit(text).path if is_remote(text) else text.split("?")[0].split("#")[0]
    if path.endswith(VIDEO_EXT):
        return "video"
    if path.endswith(IMAGE_EXT):
        return "image"
    if path.endswith(AUDIO_EXT):
        return "audio"
    return endpoint_kind(endpoint, model)


@functools.lru_cache(maxsize=256)
def endpoint_kind(endpoint: str | None, model: str | None = None) -> str:
    """What ``endpoint`` makes: the catalog's output kind (of ``model``, else of any of its models),
    else ``"audio"`` for an audio operation, ``"image"`` for an image one, ``"video"`` otherwise."""
    if endpoint:
        from runway_nb.api import catalog

        kinds = {info.output for info in catalog.models() if info.endpoint == endpoint
                 and (model is None or info.model == model)}
        if len(kinds) == 1:
            kind = kinds.pop()
            if kind in ("image", "video", "audio"):
                return kind
    if endpoint in AUDIO_ENDPOINTS:
        return "audio"
    return "image" if endpoint in IMAGE_ENDPOINTS else "video"

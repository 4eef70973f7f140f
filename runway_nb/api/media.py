"""Turn what a user has (a path, bytes, a PIL image, a URL) into a URI Runway accepts.

Small files become ``data:`` URIs (Runway caps the encoded string at 5,242,880 characters);
bigger ones go through the ephemeral upload flow and come back as ``runway://`` URIs.

A local path is read through the ``read_file`` function the caller passes (the client's
:func:`runway_nb.client.local_files.read_local_file`), so this layer does no I/O itself.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeGuard

from runway_nb.errors import ValidationError

DATA_URI_LIMIT = 5_242_880
UPLOAD_MIN_BYTES = 512
UPLOAD_MAX_BYTES = 200 * 1024 * 1024
ALLOWED_FORMS = ("an https:// URL, a runway:// upload URI, a data: URI, a local file path, "
                 "bytes, or a PIL image")

_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
        "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
        "audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/flac": ".flac", "audio/ogg": ".ogg", "audio/mp4": ".m4a"}


#: Reads a local file: its bytes, or None when there is no such file.
ReadFile = Callable[[Path], bytes | None]


class _PilImage(Protocol):
    """The part of ``PIL.Image.Image`` used here (Pillow is not imported by this layer)."""

    mode: str

    def convert(self, mode: str) -> _PilImage: ...

    def save(self, fp: IO[bytes], format: str) -> None: ...


@dataclass(frozen=True)
class Prepared:
    """Exactly one of: a ready ``uri``; bytes to ``upload``; a plain-http ``fetch`` URL."""

    uri: str | None = None
    upload: tuple[str, bytes, str] | None = None  # (filename, data, mime)
    fetch: str | None = None


def sniff_mime(data: bytes) -> str | None:
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        if head[8:11] == b"M4A":
            return "audio/mp4"
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def prepare(value: object, field: str, kind: str, *, data_uri_ok: bool = True,
            read_file: ReadFile) -> Prepared:
    """``kind`` is what the field accepts: 'image', 'video', 'audio' or several joined by '|'."""
    if isinstance(value, str):
        text = value.strip()
        lower = text[:16].lower()
        if lower.startswith(("https://", "runway://")):
            return Prepared(uri=text)
        if lower.startswith("data:"):
            _check_data_uri(text, field, kind)
            return Prepared(uri=text)
        if lower.startswith("http://"):
            return Prepared(fetch=text)
        if "://" in text[:20] or lower.startswith(("javascript:", "file:")):
            raise ValidationError(field, _short(text), ALLOWED_FORMS)
        return _from_path(Path(os.path.expanduser(text)), field, kind, data_uri_ok, read_file)
    if isinstance(value, os.PathLike):
        return _from_path(Path(value), field, kind, data_uri_ok, read_file)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(value), field, kind, None, data_uri_ok)
    if _is_pil_image(value):
        buf = io.BytesIO()
        image = value if value.mode in ("RGB", "RGBA", "L") else value.convert("RGB")
        image.save(buf, format="PNG")
        return from_bytes(buf.getvalue(), field, kind, "image.png", data_uri_ok)
    read = getattr(value, "read", None)
    if read is not None:  # an open file the caller handed over
        data = read()
        name = Path(getattr(value, "name", "") or "").name or None
        if isinstance(data, str):
            data = data.encode()
        return from_bytes(data, field, kind, name, data_uri_ok)
    raise ValidationError(field, value, ALLOWED_FORMS)


def from_bytes(data: bytes, field: str, kind: str, filename: str | None, data_uri_ok: bool = True) -> Prepared:
    mime = sniff_mime(data)
    if mime is None:
        raise ValidationError(field, f"<{len(data)} bytes of unknown type>",
                              f"{kind.replace('|', ' or ')} data (PNG, JPEG, WebP, GIF, MP4, MOV, WebM, "
                              f"MP3, WAV, FLAC, OGG, M4A)")
    media = mime.split("/")[0]
    if media not in kind.split("|"):
        raise ValidationError(field, f"<{len(data)} bytes of {mime}>", f"{kind.replace('|', ' or ')} data")
    encoded_len = len("data:;base64,") + len(mime) + 4 * ((len(data) + 2) // 3)
    if data_uri_ok and encoded_len <= DATA_URI_LIMIT:
        return Prepared(uri=f"data:{mime};base64," + base64.b64encode(data).decode("ascii"))
    if len(data) > UPLOAD_MAX_BYTES:
        raise ValidationError(field, f"<{len(data)} bytes>", f"at most {UPLOAD_MAX_BYTES} bytes (200 MB) per upload")
    if len(data) < UPLOAD_MIN_BYTES:
        raise ValidationError(field, f"<{len(data)} bytes>", f"at least {UPLOAD_MIN_BYTES} bytes for an upload")
    name = filename if filename and Path(filename).suffix.lower() in _EXT.values() else "input" + _EXT[mime]
    return Prepared(upload=(name, data, mime))


def _from_path(path: Path, field: str, kind: str, data_uri_ok: bool, read_file: ReadFile) -> Prepared:
    data = read_file(path)
    if data is None:
        raise ValidationError(field, str(path), ALLOWED_FORMS,
                              message=f"{field}={_short(str(path))!r}: no such file (expected {ALLOWED_FORMS})")
    return from_bytes(data, field, kind, path.name, data_uri_ok)


def _check_data_uri(text: str, field: str, kind: str) -> None:
    head = text[5:40].split(";", 1)[0].lower()
    if head.split("/")[0] not in kind.split("|"):
        raise ValidationError(field, _short(text), f"a data:{kind.split('|')[0]}/… URI")
    if len(text) > DATA_URI_LIMIT:
        raise ValidationError(field, _short(text), f"a data: URI of at most {DATA_URI_LIMIT:,} characters "
                                                   f"(pass the file itself and runway-nb uploads it)")


def _is_pil_image(value: object) -> TypeGuard[_PilImage]:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "mode")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:45] + f"…({len(text)} chars)"

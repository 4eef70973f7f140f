"""Output files: the name each output gets on disk, and writing them without clobbering."""

from __future__ import annotations

import mimetypes
import re
import uuid
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["filename_for", "write_outputs"]

Blob = tuple[str, bytes, str | None]  # (url, data, content type)

# Content types whose usual extension ``mimetypes`` does not know (audio/wav) or gets unusual
# (audio/ogg -> .oga), so a URL without an extension still saves as a file players open.
_SUFFIXES = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/wave": ".wav",
             "audio/x-wav": ".wav", "audio/vnd.wave": ".wav", "audio/flac": ".flac", "audio/x-flac": ".flac",
             "audio/ogg": ".ogg", "audio/opus": ".opus"}


def filename_for(task_id: str, index: int, url: str, content_type: str | None) -> str:
    """``<task id>_<index><suffix>``, the suffix from the URL or else the content type."""
    suffix = Path(urlparse(url).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):  # the URL is the server's: no spaces, quotes, surrogates
        ctype = (content_type or "").split(";")[0].strip().lower()
        suffix = _SUFFIXES.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"
    safe = "".join(c for c in task_id if c.isalnum() or c in "-_")[:80] or "task"
    return f"{safe}_{index}{suffix}"


def write_outputs(folder: Path, task_id: str, blobs: list[Blob]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (url, data, ctype) in enumerate(blobs):
        path = folder / filename_for(task_id, i, url, ctype)
        # a temporary name of its own: two savers of one task (a view's autosave and a sweep's
        # save) must not rename each other's file away
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        paths.append(path)
    return paths

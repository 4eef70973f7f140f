"""Reading the user's local media files: I/O the API vocabulary leaves to the client."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_local_file"]


def read_local_file(path: Path) -> bytes | None:
    """The file's bytes, or None when ``path`` is not a file (the caller then says what it expected)."""
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a pasted base64 payload: "File name too long"
        is_file = False
    return path.read_bytes() if is_file else None

"""Waveforms of audio outputs: computed once in the kernel, shared by every view of the output.

A TaskView or Grid whose task made audio fetches each audio output through the client (or
reads its saved copy), decodes it (:mod:`runway_nb.notebook.waveform`) and remembers the
result here under the output's URL and file. The static HTML, the plain text and the widgets'
traits then read it back (:func:`known`), so a saved notebook embeds the picture and the
terminal prints the duration without decoding again. Bounded: the oldest entries go first.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from runway_nb.notebook.waveform import Waveform, analyze

__all__ = ["WaveformTrait", "analyze_outputs", "analyze_outputs_async", "forget", "known", "remember", "trait"]

MAX_ENTRIES = 512
#: Largest audio file decoded for a waveform (bigger ones just play).
MAX_BYTES = 200 * 1024 * 1024

_CACHE: OrderedDict[str, Waveform] = OrderedDict()

Download = Callable[[str], tuple[bytes, "str | None"]]
AsyncDownload = Callable[[str], Awaitable[tuple[bytes, "str | None"]]]


#: What a widget gets per output: ``{"duration": s, "peaks": [0..1], "label": "Waveform, 4.2 s"}``
#: once known, ``{}`` until then and for video and images (a trait holds plain dicts).
WaveformTrait: TypeAlias = "dict[str, float | list[float] | str]"


def _file_key(path: str | os.PathLike[str]) -> str:
    try:
        return "file:" + str(Path(path).resolve())
    except (OSError, RuntimeError, ValueError):
        return "file:" + str(path)


def _keys(url: str | None, file: str | os.PathLike[str] | None) -> list[str]:
    keys = []
    if url:
        keys.append("url:" + url)
    if file is not None and str(file):
        keys.append(_file_key(file))
    return keys


def remember(waveform: Waveform, url: str | None = None, file: str | os.PathLike[str] | None = None) -> None:
    for key in _keys(url, file):
        _CACHE[key] = waveform
        _CACHE.move_to_end(key)
    while len(_CACHE) > MAX_ENTRIES:
        _CACHE.popitem(last=False)


def forget() -> None:
    """Drop every remembered waveform (tests)."""
    _CACHE.clear()


def known(url: str | None = None, file: str | os.PathLike[str] | None = None, *,
          read_file: bool = True) -> Waveform | None:
    """The waveform of an output, by URL or saved file; a saved file not seen yet is decoded now
    (``read_file``). None when unknown or not decodable."""
    for key in _keys(url, file):
        found = _CACHE.get(key)
        if found is not None:
            return found
    if read_file and file is not None:
        data = _read(file)
        waveform = _analyze(data) if data is not None else None
        if waveform is not None:
            remember(waveform, url, file)
        return waveform
    return None


def trait(waveform: Waveform | None) -> WaveformTrait:
    """A waveform as a JSON trait value (``{}`` when unknown)."""
    if waveform is None:
        return {}
    return {"duration": waveform.duration, "peaks": list(waveform.peaks), "label": waveform.label()}


def _read(file: str | os.PathLike[str]) -> bytes | None:
    try:
        path = Path(file)
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _analyze(data: bytes) -> Waveform | None:
    if len(data) > MAX_BYTES:
        return None
    try:
        return analyze(data)
    except (ValueError, MemoryError):
        return None


def _file_at(files: Sequence[Any], i: int) -> Any:
    return files[i] if i < len(files) else None


def analyze_outputs(urls: Sequence[str], kinds: Sequence[str], files: Sequence[Any],
                    download: Download) -> list[Waveform | None]:
    """The waveform of every audio output (None for the others, or when it cannot be had):
    remembered, else from the saved file, else downloaded with ``download(url)``."""
    out: list[Waveform | None] = []
    for i, url in enumerate(urls):
        if i >= len(kinds) or kinds[i] != "audio":
            out.append(None)
            continue
        file = _file_at(files, i)
        waveform = known(url, file)
        if waveform is None:
            try:
                data, _ctype = download(url)
            except Exception:  # the player still plays from its URL
                data = b""
            waveform = _analyze(data) if data else None
            if waveform is not None:
                remember(waveform, url, file)
        out.append(waveform)
    return out


async def analyze_outputs_async(urls: Sequence[str], kinds: Sequence[str], files: Sequence[Any],
                                download: AsyncDownload) -> list[Waveform | None]:
    """:func:`analyze_outputs` on the event loop: downloads are awaited, decoding runs in a thread."""
    out: list[Waveform | None] = []
    for i, url in enumerate(urls):
        if i >= len(kinds) or kinds[i] != "audio":
            out.append(None)
            continue
        file = _file_at(files, i)
        waveform = known(url, file, read_file=False)
        if waveform is None:
            data = await asyncio.to_thread(_read, file) if file is not None else None
            if data is None:
                try:
                    data, _ctype = await download(url)
                except Exception:  # the player still plays from its URL
                    data = b""
            waveform = await asyncio.to_thread(_analyze, data) if data else None
            if waveform is not None:
                remember(waveform, url, file)
        out.append(waveform)
    return out

"""One line of the panel's history: what a person needs to recognise a submission at a glance.

A line shows a thumbnail (the result's poster once there is one), the prompt (clipped, in full in
its title), the status badge and the model with the options it ran with; the task id comes last,
small. The kernel gives each
line as a :class:`HistoryLine`; the browser draws it (``historyEntry`` in ``js/panel.js``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from runway_nb.notebook import posters

__all__ = ["PROMPT_CHARS", "THUMB_SIDE", "HistoryLine", "clip", "history_line", "thumbnail"]

#: The most characters of the prompt a line shows (the title attribute has it all).
PROMPT_CHARS = 80
#: The widest a history thumbnail's poster is (drawn at 48 px; twice that for dense screens).
THUMB_SIDE = 96


class HistoryLine(TypedDict):
    """One submission, as the browser's history shows it (synced as it is)."""

    n: int
    id: str
    title: str       # the options it ran with: "text to video · gen4.5 · 1280:720 · 5 s · seed 7"
    prompt: str      # in full ("" for an operation without one)
    short: str       # the prompt clipped to one line of PROMPT_CHARS
    model: str
    options: str     # what it ran with, model first: "gen4.5 · 1280:720 · 5 s · seed 7"
    status: str      # the task's status now: PENDING, RUNNING, SUCCEEDED, ...
    thumb: str       # the result's poster as a data: URI, or ""
    magic: str       # the equivalent %%runway cell
    note: str        # why that cell would not read back exactly, or ""


def clip(text: str, limit: int = PROMPT_CHARS) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def thumbnail(kinds: Sequence[str], files: Sequence[Any], urls: Sequence[str], *, read_file: bool = False) -> str:
    """The first picture output's poster as a data: URI, else "". Nothing is downloaded; a saved
    file is decoded only when ``read_file`` (once per file: posters are cached)."""
    for i, kind in enumerate(kinds):
        if kind not in ("video", "image"):
            continue
        file = files[i] if i < len(files) else None
        url = urls[i] if i < len(urls) else None
        poster = posters.known(kind, url=url, file=file, side=THUMB_SIDE, read_file=read_file)
        if poster is not None:
            return poster.uri
    return ""


def history_line(entry: Mapping[str, Any], status: str, thumb: str = "") -> HistoryLine:
    """The line of a panel history ``entry`` (see ``Panel.history``) whose task is ``status`` now."""
    combo = entry.get("combo") or {}
    return {"n": int(entry["n"]), "id": str(entry["id"]), "title": str(entry.get("title", "")),
            "prompt": str(combo.get("prompt") or ""), "short": clip(str(combo.get("prompt") or "")),
            "model": str(combo.get("model") or ""), "options": str(entry.get("options") or combo.get("model") or ""),
            "status": status, "thumb": thumb, "magic": str(entry.get("magic", "")),
            "note": str(entry.get("note", ""))}

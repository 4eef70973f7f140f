"""One line of progress that a terminal or a notebook rewrites in place, and a pipe gets as lines.

``\\r`` rewrites the line on a terminal and in a notebook's output area; written to a file or a
pipe it only glues every update onto one endless line. So: on a TTY or a Jupyter kernel's
stream, rewrite in place; anywhere else, print each new state as a line of its own.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["StatusLine", "TextStream", "rewrites_in_place"]


class TextStream(Protocol):
    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def rewrites_in_place(stream: TextStream) -> bool:
    """Whether ``\\r`` moves back to the line's start on ``stream``: a terminal, or a Jupyter
    kernel's output stream (its front end honours ``\\r``, though the stream is not a TTY)."""
    if type(stream).__module__.split(".")[0] == "ipykernel":
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


class StatusLine:
    """``show(text)`` for each update, ``show(text, final=True)`` once at the end."""

    def __init__(self, stream: TextStream, *, in_place: bool | None = None) -> None:
        self.stream = stream
        self.in_place = rewrites_in_place(stream) if in_place is None else in_place
        self.last = ""

    def show(self, text: str, final: bool = False) -> None:
        if self.in_place:
            self._rewrite(text, final)
        elif text != self.last:
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last = text

    def _rewrite(self, text: str, final: bool) -> None:
        if text == self.last:
            if final:
                self.stream.write("\n")
                self.stream.flush()
            return
        pad = " " * max(0, len(self.last) - len(text))
        self.stream.write("\r" + text + pad + ("\n" if final else ""))
        self.stream.flush()
        self.last = text

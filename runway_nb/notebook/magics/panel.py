"""``%runway panel``: the form panel."""

from __future__ import annotations

import argparse

from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.host import MagicsHost

__all__ = ["panel"]


@magic_arguments("runway panel")
@argument("extra", nargs="*", help=argparse.SUPPRESS)  # words after it are ignored, as they always were
def panel(words: list[str], host: MagicsHost) -> object:
    """The form panel (a widget)."""
    parse_words(panel, words)
    try:
        from runway_nb.notebook.widgets import Panel
    except ImportError as exc:
        raise ImportError("%runway panel needs runway_nb.notebook.widgets.Panel, which this installation does not "
                          f"have yet ({exc})") from exc
    return Panel()

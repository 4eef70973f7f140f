"""Quiet notices in a notebook: the simulator line and the simulator's placeholder-input line.

Written to stderr, a notice shows as a pink block that reads like an error (next to a FAILED
card, like part of the failure). In a Jupyter kernel each is shown instead as one small muted
line of HTML (with a ``text/plain`` fallback) in the cell that caused it; in a terminal or
script it stays a line on stderr. :func:`install` sets this up; the notebook package calls it on
import, so anything that shows runway-nb in a notebook has it.
"""

from __future__ import annotations

import html
import logging
import sys
import threading
from typing import Any

from runway_nb.client import backend

__all__ = ["NOTICE_CLASS", "InputNoticeHandler", "install", "notice_bundle", "show_notice", "uninstall"]

NOTICE_CLASS = "rnb-notice"

#: Records the simulator marks as notices (``extra={"rnb_notice": True}``): a placeholder input, say.
NOTICE_FLAG = "rnb_notice"

_lock = threading.Lock()
_handler: InputNoticeHandler | None = None


def notice_bundle(text: str) -> dict[str, str]:
    """One muted line: ``text/html`` in the theme's secondary text colour, and ``text/plain``."""
    # --jp-ui-font-color2 (with a fallback) is readable on light and dark backgrounds; no icon
    # glyph: fonts without it draw an empty box.
    style = ("font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12px;"
             "color:var(--jp-ui-font-color2,#616161);margin:2px 0")
    return {"text/html": f'<div class="{NOTICE_CLASS}" role="note" style="{style}">'
                         f'{html.escape(text)}</div>',
            "text/plain": text}


def _kernel_shell() -> Any:
    """The IPython shell of a Jupyter kernel, else None (terminal IPython, scripts)."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def show_notice(text: str) -> None:
    """Show ``text`` as a quiet note in a kernel's current cell, or as a line on stderr elsewhere."""
    shell = _kernel_shell()
    if shell is None:
        print(text, file=sys.stderr)
        return
    # what display(..., raw=True) does; marked, so that saving drops it (runway_nb.jupyter_server_ext)
    shell.display_pub.publish(data=notice_bundle(text), metadata={"runway_nb": {"notice": True}})


class InputNoticeHandler(logging.Handler):
    """Shows the simulator's notices (records flagged ``rnb_notice``) with :func:`show_notice` in a kernel.

    It sits on the ``runway_nb.sim`` logger. Any other record, and every record outside a kernel,
    goes where it went before: to the handlers above, or, when there are none, to logging's last
    resort (stderr), which a handler on the logger would otherwise silence."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            last = logging.lastResort
            if getattr(record, NOTICE_FLAG, False) and _kernel_shell() is not None:
                show_notice(record.getMessage())
            elif last is not None and not _handled_above(record.name) and record.levelno >= last.level:
                last.handle(record)
        except Exception:  # a notice must never break the request that logged it
            self.handleError(record)


def _handled_above(name: str) -> bool:
    """Whether a record of logger ``name`` reaches a handler other than this module's."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(h is not _handler for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def install() -> None:
    """Show the simulator notice and the simulator's input notices quietly (idempotent)."""
    global _handler
    with _lock:
        backend.set_notice_handler(show_notice)
        if _handler is None:
            _handler = InputNoticeHandler()
            logging.getLogger("runway_nb.sim").addHandler(_handler)


def uninstall() -> None:
    """Undo :func:`install`: notices go to stderr again."""
    global _handler
    with _lock:
        backend.set_notice_handler(None)
        if _handler is not None:
            logging.getLogger("runway_nb.sim").removeHandler(_handler)
            _handler = None

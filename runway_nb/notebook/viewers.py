"""How the session's handles and sweeps show themselves in a kernel, without importing the widgets.

The widgets sit above the session and sweeps (they read them), so the session never imports
them. Instead the widgets register their views here when they load; what loads them in a
kernel is ``%load_ext runway_nb`` and the package's notebook functions (``runway_nb.generate``,
``runway_nb.compare``, see :mod:`runway_nb.notebook.api`). With no view registered, a sweep
shows as text and a task's outputs are saved when it is waited on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LIVE_TASK", "SAVING_TASK", "SWEEP", "register", "view"]

SWEEP = "sweep"  # view(sweep) -> a widget that shows the sweep (one per sweep)
LIVE_TASK = "live task"  # view(handle) -> the (one per handle) live view of a task, for marimo
SAVING_TASK = "saving task"  # view(handle, folder) -> a live view that saves the task's outputs into folder

_views: dict[str, Callable[..., Any]] = {}


def register(kind: str, make: Callable[..., Any]) -> None:
    _views[kind] = make


def view(kind: str) -> Callable[..., Any] | None:
    return _views.get(kind)

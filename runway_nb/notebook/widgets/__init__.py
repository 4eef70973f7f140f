"""Notebook widgets of runway-nb.

- :class:`TaskView`: one task, live (status, progress, elapsed/ETA, Cancel, failure hint) and
  its outputs playing inline with a caption and Download buttons; once the task ends its
  output in the notebook becomes static HTML that survives reloads, nbconvert and GitHub.
- :func:`display_handle`: show a handle (widget in Jupyter, progress line in a terminal).
- :func:`register_formatters`: make handles display as TaskViews in a Jupyter kernel.
- :func:`static_html` / :func:`static_text` / :func:`static_bundle`: the static output of a
  task, reusable by the magic and the comparison grid.
- ``DEFAULTS["save_to"]``: a folder every TaskView saves outputs into (autosave; default off).

Widgets living in their own private modules (``_grid.py``, ``_panel.py``) are exported here by
name on first use (see ``_LAZY``), so adding one needs no edit of this file beyond that table.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from runway_nb.notebook import viewers
from runway_nb.notebook.widgets._static import static_bundle, static_html, static_text
from runway_nb.notebook.widgets._task_view import (
    DEFAULTS,
    TaskView,
    display_handle,
    register_formatters,
    unregister_formatters,
)
from runway_nb.notebook.widgets._urls import safe_url

_LAZY = {"Grid": "._grid", "Panel": "._panel"}


def _grid_for(sweep: Any) -> Any:
    from runway_nb.notebook.widgets._grid import Grid

    return Grid.for_sweep(sweep)


def _saving_view(handle: Any, folder: str) -> TaskView:
    return TaskView.for_handle(handle, save_to=folder)


# The session and sweeps show themselves through these (they never import the widgets).
viewers.register(viewers.SWEEP, _grid_for)
viewers.register(viewers.SAVING_TASK, _saving_view)

__all__ = [
    "DEFAULTS",
    "TaskView",
    "display_handle",
    "register_formatters",
    "safe_url",
    "static_bundle",
    "static_html",
    "static_text",
    "unregister_formatters",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runway_nb.notebook.widgets' has no attribute {name!r}")
    try:
        value = getattr(import_module(module, __name__), name)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise ImportError(f"runway_nb.notebook.widgets.{name} is not available in this installation ({exc})") from exc
    globals()[name] = value
    return value

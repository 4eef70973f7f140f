"""Notebook widgets of runway-nb.

- :class:`TaskView`: one task, live (status, progress, elapsed/ETA, Cancel, failure hint) and
  its outputs playing inline with a caption and Download buttons; once the task ends its
  output in the notebook becomes static HTML that survives reloads, nbconvert and GitHub.
- :func:`display_handle`: show a handle (widget in Jupyter, progress line in a terminal).
- :class:`WorkflowView`: one workflow run, live: its nodes filling in, each with its status and
  outputs, failed nodes flagged, the cost at the end; static HTML once it ends.
- :func:`register_formatters`: make handles display as TaskViews, and workflow runs as
  WorkflowViews, in a Jupyter kernel.
- :func:`static_html` / :func:`static_text` / :func:`static_bundle`: the static output of a
  task, reusable by the magic and the comparison grid.

Widgets living in their own private modules (``_grid.py``, ``_panel.py``) are exported here by
name on first use (see ``_LAZY``), so adding one needs no edit of this file beyond that table.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from runway_nb.notebook import marimo_support, viewers
from runway_nb.notebook.widgets._static import static_bundle, static_html, static_text
from runway_nb.notebook.widgets._task_view import TaskView, display_handle
from runway_nb.notebook.widgets._task_view import register_formatters as register_task_formatters
from runway_nb.notebook.widgets._task_view import unregister_formatters as unregister_task_formatters
from runway_nb.notebook.widgets._urls import safe_url
from runway_nb.notebook.widgets._workflow_static import workflow_static_bundle, workflow_static_html
from runway_nb.notebook.widgets._workflow_view import (
    WorkflowView,
    display_run,
    register_workflow_formatters,
    unregister_workflow_formatters,
)

_LAZY = {"Grid": "._grid", "Panel": "._panel"}


def _grid_for(sweep: Any) -> Any:
    from runway_nb.notebook.widgets._grid import Grid

    return Grid.for_sweep(sweep)


def _saving_view(handle: Any, folder: str) -> TaskView:
    return TaskView.for_handle(handle, save_to=folder)


# The session and sweeps show themselves through these (they never import the widgets).
viewers.register(viewers.SWEEP, _grid_for)
viewers.register(viewers.SAVING_TASK, _saving_view)
viewers.register(viewers.LIVE_TASK, TaskView.for_handle)
marimo_support.install()  # handles show their live view in marimo (it never calls _ipython_display_)

__all__ = [
    "TaskView",
    "WorkflowView",
    "display_handle",
    "display_run",
    "register_formatters",
    "safe_url",
    "static_bundle",
    "static_html",
    "static_text",
    "unregister_formatters",
    "workflow_static_bundle",
    "workflow_static_html",
]


def register_formatters(ipython: Any = None) -> bool:
    """Make task handles display as TaskViews and workflow runs as WorkflowViews in a Jupyter kernel
    (see :func:`runway_nb.notebook.widgets._task_view.register_formatters`). Returns whether it registered."""
    registered = register_task_formatters(ipython)
    if registered:
        register_workflow_formatters(ipython)
    return registered


def unregister_formatters(ipython: Any = None) -> None:
    unregister_workflow_formatters(ipython)
    unregister_task_formatters(ipython)


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

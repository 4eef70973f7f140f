"""Handles, sweeps and the panel in marimo.

marimo never calls IPython's ``_ipython_display_``: it shows a cell's last value through the
value's ``_display_`` (or ``_mime_``, ``_repr_html_``), and shows an anywidget only wrapped in
``mo.ui.anywidget``. So, when marimo runs the code:

- a task handle (``TaskHandle``, ``AsyncTaskHandle``, an archived one) shows its live
  :class:`~runway_nb.notebook.widgets.TaskView` (one per handle, as in Jupyter);
- a sweep shows its live :class:`~runway_nb.notebook.widgets.Grid`;
- the panel, an ``ipywidgets`` box that marimo refuses, shows a note saying what to use instead.

The views come from :mod:`runway_nb.notebook.viewers` (the widgets register them when they load;
``runway_nb.generate``/``compare`` load them in marimo). Elsewhere these displays fall back to
text. marimo is never imported here unless the user's program already imported it.
"""

from __future__ import annotations

import sys
from typing import Any

from runway_nb.notebook import viewers

# The client's handles load with the first handle shown, not at ``%load_ext`` (sweep.py imports this module).

__all__ = ["PANEL_NOTE", "handle_display", "in_marimo", "install", "panel_display", "sweep_display"]

PANEL_NOTE = (
    "The runway-nb panel needs Jupyter (JupyterLab or Notebook 7): marimo does not show ipywidgets. "
    "In marimo, call runway_nb.generate(...) or runway_nb.compare(...) and end the cell with the "
    "handle or sweep they return: it shows live, with Cancel. The %runway magic is Jupyter-only too."
)


def in_marimo() -> bool:
    """Whether this code runs in a marimo notebook (edit, run or export), not as a script."""
    marimo = sys.modules.get("marimo")
    if marimo is None:
        return False
    try:
        return bool(marimo.running_in_notebook())
    except Exception:  # a marimo without that function, or a half-initialised one: not ours to break
        return False


def _wrap(widget: Any) -> Any:
    import marimo

    return marimo.ui.anywidget(widget)


def handle_display(handle: object) -> object:
    """What a task handle shows as a marimo cell's last value: its live view (finished tasks
    too: the view then carries the final state, which ``marimo export html`` keeps)."""
    from runway_nb.client.handles import AnyTaskHandle, PlainText

    live_view = viewers.view(viewers.LIVE_TASK)
    if not isinstance(handle, AnyTaskHandle) or live_view is None or not in_marimo():
        return PlainText(repr(handle))
    view = live_view(handle)
    view.catch_up()
    return _wrap(view)


def sweep_display(sweep: object) -> object:
    """What a sweep shows as a marimo cell's last value: its live grid."""
    from runway_nb.client.handles import PlainText

    grid = viewers.view(viewers.SWEEP)
    if grid is None or not in_marimo():
        return PlainText(repr(sweep))
    return _wrap(grid(sweep))


def panel_display() -> object:
    """What the panel shows in marimo: a note, since marimo does not render ipywidgets."""
    from runway_nb.client.handles import PlainText

    return PlainText(PANEL_NOTE)


def install() -> None:
    """Let handles show live in marimo (the client layer asks this hook, never this layer)."""
    from runway_nb.client.handles import set_display_hook

    set_display_hook(handle_display)

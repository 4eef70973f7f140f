"""marimo support without a browser: what handles, sweeps and the panel show through marimo's
display protocol (``_display_``), and a TaskView whose ``__init__`` did not finish closing cleanly."""

from __future__ import annotations

import gc
import sys
import warnings
from typing import Any

import pytest

from runway_nb.client import handles
from runway_nb.client.handles import PlainText
from runway_nb.notebook import marimo_support
from runway_nb.notebook.widgets import TaskView

marimo = pytest.importorskip("marimo")  # a test extra: pyproject's [test] installs it


def t2i(client: Any, prompt: str = "a lighthouse at dusk") -> Any:
    return client.text_to_image.create(model="gen4_image", prompt=prompt, ratio="1920:1080")


def _marimo_format(value: object) -> tuple[str, str]:
    """What marimo shows for ``value`` as a cell's last value."""
    from marimo._output.formatting import try_format

    formatted = try_format(value)
    assert formatted.exception is None, formatted.traceback
    return formatted.mimetype, formatted.data


# ---------------------------------------------------------------------- TaskView.close()
def test_close_of_a_view_whose_init_never_ran() -> None:
    view = TaskView.__new__(TaskView)
    view.close()  # no AttributeError for _poller, handle or _retired


def test_a_view_refused_in_init_is_collected_without_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    unraisable: list[Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with pytest.raises(TypeError, match="needs a TaskHandle"):
            TaskView("not a handle")  # type: ignore[arg-type]  # the wrong type is the point
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert [u for u in unraisable if isinstance(u.exc_value, AttributeError)] == []


# ---------------------------------------------------------------------- handles
def test_a_handle_outside_marimo_shows_its_text(sim_client: Any) -> None:
    handle = t2i(sim_client)
    shown = handle._display_()
    assert isinstance(shown, PlainText)
    assert shown._mime_() == ("text/plain", repr(handle))


def test_without_the_hook_a_handle_shows_text_not_html(sim_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handles, "_display_hooks", {})
    handle = t2i(sim_client)
    mime, data = _marimo_format(handle)
    assert mime == "text/plain"
    assert data.startswith("<TaskHandle ")  # shown as text, not swallowed as an HTML tag


def test_a_handle_in_marimo_shows_its_live_view(sim_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marimo_support, "in_marimo", lambda: True)
    handle = t2i(sim_client)
    shown = handle._display_()
    assert isinstance(shown, marimo.ui.anywidget)
    assert isinstance(shown.widget, TaskView)
    assert shown.widget is TaskView.for_handle(handle)  # one live view per handle, as in Jupyter
    assert handle._display_().widget is shown.widget
    mime, data = _marimo_format(handle)
    assert mime == "text/html"
    assert "marimo-anywidget" in data
    shown.widget.close()


def test_a_finished_handle_in_marimo_carries_its_final_state(sim_client: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``marimo export html`` saves is the widget's state: it must not say RUNNING."""
    monkeypatch.setattr(marimo_support, "in_marimo", lambda: True)
    handle = t2i(sim_client)
    handle.wait()
    view = handle._display_().widget
    assert view.status == "SUCCEEDED"
    assert view.finished
    assert len(view.outputs) == 1
    view.close()


def test_a_view_seen_before_a_blocking_wait_catches_up_when_shown_again(sim_client: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marimo_support, "in_marimo", lambda: True)
    handle = t2i(sim_client)
    view = handle._display_().widget
    assert view.status != "SUCCEEDED"
    handle.wait()
    assert handle._display_().widget is view
    assert view.status == "SUCCEEDED"
    view.close()


# ---------------------------------------------------------------------- sweeps and the panel
def test_a_sweep_in_marimo_shows_its_grid(runway_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from runway_nb.notebook.widgets import Grid

    monkeypatch.setattr(marimo_support, "in_marimo", lambda: True)
    sweep = runway_session.compare("a lighthouse", model="gen4_image",
                                   ratio=["1920:1080", "1080:1920"])
    shown = sweep._display_()
    assert isinstance(shown, marimo.ui.anywidget)
    assert isinstance(shown.widget, Grid)
    assert len(shown.widget.sweep.tasks) == 2
    shown.widget.close()


def test_a_sweep_outside_marimo_shows_its_text(runway_session: Any) -> None:
    sweep = runway_session.compare("a lighthouse", model="gen4_image",
                                   ratio=["1920:1080", "1080:1920"])
    shown = sweep._display_()
    assert isinstance(shown, PlainText)
    assert shown.text.startswith("<Sweep ")


def test_the_panel_in_marimo_says_it_needs_jupyter_and_what_to_use(runway_session: Any) -> None:
    from runway_nb.notebook.widgets import Panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        panel = Panel(session=runway_session)
    mime, data = _marimo_format(panel)
    assert mime == "text/plain"
    assert "needs Jupyter" in data
    assert "runway_nb.generate" in data and "runway_nb.compare" in data
    assert "not supported" not in data
    panel.close()

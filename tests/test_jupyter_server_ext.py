"""The server extension's pre-save hook: finished runway-nb outputs are saved as static HTML,
other widgets are left alone; the shipped config file enables it in a real Jupyter server."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from runway_nb.jupyter_server_ext import WIDGET_MIME, WIDGET_STATE_MIME, keep_final_form, strip_final_widgets

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "jupyter-config" / "jupyter_server_config.d" / "runway_nb.json"


def _view(model_id: str) -> dict[str, Any]:
    return {"version_major": 2, "version_minor": 1, "model_id": model_id}


def _model(name: str, **state: Any) -> dict[str, Any]:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "state": state}


def _notebook() -> dict[str, Any]:
    grid_final = {"output_type": "display_data", "metadata": {"runway_nb": {"final": True}},
                  "data": {"text/plain": "Runway sweep", "text/html": "<div>static grid</div>",
                           WIDGET_MIME: _view("grid")}}
    panel_final = {"output_type": "display_data", "metadata": {"runway_nb": {"final": True}},
                   "data": {"text/plain": "panel", "text/html": "<div>panel</div>", WIDGET_MIME: _view("panel")}}
    running = {"output_type": "display_data", "metadata": {"runway_nb": {"final": False}},
               "data": {"text/plain": "RUNNING", "text/html": "<div>running</div>", WIDGET_MIME: _view("live")}}
    slider = {"output_type": "display_data", "metadata": {},
              "data": {"text/plain": "IntSlider", "text/html": "<p>a slider</p>", WIDGET_MIME: _view("slider")}}
    foreign_marked = {"output_type": "execute_result", "execution_count": 3, "metadata": {"runway_nb": True},
                      "data": {"text/plain": "x", WIDGET_MIME: _view("other")}}
    state = {
        "grid": _model("AnyModel", _esm="..."),
        "panel": _model("VBoxModel", children=["IPY_MODEL_form", "IPY_MODEL_tasks"], layout="IPY_MODEL_playout"),
        "form": _model("AnyModel", layout="IPY_MODEL_shared_layout"),
        "tasks": _model("VBoxModel", children=["IPY_MODEL_view1"]),
        "view1": _model("AnyModel"),
        "playout": _model("LayoutModel"),
        "shared_layout": _model("LayoutModel"),
        "live": _model("AnyModel", _anywidget_id="runway_nb.notebook.widgets._task_view.TaskView"),
        "slider": _model("IntSliderModel", layout="IPY_MODEL_shared_layout"),
        "other": _model("AnyModel"),
        "unshown": _model("IntSliderModel"),
        "our_unshown": _model("AnyModel", _anywidget_id="runway_nb.notebook.widgets._task_view.TaskView"),
        "our_in_output": _model("AnyModel", _anywidget_id="runway_nb.notebook.widgets._task_view.TaskView"),
        "output_widget": _model("OutputModel", outputs=[{"output_type": "display_data",
                                                         "data": {WIDGET_MIME: _view("our_in_output")}}]),
    }
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"widgets": {WIDGET_STATE_MIME: {"version_major": 2, "version_minor": 0, "state": state}}},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": "# hi"},
                {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1,
                 "outputs": [grid_final, running]},
                {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 2,
                 "outputs": [panel_final, slider, foreign_marked]},
            ]}


def test_finished_outputs_lose_their_widget_view_and_other_widgets_are_untouched() -> None:
    nb = _notebook()
    before = copy.deepcopy(nb)
    assert sorted(strip_final_widgets(nb)) == ["grid", "panel"]
    grid_out, running_out = nb["cells"][1]["outputs"]
    panel_out, slider_out, foreign_out = nb["cells"][2]["outputs"]
    assert set(grid_out["data"]) == {"text/plain", "text/html"}
    assert grid_out["data"]["text/html"] == "<div>static grid</div>"
    assert set(panel_out["data"]) == {"text/plain", "text/html"}
    # a running task keeps its live view; other widgets (marked or not by someone else) are untouched
    assert running_out == before["cells"][1]["outputs"][1]
    assert slider_out == before["cells"][2]["outputs"][1]
    assert foreign_out == before["cells"][2]["outputs"][2]
    state = nb["metadata"]["widgets"][WIDGET_STATE_MIME]["state"]
    # the grid, the panel and what only the panel used are gone; a layout the slider shares stays;
    # a runway-nb model nothing shows is gone, one shown inside an Output widget stays
    assert sorted(state) == ["live", "other", "our_in_output", "output_widget", "shared_layout", "slider",
                             "unshown"]
    assert nb["cells"][0] == before["cells"][0]


def test_without_saved_widget_state_or_marks_nothing_breaks() -> None:
    nb = _notebook()
    del nb["metadata"]["widgets"]
    assert sorted(strip_final_widgets(nb)) == ["grid", "panel"]
    plain = {"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": "hi"}]}],
             "metadata": {}}
    assert strip_final_widgets(copy.deepcopy(plain)) == []
    assert strip_final_widgets({"cells": [{"cell_type": "markdown", "source": "x"}]}) == []


def test_the_hook_changes_notebooks_only() -> None:
    nb = _notebook()
    model = {"type": "notebook", "content": nb, "format": "json"}
    keep_final_form(model=model, path="a.ipynb", contents_manager=None)
    assert WIDGET_MIME not in nb["cells"][1]["outputs"][0]["data"]
    text = {"type": "file", "content": json.dumps(_notebook()), "format": "text"}
    keep_final_form(model=text, path="a.json", contents_manager=None)
    assert text["content"] == json.dumps(_notebook())


@pytest.mark.kernel
def test_the_shipped_config_enables_the_hook_in_a_jupyter_server(tmp_path: Path) -> None:
    """The file the wheel installs into etc/jupyter/jupyter_server_config.d, in a server's config
    path, loads the extension; saving through the contents API strips a finished output."""
    pytest.importorskip("jupyter_server")
    config = tmp_path / "config"
    (config / "jupyter_server_config.d").mkdir(parents=True)
    (config / "jupyter_server_config.d" / "runway_nb.json").write_text(CONFIG.read_text())
    root = tmp_path / "root"
    root.mkdir()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                                 "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                                 "--ip", "127.0.0.1", "--port", str(port), f"--ServerApp.root_dir={root}"],
                                env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-3000:]) from None
                time.sleep(0.25)
        body = json.dumps({"type": "notebook", "format": "json", "content": _notebook()}).encode()
        request = urllib.request.Request(f"{url}/api/contents/saved.ipynb", data=body, method="PUT",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status in (200, 201)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    saved = json.loads((root / "saved.ipynb").read_text())
    assert WIDGET_MIME not in saved["cells"][1]["outputs"][0]["data"]
    assert WIDGET_MIME in saved["cells"][1]["outputs"][1]["data"], "a running task keeps its view"
    assert WIDGET_MIME in saved["cells"][2]["outputs"][1]["data"], "other widgets are untouched"
    assert "runway_nb.jupyter_server_ext" in log.read_text()


def test_the_kernel_marks_outputs_with_the_key_the_hook_reads() -> None:
    from runway_nb.jupyter_server_ext import FINAL_KEY
    from runway_nb.notebook.widgets import _live

    assert _live.OUTPUT_KEY == FINAL_KEY and _live.WIDGET_MIME == WIDGET_MIME
    assert _live.final_mark(True) == {FINAL_KEY: {"final": True}}


def test_notices_are_not_saved_and_other_outputs_stay(monkeypatch) -> None:
    """The simulator's quiet note is for the session that ran: saving drops it, and only it."""
    from runway_nb.notebook import notice

    shown: list[tuple[dict[str, Any], dict[str, Any]]] = []

    class Pub:
        def publish(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
            shown.append((data, metadata))

    class Shell:
        kernel = object()
        display_pub = Pub()

    monkeypatch.setattr(notice, "_kernel_shell", Shell)  # as in a kernel
    notice.show_notice("runway-nb: the built-in Runway simulator (offline, no credits)")
    ((data, metadata),) = shown
    note = {"output_type": "display_data", "metadata": metadata, "data": data}
    plain = {"output_type": "stream", "name": "stdout", "text": "rnb-notice in a print\n"}
    nb = _notebook()
    nb["cells"][1]["outputs"][:0] = [note, plain]
    strip_final_widgets(nb)
    outputs = nb["cells"][1]["outputs"]
    assert note not in outputs and plain in outputs and len(outputs) == 3

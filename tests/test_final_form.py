"""The final form is what gets saved when a notebook runs headless (nbclient, as
``jupyter nbconvert --execute`` and papermill use it): a real kernel, the in-process simulator.

nbclient records only the messages that answer the cell it is running; a result that ends, or
whose files arrive, after the last cell that waited for it must still land in the cell that
showed it, as static HTML with its players and no widget view."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from runway_nb.jupyter_server_ext import WIDGET_MIME

REPO = Path(__file__).resolve().parents[1]
IMAGE = "https://example.com/kite.png"

SETUP = ("import os\nos.environ['RUNWAY_NB_SIM_SPEED'] = '20'\n%load_ext runway_nb\n"
         "from runway_nb.notebook.widgets import register_formatters\nregister_formatters(get_ipython())")
SWEEP = ("%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 -i https://example.com/x.png --duration 2 "
         "--save kept --out {name}\na kite over dunes, {name}")
TASK = ("%%runway --model gen4_turbo --ratio 1280:720 -i https://example.com/x.png --duration 2 --save kept "
        "--out {name}\na kite over dunes, {name}")


def execute(tmp_path: Path, cells: list[str]) -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("RUNWAYML_", "RUNWAY_NB_")) or key == "RUNWAY_API_KEY":
            del os.environ[key]  # the simulator, never a real key
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), saved.get("PYTHONPATH", "")])
    try:
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def is_notice(output: Any) -> bool:
    """A quiet one-line note (the simulator, a placeholder input), shown beside the cell's result."""
    return 'class="rnb-notice"' in "".join(output.get("data", {}).get("text/html", ""))


def shown(cell: Any) -> dict[str, Any]:
    displays = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result") and not is_notice(o)]
    assert len(displays) == 1, cell.outputs
    return dict(displays[0])


def assert_final_grid(output: dict[str, Any], tmp_path: Path) -> None:
    data = output["data"]
    assert WIDGET_MIME not in data, data.get("text/plain")
    page = data["text/html"]
    assert 'data-rnb-sweep-status="SUCCEEDED"' in page, data["text/plain"]
    assert data["text/plain"].startswith("Runway sweep · 4 tasks: 4 done"), data["text/plain"]
    assert page.count('data-rnb-status="SUCCEEDED"') == 4
    assert page.count("<video") == 4
    files = re.findall(r'<video[^>]*src="(kept/[^"]+\.mp4)"', page)
    assert len(files) == 4 and all((tmp_path / f).is_file() for f in files), files
    assert output["metadata"].get("runway_nb", {}).get("final") is True


def assert_final_task(output: dict[str, Any], tmp_path: Path) -> None:
    data = output["data"]
    assert WIDGET_MIME not in data, data.get("text/plain")
    assert 'data-rnb-status="SUCCEEDED"' in data["text/html"], data["text/plain"]
    files = re.findall(r'<video[^>]*src="(kept/[^"]+\.mp4)"', data["text/html"])
    assert len(files) == 1 and (tmp_path / files[0]).is_file(), data["text/html"][:2000]


@pytest.mark.kernel
def test_a_sweep_waited_on_in_a_later_cell_saves_its_final_grid(tmp_path: Path) -> None:
    nb = execute(tmp_path, [SETUP, SWEEP.format(name="waited"), "waited.wait();",
                            TASK.format(name="one"), "one.wait();"])
    assert_final_grid(shown(nb.cells[1]), tmp_path)
    assert_final_task(shown(nb.cells[3]), tmp_path)


@pytest.mark.kernel
def test_results_that_end_during_the_last_cell_are_saved_final(tmp_path: Path) -> None:
    """The last cell blocks (time.sleep) while the tasks end: their files are downloaded after
    that cell's own code, still as a reply to it, since no later cell will run."""
    nb = execute(tmp_path, [SETUP, SWEEP.format(name="slept"), TASK.format(name="one"), "import time\ntime.sleep(4)"])
    assert_final_grid(shown(nb.cells[1]), tmp_path)
    assert_final_task(shown(nb.cells[2]), tmp_path)


@pytest.mark.kernel
def test_a_sweep_awaited_in_the_last_cell_saves_its_final_grid(tmp_path: Path) -> None:
    nb = execute(tmp_path, [SETUP, SWEEP.format(name="awaited"), "await awaited"])
    assert_final_grid(shown(nb.cells[1]), tmp_path)


@pytest.mark.kernel
def test_shown_then_blocked_in_the_same_last_cell(tmp_path: Path) -> None:
    """The poller never got a round before the cell blocked: the end is still taken in after it."""
    start = ("import time, runway_nb\n"
             "from IPython.display import display\n"
             "kw = dict(model='gen4_turbo', image='https://example.com/x.png', duration=2, save='kept')\n")
    sweep = "shown = runway_nb.compare('a kite', ratio=['1280:720', '720:1280'], seed=[1, 2], **kw)\n"
    task = "shown = runway_nb.generate('a kite', ratio='1280:720', **kw)\n"
    nb = execute(tmp_path, [SETUP, start + sweep + "display(shown)\ntime.sleep(4)"])
    assert_final_grid(shown(nb.cells[1]), tmp_path)
    nb = execute(tmp_path, [SETUP, start + task + "display(shown)\ntime.sleep(4)"])
    assert_final_task(shown(nb.cells[1]), tmp_path)


@pytest.mark.kernel
def test_a_panel_keeps_its_submissions_final_results(tmp_path: Path) -> None:
    nb = execute(tmp_path, [
        SETUP,
        "import runway_nb\npanel = runway_nb.Panel()\npanel",
        "panel.set(type='image_to_video', model='gen4_turbo', ratio='1280:720', prompt='a kite', duration=2,\n"
        "          image='https://example.com/x.png', seed=7)\nh = panel.submit()\nh.wait();",
    ])
    output = shown(nb.cells[1])
    data = output["data"]
    assert WIDGET_MIME in data, "the form stays live while the kernel runs"
    assert output["metadata"]["runway_nb"] == {"final": True}, "saving keeps only the static results"
    assert "Runway panel · 1 submission" in data["text/html"]
    assert data["text/html"].count('data-rnb-status="SUCCEEDED"') == 1 and "<video" in data["text/html"]


def test_a_panel_outside_a_kernel_is_marked_and_has_static_html(runway_session, tmp_path, monkeypatch) -> None:
    from runway_nb.notebook.widgets import Panel

    monkeypatch.chdir(tmp_path)
    panel = Panel()
    data, metadata = panel._repr_mimebundle_()
    assert WIDGET_MIME in data and "Runway panel · 0 submissions" in data["text/html"]
    assert metadata["runway_nb"] == {"final": True}, "nothing will change: saved without the form"
    panel.set(type="image_to_video", model="gen4_turbo", ratio="1280:720", prompt="a kite", image=IMAGE)
    panel.submit()
    data, metadata = panel._repr_mimebundle_()
    assert metadata["runway_nb"] == {"final": False}, "a running submission keeps the live view when saved"
    assert "1 submission" in data["text/html"] and 'data-rnb-status="' in data["text/html"]

"""Results that last: a 2x2 sweep with default settings, executed headlessly (nbclient, as
``jupyter nbconvert --execute`` and papermill run it, with the wait in a later cell), then opened
in JupyterLab after its kernel has ended: four videos play from the files kept beside the
notebook. The same notebook copied to another folder, without ``runway_outputs/``, shows the
four posters embedded in it. (Run in JupyterLab, saved and reopened: test_reopen_browser.py.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "%load_ext runway_nb",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 "
    "-o takes\nA red kite over the dunes",
    "takes.wait();",  # a later cell waits, blocking: nothing else runs until the sweep is done
]
VIDEOS = ".jp-Notebook .jp-Cell .rnb-grid-static video"


def _execute_headless(folder: Path) -> Path:
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "RUNWAY_NB_OUTPUTS", "RUNWAY_NB_SIM_SPEED")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), saved["PYTHONPATH"] or ""])
    os.environ.pop("RUNWAY_NB_OUTPUTS", None)  # default settings: kept in ./runway_outputs
    os.environ["RUNWAY_NB_SIM_SPEED"] = "20"
    try:
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    path = folder / "sweep.ipynb"
    nbformat.write(nb, path)
    return path


def _sweep_output(path: Path) -> dict[str, Any]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    # runway-nb's quiet notes (the simulator, a placeholder input) beside the result are not it
    shown = [o for o in nb.cells[1].outputs if o.output_type in ("display_data", "execute_result")
             and not o.get("metadata", {}).get("runway_nb", {}).get("notice")]
    assert len(shown) == 1, shown
    return dict(shown[0]["data"])


def _video_states(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(f"""() => [...document.querySelectorAll('{VIDEOS}')].map(v => {{
        const r = v.getBoundingClientRect();
        return {{src: v.currentSrc || v.getAttribute('src') || '', poster: v.getAttribute('poster') || '',
                 ready: v.readyState, width: r.width, height: r.height, error: v.error ? v.error.code : 0}};
    }})""")


def test_headless_sweep_reopens_playing_then_shows_posters_without_its_files(lab, page, nb_tools) -> None:
    folder = lab.root / "results-headless"
    folder.mkdir()
    path = _execute_headless(folder)

    # The file holds the final form: four finished cells, their players pointing at the kept files.
    data = _sweep_output(path)
    assert WIDGET_MIME not in data
    html = "".join(data["text/html"])
    assert html.count('data-rnb-status="SUCCEEDED"') == 4 and "queued" not in html
    assert html.count('src="runway_outputs/') == 4 and html.count('poster="data:image/jpeg;base64,') == 4
    kept = sorted((folder / "runway_outputs").glob("*.mp4"))
    assert len(kept) == 4

    # Opened after its kernel (and its simulator) ended: the four play from the kept files.
    nb_tools.open(page, lab, "results-headless/sweep.ipynb")
    page.locator(VIDEOS).first.wait_for(timeout=30_000)
    page.evaluate(f"() => document.querySelectorAll('{VIDEOS}').forEach(v => {{ v.muted = true; v.play(); }})")
    page.wait_for_function(f"() => [...document.querySelectorAll('{VIDEOS}')]"
                           ".filter(v => v.readyState >= 2 && v.videoWidth > 0).length === 4", timeout=30_000)
    states = _video_states(page)
    assert all("/files/results-headless/runway_outputs/" in s["src"] for s in states), states

    # A copy elsewhere, without runway_outputs/: no video loads, each shows its poster.
    elsewhere = lab.root / "results-copy"
    elsewhere.mkdir()
    shutil.copy(path, elsewhere / "sweep.ipynb")
    nb_tools.open(page, lab, "results-copy/sweep.ipynb")
    page.locator(VIDEOS).first.wait_for(timeout=30_000)
    page.wait_for_function(f"() => [...document.querySelectorAll('{VIDEOS}')].every(v => v.error !== null)",
                           timeout=30_000)  # the files are not there
    states = _video_states(page)
    assert len(states) == 4
    assert all(s["poster"].startswith("data:image/jpeg;base64,") and s["width"] > 50 and s["height"] > 50
               for s in states), states
    # What a person sees: each player's box is drawn from its poster, not left blank.
    for i in range(4):
        shot = page.locator(VIDEOS).nth(i).screenshot()
        assert _not_blank(shot), f"video {i} shows nothing where its poster should be"


def _not_blank(png: bytes) -> bool:
    import io

    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("L")
    return ImageStat.Stat(image).stddev[0] > 8  # a uniform box (black, white) has almost none


RERUN_CELLS = [
    "%load_ext runway_nb\nimport runway_nb\nsim = runway_nb.get_session().client.simulator",
    "%%runway -m gen4_image -r 1280:720 -o pic\nA lighthouse at dusk, flat poster style",
    "await pic\nruns = globals().get('runs', 0) + 1\nprint(f'RUN {runs} CREATES {sim.stats.creates}')",
]
CELL_TEXT = "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i].innerText"


def test_a_rerun_cell_shows_its_task_and_generate_again_makes_one_more(lab, page, nb_tools) -> None:
    """Run All twice: the second run shows the first run's task (no second create) with a live
    "Generate again" button; one press creates exactly one more task, shown in its place."""
    nb_tools.write(lab, "rerun.ipynb", RERUN_CELLS)
    nb_tools.open(page, lab, "rerun.ipynb")
    nb_tools.run_all(page)
    page.locator("text=RUN 1 CREATES 1").first.wait_for(timeout=60_000)
    nb_tools.run_all(page)
    page.locator("text=RUN 2 CREATES 1").first.wait_for(timeout=60_000)  # the same task, not a new one
    shown = nb_tools.output_text(page, 1)
    assert "same request as task" in shown
    first = shown.split("task ")[-1].strip()
    again = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".rnb-again")
    again.first.wait_for(state="visible", timeout=30_000)
    again.first.click()
    # the new task takes the view's place in its cell (re-running the cell shows it too)
    page.wait_for_function(f"(old) => {{ const t = ({CELL_TEXT})(1); return /SUCCEEDED/.test(t) && /task /.test(t)"
                           " && !t.includes(old); }", arg=first, timeout=60_000)
    nb_tools.run_cell(page, 2)
    page.locator("text=RUN 3 CREATES 2").first.wait_for(timeout=60_000)  # exactly one more

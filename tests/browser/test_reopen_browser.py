"""A finished task view, grid and panel, run in JupyterLab (widget state saved or not) and in
Notebook 7, saved, the kernel shut down, the page reloaded: each shows its static final form
with its players, never "Error displaying widget: model not found". While the kernel lives the
page keeps the live grid, and its synced playback.

runway-nb's server extension is enabled in these servers as an installed runway-nb enables it
(see ``start_lab``); it drops the widget view of finished outputs from the saved file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

pytestmark = pytest.mark.browser

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
CELLS = [
    "%load_ext runway_nb\nimport runway_nb",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 "
    "-o takes\nA red kite over the dunes",
    "%%runway --model gen4_turbo --ratio 1280:720 --image https://example.com/kite.png -d 2 -o one\n"
    "One kite",
    "panel = runway_nb.Panel()\npanel",
    "panel.set(type='image_to_video', model='gen4_turbo', ratio='720:1280', prompt='a kite', duration=2,\n"
    "          image='https://example.com/kite.png', seed=3)\nfrom_panel = panel.submit()\nfrom_panel.wait()\n"
    # awaited, so the kernel hears from the grid's view meanwhile (a blocking wait under Run All
    # hears nothing until the end: the grid then ends as static HTML in the page too)
    "await takes\nawait one\nprint('ALL DONE')",
]
GRID, TASK, PANEL = 1, 2, 3
READY = ("() => [...document.querySelectorAll('.rnb-grid .rnb-g-cell video')]"
         ".filter(v => v.readyState >= 2).length === 4")
CLOCKS = "() => [...document.querySelectorAll('.rnb-grid .rnb-g-cell video')].map(v => [v.paused, v.currentTime])"


@pytest.fixture
def lab_saving_state(jupyter_servers: Any) -> Any:
    pytest.importorskip("jupyterlab")
    return jupyter_servers(save_state=True)


@pytest.fixture
def notebook7(jupyter_servers: Any) -> Any:
    if not os.environ.get("RUNWAY_NB_REQUIRE_TOOLS"):  # CI installs it (the test extras): there it must run
        pytest.importorskip("notebook", minversion="7")
    return jupyter_servers(app="notebook")


def outputs(path: Any, index: int) -> list[dict[str, Any]]:
    saved = json.loads(path.read_text())
    return [o for o in saved["cells"][index]["outputs"] if o["output_type"] in ("display_data", "execute_result")]


def saved_final(path: Any) -> bool:
    """Whether the saved file holds the final static form of the grid, the task and the panel."""
    try:
        shown = [outputs(path, i) for i in (GRID, TASK, PANEL)]
    except (OSError, ValueError, KeyError, IndexError):
        return False
    if any(len(o) != 1 for o in shown):
        return False
    grid, task, panel = (o[0]["data"] for o in shown)
    return (all(WIDGET_MIME not in d for d in (grid, task, panel))
            and "".join(grid.get("text/html", "")).count('data-rnb-status="SUCCEEDED"') == 4
            and 'data-rnb-status="SUCCEEDED"' in "".join(task.get("text/html", ""))
            and 'data-rnb-status="SUCCEEDED"' in "".join(panel.get("text/html", "")))


def play_until_running(page: Any, attempts: int = 3) -> None:
    """Play all, and see the four clocks run. The final output may re-render the grid's view once
    (a new view starts paused) right after the click: then press Play again."""
    for attempt in range(attempts):
        page.wait_for_function(READY, timeout=30_000)
        if page.locator(".rnb-grid").first.get_attribute("data-playing") != "true":
            page.locator(".rnb-grid .rnb-g-play").first.click()
        try:
            page.wait_for_function(f"() => ({CLOCKS})().every(([paused, t]) => !paused && t > 0.2)", timeout=10_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise


def run_save_reopen(page: Any, server: Any, tools: Any, name: str, *, notebook7: bool = False) -> None:
    path = tools.write(server, name, CELLS)
    url = f"{server.url}/notebooks/{name}" if notebook7 else server.notebook_url(name)
    if notebook7:
        page.goto(url)
        page.locator(".jp-Notebook").first.wait_for()
        page.wait_for_function("() => document.querySelector('.jp-Notebook .jp-Cell') !== null")
        page.wait_for_timeout(3000)  # the kernel starts (Notebook 7 has no status bar to read)
        page.locator(".jp-Notebook").first.click()
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_text("Run All Cells", exact=True).locator("visible=true").first.click()
    else:
        tools.open(page, server, name)
        tools.run_all(page)
    page.locator("text=ALL DONE").first.wait_for(timeout=120_000)

    # While the kernel lives the page keeps the live grid: synced playback works.
    grid = page.locator(".rnb-grid").first
    page.wait_for_function("() => document.querySelector('.rnb-grid')?.getAttribute('data-finished') === 'true'"
                           f" && ({READY})()", timeout=60_000)
    play_until_running(page)
    assert grid.locator(".rnb-g-freeze").count() == 0

    # Saved (again, until the final outputs that follow the last traits are in): static only.
    for _ in range(20):
        save(page, wait_clean=not notebook7)
        if saved_final(path):
            break
        page.wait_for_timeout(500)
    assert saved_final(path), json.dumps([outputs(path, i) for i in (GRID, TASK, PANEL)])[:3000]
    assert page.locator(".rnb-grid").count() == 1, "saving leaves the page's live grid alone"
    # (the final output re-rendered the view once: play again) synced playback still works
    page.wait_for_function(READY, timeout=30_000)
    if page.locator(".rnb-grid").first.get_attribute("data-playing") != "true":
        page.locator(".rnb-grid .rnb-g-play").first.click()
    before = page.evaluate(CLOCKS)
    page.wait_for_function(f"() => ({CLOCKS})().every(([paused, t], i) => !paused && t !== {json.dumps(before)}[i][1])",
                           timeout=10_000)
    times = [t for _, t in page.evaluate(CLOCKS)]
    assert max(times) - min(times) < 0.5, times
    state = json.loads(path.read_text())["metadata"].get("widgets", {}).get(STATE_MIME, {}).get("state", {})
    assert not [m for m in state.values() if m.get("model_name") == "AnyModel"
                and m.get("state", {}).get("_esm", "").startswith("var")], "no dead runway-nb model state"

    tools.shut_down_kernels(page)
    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for()
    static_grid = page.locator(".rnb-grid-static").first
    static_grid.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)  # whatever renders late (a widget view) has rendered
    text = page.locator(".jp-Notebook").first.inner_text()
    assert "model not found" not in text and "Error displaying widget" not in text, text[:2000]
    assert page.locator(".rnb-grid").count() == 0
    assert page.locator(".rnb-grid-static video").count() == 4
    page.wait_for_function("() => [...document.querySelectorAll('.rnb-grid-static video')]"
                           ".filter(v => v.readyState >= 2 && v.videoWidth > 0).length === 4", timeout=30_000)
    # from the files kept by default beside the notebook (the simulator's links died with its kernel)
    sources = page.evaluate("() => [...document.querySelectorAll('.rnb-grid-static video')].map(v => v.currentSrc)")
    assert all("/files/runway_outputs/" in src and ".mp4?" in src for src in sources), sources
    cell_text = page.locator(".jp-Notebook .jp-Cell").nth(TASK).locator(".jp-OutputArea").inner_text()
    assert "SUCCEEDED" in cell_text
    panel_text = page.locator(".jp-Notebook .jp-Cell").nth(PANEL).locator(".jp-OutputArea").inner_text()
    assert "Runway panel · 1 submission" in panel_text and "SUCCEEDED" in panel_text
    assert page.locator(".rnb-panel-static video").count() == 1


def save(page: Any, *, wait_clean: bool) -> None:
    """Ctrl+S with the first cell selected (a click inside the grid would enlarge a cell)."""
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    if wait_clean:
        page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=10_000)
    else:
        page.wait_for_timeout(700)


def test_jupyterlab_default_settings(lab, page, nb_tools) -> None:
    run_save_reopen(page, lab, nb_tools, "reopen-default.ipynb")


def test_jupyterlab_with_saved_widget_state(lab_saving_state, page, nb_tools) -> None:
    run_save_reopen(page, lab_saving_state, nb_tools, "reopen-state.ipynb")


def test_notebook7(notebook7, page, nb_tools) -> None:
    run_save_reopen(page, notebook7, nb_tools, "reopen-nb7.ipynb", notebook7=True)

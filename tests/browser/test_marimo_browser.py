"""runway-nb in marimo, in a real browser: ``marimo run`` serves a small app on a free loopback
port (the simulator at 10x in its kernel) and headless Chromium opens it.

Checked: a handle as a cell's last line shows the live TaskView, which reaches SUCCEEDED with a
playable video; a two-model sweep as a cell's last line shows the grid with both cells SUCCEEDED;
Cancel on a long task cancels the simulator's task; marimo's "Jupyter widgets are not supported"
refusal shows nowhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
pytest.importorskip("marimo")

APP = '''\
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import runway_nb
    from runway_nb.client.core import Runway
    from runway_nb.sim import Simulator

    return Runway, Simulator, mo, runway_nb


@app.cell
def _(runway_nb):
    clip = runway_nb.generate("A red kite over dunes", model="gen4_turbo", image="https://example.com/kite.png",
                              ratio="1280:720", duration=5, key="clip")
    clip
    return (clip,)


@app.cell
def _(runway_nb):
    models = runway_nb.compare("A lighthouse at dusk", model=["gen4_turbo", "gen4.5"],
                               image="https://example.com/kite.png", ratio="1280:720", duration=5, key="models")
    models
    return (models,)


@app.cell
def _(Runway, Simulator):
    # a task of ten simulated minutes, on a simulator of its own: long enough to cancel
    slow_sim = Simulator(speed=10, pending_seconds=1, run_seconds=600)
    slow = Runway(provider="sim", simulator=slow_sim).image_to_video.create(
        model="gen4_turbo", prompt="a very long shot", image="https://example.com/kite.png", ratio="1280:720",
        duration=5)
    slow
    return slow, slow_sim


@app.cell
def _(mo):
    check = mo.ui.button(label="Check the remote task", value=0, on_click=lambda n: n + 1)
    check
    return (check,)


@app.cell
def _(check, mo, slow, slow_sim):
    mo.md(f"check {check.value}: REMOTE {slow_sim.app.store.view(slow.id, include_gone=True).status} "
          f"HANDLE {slow.status}")
    return


if __name__ == "__main__":
    app.run()
'''


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``marimo run`` of :data:`APP` on a free loopback port; yields its URL."""
    home = tmp_path_factory.mktemp("marimo-home")
    (home / "app.py").write_text(textwrap.dedent(APP))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAYML_", "RUNWAY_NB_", "COMETAPI_", "USEAPI_", "MAKEVID_"))
           and k != "RUNWAY_API_KEY"}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               RUNWAY_NB_SIM_SPEED="10", RUNWAY_NB_OUTPUTS=str(home / "runway_outputs"),
               RUNWAY_NB_JOURNAL=str(home / "journal.sqlite3"), HOME=str(home))
    port = free_port()
    log = home / "marimo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "marimo", "run", "--headless", "--no-token", "--host", "127.0.0.1",
             "--port", str(port), "app.py"],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/health", proc, log, "marimo")
    yield url
    stop(proc)


def _playable(page: Any, video: Any) -> dict[str, Any]:
    """The facts of ``video`` once it has data (marimo renders widgets in shadow roots, which
    Playwright's locators pierce and document.querySelector does not)."""
    element = video.element_handle(timeout=60_000)
    page.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=element, timeout=30_000)
    facts: dict[str, Any] = element.evaluate(
        "v => ({readyState: v.readyState, width: v.videoWidth, height: v.videoHeight})")
    return facts


def test_handles_and_sweeps_show_live_in_marimo_and_cancel_works(marimo_app: str, page: Any) -> None:
    page.goto(marimo_app)

    # a handle as a cell's last line: the live TaskView, then a playable video
    clip = page.locator('.rnb-task:has-text("A red kite over dunes")')
    clip.first.wait_for(timeout=60_000)
    page.locator('.rnb-task[data-status="SUCCEEDED"]:has-text("A red kite over dunes")').wait_for(timeout=60_000)
    facts = _playable(page, page.locator('.rnb-task[data-status="SUCCEEDED"]:has-text("A red kite") video').first)
    assert facts["readyState"] >= 2
    assert (facts["width"], facts["height"]) == (1280, 720)

    # a sweep as a cell's last line: the grid, both cells SUCCEEDED, each with a playable video
    grid = page.locator(".rnb-grid")
    grid.wait_for(timeout=60_000)
    done = grid.locator('.rnb-g-cell[data-status="SUCCEEDED"]')
    deadline = time.monotonic() + 60
    while done.count() < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert done.count() == 2
    assert grid.locator(".rnb-g-cell").count() == 2
    for index in range(2):
        assert _playable(page, done.nth(index).locator("video").first)["readyState"] >= 2

    # Cancel on a long task: the simulator's task ends CANCELLED
    slow = page.locator('.rnb-task:has-text("a very long shot")')
    page.locator('.rnb-task[data-status="RUNNING"]:has-text("a very long shot")').wait_for(timeout=60_000)
    slow.locator(".rnb-cancel").click()
    page.locator('.rnb-task[data-status="CANCELLED"]:has-text("a very long shot")').wait_for(timeout=30_000)
    page.get_by_role("button", name="Check the remote task").click()
    page.get_by_text("check 1:").wait_for(timeout=30_000)
    assert "REMOTE CANCELLED HANDLE CANCELLED" in page.get_by_text("check 1:").inner_text()

    body = page.locator("body").inner_text()
    assert "Jupyter widgets are not supported" not in body
    assert page.errors == []  # type: ignore[attr-defined]  # the conftest's page records them

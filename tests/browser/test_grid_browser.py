"""The comparison grid in JupyterLab, in headless Chromium, on the simulator: a 2x2 sweep renders
four players of the right shapes in boxes of the right aspect, and synced play starts them all.

Shares the session's JupyterLab server (``lab``) and browser with the other browser tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SWEEP = """\
%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 -o takes
A red kite over the dunes
"""
WAIT = ("import asyncio\nwhile not takes.finished:\n    await asyncio.sleep(0.1)\n"
        "print('SWEEP', takes.summary(), [t.params['ratio'] for t in takes.tasks])")

CELL_FACTS = """() => [...document.querySelectorAll('.rnb-grid .rnb-g-cell')].map(cell => {
  const frame = cell.querySelector('.rnb-g-frame');
  const box = frame.getBoundingClientRect();
  const v = cell.querySelector('video');
  return {status: cell.getAttribute('data-status'), ratio: frame.getAttribute('data-ratio'),
          boxW: box.width, boxH: box.height,
          ready: v ? v.readyState : -1, vw: v ? v.videoWidth : 0, vh: v ? v.videoHeight : 0,
          paused: v ? v.paused : null, t: v ? v.currentTime : null};
})"""


def cell_facts(page) -> list[dict]:
    return page.evaluate(CELL_FACTS)


def test_two_by_two_sweep_plays_in_sync(lab, page, nb_tools):
    nb_tools.write(lab, "grid.ipynb", ["%load_ext runway_nb", SWEEP, WAIT])
    nb_tools.open(page, lab, "grid.ipynb")
    nb_tools.run_all(page)

    grid = page.locator(".rnb-grid").first
    grid.wait_for(timeout=60_000)
    assert grid.locator(".rnb-g-colhead").all_inner_texts() == ["ratio 1280:720", "ratio 720:1280"]
    assert grid.locator(".rnb-g-rowhead").all_inner_texts() == ["model gen4_turbo", "model gen4.5"]
    assert "A red kite over the dunes" in grid.locator(".rnb-g-fixed").inner_text()
    page.wait_for_function("() => window.__rnbStatuses.includes('RUNNING')", timeout=60_000)

    # Every cell becomes a player once its video loaded: four videos with their true shapes.
    # (read in the same evaluation: a cell may swap its player for the kept file's right after)
    facts = page.wait_for_function(
        f"() => {{ const f = ({CELL_FACTS})(); return f.length === 4 && f.every(c => c.ready >= 2 && c.vw > 0)"
        " ? f : null; }", timeout=90_000).json_value()
    page.screenshot(path=str(Path("test-artifacts") / "grid-2x2.png"))
    for cell in facts:
        w, h = (int(x) for x in cell["ratio"].split(":"))
        assert (cell["vw"], cell["vh"]) == (w, h), cell
        assert cell["boxW"] > 50 and cell["boxH"] > 50, cell
        assert abs(cell["boxW"] / cell["boxH"] - w / h) < 0.02 * (w / h), cell
        assert cell["status"] == "SUCCEEDED"
    assert [c["ratio"] for c in facts] == ["1280:720", "720:1280", "1280:720", "720:1280"]
    assert grid.locator(".rnb-g-summary").inner_text().startswith("4 tasks · 4 done")

    # Synced play: one click starts all four, and their clocks advance together.
    grid.locator(".rnb-g-play").click()
    page.wait_for_function(f"() => ({CELL_FACTS})().every(c => c.paused === false)", timeout=10_000)
    before = [c["t"] for c in cell_facts(page)]
    page.wait_for_timeout(700)
    after = cell_facts(page)
    assert all(c["paused"] is False for c in after), after
    assert all(b["t"] > a for a, b in zip(before, after, strict=True)), (before, after)
    times = [c["t"] for c in after]
    assert max(times) - min(times) < 0.5, times
    assert grid.get_attribute("data-playing") == "true"
    grid.locator(".rnb-g-play").click()
    page.wait_for_function(f"() => ({CELL_FACTS})().every(c => c.paused === true)", timeout=10_000)

    # Scrub: every video jumps to the same time.
    grid.locator(".rnb-g-scrub").fill("500")
    page.wait_for_function(f"() => ({CELL_FACTS})().every(c => Math.abs(c.t - 1.0) < 0.15)", timeout=10_000)

    # Click to enlarge: the cell's output, bigger, with its own controls.
    grid.locator(".rnb-g-cell").nth(1).locator(".rnb-g-frame").click()
    big = grid.locator(".rnb-g-focus video")
    big.wait_for()
    assert big.get_attribute("controls") is not None
    grid.locator(".rnb-g-close").click()

    out = nb_tools.wait_for_output(page, 2, "SWEEP [\\s\\S]*\\]", timeout=60_000)
    assert "SWEEP 4 task(s): 4 SUCCEEDED" in out, out
    assert "['1280:720', '720:1280', '1280:720', '720:1280']" in out, out
    # With a browser watching, the player stays after the end (synced playback needs it) ...
    assert page.locator(".rnb-grid").count() == 1
    assert not page.errors, page.errors

    # ... and no button asks to keep it static: saving keeps the final static grid, four players
    # (the page keeps the live grid; tests/browser/test_reopen_browser.py reopens the file).
    assert grid.locator(".rnb-g-freeze").count() == 0
    page.wait_for_function("() => document.querySelector('.rnb-grid').getAttribute('data-finished') === 'true'")
    path = lab.root / "grid.ipynb"
    for _ in range(20):  # the final output follows the finished trait: save until it is in
        page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=10_000)
        (output,) = [o for o in json.loads(path.read_text())["cells"][1]["outputs"]
                     if o["output_type"] == "display_data"]
        if "application/vnd.jupyter.widget-view+json" not in output["data"]:
            break
        page.wait_for_timeout(500)
    assert "application/vnd.jupyter.widget-view+json" not in output["data"]
    assert "".join(output["data"]["text/html"]).count("<video") == 4
    assert page.locator(".rnb-grid").count() == 1, "the page keeps the live grid"
    print(json.dumps(facts))

"""The comparison grid for keyboard and screen-reader users, in JupyterLab light and dark (issue 16,
items 5, 6 and 8): a 2x2 sweep running, enlarged and finished has no serious or critical axe-core
violation; each cell's buttons are named by the cell; Enter on a cell opens a modal dialog over the
grid (nothing moves) that takes focus, Escape closes it and focus is back on the cell; Tab reaches a
cell's Cancel (the task is cancelled in the kernel) and Play all; a status change is announced once.

The simulator runs at half speed here so the running state lasts long enough to be checked. axe-core
comes from js/node_modules (``npm ci`` in js/), injected from disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from a11y import open_in_theme, serious_violations, theme_slug

pytestmark = pytest.mark.browser


CELLS = [
    # (before the simulator starts: it reads its speed once)
    "import os\nos.environ['RUNWAY_NB_SIM_SPEED'] = '0.5'\n%load_ext runway_nb",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 "
    "-o takes\nA red kite over the dunes",
    "import asyncio\nwhile not takes.finished:\n    await asyncio.sleep(0.1)\n"
    "print('STATUSES', [t.task.status for t in takes.tasks])",
]


ACTIVE = """() => { const a = document.activeElement; return a ? {
  cls: String(a.className), name: a.getAttribute('aria-label') || a.textContent.trim(),
  index: a.closest('.rnb-g-cell') ? a.closest('.rnb-g-cell').getAttribute('data-index') : null,
  inDialog: !!a.closest('.rnb-g-focus') } : null; }"""


RECORD_ANNOUNCEMENTS = """() => {
  window.__rnbSaid = [];
  const seen = new WeakMap();
  const look = () => {
    for (const node of document.querySelectorAll('.rnb-g-announce')) {
      const text = node.textContent;
      if (text && seen.get(node) !== text) { seen.set(node, text); window.__rnbSaid.push(text); }
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def tab_to(page: Any, selector: str, limit: int = 40) -> dict[str, Any]:
    """Press Tab (from the grid's title) until an element matching ``selector`` has focus."""
    page.locator(".rnb-grid .rnb-g-title").first.click()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return page.evaluate(ACTIVE)
    raise AssertionError(f"Tab never reached {selector}; ended on {page.evaluate(ACTIVE)}")


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_grid_keyboard_and_axe(jupyter_servers, page, nb_tools, theme: str) -> None:
    slug = theme_slug(theme)
    open_in_theme(jupyter_servers, page, nb_tools, theme=theme, name=f"grid-a11y-{slug}.ipynb", cells=CELLS,
                        width=1400, height=1400)
    nb_tools.run_cell(page, 0)
    nb_tools.idle(page)
    nb_tools.run_cell(page, 1)
    grid = page.locator(".rnb-grid").first
    grid.wait_for(timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.rnb-grid .rnb-g-cell')]"
                           ".filter(c => c.getAttribute('data-status') === 'RUNNING').length >= 2", timeout=60_000)

    # Item 5: headers name their option; item 8: the cells' buttons are named by the cell.
    assert grid.locator(".rnb-g-colhead").all_inner_texts() == ["ratio 1280:720", "ratio 720:1280"]
    assert grid.locator(".rnb-g-rowhead").all_inner_texts() == ["model gen4_turbo", "model gen4.5"]
    names = grid.locator(".rnb-g-frame").evaluate_all("ns => ns.map(n => n.getAttribute('aria-label'))")
    assert names == ["Enlarge gen4_turbo, 1280:720", "Enlarge gen4_turbo, 720:1280", "Enlarge gen4.5, 1280:720",
                     "Enlarge gen4.5, 720:1280"]
    assert grid.get_by_role("button", name="Cancel gen4.5, 720:1280", exact=True).count() == 1

    problems = serious_violations(page, ".rnb-grid")
    assert not problems, ("running", problems)

    # Enlarge with the keyboard: a modal dialog over the grid takes focus; Escape gives it back.
    first = tab_to(page, ".rnb-g-frame")
    assert first["name"] == "Enlarge gen4_turbo, 1280:720", first
    table_top = page.evaluate("() => document.querySelector('.rnb-grid .rnb-g-table').getBoundingClientRect().top")
    page.keyboard.press("Enter")
    dialog = grid.locator(".rnb-g-focus")
    dialog.wait_for(state="visible")
    assert dialog.get_attribute("role") == "dialog" and dialog.get_attribute("aria-modal") == "true"
    assert page.evaluate(ACTIVE)["inDialog"], page.evaluate(ACTIVE)
    assert grid.get_by_role("dialog", name="gen4_turbo, 1280:720").count() == 1
    after = page.evaluate("() => document.querySelector('.rnb-grid .rnb-g-table').getBoundingClientRect().top")
    assert after == table_top, "opening the enlarged view must not push the grid down"
    problems = serious_violations(page, ".rnb-grid")
    assert not problems, ("enlarged while running", problems)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    back = page.evaluate(ACTIVE)
    assert back["index"] == "0" and back["name"] == "Enlarge gen4_turbo, 1280:720", back

    # Tab on to the cell's Cancel; Enter cancels that task in the kernel, and it is announced once.
    # (What the live region says is recorded as it changes: the page may draw the grid anew at the end.)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    page.keyboard.press("Tab")
    cancel = page.evaluate(ACTIVE)
    assert cancel["name"] == "Cancel gen4_turbo, 1280:720" and cancel["index"] == "0", cancel
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.rnb-grid .rnb-g-cell[data-index=\"0\"]')"
                           ".getAttribute('data-status') === 'CANCELLED'", timeout=30_000)
    page.wait_for_function("() => window.__rnbSaid.includes('gen4_turbo, 1280:720 cancelled')", timeout=10_000)
    live = grid.locator(".rnb-g-announce")
    assert live.get_attribute("aria-live") == "polite"

    # The kernel agrees: the task was cancelled, the others ran to the end.
    nb_tools.run_cell(page, 2)
    page.wait_for_function("() => document.querySelector('.rnb-grid').getAttribute('data-finished') === 'true'",
                           timeout=120_000)
    out = nb_tools.wait_for_output(page, 2, "STATUSES \\[", timeout=120_000)
    assert "STATUSES ['CANCELLED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']" in out, out
    page.wait_for_function(
        """() => { const cells = [...document.querySelectorAll('.rnb-grid .rnb-g-cell')].slice(1);
                   return cells.every(c => c.querySelector('video') && c.querySelector('video').readyState >= 2); }""",
        timeout=90_000)
    said = page.evaluate("() => window.__rnbSaid")
    assert said.count("gen4_turbo, 1280:720 cancelled") == 1, said
    for name in ("gen4_turbo, 720:1280", "gen4.5, 1280:720", "gen4.5, 720:1280"):
        assert sum(f"{name} succeeded" in line for line in said) == 1, said  # once each, never a tick
    assert not any("%" in line for line in said), said

    # Finished: portrait columns are narrow (no gap beside them), no cancel button is left, Play all is reachable.
    widths = page.evaluate("() => [...document.querySelectorAll('.rnb-grid .rnb-g-frame')]"
                           ".map(f => Math.round(f.getBoundingClientRect().width))")
    assert widths[1] < widths[0] / 2 and widths[3] < widths[2] / 2, widths
    play = tab_to(page, ".rnb-g-play")
    assert play["name"] == "Play all", play
    problems = serious_violations(page, ".rnb-grid")
    assert not problems, ("finished", problems)
    page.screenshot(path=str(Path("test-artifacts") / f"grid-a11y-{slug}.png"))

    # At 800 px the row labels give way before the pictures: they shrink to their narrowest first.
    sizes = """() => ({heads: [...document.querySelectorAll('.rnb-grid .rnb-g-rowhead')]
                         .map(n => Math.round(n.getBoundingClientRect().width)),
                       frames: [...document.querySelectorAll('.rnb-grid .rnb-g-frame')]
                         .map(f => Math.round(f.getBoundingClientRect().width))})"""
    wide = page.evaluate(sizes)
    page.set_viewport_size({"width": 800, "height": 1400})
    page.wait_for_function(f"(w) => ({sizes})().heads[0] < w", arg=wide["heads"][0], timeout=10_000)
    narrow = page.evaluate(sizes)
    page.screenshot(path=str(Path("test-artifacts") / f"grid-a11y-800-{slug}.png"))
    assert min(narrow["frames"]) >= 160 or max(narrow["heads"]) <= 97, (wide, narrow)
    assert max(narrow["heads"]) < min(wide["heads"]), (wide, narrow)
    page.set_viewport_size({"width": 1400, "height": 1400})

    # Enlarged, finished (by mouse this time): still a labelled dialog with no violation.
    grid.locator(".rnb-g-frame").nth(3).click()
    dialog.wait_for(state="visible")
    dialog.locator("video").wait_for()
    problems = serious_violations(page, ".rnb-grid")
    assert not problems, ("enlarged, finished", problems)
    page.screenshot(path=str(Path("test-artifacts") / f"grid-a11y-enlarged-{slug}.png"))
    grid.locator(".rnb-g-close").click()
    dialog.wait_for(state="hidden")
    assert page.evaluate(ACTIVE)["index"] == "3"
    assert not page.errors, page.errors


STATIC_CELLS = [
    "%load_ext runway_nb\nimport asyncio\nfrom IPython.display import HTML\n"
    "from runway_nb.notebook.widgets import Grid",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 "
    "-o takes\nA red kite over the dunes",
    "while not takes.finished:\n    await asyncio.sleep(0.1)\nHTML(Grid.for_sweep(takes).static_html())",
]

STATIC_FACTS = """() => {
  const root = document.querySelector('.jp-OutputArea-output .rnb-grid-static');
  const cells = [...root.querySelectorAll('.rnb-grid-cell')];
  return {
    tables: root.querySelectorAll('table').length,
    frames: cells.map(c => { const r = c.firstElementChild.getBoundingClientRect(); return [r.width, r.height]; }),
    media: cells.map(c => { const m = c.querySelector('video, img');
                            if (!m) return null; const r = m.getBoundingClientRect(); return [r.width, r.height]; }),
    credits: [...root.querySelectorAll('span')].filter(s => /credits$/.test(s.textContent))
      .map(s => ({lines: Math.round(s.getBoundingClientRect().height / parseFloat(getComputedStyle(s).lineHeight)),
                  align: getComputedStyle(s.parentElement).textAlign})),
    prompt: root.textContent.split('A red kite over the dunes').length - 1,
  };
}"""


def test_static_grid_looks_like_the_live_one(jupyter_servers, page, nb_tools) -> None:
    lab = jupyter_servers()
    nb_tools.write(lab, "grid-static.ipynb", STATIC_CELLS)
    page.set_viewport_size({"width": 1400, "height": 1400})
    nb_tools.open(page, lab, "grid-static.ipynb")
    nb_tools.run_all(page)
    page.locator(".jp-OutputArea-output .rnb-grid-static").first.wait_for(timeout=120_000)
    page.wait_for_timeout(500)
    facts = page.evaluate(STATIC_FACTS)
    page.locator(".jp-OutputArea-output .rnb-grid-static").first.screenshot(
        path=str(Path("test-artifacts") / "grid-static-light.png"))
    assert facts["tables"] == 0, facts
    assert facts["prompt"] == 1, "the prompt is said once"
    (lw, lh), (pw, ph) = facts["frames"][0], facts["frames"][1]
    assert pw < lw / 2 and abs(ph - lh) < 2, ("a portrait cell is a narrow column of the row's height", facts)
    for (fw, fh), media in zip(facts["frames"], facts["media"], strict=True):
        assert media is not None and abs(media[0] - (fw - 2)) < 2 and abs(media[1] - (fh - 2)) < 2, facts
    assert facts["credits"] and all(c["lines"] == 1 and c["align"] in ("left", "start") for c in facts["credits"])
    problems = serious_violations(page, ".rnb-grid")  # the live grid, shown beside it
    static_problems = serious_violations(page, ".rnb-grid-static")
    assert not problems and not static_problems, (problems, static_problems)

"""Light, dark and high-contrast themes in JupyterLab: every visible text of a finished task view, a failed one,
a finished 2x2 grid and the static outputs of all three has WCAG AA contrast against the
background it is drawn on, the grid's Play button is named "Play all", and axe-core finds no
serious or critical problem.

Each theme gets its own server (``jupyter_servers(theme=...)``: the theme is set in
``overrides.json``). Contrast is measured in the page: for each text node, its colour (with the
opacity of its ancestors) over the layers of backgrounds behind it, walking up until one is
opaque (the page's white when none is); see ``a11y.py`` for that measure and axe-core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from a11y import low_contrast, open_in_theme, serious_violations, theme_slug

pytestmark = pytest.mark.browser


CELLS = [
    "%load_ext runway_nb\nimport asyncio\nfrom IPython.display import HTML\n"
    "from runway_nb.notebook.widgets import Grid, static_html",
    "%%runway -m gen4.5 -r 1280:720 -d 5 -o h\nA lighthouse at dusk, flat poster style",
    "%%runway -m gen4.5 -r 1280:720 -d 5 -o bad\nsomething forbidden",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 2 "
    "-o takes\nA red kite over the dunes",
    # The static outputs (what a saved notebook, nbconvert or GitHub shows) of the same results.
    "while not (h.finished and bad.finished and takes.finished):\n    await asyncio.sleep(0.1)\n"
    "HTML(static_html(h) + static_html(bad) + Grid.for_sweep(takes).static_html())",
]

ROOTS = ".rnb-task, .rnb-grid, .rnb-static"


def _wait_for_states(page: Any) -> None:
    """The finished task view, the failed one, the finished grid with every player loaded, and
    the static outputs of all three."""
    # A finished task whose outputs were kept is shown in its final (static) form, as it is saved.
    page.wait_for_function(
        """() => ['SUCCEEDED', 'FAILED'].every(s =>
             [...document.querySelectorAll('.rnb-task .rnb-badge')].some(b => b.textContent.trim() === s)
             || document.querySelector(`.rnb-static[data-rnb-status="${s}"]`))""", timeout=90_000)
    page.wait_for_function(
        """() => { const cells = [...document.querySelectorAll('.rnb-grid .rnb-g-cell')];
                   return cells.length === 4 && cells.every(c => c.getAttribute('data-status') === 'SUCCEEDED'
                     && c.querySelector('video') && c.querySelector('video').readyState >= 2); }""",
        timeout=90_000)
    page.locator(".rnb-grid-static").first.wait_for(timeout=90_000)
    for status in ("SUCCEEDED", "FAILED"):
        page.locator(f'.rnb-static[data-rnb-status="{status}"]').first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)  # the last layout settles


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"])
def test_text_contrast_and_accessibility_in_every_theme(jupyter_servers, page, nb_tools, theme: str) -> None:
    slug = theme_slug(theme)
    open_in_theme(jupyter_servers, page, nb_tools, theme=theme, name=f"theme-{slug}.ipynb", cells=CELLS,
                        width=1280, height=6000)
    nb_tools.run_all(page)
    _wait_for_states(page)
    page.screenshot(path=str(Path("test-artifacts") / f"theme-{slug}.png"), full_page=True)

    measured, low = low_contrast(page, ROOTS)
    texts = " ".join(m["text"] for m in measured)
    # Every state under test was measured: the static card's caption, the failure, the grid's
    # counters and corner label, the live view's task id.
    for expected in ("A lighthouse at dusk", "SAFETY.INPUT.TEXT", "4 done", "task ", "Play all"):
        assert expected in texts, (expected, texts[:2000])
    print(theme, len(measured), "texts; lowest:", sorted(measured, key=lambda m: m["ratio"])[:6])
    assert not low, low

    # The transport button's accessible name is its words, not the names of glyphs.
    grid = page.locator(".rnb-grid")
    assert grid.get_by_role("button", name="Play all", exact=True).count() == 1
    assert grid.locator(".rnb-g-play svg[aria-hidden='true']").count() == 1

    # axe-core on the same states: no serious or critical violation.
    violations = serious_violations(page, ROOTS)
    print("\n".join(f"{v['id']} {v['impact']}: {v['help']} {v['nodes']}" for v in violations))
    assert not violations, violations

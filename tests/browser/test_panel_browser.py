"""The form panel in JupyterLab, in headless Chromium, on the simulator: it refuses an invalid
form (Submit disabled with a reason, no task created) and submits a valid one (a new task in
Python, shown as a task view below the form, with a history entry).

Shares the session's JupyterLab server (``lab``) and browser with the other browser tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

STATE = ("import runway_nb\ns = runway_nb.get_session()\n"
         "print('CREATES', s.client.simulator.stats.creates, 'TASKS', len(s.tasks),"
         " [t.params.get('promptText') for t in s.tasks])")


def state(page, nb_tools) -> str:
    """Run the state cell again and return its output (once its execution count changed)."""
    return nb_tools.rerun(page, 2, r"CREATES \d")


def test_panel_refuses_an_invalid_form_and_submits_a_valid_one(lab, page, nb_tools):
    nb_tools.write(lab, "panel.ipynb", ["%load_ext runway_nb", "%runway panel", STATE])
    nb_tools.open(page, lab, "panel.ipynb")
    nb_tools.run_all(page)

    panel = page.locator(".rnb-panel").first
    panel.wait_for(timeout=60_000)
    nb_tools.wait_for_output(page, 2, "CREATES 0 TASKS 0")
    nb_tools.idle(page)
    submit = panel.locator(".rnb-p-submit")
    reason = panel.locator(".rnb-p-reason")
    assert submit.is_disabled()
    assert "write a prompt" in reason.inner_text()

    # Invalid: image to video without an image. The kernel says why; Submit stays disabled.
    panel.locator(".rnb-p-type").select_option("image_to_video")
    page.wait_for_function("() => document.querySelectorAll('.rnb-p-url').length === 1", timeout=15_000)
    panel.locator(".rnb-p-prompt").fill("a red kite over the dunes")
    page.wait_for_function(
        "() => /promptImage is required/.test(document.querySelector('.rnb-p-reason').textContent)",
        timeout=15_000)
    assert submit.is_disabled()
    assert reason.inner_text().startswith("Image: ")
    # the ratio picker shows this model's ratios as shapes
    shapes = page.evaluate("() => [...document.querySelectorAll('.rnb-p-ratio')].map(b => {"
                           " const r = b.querySelector('.rnb-p-shape').getBoundingClientRect();"
                           " return [b.getAttribute('data-ratio'), r.width, r.height]; })")
    assert shapes and all((w >= h) == (int(x) >= int(y)) for (ratio, w, h) in shapes
                          for x, y in [ratio.split(":")]), shapes
    # a forced click on the disabled button sends nothing
    submit.click(force=True)
    page.wait_for_timeout(500)
    assert "CREATES 0 TASKS 0" in state(page, nb_tools)

    # Over the model's prompt limit: the count turns red and Submit stays disabled.
    panel.locator(".rnb-p-type").select_option("text_to_video")
    page.wait_for_function("() => document.querySelectorAll('.rnb-p-url').length === 0", timeout=15_000)
    panel.locator(".rnb-p-prompt").fill("x" * 1001)
    page.wait_for_function("() => document.querySelector('.rnb-p-count').textContent === '1001 / 1000'",
                           timeout=15_000)
    assert submit.is_disabled()
    assert re.search(r"1001 characters", reason.inner_text())

    # Valid: a text to video prompt. Submit is enabled; one click creates one task.
    panel.locator(".rnb-p-prompt").fill("a red kite over the dunes")
    page.wait_for_function("() => !document.querySelector('.rnb-p-submit').disabled", timeout=15_000)
    assert reason.inner_text() == ""
    assert "credits" in panel.locator(".rnb-p-estimate").inner_text()
    submit.click()
    page.locator(".rnb-p-entry").first.wait_for(timeout=15_000)
    view = page.locator(".rnb-task").first
    view.wait_for(timeout=15_000)
    page.wait_for_function("() => window.__rnbStatuses.includes('SUCCEEDED')", timeout=60_000)
    page.screenshot(path=str(Path("test-artifacts") / "panel-submitted.png"))
    out = state(page, nb_tools)
    assert "CREATES 1 TASKS 1 ['a red kite over the dunes']" in out, out
    entry = page.locator(".rnb-p-entry").first
    entry.locator(".rnb-p-copy").click()  # opens the cell text (and copies it where the clipboard is allowed)
    page.wait_for_function("() => document.querySelector('.rnb-p-copied').textContent !== ''", timeout=10_000)
    assert entry.locator("pre").inner_text().startswith("%%runway -m gen4.5 -r 1280:720 -d 5 --seed ")
    assert not page.errors, page.errors

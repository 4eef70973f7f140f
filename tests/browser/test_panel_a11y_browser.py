"""The panel by keyboard only, in JupyterLab light and dark, on the simulator: Tab into the form,
type a prompt, arrow keys change the aspect ratio (one radio group, one tab stop), Enter on
Generate submits, and the kernel's task has the chosen ratio; Tab reaches the task's Cancel.
axe-core finds no serious or critical problem and every text of the panel has AA contrast with
the panel empty, with a running task and with a finished one (whose bar is gone and whose clock
says how long it ran), and with an image chosen through the "Choose image…" button (the label of
the visually hidden file input, which keeps the focus). Generate is the prominent button, the
history line shows the result's thumbnail, prompt, status and model.

The simulator runs slowly (``configure(speed=...)``) while the running task is examined, then
fast to finish it. Contrast is measured with test_theme_browser's CONTRAST script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from a11y import low_contrast, open_in_theme, serious_violations, theme_slug

pytestmark = pytest.mark.browser

PROMPT = "A paper boat drifting down a rain gutter, macro lens"
CELLS = [
    "%load_ext runway_nb\nimport runway_nb\ns = runway_nb.get_session()\n_ = s.client.simulator.configure(speed=0.3)",
    "%runway panel",
    "print('TASKS', len(s.tasks), [t.params.get('ratio') for t in s.tasks],\n"
    "      [t.params.get('promptText') for t in s.tasks])",
    "_ = s.client.simulator.configure(speed=100)",
]
ROOTS = ".rnb-panel, .rnb-task"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")

# What has the keyboard focus, and whether its focus is drawn (an outline, on it or on the label of a hidden input).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const drawn = (n) => { const cs = getComputedStyle(n);
                         return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0; };
  const label = el.id ? document.querySelector(`label[for="${el.id}"]`) : null;
  return {cls: String(el.className), tag: el.tagName, role: el.getAttribute('role'),
          ratio: el.getAttribute('data-ratio'), inPanel: !!el.closest('.rnb-panel'),
          visible: drawn(el) || (!!label && drawn(label))};
}"""


def _check(page: Any, state: str) -> None:
    """axe-core and AA contrast on the panel and its task views."""
    page.wait_for_timeout(300)  # the last layout settles
    measured, low = low_contrast(page, ROOTS)
    assert any(m["text"] == "Aspect ratio" for m in measured), (state, measured[:20])
    assert not low, (state, low)
    violations = serious_violations(page, ROOTS)
    assert not violations, (state, violations)


def _tab_until(page: Any, done: str, limit: int = 25) -> list[dict[str, Any]]:
    """Press Tab until FOCUSED's result satisfies the JS predicate ``done``; every stop on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        stops.append(focused)
        if focused and page.evaluate(f"(f) => ({done})(f)", focused):
            return stops
    raise AssertionError(f"Tab never reached {done}: {stops}")


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_panel_by_keyboard_accessible_in_light_and_dark(jupyter_servers, page, nb_tools, theme: str) -> None:
    slug = theme_slug(theme)
    open_in_theme(jupyter_servers, page, nb_tools, theme=theme, name=f"panel-a11y-{slug}.ipynb", cells=CELLS,
                        width=1280, height=2400)
    # Cell by cell, not Run All: the last cell speeds the simulator up and must wait its turn.
    for index in range(3):
        nb_tools.idle(page)
        nb_tools.run_cell(page, index)
    panel = page.locator(".rnb-panel").first
    panel.wait_for(timeout=60_000)
    nb_tools.wait_for_output(page, 2, "TASKS 0", timeout=60_000)
    nb_tools.idle(page)

    # Generate: the prominent, primary button.
    submit = panel.locator(".rnb-p-submit")
    assert submit.inner_text() == "Generate"
    brand = page.evaluate("""() => { const probe = document.createElement('div');
        probe.style.color = 'var(--jp-brand-color1)'; document.body.appendChild(probe);
        const c = getComputedStyle(probe).color; probe.remove(); return c; }""")
    assert submit.evaluate("b => getComputedStyle(b).backgroundColor") == brand, "Generate wears the brand colour"
    _check(page, "empty")

    # Keyboard only: from the form's first control, Tab through the panel, one ratio stop. (Focus
    # is put there, not clicked there: a click in an output lets JupyterLab move the starting
    # point of Tab to its cell's toolbar.)
    panel.locator(".rnb-p-type").focus()
    stops = [page.evaluate(FOCUSED)]
    assert stops[0]["cls"].startswith("rnb-p-type"), stops
    stops += _tab_until(page, "f => f.role === 'radio'")
    assert all(s and s["inPanel"] for s in stops), stops
    first_ratio = stops[-1]["ratio"]
    page.keyboard.press("ArrowRight")
    chosen = page.evaluate(FOCUSED)
    assert chosen["role"] == "radio" and chosen["ratio"] != first_ratio, (first_ratio, chosen)
    page.wait_for_function("(r) => document.querySelector(`.rnb-p-ratio[data-ratio='${r}']`)"
                           ".getAttribute('aria-checked') === 'true'", arg=chosen["ratio"], timeout=10_000)
    stops += _tab_until(page, "f => f.cls.includes('rnb-p-prompt')")
    assert sum(1 for s in stops if s and s["role"] == "radio") == 1, "the ratio group is one tab stop"
    page.keyboard.type(PROMPT)
    page.wait_for_function("() => !document.querySelector('.rnb-p-submit').disabled", timeout=15_000)
    stops += _tab_until(page, "f => f.cls.includes('rnb-p-submit')")
    assert all(s["visible"] for s in stops if s and s["inPanel"]), [s for s in stops if s and not s["visible"]]
    page.keyboard.press("Enter")

    # The task runs: its view below the form, its history line; Tab goes on to its Cancel.
    page.locator(".rnb-task").first.wait_for(timeout=30_000)
    page.wait_for_function("() => window.__rnbStatuses.includes('RUNNING')", timeout=60_000)
    line = panel.locator(".rnb-p-entry").first
    line.wait_for(timeout=15_000)
    assert line.locator(".rnb-p-entry-prompt").get_attribute("title") == PROMPT
    assert line.locator(".rnb-p-entry-model").inner_text().startswith(f"gen4.5 · {chosen['ratio']} · 5 s · seed ")
    assert [b.inner_text() for b in line.locator("button").all()] == ["Re-run", "Edit", "Copy as cell"]
    sizes = page.evaluate("""() => [...document.querySelectorAll('.rnb-p-submit, .rnb-p-rerun, .rnb-cancel')].map(b => {
        const r = b.getBoundingClientRect(); const cs = getComputedStyle(b);
        return [b.className, r.height, parseFloat(cs.fontSize), cs.backgroundColor]; })""")
    (generate, *secondary) = sizes
    assert all(generate[1] > s[1] and generate[2] > s[2] and generate[3] != s[3] for s in secondary), sizes
    panel.locator(".rnb-p-submit").focus()
    stops = _tab_until(page, "f => f.cls.includes('rnb-cancel')")
    assert page.evaluate("() => document.activeElement.closest('.rnb-task') !== null")
    _check(page, "running")

    out = nb_tools.rerun(page, 2, "TASKS 1")
    assert f"TASKS 1 ['{chosen['ratio']}'] ['{PROMPT}']" in out, out

    # Finished: the history line has the result's thumbnail; the view has no bar and says how long it ran.
    nb_tools.run_cell(page, 3)
    page.wait_for_function("() => window.__rnbStatuses.includes('SUCCEEDED')", timeout=90_000)
    page.wait_for_function("() => { const b = document.querySelector('.rnb-p-entry .rnb-badge');"
                           " return b && b.textContent === 'SUCCEEDED'; }", timeout=60_000)
    page.wait_for_function("() => !!document.querySelector('.rnb-p-entry img.rnb-p-thumb')", timeout=60_000)
    assert page.evaluate("() => document.querySelector('.rnb-p-entry img').src.startsWith('data:image/')")
    view = page.locator(".rnb-task").first
    view.wait_for(timeout=30_000)
    page.wait_for_function("() => /ran \\d/.test(document.querySelector('.rnb-task .rnb-clock').textContent)",
                           timeout=30_000)
    assert not view.locator(".rnb-bar").is_visible(), "no full progress bar once finished"
    assert "left" not in view.locator(".rnb-clock").inner_text()
    _check(page, "finished")
    page.screenshot(path=str(Path("test-artifacts") / f"panel-a11y-{slug}.png"), full_page=True)

    # An image input: the file is chosen through a button (the hidden input's label), named and focusable.
    panel.locator(".rnb-p-type").select_option("image_to_video")
    choose = panel.locator(".rnb-p-choose").first
    choose.wait_for(timeout=15_000)
    assert choose.inner_text() == "Choose image…"
    assert page.get_by_label("Choose image…").first.get_attribute("type") == "file"
    panel.locator(".rnb-p-url").first.click()
    stops = _tab_until(page, "f => f.cls.includes('rnb-p-file')", limit=3)
    assert stops[-1]["visible"], "focus on the hidden input shows on its button"
    panel.locator(".rnb-p-file").first.set_input_files(
        files=[{"name": "kite.png", "mimeType": "image/png", "buffer": PNG}])
    page.wait_for_function("() => /kite\\.png/.test(document.querySelector('.rnb-p-uploaded').textContent)",
                           timeout=15_000)
    _check(page, "image input")
    assert not page.errors, page.errors

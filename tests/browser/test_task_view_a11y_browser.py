"""The task view as a person sees and hears it, in JupyterLab (light and dark), on the simulator.

One notebook per theme runs three tasks on a slow simulator (so they are caught running):
a video shown the usual way (it becomes the static card once it played), the same request in a
view kept live (inside a VBox: no static swap), and an image (text_to_image). Checked:

- while running, a placeholder in the requested ratio's shape holds the player's place, so the
  view's height changes little when the media arrives (measured before and after);
- the finished video autoplays, muted and looped, with controls (live view and static card);
- status changes are said once in a polite live region ("Task succeeded" after the finish);
- the Cancel button is named "Cancel task" and is reached with the Tab key;
- axe-core finds no serious or critical problem, running and finished;
- the simulator's notices are quiet notes, never a stderr block.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from a11y import open_in_theme, serious_violations, theme_slug

pytestmark = pytest.mark.browser


REQUEST = ('model="gen4_turbo", prompt="A red kite over the dunes", image="https://example.com/kite.png", '
           'ratio="1280:720", duration=5')
CELLS = [
    "%load_ext runway_nb\nimport ipywidgets\nfrom IPython.display import display\n"
    "from runway_nb import Runway, Simulator\nfrom runway_nb.notebook.widgets import TaskView, display_handle\n"
    # 150 simulated seconds at 10x: about 15 s running, time enough to look at the running views
    "sim = Simulator(speed=10, pending_seconds=1, run_seconds=150)\n"
    "client = Runway(provider='sim', simulator=sim)",
    "import runway_nb\nsession_client = runway_nb.get_session().client  # the default client: says 'simulator' once",
    f"a = client.image_to_video.create({REQUEST})\ndisplay_handle(a)",
    f"b = client.image_to_video.create({REQUEST})\ndisplay(ipywidgets.VBox([TaskView(b)]))",
    "img = client.text_to_image.create(model='gen4_image', prompt='A lighthouse at dusk', ratio='1920:1080')\n"
    "display_handle(img)",
]
SHOWN, LIVE, IMAGE = 2, 3, 4  # the cells of the three views

ROOTS = ".rnb-task, .rnb-static, .rnb-notice"


# The height of the view (live or static) in cell `index`, once `ready` holds for it.
VIEW_HEIGHT = """([index, ready]) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[index];
  const view = cell && cell.querySelector('.rnb-task, .rnb-static');
  if (!view) return null;
  const media = view.querySelector('video, img');
  if (ready === 'placeholder') {
    const box = view.querySelector('.rnb-placeholders:not([hidden]) .rnb-placeholder');
    return box && view.getAttribute('data-status') === 'RUNNING' ? view.getBoundingClientRect().height : null;
  }
  if (ready === 'static' && !view.classList.contains('rnb-static')) return null;
  if (ready === 'live' && view.getAttribute('data-status') !== 'SUCCEEDED') return null;
  if (!media) return null;
  const loaded = media.tagName === 'VIDEO' ? media.readyState >= 2 && media.videoWidth > 0
                                           : media.complete && media.naturalWidth > 0;
  return loaded ? view.getBoundingClientRect().height : null;
}"""


def _height(page: Any, index: int, ready: str, timeout: float = 90_000) -> float:
    handle = page.wait_for_function(VIEW_HEIGHT, arg=[index, ready], timeout=timeout)
    return float(handle.json_value())


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_task_view_running_and_finished_is_calm_steady_and_accessible(jupyter_servers, page, nb_tools,
                                                                      theme: str) -> None:
    slug = theme_slug(theme)
    open_in_theme(jupyter_servers, page, nb_tools, theme=theme, name=f"task-view-a11y-{slug}.ipynb",
                        cells=CELLS, width=1280, height=4000)
    nb_tools.run_all(page)

    # Running: each view holds its output's place with a placeholder.
    running = {i: _height(page, i, "placeholder") for i in (SHOWN, LIVE, IMAGE)}
    page.screenshot(path=str(Path("test-artifacts") / f"task-view-running-{slug}.png"), full_page=True)
    violations = serious_violations(page, ROOTS)
    assert not violations, ("running", violations)

    # The Cancel button is named for what it cancels and is reached from the keyboard.
    live_view = page.locator(".jp-Notebook .jp-Cell").nth(LIVE).locator(".rnb-task")
    cancel = live_view.get_by_role("button", name="Cancel task", exact=True)
    assert cancel.count() == 1
    live_view.locator(".rnb-title").click()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('aria-label')")
    assert focused == "Cancel task", focused

    # Finished: the players have the placeholder's size, so the view barely moves.
    final = {SHOWN: _height(page, SHOWN, "static"), LIVE: _height(page, LIVE, "live"),
             IMAGE: _height(page, IMAGE, "static")}
    print(theme, "running heights", running, "finished heights", final)
    for i in running:
        assert abs(final[i] - running[i]) < 40, (i, running[i], final[i])

    # Said once in the live region, without the progress ticks.
    region = live_view.locator("[role=status][aria-live=polite]")
    assert region.count() == 1
    assert region.text_content() == "Task succeeded"

    # The finished video plays at once, muted and looped, with controls: live view and static card.
    static_card = page.locator(".jp-Notebook .jp-Cell").nth(SHOWN).locator(".rnb-static")
    for where, video in (("live view", live_view.locator("video")), ("static card", static_card.locator("video"))):
        assert video.count() == 1, where
        facts = video.evaluate("v => ({autoplay: v.autoplay, muted: v.muted, loop: v.loop, controls: v.controls,"
                               " playsinline: v.hasAttribute('playsinline')})")
        assert all(facts.values()), (where, facts)

    # The facts line does not repeat the model the title names.
    title = live_view.locator(".rnb-title").inner_text()
    facts_line = live_view.locator(".rnb-facts").inner_text()
    assert "gen4_turbo" in title and "gen4_turbo" not in facts_line, (title, facts_line)

    page.screenshot(path=str(Path("test-artifacts") / f"task-view-finished-{slug}.png"), full_page=True)
    violations = serious_violations(page, ROOTS)
    assert not violations, ("finished", violations)

    # The simulator's notices: quiet notes (its backend once, the placeholder input once), no stderr.
    notes = page.locator(".rnb-notice").all_inner_texts()
    assert len([n for n in notes if "built-in Runway simulator" in n]) == 1, notes
    assert len([n for n in notes if "placeholder stands in" in n]) == 1, notes
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, stderr.all_inner_texts()
    print("notes:", json.dumps(notes))

"""The walk-through a new user takes, in JupyterLab on the simulator, light at 1400 px and dark at
800 px: a task running then finished, an image, a 2x2 sweep, a failure, a task that waits
THROTTLED, the panel, ``%runway list/history/credits/config``, then save, shut down and reopen.

Each step asserts what the person should see and saves a screenshot of it under
``test-artifacts/walkthrough-<theme>/`` (CI keeps the folder as an artefact), so the look of
every state can be reviewed without running anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from a11y import open_in_theme, theme_slug

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CELLS = [
    "%load_ext runway_nb\nimport asyncio",
    "%%runway -m gen4.5 -r 1280:720 -d 10 -o h\nA lighthouse at dusk, slow dolly in, flat poster style",
    "%%runway -m gen4_image -r 1920:1080 -o img\nA red kite over the dunes, flat poster style",
    "%%runway --model gen4_turbo,gen4.5 --ratio 1280:720,720:1280 --image https://example.com/kite.png -d 5 "
    "-o takes\nA red kite over the dunes",
    "%%runway -m gen4.5 -r 1280:720 -d 5 -o bad\nsomething forbidden",
    # gen4.5 already runs two tasks (h and a sweep cell): the simulator's per-model limit queues this one.
    "%%runway -m gen4.5 -r 720:1280 -d 5 -o queued\nA lighthouse keeper climbing the stairs",
    "%runway panel",
    "for t in (h, img, takes, queued):\n    await t\n"
    "await bad.wait_async(raise_on_failure=False)\nprint('ALL', 'DONE')",
    "%runway list",
    "%runway history",
    "%runway credits",
    "%runway config",
]
TASK, IMAGE, SWEEP, FAILURE, QUEUED, PANEL, DONE, LIST, HISTORY, CREDITS, CONFIG = range(1, 12)


def _cell(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _shot(page: Any, folder: Path, name: str, index: int | None = None) -> None:
    """A screenshot of cell ``index`` (or of the whole page) as ``folder/name.png``."""
    if index is None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        return
    cell = _cell(page, index)
    cell.scroll_into_view_if_needed()
    cell.screenshot(path=str(folder / f"{name}.png"))


def _text(page: Any, index: int) -> str:
    """Cell ``index``'s output text, once it has some (scrolled into view: JupyterLab draws only
    the cells near the viewport)."""
    cell = _cell(page, index)
    cell.scroll_into_view_if_needed()
    output = cell.locator(".jp-OutputArea-output").first
    output.wait_for(timeout=30_000)
    return str(cell.locator(".jp-OutputArea").inner_text())


STATUS_OF = """(i) => { const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
                        const live = cell.querySelector('.rnb-task .rnb-badge');
                        if (live) return live.textContent.trim();
                        const st = cell.querySelector('.rnb-static[data-rnb-status]');
                        return st ? st.getAttribute('data-rnb-status') : ''; }"""


def _status_of(page: Any, index: int) -> str:
    """The status the cell's task shows, live (the widget's badge) or final (the static card)."""
    return str(page.evaluate(STATUS_OF, index))


def _wait_status(page: Any, index: int, status: str) -> None:
    """Until cell ``index`` shows ``status`` (a view follows its task by its own polls, so it may
    trail a kernel that awaited the task)."""
    page.wait_for_function(f"(i) => ({STATUS_OF})(i) === {status!r}", arg=index, timeout=60_000)


@pytest.mark.parametrize(("theme", "width"), [("JupyterLab Light", 1400), ("JupyterLab Dark", 800)],
                         ids=["light-1400", "dark-800"])
def test_a_new_users_walk_through(jupyter_servers, page, nb_tools, theme: str, width: int) -> None:
    slug = theme_slug(theme)
    folder = ARTIFACTS / f"walkthrough-{slug}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"walkthrough-{slug}.ipynb"
    lab = open_in_theme(jupyter_servers, page, nb_tools, theme=theme, name=name, cells=CELLS, width=width, height=5000)
    nb_tools.run_all(page)

    # 1. A task running: its percentage and time left, queue time apart from run time.
    running = _cell(page, TASK).locator(".rnb-task[data-status='RUNNING'], .rnb-task .rnb-badge:text('RUNNING')")
    running.first.wait_for(timeout=90_000)
    page.wait_for_function(
        "(i) => /\\d+ ?%/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i].innerText)", arg=TASK,
        timeout=60_000)
    _shot(page, folder, "01-task-running", TASK)
    assert re.search(r"\d+ ?%", _text(page, TASK))

    # 2. The THROTTLED task says it is queued (recorded even if brief), then runs.
    page.wait_for_function("() => window.__rnbStatuses.includes('THROTTLED')", timeout=90_000)
    if _status_of(page, QUEUED) == "THROTTLED":
        _shot(page, folder, "02-throttled", QUEUED)

    # 3. The sweep as a 2x2 grid while it runs, then finished with four playable videos.
    grid = _cell(page, SWEEP).locator(".rnb-grid").first
    grid.wait_for(timeout=60_000)
    _shot(page, folder, "03-sweep-running", SWEEP)

    _cell(page, DONE).locator(".jp-OutputArea-output", has_text="ALL DONE").wait_for(timeout=180_000)
    page.wait_for_function(
        """(i) => { const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
                    const videos = [...cell.querySelectorAll('.rnb-grid video, .rnb-grid-static video')];
                    return videos.length === 4 && videos.every(v => v.readyState >= 2); }""",
        arg=SWEEP, timeout=60_000)
    _shot(page, folder, "04-sweep-finished", SWEEP)

    # 4. The finished task: a video that plays.
    _wait_status(page, TASK, "SUCCEEDED")
    page.wait_for_function(
        "(i) => { const v = document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('video');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }", arg=TASK, timeout=30_000)
    _shot(page, folder, "05-task-finished", TASK)

    # 5. The image: shown, loaded.
    _wait_status(page, IMAGE, "SUCCEEDED")
    page.wait_for_function(
        "(i) => { const im = document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('img');"
        " return im && im.complete && im.naturalWidth > 0; }", arg=IMAGE, timeout=30_000)
    _shot(page, folder, "06-image", IMAGE)

    # 6. The failure: its code and what to do about it.
    _wait_status(page, FAILURE, "FAILED")
    failure = _text(page, FAILURE)
    assert "SAFETY.INPUT.TEXT" in failure and "Rephrase" in failure, failure
    _shot(page, folder, "07-failure", FAILURE)

    # 7. The queued task ended too, and its view never claims it ran while it waited.
    _wait_status(page, QUEUED, "SUCCEEDED")
    _shot(page, folder, "08-queued-finished", QUEUED)

    # 8. The panel.
    _cell(page, PANEL).locator(".rnb-panel").first.wait_for(timeout=30_000)
    _shot(page, folder, "09-panel", PANEL)

    # 9. The %runway subcommands.
    listed = _text(page, LIST)
    assert "gen4.5" in listed and "SUCCEEDED" in listed and "FAILED" in listed, listed
    _shot(page, folder, "10-runway-list", LIST)
    assert "gen4_image" in _text(page, HISTORY)
    _shot(page, folder, "11-runway-history", HISTORY)
    credits = _text(page, CREDITS)
    assert "balance" in credits.lower(), credits
    assert _cell(page, CREDITS).locator("svg").count() >= 1, "the usage chart"
    _shot(page, folder, "12-runway-credits", CREDITS)
    config = _text(page, CONFIG)
    assert "simulator" in config.lower(), config
    assert "runway_outputs" in config, config
    _shot(page, folder, "13-runway-config", CONFIG)
    # Each report fits the output area, at 800 px too (nothing cut off at the right).
    for index in (LIST, HISTORY, CREDITS, CONFIG):
        overflow = page.evaluate(
            """(i) => { const area = document.querySelectorAll('.jp-Notebook .jp-Cell')[i]
                                      .querySelector('.jp-OutputArea-output');
                        return area.scrollWidth - area.clientWidth; }""", index)
        assert overflow <= 1, (CELLS[index], overflow)
    _shot(page, folder, "14-whole-notebook")

    # 10. Save, shut the kernel down, reopen: the finished results as static outputs that play.
    nb_tools.save(page)
    nb_tools.shut_down_kernels(page)
    page.goto(lab.notebook_url(name))
    page.locator(".jp-Notebook").first.wait_for()
    page.locator(".rnb-grid-static").first.wait_for(timeout=30_000)
    page.wait_for_timeout(2000)  # whatever renders late (a widget view) has rendered
    text = page.locator(".jp-Notebook").first.inner_text()
    assert "model not found" not in text and "Error displaying widget" not in text, text[:2000]
    page.wait_for_function("() => [...document.querySelectorAll('.rnb-grid-static video')]"
                           ".filter(v => v.readyState >= 2).length === 4", timeout=30_000)
    _shot(page, folder, "15-reopened-sweep", SWEEP)
    _shot(page, folder, "16-reopened-task", TASK)
    assert not page.errors, page.errors

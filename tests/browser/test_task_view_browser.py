"""TaskView in JupyterLab, in headless Chromium, on the simulator.

Each test writes a small notebook, opens it in Lab and runs it like a user would. Screenshots
land in ``test-artifacts/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SETUP = """\
from runway_nb import Runway, Simulator
from runway_nb.notebook.widgets import display_handle
sim = Simulator(speed=10, pending_seconds=2, run_seconds={run})
client = Runway(provider="sim", simulator=sim)
h = client.image_to_video.create(model="gen4_turbo", prompt={prompt!r}, image="https://example.com/kite.png",
                                 ratio="{ratio}", duration=5)
display_handle(h)
"""

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def statuses(page) -> list[str]:
    return page.evaluate("() => window.__rnbStatuses")


def wait_status(page, status: str, timeout: float = 60_000) -> None:
    """Wait until the live widget (``"RUNNING"``) or a static output (``"static:RUNNING"``) shows it."""
    page.wait_for_function(f"() => window.__rnbStatuses.includes({json.dumps(status)})", timeout=timeout)


def video_facts(page, selector: str) -> dict:
    """Facts of the first matching <video> once it has data (read in the same poll, so a widget
    replaced by its static output meanwhile cannot mix two elements)."""
    handle = page.wait_for_function(
        f"() => {{ const v = document.querySelector({json.dumps(selector)});"
        " if (!v || v.readyState < 2 || v.videoWidth === 0) return null;"
        " return {readyState: v.readyState, width: v.videoWidth, height: v.videoHeight, src: v.currentSrc,"
        " controls: v.controls, loop: v.loop, muted: v.muted, playsinline: v.hasAttribute('playsinline')}; }",
        timeout=30_000)
    return handle.json_value()


MAGIC = """\
%%runway -m gen4.5 -r 1280:720 -d 5 -o h
A red kite over <b>dunes</b>, {"camera": "slow pan"}
"""


def test_task_runs_live_then_plays_and_survives_a_reload(lab, page, nb_tools):
    """The quickstart: %load_ext, a %%runway cell (kernel sim at 10x: about 4 s), the widget live,
    then the video; save; reopen."""
    wait_cell = "import asyncio\nwhile not h.finished:\n    await asyncio.sleep(0.1)\nprint('STATUS', h.status)"
    path = nb_tools.write(lab, "play.ipynb", ["%load_ext runway_nb", MAGIC, wait_cell])
    nb_tools.open(page, lab, "play.ipynb")
    nb_tools.run_all(page)

    page.locator(".rnb-task").first.wait_for()
    wait_status(page, "RUNNING")
    page.screenshot(path=str(Path("test-artifacts") / "play-running.png"))
    wait_status(page, "SUCCEEDED")  # the widget itself
    wait_status(page, "static:SUCCEEDED")  # then the durable output
    seen = statuses(page)
    assert seen.index("RUNNING") < seen.index("SUCCEEDED") < seen.index("static:SUCCEEDED")
    assert not {"FAILED", "CANCELLED", "static:FAILED", "static:CANCELLED"} & set(seen)

    # Once the browser loaded the video, the output becomes the static HTML (same player).
    page.locator('.rnb-static[data-rnb-status="SUCCEEDED"] video').wait_for()
    facts = video_facts(page, '.rnb-static[data-rnb-status="SUCCEEDED"] video')
    assert facts["readyState"] >= 2
    assert (facts["width"], facts["height"]) == (1280, 720)
    assert facts["controls"] and facts["loop"] and facts["muted"] and facts["playsinline"]
    assert facts["src"].startswith("http://127.0.0.1:")
    assert page.locator(".rnb-task").count() == 0

    # The prompt is shown as text, never parsed as markup.
    static = page.locator(".rnb-static").first
    text = static.inner_text()
    assert 'A red kite over <b>dunes</b>, {"camera": "slow pan"}' in text, text
    assert static.locator("b").count() == 0

    # The next cell ran (awaiting) while the task did. The final update was also sent as a
    # reply to that cell (for nbclient); Lab ignored it there: no second result in cell 2.
    assert nb_tools.wait_for_output(page, 2, "STATUS \\w+").strip() == "STATUS SUCCEEDED"
    nb_tools.idle(page)
    cell2 = page.locator(".jp-Notebook .jp-Cell").nth(2)
    assert cell2.locator(".rnb-static, .rnb-task").count() == 0

    # The first cell that made the default client also says, once and quietly, that it is the simulator.
    notes = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".rnb-notice")
    assert notes.count() == 1 and "built-in Runway simulator" in notes.inner_text()
    assert page.locator(".rnb-notice", has_text="built-in Runway simulator").count() == 1

    # What Lab saves: the static result, no widget view (no "model not found" on reopening), and
    # not the notice (it was about that session).
    nb_tools.save(page)
    saved = json.loads(path.read_text())
    outputs = saved["cells"][1]["outputs"]
    assert "rnb-notice" not in json.dumps(outputs)
    assert not [o for o in outputs if o["output_type"] == "stream" and o["name"] == "stderr"]
    displays = [o for o in outputs if o["output_type"] == "display_data"]
    assert len(displays) == 1
    data = displays[0]["data"]
    assert WIDGET_MIME not in data
    assert 'data-rnb-status="SUCCEEDED"' in "".join(data["text/html"])
    assert "SUCCEEDED" in "".join(data["text/plain"])
    size = path.stat().st_size
    print(f"saved notebook: {size} bytes; static html {len(''.join(data['text/html']))} bytes")
    assert size < 40_000  # one output: its static HTML with an embedded poster (< 30 KB, see posters.py)

    # Reopen without running anything: the result is still there, and plays.
    nb_tools.open(page, lab, "play.ipynb")
    page.locator('.rnb-static[data-rnb-status="SUCCEEDED"] video').wait_for()
    assert video_facts(page, ".rnb-static video")["width"] == 1280
    assert "model not found" not in page.locator(".jp-Notebook").inner_text()
    page.screenshot(path=str(Path("test-artifacts") / "play-reopened.png"))
    print("console:", page.console_problems, "errors:", page.errors)
    assert not [e for e in page.errors if "rnb" in e or "anywidget" in e.lower()], page.errors


def test_portrait_ratio_size(lab, page, nb_tools):
    code = SETUP.format(run=10, prompt="a tall tower", ratio="720:1280")
    nb_tools.write(lab, "portrait.ipynb", [code])
    nb_tools.open(page, lab, "portrait.ipynb")
    nb_tools.run_all(page)
    wait_status(page, "SUCCEEDED")
    facts = video_facts(page, '[data-rnb-status="SUCCEEDED"] video, [data-status="SUCCEEDED"] video')
    assert (facts["width"], facts["height"]) == (720, 1280)


def test_cancel_button_cancels_the_remote_task(lab, page, nb_tools):
    code = SETUP.format(run=600, prompt="a very long shot", ratio="1280:720")
    check = 'print("REMOTE", sim.app.store.view(h.id, include_gone=True).status, "HANDLE", h.status)'
    nb_tools.write(lab, "cancel.ipynb", [code, check])
    nb_tools.open(page, lab, "cancel.ipynb")
    nb_tools.run_all(page)
    page.locator('.rnb-task[data-status="RUNNING"]').wait_for(timeout=60_000)
    nb_tools.idle(page)
    page.locator(".rnb-task .rnb-cancel").click()
    wait_status(page, "CANCELLED")
    wait_status(page, "static:CANCELLED")
    nb_tools.run_cell(page, 1)
    page.wait_for_function(  # the output area, not the cell (its source says REMOTE too)
        "() => { const out = document.querySelectorAll('.jp-Notebook .jp-Cell')[1].querySelector('.jp-OutputArea');"
        " return out && /REMOTE \\w+ HANDLE \\w+/.test(out.innerText); }", timeout=30_000)
    assert "REMOTE CANCELLED HANDLE CANCELLED" in nb_tools.output_text(page, 1)


def test_failure_shows_code_and_hint(lab, page, nb_tools):
    code = SETUP.format(run=10, prompt="something forbidden", ratio="1280:720")
    nb_tools.write(lab, "failure.ipynb", [code])
    nb_tools.open(page, lab, "failure.ipynb")
    nb_tools.run_all(page)
    wait_status(page, "FAILED")
    wait_status(page, "static:FAILED")
    result = page.locator('[data-rnb-status="FAILED"]').first
    result.wait_for()
    text = result.inner_text()
    assert "SAFETY.INPUT.TEXT" in text
    assert "Content moderation rejected an input" in text


def test_unreachable_output_url_is_relayed_by_the_kernel(lab, page, nb_tools):
    """As on Binder: the browser cannot reach the output URL; the kernel sends the bytes."""
    page.route("**/_sim/outputs/**", lambda route: route.abort())
    code = SETUP.format(run=10, prompt="far away", ratio="1280:720")
    code = code.replace("display_handle(h)", "display_handle(h, save_to=False)  # no local copy to show instead")
    nb_tools.write(lab, "relay.ipynb", [code])
    nb_tools.open(page, lab, "relay.ipynb")
    nb_tools.run_all(page)
    wait_status(page, "SUCCEEDED")
    facts = video_facts(page, '.rnb-task[data-status="SUCCEEDED"] video')
    assert facts["src"].startswith("blob:")
    assert (facts["width"], facts["height"]) == (1280, 720)
    page.wait_for_timeout(1500)
    # the widget stays: the static HTML could not show this URL in this browser
    assert page.locator('.rnb-task[data-status="SUCCEEDED"]').count() == 1
    assert page.locator(".rnb-static").count() == 0


def test_headlessly_executed_notebook_with_autosave_plays_in_lab(lab, page, nb_tools):
    """Executed by nbclient (its kernel and simulator are gone afterwards), then opened in Lab as
    an untrusted notebook: the static output shows, and the video plays from the saved file."""
    import os

    import nbclient
    import nbformat

    cells = [
        "from runway_nb import Runway, Simulator\n"
        "from runway_nb.notebook.widgets import display_handle\n"
        "c = Runway(provider='sim', simulator=Simulator(speed=20, pending_seconds=1, run_seconds=16))\n"
        "h = c.image_to_video.create(model='gen4_turbo', prompt='saved <i>forever</i>', "
        "image='https://example.com/x.png', ratio='1280:720', duration=5)\n"
        "display_handle(h, save_to='runway_outputs')",
        "h.wait();",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), old or ""])
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(lab.root)}}).execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    nbformat.write(nb, lab.root / "headless.ipynb")
    html = nb.cells[0].outputs[-1].data["text/html"]
    assert 'src="runway_outputs/' in html and "127.0.0.1" not in html

    nb_tools.open(page, lab, "headless.ipynb")
    facts = video_facts(page, ".jp-Notebook .jp-Cell video")
    assert (facts["width"], facts["height"]) == (1280, 720)
    assert "/files/runway_outputs/" in facts["src"]
    text = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea").inner_text()
    assert "SUCCEEDED" in text and "saved <i>forever</i>" in text

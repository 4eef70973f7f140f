"""A workflow cell in JupyterLab, in headless Chromium, on the simulator: the view lists the
workflow's nodes, the generation nodes fill in one after another while the run is RUNNING, and
the finished run stays as static HTML whose video plays.

Shares the session's JupyterLab server (``lab``) and browser with the other browser tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

RUN = """\
%%runway --workflow "Image to video" -p "Motion=slow push in" -o run
a lighthouse on a rocky cliff at dusk
"""
WAIT = ("import asyncio\nwhile not run.finished:\n    await asyncio.sleep(0.1)\n"
        "print('RUN', run.status, [(n.name, n.status) for n in run.nodes])")

# One snapshot of the live view: the run's status and each node's (name, status, outputs shown).
SNAPSHOT = """() => {
  const view = document.querySelector('.rnb-workflow');
  if (!view) return null;
  return {status: view.getAttribute('data-status'),
          nodes: [...view.querySelectorAll('.rnb-node')].map(n => [n.getAttribute('data-status'),
                   n.querySelectorAll('.rnb-node-output').length])};
}"""
GENERATION = 2  # Key frame (text_to_image) and Animate (image_to_video); the other three are inputs


def test_a_workflow_cell_shows_its_nodes_filling_in(lab, page, nb_tools):
    nb_tools.write(lab, "workflow.ipynb", ["%load_ext runway_nb", RUN, WAIT])
    nb_tools.open(page, lab, "workflow.ipynb")
    nb_tools.run_all(page)

    page.locator(".rnb-workflow").first.wait_for(timeout=60_000)
    snapshots: list[dict] = []
    for _ in range(600):  # every 100 ms until the live view is replaced by the static output
        snap = page.evaluate(SNAPSHOT)
        if snap is None:
            break
        if not snapshots or snap != snapshots[-1]:
            snapshots.append(snap)
        page.wait_for_timeout(100)
    page.screenshot(path=str(Path("test-artifacts") / "workflow-done.png"))
    assert snapshots, "the live workflow view never showed"
    assert all(len(s["nodes"]) == 5 for s in snapshots), snapshots

    def done(snap: dict) -> int:
        return sum(1 for status, shown in snap["nodes"] if status == "SUCCEEDED" and shown)

    counts = [done(s) for s in snapshots]
    assert counts == sorted(counts), snapshots  # outputs only ever appear
    # the nodes fill in one by one: a RUNNING view with the first node's output and not the second's
    assert any(s["status"] == "RUNNING" and done(s) == 1 for s in snapshots), json.dumps(snapshots)
    assert any(s["status"] == "RUNNING" and done(s) == 0 for s in snapshots), json.dumps(snapshots)

    static = page.locator('.rnb-workflow-static[data-rnb-status="SUCCEEDED"]')
    static.wait_for(timeout=30_000)
    statuses = static.locator("[data-rnb-node]").evaluate_all("els => els.map(e => e.dataset.rnbStatus)")
    assert statuses.count("SUCCEEDED") == GENERATION and statuses.count("INPUT") == 3, statuses
    page.wait_for_function(
        "() => { const v = document.querySelector('.rnb-workflow-static video');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }", timeout=30_000)
    assert static.locator("img").count() >= 1  # the key frame

    out = nb_tools.wait_for_output(page, 2, "RUN \\w+ \\[[\\s\\S]*\\]", timeout=60_000)
    assert "RUN SUCCEEDED" in out and "('Animate', 'SUCCEEDED')" in out, out
    assert not page.errors, page.errors

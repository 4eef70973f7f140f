"""The comparison grid in a real browser: a 4x4 grid of 5 s 1280x720 videos in JupyterLab, in
headless Chromium (Playwright driving Debian's ``/usr/bin/chromium``), on the built-in simulator.

The notebook: ``%load_ext runway_nb``; one ``%%runway`` sweep (gen4_turbo, 1280:720, 5 s, 4
prompts x 4 seeds = 16 tasks, ``-o grid``); a cell that shows ``grid`` again. JupyterLab runs in
a temporary home (``tests/browser/servers.py``'s ``start_lab``, the browser tests' server, with
the simulator at ``RUNWAY_NB_SIM_SPEED``).

- ``grid16_all_playable_s``: from the grid's last task finishing to all 16 ``<video>`` elements
  of the grid at ``readyState >= 2``. Both moments are taken inside the page, on its
  ``performance.now()`` clock, by a recorder installed before JupyterLab loads: a
  MutationObserver notes when each grid cell's ``data-status`` first turns final (SUCCEEDED,
  FAILED, CANCELLED: the moment the page learns the task finished), and every ``<video>`` the
  grid adds gets listeners that note when it reached ``readyState >= 2`` (``loadeddata``; an
  ``emptied`` event, i.e. a new ``src``, clears it). Once all 16 cells are final, the grid says
  ``data-finished``, all 16 videos are ready and no video changed for a second, the figure is
  (latest ready time of the 16 videos in the grid now) - (latest final time of the 16 cells).
  Also reported: the first moment all 16 videos present were ready (a 10 ms poll in the page),
  and how many ``<video>`` elements the grid created in all (16 means no player was replaced).
- ``grid16_sync_drift_ms``: the grid's Play all is clicked; once all 16 play, every ~50 ms one
  ``page.evaluate`` reads the 16 ``currentTime`` values together; the figure is the largest
  spread (max - min) over all samples, in ms, over ``play_s`` seconds of play from 0 (before the
  group loops at 5 s), ``rounds`` times (pause, scrub to 0, play again).
- ``grid_heap_mb_*``: the page's JS heap (CDP ``HeapProfiler.collectGarbage`` then
  ``Runtime.getHeapUsage``'s ``usedSize``) once the re-display cell has shown the grid once,
  and again after running that cell ``rerenders`` more times (each run replaces its output: the
  old view is disposed and a new view of the same widget renders, its 16 videos ready before
  the next run). ``grid_heap_growth_mb`` = after - before; it must not grow.

The machine's load average is recorded with the figures: decoding 16 videos competes with
whatever else runs on the two cores.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

from lab_page import CHROMIUM, CHROMIUM_ARGS, open_notebook, run_cell, write_notebook  # noqa: E402
from servers import start_lab, stop_lab  # noqa: E402

PROMPTS = ["A red kite over the dunes", "A lighthouse at dusk", "A fox in fresh snow", "A city at night"]
SWEEP = ("%%runway -y --model gen4_turbo --ratio 1280:720 --image https://example.com/kite.png -d 5 "
         "--seed 1,2,3,4 -o grid\n" + "\n---\n".join(PROMPTS))
SHOW_AGAIN = "grid"
CONTROL = "print('control')"
N = 16

# Installed before the page's own scripts: when each grid cell turned final, when each video got ready.
RECORDER = """
(() => {
  const B = window.__rnbBench = {final: new Map(), videos: 0, firstAllReady: null, lastVideoChange: 0};
  const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
  const noteCell = (cell) => {
    if (!cell.closest('.rnb-grid')) return;
    const s = cell.getAttribute('data-status');
    const i = cell.getAttribute('data-index');
    if (FINAL.has(s) && !B.final.has(i)) B.final.set(i, performance.now());
  };
  const watchVideo = (v) => {
    if (v.__rnbBench) return;
    const rec = v.__rnbBench = {ready: null};
    B.videos += 1;
    B.lastVideoChange = performance.now();
    const mark = () => { if (rec.ready === null && v.readyState >= 2) rec.ready = performance.now(); };
    v.addEventListener('loadeddata', mark);
    v.addEventListener('canplay', mark);
    v.addEventListener('emptied', () => { rec.ready = null; B.lastVideoChange = performance.now(); });
    mark();
  };
  const scan = (node) => {
    if (!(node instanceof Element)) return;
    for (const v of [node, ...node.querySelectorAll('video')]) if (v.tagName === 'VIDEO') watchVideo(v);
    for (const c of [node, ...node.querySelectorAll('.rnb-g-cell')]) {
      if (c.classList.contains('rnb-g-cell')) noteCell(c);
    }
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') { if (r.target.classList.contains('rnb-g-cell')) noteCell(r.target); }
      else for (const n of r.addedNodes) scan(n);
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  setInterval(() => {
    if (B.firstAllReady !== null) return;
    const grid = document.querySelector('.rnb-grid');
    const vs = grid ? [...grid.querySelectorAll('.rnb-g-cell video')] : [];
    if (vs.length === 16 && vs.every(v => v.readyState >= 2)) B.firstAllReady = performance.now();
  }, 10);
})();
"""

# The first grid's 16 videos: all ready, none changed for a second, every cell final.
SETTLED = """() => {
  const B = window.__rnbBench;
  const grid = document.querySelector('.rnb-grid');
  if (!grid || grid.getAttribute('data-finished') !== 'true' || B.final.size < 16) return false;
  const vs = [...grid.querySelectorAll('.rnb-g-cell video')];
  const ready = (v) => v.readyState >= 2 && v.__rnbBench && v.__rnbBench.ready !== null;
  if (vs.length !== 16 || !vs.every(ready)) return false;
  return performance.now() - B.lastVideoChange > 1000;
}"""

MOMENTS = """() => {
  const B = window.__rnbBench;
  const grid = document.querySelector('.rnb-grid');
  const vs = [...grid.querySelectorAll('.rnb-g-cell video')];
  return {lastFinal: Math.max(...B.final.values()), firstFinal: Math.min(...B.final.values()),
          allReady: Math.max(...vs.map(v => v.__rnbBench.ready)), firstAllReady: B.firstAllReady,
          videosCreated: B.videos, sources: [...new Set(vs.map(v => (v.currentSrc || v.src).split(':')[0]))],
          statuses: [...grid.querySelectorAll('.rnb-g-cell')].map(c => c.getAttribute('data-status'))};
}"""

CLOCKS = """() => [...document.querySelector('.rnb-grid').querySelectorAll('.rnb-g-cell video')]
  .map(v => [v.currentTime, v.paused, v.seeking])"""


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _heap(cdp: Any) -> dict[str, float]:
    """The page's JS heap (MB) after two forced collections, and its DOM counters."""
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    used: float = cdp.send("Runtime.getHeapUsage")["usedSize"]
    counters = cdp.send("Memory.getDOMCounters")
    return {"mb": used / 1e6, "nodes": counters["nodes"], "listeners": counters["jsEventListeners"]}


def _drift(page: Any, grid: Any, *, play_s: float, rounds: int) -> dict[str, Any]:
    spreads: list[float] = []
    excluded = 0
    for _ in range(rounds):
        grid.locator(".rnb-g-scrub").fill("0")
        page.wait_for_function("() => [...document.querySelector('.rnb-grid').querySelectorAll('.rnb-g-cell video')]"
                               ".every(v => v.currentTime < 0.05 && !v.seeking)", timeout=10_000)
        grid.locator(".rnb-g-play").click()
        page.wait_for_function("() => [...document.querySelector('.rnb-grid').querySelectorAll('.rnb-g-cell video')]"
                               ".every(v => !v.paused)", timeout=10_000)
        end = time.monotonic() + play_s
        while time.monotonic() < end:
            clocks = page.evaluate(CLOCKS)
            if any(paused for _, paused, _ in clocks):  # the group looped or stopped: not synced play
                excluded += 1
            else:
                times = [t for t, _, _ in clocks]
                spreads.append((max(times) - min(times)) * 1000)
            page.wait_for_timeout(50)
        grid.locator(".rnb-g-play").click()
        page.wait_for_function("() => [...document.querySelector('.rnb-grid').querySelectorAll('.rnb-g-cell video')]"
                               ".every(v => v.paused)", timeout=10_000)
    return {"max_ms": round(max(spreads), 1), "p50_ms": round(statistics.median(spreads), 1),
            "p95_ms": round(sorted(spreads)[int(0.95 * (len(spreads) - 1))], 1), "samples": len(spreads),
            "excluded_samples": excluded, "play_s": play_s, "rounds": rounds}


def _rerender(page: Any, cdp: Any, grid_cell: int, control_cell: int, times: int, warmup: int) -> dict[str, Any]:
    """Heap growth over ``times`` runs of ``grid_cell`` (which shows the grid again: each run
    replaces its output, disposing the old view) minus that over as many runs of ``control_cell``
    (a ``print``): running a cell from the page grows JupyterLab's own heap too (about 0.2 MB
    and 500 DOM nodes a run here, whatever the cell shows). ``warmup`` runs of each first."""
    ready = (f"() => {{ const out = document.querySelectorAll('.jp-Notebook .jp-Cell')[{grid_cell}]"
             ".querySelector('.jp-OutputArea'); const g = out && out.querySelector('.rnb-grid:not([data-bench-old])');"
             " if (!g) return false; const vs = [...g.querySelectorAll('.rnb-g-cell video')];"
             f" return vs.length === {N} && vs.every(v => v.readyState >= 2); }}")
    mark_old = (f"() => document.querySelectorAll('.jp-Notebook .jp-Cell')[{grid_cell}]"
                ".querySelectorAll('.rnb-grid').forEach(g => g.setAttribute('data-bench-old', ''))")

    def show_grid() -> None:
        page.evaluate(mark_old)
        run_cell(page, grid_cell)
        page.wait_for_function(ready, timeout=60_000)

    def control() -> None:
        cell = f"document.querySelectorAll('.jp-Notebook .jp-Cell')[{control_cell}]"
        page.evaluate(f"() => {cell}.querySelectorAll('.jp-OutputArea-child')"
                      ".forEach(o => o.setAttribute('data-bench-old', ''))")
        run_cell(page, control_cell)
        page.wait_for_function(f"() => [...{cell}.querySelectorAll('.jp-OutputArea-child:not([data-bench-old])')]"
                               ".some(o => o.textContent.includes('control'))")
        page.wait_for_timeout(300)  # as long as the grid's videos take to load, roughly

    for _ in range(warmup):
        show_grid()
        control()
    start = _heap(cdp)
    for _ in range(times):
        control()
    middle = _heap(cdp)
    for _ in range(times):
        show_grid()
    end = _heap(cdp)
    views = page.evaluate("() => document.querySelectorAll('.rnb-grid').length")
    videos = page.evaluate("() => document.querySelectorAll('video').length")
    return {"before_mb": round(middle["mb"], 2), "after_mb": round(end["mb"], 2),
            "raw_growth_mb": round(end["mb"] - middle["mb"], 2),
            "control_growth_mb": round(middle["mb"] - start["mb"], 2),
            "growth_mb": round((end["mb"] - middle["mb"]) - (middle["mb"] - start["mb"]), 2),
            "dom_nodes_per_rerender_above_control": round(((end["nodes"] - middle["nodes"])
                                                           - (middle["nodes"] - start["nodes"])) / times, 1),
            "listeners_per_rerender_above_control": round(((end["listeners"] - middle["listeners"])
                                                           - (middle["listeners"] - start["listeners"])) / times, 1),
            "rerenders": times, "warmup": warmup, "counters": {"start": start, "middle": middle, "end": end},
            "grids_on_page_after": views, "videos_on_page_after": videos}


def run(quick: bool = False, *, speed: float = 20.0) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    play_s, rounds, rerenders = (3.0, 1, 10) if quick else (4.0, 3, 10)
    load_start = _load()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnb-bench-lab-") as home:
        lab = start_lab(Path(home), extra_env={"RUNWAY_NB_SIM_SPEED": f"{speed:g}"})
        try:
            write_notebook(lab, "grid16.ipynb", ["%load_ext runway_nb", SWEEP, SHOW_AGAIN, CONTROL])
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(viewport={"width": 1280, "height": 1100})
                    context.add_init_script(RECORDER)
                    page = context.new_page()
                    page.set_default_timeout(60_000)
                    errors: list[str] = []
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                    open_notebook(page, lab, "grid16.ipynb")
                    # only the sweep's own grid: the re-display cell runs later, by itself
                    page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".jp-InputPrompt").click()
                    page.keyboard.press("Escape")
                    run_cell(page, 0)
                    page.wait_for_function(
                        "() => /\\[\\d+\\]/.test(document.querySelectorAll('.jp-InputPrompt')[0].textContent)")
                    t_run = time.perf_counter()
                    run_cell(page, 1)
                    page.wait_for_function(SETTLED, timeout=180_000, polling=100)
                    sweep_s = time.perf_counter() - t_run
                    moments = page.evaluate(MOMENTS)
                    load_playable = _load()
                    grid = page.locator(".rnb-grid").first
                    grid.scroll_into_view_if_needed()
                    drift = _drift(page, grid, play_s=play_s, rounds=rounds)
                    load_drift = _load()
                    cdp = context.new_cdp_session(page)
                    heap = _rerender(page, cdp, 2, 3, rerenders, warmup=3)
                    load_heap = _load()
                finally:
                    browser.close()
        finally:
            stop_lab(lab)
    playable = (moments["allReady"] - moments["lastFinal"]) / 1000
    first = (moments["firstAllReady"] - moments["lastFinal"]) / 1000 if moments["firstAllReady"] else None
    return {
        "grid16_all_playable_s": round(playable, 3),
        "grid16_first_all_playable_s": None if first is None else round(first, 3),
        "grid16_sync_drift_ms": drift["max_ms"],
        "grid_heap_mb_before_rerenders": heap["before_mb"],
        "grid_heap_mb_after_rerenders": heap["after_mb"],
        "grid_heap_growth_mb": heap["growth_mb"],
        "detail": {
            "videos_created": moments["videosCreated"], "video_sources": moments["sources"],
            "statuses": moments["statuses"],
            "first_to_last_task_final_s": round((moments["lastFinal"] - moments["firstFinal"]) / 1000, 3),
            "run_to_settled_s": round(sweep_s, 1), "drift": drift, "heap": heap, "page_errors": errors[:5],
            "sim_speed": speed, "loadavg": {"start": load_start, "after_playable": load_playable,
                                           "after_drift": load_drift, "after_heap": load_heap},
            "total_s": round(time.perf_counter() - t_all, 1),
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

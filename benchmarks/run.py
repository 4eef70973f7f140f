# ruff: noqa: RUF001 - the markdown report is typeset: en dashes mark empty cells, times signs join sizes
"""Run every benchmark and write ``benchmarks/results/latest.json`` and ``latest.md``.

    python benchmarks/run.py            # the full run (several minutes)
    python benchmarks/run.py --quick    # under six minutes, fewer samples
    python benchmarks/run.py --only polling,sim

Sections (each a module in this folder; its docstring says exactly what is measured): polling
(ours vs the official SDK on a live simulator server, plus a virtual-time model on other
progress curves), kernel (cell latency while tasks are watched), poller_cost (CPU and memory
per 1000 watched tasks per minute), import (``%load_ext runway_nb``), sim (media render times,
event-loop stalls), sim_load (100 tasks at once at speed 50: throughput, event-loop stall),
audio (10 s of speech and of sound effect in each format), notebook (bytes added to a saved
notebook), eta (the time left shown, against the truth, in virtual time), browser (a 4x4 grid
in JupyterLab in headless Chromium: time to playable, sync drift, heap).

``--only`` measures the named sections again and keeps the other sections of the last
``latest.json``; ``measured_at`` says when each section was last measured.

All figures come from one run on one machine; medians where several runs are made. The
machine's load average is recorded before and after: other processes share the two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import in_fresh_process  # noqa: E402 - found through the path set just above

RESULTS = HERE / "results"

QUICK = {
    "polling": dict(n=40, rounds=1, speed=10.0),  # the full run's speed: see benchmarks/README.md
    "model": dict(n=400),  # virtual time, seconds: the same tasks as the full run
    "sim": dict(runs=3),
    "audio": dict(runs=3),
    "import": dict(runs=3),
    # the full run's window: one way of measuring the goal in both runs (see benchmarks/README.md)
    "kernel": dict(window=15.0, modes=("widget",)),
    "cost": dict(window=20.0, sdk=False),
    "notebook": dict(runs=1),
    "sim_load": dict(tasks=40, speed=50.0),  # 100 tasks take over a minute on 2 cores
    "eta": dict(n=400),  # virtual time: the same tasks as the full run
    "browser": dict(quick=True),
}
FULL = {
    "polling": dict(n=80, rounds=2, speed=10.0),
    "model": dict(n=400),
    "sim": dict(runs=7),
    "audio": dict(runs=7),
    "import": dict(runs=5),
    "kernel": dict(window=15.0, modes=("widget", "bare")),
    "cost": dict(window=60.0, sdk=True),
    "notebook": dict(runs=1),
    "sim_load": dict(tasks=100, speed=50.0),
    "eta": dict(n=400),
    "browser": dict(quick=False),
}

TARGETS = {
    # issue 17's goals: ratios to the official SDK measured side by side in the same run
    "polling.gets_per_task_ratio_vs_sdk": ("<=", 0.3),
    "polling.median_latency_ratio_vs_sdk": ("<=", 0.25),
    **{f"polling.other_curves_model.{curve}.gets_ratio": ("<=", 0.3)
       for curve in ("sim", "linear", "ease_out", "continuous")},
    **{f"polling.other_curves_model.{curve}.p50_ratio": ("<=", 0.25)
       for curve in ("sim", "linear", "ease_out", "continuous")},
    "polling.other_curves_model.irregular.gets_ratio": ("<=", 0.5),
    "polling.other_curves_model.irregular.p50_ratio": ("<=", 0.5),
    "kernel.p99_ms_1000_tasks_above_idle": ("<=", 10.0),
    "import.load_ext_ms": ("<", 150.0),
    "import.client_ratio_vs_runwayml": ("<=", 0.6),
    "sim.video_720p_5s_s": ("<", 0.5),
    "sim.image_1080p_s": ("<", 0.1),
    "audio.worst_median_s": ("<", 0.2),
    "sim_load.worst_stall_ms": ("<=", 50.0),
    "eta.median_abs_error_pct": ("<=", 25.0),
    "eta.after_throttled_median_abs_error_pct": ("<=", 25.0),
    "browser.grid16_all_playable_s": ("<=", 1.5),
    "browser.grid16_sync_drift_ms": ("<=", 42.0),
}


# ---------------------------------------------------------------------------- sections
def section_polling(cfg: dict, model_cfg: dict) -> dict:
    import polling
    import polling_model

    out = polling.run(**cfg)
    out["other_curves_model"] = {
        "what": "virtual-time model (polling_model.py): the same poll loops against other progress "
                "publishers, 0.05 s request time; ratios are ours / SDK",
        **{name: _model_row(polling_model.compare(n=model_cfg["n"], curve=name, rtt=0.05))
           for name in polling_model.CURVES},
    }
    # References for the irregular curve: what knowing every published value, and when, gives
    # (informed_bound); what a poller that knows how the curve is made gets (bayes_poller).
    irregular = out["other_curves_model"]["irregular"]
    irregular["informed_bound"] = polling_model.informed_bound(n=model_cfg["n"])
    irregular["bayes_poller"] = polling_model.bayes_poller(n=model_cfg["n"])
    return out


def _model_row(res: dict) -> dict:
    return {"gets_ratio": res["gets_ratio"], "p50_ratio": res["p50_ratio"],
            "ours_p50_s": res["ours"]["p50_s"], "ours_p95_s": res["ours"]["p95_s"],
            "sdk_p50_s": res["sdk"]["p50_s"], "sdk_p95_s": res["sdk"]["p95_s"],
            "ours_gets": res["ours"]["gets_per_task"], "sdk_gets": res["sdk"]["gets_per_task"],
            "min_gap_s": res["min_gap_s"]}


def section_kernel(cfg: dict) -> dict:
    import kernel

    out: dict[str, Any] = {}
    for mode in cfg["modes"]:
        out[mode] = kernel.run(window=cfg["window"], mode=mode)
    main = out[cfg["modes"][0]]
    idle = main["p99_ms_0_tasks"]
    res = {"mode": main["mode"], **{k: v for k, v in main.items() if k.startswith(("p50_ms", "p99_ms"))},
           "p99_ms_1000_tasks_above_idle": main["p99_ms_1000_tasks"] - idle, "by_mode": out}
    return res


def section_cost(cfg: dict) -> dict:
    import cost

    res = cost.run(window=cfg["window"], sdk=cfg["sdk"])
    ours = res["ours"]
    out = {"cpu_s_per_1000_tasks_per_min": ours["cpu_s_per_1000_tasks_per_min"],
           "rss_mb_per_1000_tasks": ours["rss_mb_per_1000_tasks"],
           "gets_per_1000_tasks_per_min": ours["gets_per_1000_tasks_per_min"],
           "cpu_ms_per_get": ours["cpu_ms_per_get"], "detail": res}
    if "sdk" in res:
        out["sdk_cpu_s_per_1000_tasks_per_min"] = res["sdk"]["cpu_s_per_1000_tasks_per_min"]
        out["sdk_rss_mb_per_1000_tasks"] = res["sdk"]["rss_mb_per_1000_tasks"]
        out["sdk_gets_per_1000_tasks_per_min"] = res["sdk"]["gets_per_1000_tasks_per_min"]
    return out


def section_import(cfg: dict) -> dict:
    import startup

    res = startup.run(cfg["runs"])
    return {"load_ext_ms": res["load_ext_ms"], "import_runwayml_ms": res["import_runwayml"].get("ms"),
            "import_runway_nb_ms": res["import_runway_nb"].get("ms"),
            "import_runway_nb_client_ms": res["import_runway_nb_client"].get("ms"),
            "client_ratio_vs_runwayml": res["client_class"].get("ratio"),
            "client_class_ms": res["client_class"].get("runway_nb_ms"),
            "runwayml_client_class_ms": res["client_class"].get("runwayml_ms"),
            "first_client_ms": res["first_client"].get("runway_nb_ms"),
            "runwayml_first_client_ms": res["first_client"].get("runwayml_ms"), "detail": res}


def section_sim(cfg: dict) -> dict:
    res = in_fresh_process("sim_media", runs=cfg["runs"])
    return {"video_720p_5s_s": res["video_720p_5s_s"], "image_1080p_s": res["image_1080p_s"],
            "loop_max_stall_ms_while_rendering": res["loop"]["while_rendering"]["max_ms"],
            "loop_p99_stall_ms_while_rendering": res["loop"]["while_rendering"]["p99_ms"],
            "loop_max_stall_ms_idle": res["loop"]["idle"]["max_ms"], "detail": res}


def section_audio(cfg: dict) -> dict:
    res = in_fresh_process("audio_render", runs=cfg["runs"])
    speech, sound = res["speech_10s"], res["sound_10s"]
    return {"speech_10s_mp3_s": speech["mp3"]["median_s"], "speech_10s_wav_s": speech["wav"]["median_s"],
            "sound_10s_mp3_s": sound["mp3"]["median_s"], "sound_10s_wav_s": sound["wav"]["median_s"],
            "worst_median_s": res["worst_median_s"], "detail": res}


def section_notebook(cfg: dict) -> dict:
    import notebook

    res = notebook.run(cfg["runs"])
    out: dict[str, Any] = {}
    per_output = res.pop("per_output")
    out["bytes_per_finished_output"] = per_output["bytes_per_finished_output"]
    out["grid_bytes_per_output"] = per_output["grid_bytes_per_output"]
    out["per_output"] = per_output
    for name, row in res.items():
        ok = not row.get("errors")
        out[f"{name}_bytes_with_embedding"] = row["with_embedding_bytes"] if ok else None
        out[f"{name}_bytes_without_embedding"] = row["without_embedding_bytes"] if ok else None
    out["detail"] = res
    return out


def section_sim_load(cfg: dict) -> dict:
    res = in_fresh_process("sim_load", **cfg)
    return {"tasks": res["tasks"], "tasks_per_s": res["tasks_per_s"], "wall_s": res["wall_s"],
            "worst_stall_ms": res["worst_stall_ms"], "p99_stall_ms": res["p99_stall_ms"], "detail": res}
def section_eta(cfg: dict) -> dict:
    import eta

    return eta.run(n=cfg["n"])
def section_browser(cfg: dict) -> dict:
    import browser_grid

    out = browser_grid.run(quick=cfg["quick"])
    out["loadavg"] = out["detail"]["loadavg"]
    return out


# ---------------------------------------------------------------------------- output
def _get(results: dict, dotted: str) -> Any:
    node: Any = results
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


SUMMARY_KEYS = [
    "polling.gets_per_task_ratio_vs_sdk", "polling.median_latency_ratio_vs_sdk", "polling.p95_latency_ratio_vs_sdk",
    "polling.ours.gets_per_task", "polling.sdk.gets_per_task", "polling.ours.latency_p50_s",
    "polling.sdk.latency_p50_s", "polling.ours.latency_p95_s", "polling.sdk.latency_p95_s",
    "polling.ours.min_gap_between_gets_s",
    "kernel.p50_ms_0_tasks", "kernel.p99_ms_0_tasks", "kernel.p50_ms_100_tasks", "kernel.p99_ms_100_tasks",
    "kernel.p50_ms_1000_tasks", "kernel.p99_ms_1000_tasks", "kernel.p99_ms_1000_tasks_above_idle",
    "poller_cost.cpu_s_per_1000_tasks_per_min", "poller_cost.rss_mb_per_1000_tasks",
    "poller_cost.gets_per_1000_tasks_per_min", "poller_cost.sdk_cpu_s_per_1000_tasks_per_min",
    "import.load_ext_ms", "import.import_runwayml_ms", "import.import_runway_nb_ms",
    "import.client_ratio_vs_runwayml", "import.first_client_ms", "import.runwayml_first_client_ms",
    "sim.video_720p_5s_s", "sim.image_1080p_s", "sim.loop_max_stall_ms_while_rendering",
    "audio.speech_10s_mp3_s", "audio.sound_10s_mp3_s", "audio.worst_median_s",
    "notebook.one_task_bytes_with_embedding", "notebook.one_task_bytes_without_embedding",
    "notebook.grid_12_bytes_with_embedding", "notebook.grid_12_bytes_without_embedding",
    "notebook.saved_image_bytes_without_embedding", "notebook.saved_video_bytes_without_embedding",
    "notebook.saved_audio_bytes_without_embedding",
    "notebook.bytes_per_finished_output", "notebook.grid_bytes_per_output",
    "sim_load.tasks_per_s", "sim_load.wall_s", "sim_load.worst_stall_ms",
    "eta.median_abs_error_pct", "eta.after_throttled_median_abs_error_pct", "eta.later_median_abs_error_pct",
    "browser.grid16_all_playable_s", "browser.grid16_sync_drift_ms", "browser.grid_heap_growth_mb",
]


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _verdict(results: dict, key: str) -> bool | None:
    value = _get(results, key)
    if value is None:
        return None
    op, bound = TARGETS[key]
    return bool(value <= bound if op == "<=" else value < bound)


def _met(results: dict, key: str) -> str:
    met = _verdict(results, key)
    return "not measured" if met is None else "yes" if met else "**no**"


def _model_rows(results: dict) -> list[tuple[str, Any, Any, str, str]]:
    """One row per progress curve of the virtual-time model: GETs and median latency ratios."""
    rows = []
    for curve in ("sim", "linear", "ease_out", "continuous", "irregular"):
        base = f"polling.other_curves_model.{curve}"
        if _get(results, base) is None:
            continue
        gets, p50 = f"{base}.gets_ratio", f"{base}.p50_ratio"
        rows.append((f"Polling model, {curve} curve: GETs / median latency, ratio to SDK",
                     f"{_fmt(_get(results, gets))} / {_fmt(_get(results, p50))}", "1 / 1",
                     f"≤ {TARGETS[gets][1]} / ≤ {TARGETS[p50][1]}",
                     "yes" if _met(results, gets) == _met(results, p50) == "yes" else "**no**"))
    bound = _get(results, "polling.other_curves_model.irregular.informed_bound.p50_ratio")
    if bound is not None:
        rows.append(("Irregular curve, a reference estimator seeing every published value when it was "
                     "published: median latency, ratio to SDK", _fmt(bound), "1", "–", "–"))
    bayes = "polling.other_curves_model.irregular.bayes_poller"
    if _get(results, f"{bayes}.p50_ratio") is not None:
        rows.append(("Irregular curve, a reference poller knowing how the curve is made: GETs / median "
                     "latency, ratio to SDK", f"{_fmt(_get(results, f'{bayes}.gets_ratio'))} / "
                     f"{_fmt(_get(results, f'{bayes}.p50_ratio'))}", "1 / 1", "–", "–"))
    return rows


def markdown(results: dict) -> str:
    g = lambda k: _get(results, k)  # noqa: E731
    kmode = g("kernel.mode") or "widget"
    rows = [
        ("Polling: GETs per task (10 s–5 min tasks)", g("polling.ours.gets_per_task"), g("polling.sdk.gets_per_task"),
         f"≤ 0.3 SDK (ratio {_fmt(g('polling.gets_per_task_ratio_vs_sdk'))})",
         _met(results, "polling.gets_per_task_ratio_vs_sdk")),
        ("Polling: finish → known, median (sim s)", g("polling.ours.latency_p50_s"), g("polling.sdk.latency_p50_s"),
         f"≤ 0.25 SDK (ratio {_fmt(g('polling.median_latency_ratio_vs_sdk'))})",
         _met(results, "polling.median_latency_ratio_vs_sdk")),
        ("Polling: finish → known, p95 (sim s)", g("polling.ours.latency_p95_s"), g("polling.sdk.latency_p95_s"),
         "–", "–"),
        ("Polling: shortest gap between GETs of one task (sim s)", g("polling.ours.min_gap_between_gets_s"),
         g("polling.sdk.min_gap_between_gets_s"), "≥ 5 (floor)",
         "yes" if (g("polling.ours.min_gap_between_gets_s") or 0) >= 4.95 else "**no**"),
        *_model_rows(results),
        ("Kernel: trivial cell p50 / p99, idle (ms)", f"{_fmt(g('kernel.p50_ms_0_tasks'))} / "
         f"{_fmt(g('kernel.p99_ms_0_tasks'))}", "–", "–", "–"),
        (f"Kernel: p50 / p99 with 100 tasks watched ({kmode}s) (ms)", f"{_fmt(g('kernel.p50_ms_100_tasks'))} / "
         f"{_fmt(g('kernel.p99_ms_100_tasks'))}", "–", "–", "–"),
        (f"Kernel: p50 / p99 with 1000 tasks watched ({kmode}s) (ms)", f"{_fmt(g('kernel.p50_ms_1000_tasks'))} / "
         f"{_fmt(g('kernel.p99_ms_1000_tasks'))}", "–",
         f"p99 ≤ idle + 10 (+{_fmt(g('kernel.p99_ms_1000_tasks_above_idle'))})",
         _met(results, "kernel.p99_ms_1000_tasks_above_idle")),
        ("Poller cost: CPU s per 1000 tasks per minute", g("poller_cost.cpu_s_per_1000_tasks_per_min"),
         g("poller_cost.sdk_cpu_s_per_1000_tasks_per_min"), "–", "–"),
        ("Poller cost: task GETs per 1000 tasks per minute", g("poller_cost.gets_per_1000_tasks_per_min"),
         g("poller_cost.sdk_gets_per_1000_tasks_per_min"), "–", "–"),
        ("Poller cost: memory per 1000 tasks (MB)", g("poller_cost.rss_mb_per_1000_tasks"),
         g("poller_cost.sdk_rss_mb_per_1000_tasks"), "–", "–"),
        ("Start-up: `%load_ext runway_nb` (ms)", g("import.load_ext_ms"), "–", "< 150",
         _met(results, "import.load_ext_ms")),
        ("Start-up: `import runway_nb.client` + `.Runway` vs `import runwayml` + `.RunwayML` (ms)",
         g("import.client_class_ms"), g("import.runwayml_client_class_ms"),
         f"≤ 0.6 SDK (ratio {_fmt(g('import.client_ratio_vs_runwayml'))})",
         _met(results, "import.client_ratio_vs_runwayml")),
        ("Start-up: the same, then one client made (key given, no request) (ms)", g("import.first_client_ms"),
         g("import.runwayml_first_client_ms"), "–", "–"),
        ("Simulator: 5 s 1280×720 video (s)", g("sim.video_720p_5s_s"), "–", "< 0.5",
         _met(results, "sim.video_720p_5s_s")),
        ("Simulator: 1920×1080 image (s)", g("sim.image_1080p_s"), "–", "< 0.1",
         _met(results, "sim.image_1080p_s")),
        ("Simulator: 10 s of speech, mp3 / wav (s)", f"{_fmt(g('audio.speech_10s_mp3_s'))} / "
         f"{_fmt(g('audio.speech_10s_wav_s'))}", "–", "< 0.2", "–"),
        ("Simulator: 10 s of sound effect, mp3 / wav (s)", f"{_fmt(g('audio.sound_10s_mp3_s'))} / "
         f"{_fmt(g('audio.sound_10s_wav_s'))}", "–", "< 0.2", "–"),
        ("Simulator: 10 s of audio, slowest format (s)", g("audio.worst_median_s"), "–", "< 0.2",
         _met(results, "audio.worst_median_s")),
        ("Simulator: worst event-loop stall while rendering (ms)", g("sim.loop_max_stall_ms_while_rendering"), "–",
         "no blocking", "–"),
        (f"Simulator load: {_fmt(g('sim_load.tasks'))} tasks at speed 50, finished per s / wall (s)",
         f"{_fmt(g('sim_load.tasks_per_s'))} / {_fmt(g('sim_load.wall_s'))}", "–", "–", "–"),
        ("Simulator load: worst / p99 client event-loop stall (ms)",
         f"{_fmt(g('sim_load.worst_stall_ms'))} / {_fmt(g('sim_load.p99_stall_ms'))}", "–", "≤ 50 (worst)",
         _met(results, "sim_load.worst_stall_ms")),
        ("Notebook: one finished task, with / without widget state (bytes)",
         f"{_fmt(g('notebook.one_task_bytes_with_embedding'))} / "
         f"{_fmt(g('notebook.one_task_bytes_without_embedding'))}",
         "–", "–", "–"),
        ("Notebook: bytes per finished output, poster included (saved image/video/audio mean; grid / 12)",
         f"{_fmt(g('notebook.bytes_per_finished_output'))} / {_fmt(g('notebook.grid_bytes_per_output'))}",
         "–", "–", "–"),
        ("Notebook: 12-task grid, with / without widget state (bytes)",
         f"{_fmt(g('notebook.grid_12_bytes_with_embedding'))} / {_fmt(g('notebook.grid_12_bytes_without_embedding'))}",
         "–", "–", "–"),
        ("Time left shown: error at the first progress report, median / p90 (%)",
         f"{_fmt(g('eta.median_abs_error_pct'))} / {_fmt(g('eta.p90_abs_error_pct'))}", "–", "median ≤ 25",
         _met(results, "eta.median_abs_error_pct")),
        ("Time left shown, after a THROTTLED wait: same, median / p90 (%)",
         f"{_fmt(g('eta.after_throttled_median_abs_error_pct'))} / {_fmt(g('eta.after_throttled_p90_abs_error_pct'))}",
         "–", "median ≤ 25", _met(results, "eta.after_throttled_median_abs_error_pct")),
        ("Browser: 4×4 grid of 5 s 720p videos, last task final → all 16 playable (s)",
         g("browser.grid16_all_playable_s"), "–", "≤ 1.5", _met(results, "browser.grid16_all_playable_s")),
        ("Browser: 4×4 grid, largest spread of the 16 clocks in synced play (ms)", g("browser.grid16_sync_drift_ms"),
         "–", "≤ 42", _met(results, "browser.grid16_sync_drift_ms")),
        ("Browser: page JS heap before → after 10 re-renders of the grid (MB)",
         f"{_fmt(g('browser.grid_heap_mb_before_rerenders'))} → {_fmt(g('browser.grid_heap_mb_after_rerenders'))}",
         "–", "no growth", "–"),
    ]
    m = results.get("machine", {})
    lines = [
        f"Benchmarks ({results.get('mode')} run, {results.get('generated_at')}, {m.get('cpus')} CPUs, "
        f"Python {m.get('python')}, load average {m.get('loadavg_start')} → {m.get('loadavg_end')}; "
        "`python benchmarks/run.py`, details in `benchmarks/results/latest.json`):",
        "",
        "| Figure | runway-nb | official SDK | Target | Met |",
        "|---|---|---|---|---|",
    ]
    for name, ours, sdk, target, met in rows:
        lines.append(f"| {name} | {_fmt(ours)} | {_fmt(sdk)} | {target} | {met} |")
    busy = max((m.get("loadavg_start") or [0])[0], (m.get("loadavg_end") or [0])[0])
    if m.get("cpus") and busy > m["cpus"]:
        lines += ["", f"Note: the load average reached {busy:g} on {m['cpus']} CPUs during this run: other "
                      "processes competed for the cores, which inflates every wall-clock figure (kernel "
                      "latency, render times, and the polling latencies, where a real millisecond is "
                      f"{_fmt(_get(results, 'polling.setup.speed'), 0)} simulated ones)."]
    dated = results.get("measured_at") or {}
    if len(set(dated.values())) > 1:
        lines += ["", "Sections measured at different times (a partial run keeps the others): "
                  + ", ".join(f"{key} {when}" for key, when in sorted(dated.items())) + "."]
    errors = results.get("errors") or {}
    if errors:
        failed = ", ".join(f"{k} ({v.splitlines()[-1][:120]})" for k, v in errors.items())
        lines += ["", f"Sections that failed: {failed}"]
    return "\n".join(lines) + "\n"


ISSUE_GOALS = [key for key in TARGETS if not key.startswith(("import.load_ext", "sim."))]  # issue 17 lists these


def goals_table(runs: dict[str, dict]) -> str:
    """The performance goals, one row each, with the figure of each run (``quick``, ``full``)
    side by side and the load average it ran under: the README's table."""
    modes = [mode for mode in ("quick", "full") if mode in runs]
    lines = ["| Goal (`benchmarks/results/<run>.json`) | Target | "
             + " | ".join(f"{mode} run" for mode in modes) + " |",
             "|---|---|" + "---|" * len(modes)]
    for key in ISSUE_GOALS:
        op, bound = TARGETS[key]
        cells = []
        for mode in modes:
            value, met = _get(runs[mode], key), _verdict(runs[mode], key)
            cells.append("–" if value is None else f"{_fmt(value)} {'✓' if met else '✗ (missed)'}")
        lines.append(f"| `{key}` | {'≤' if op == '<=' else op} {_fmt(bound)} | " + " | ".join(cells) + " |")
    lines.append("")
    for mode in modes:
        m = runs[mode].get("machine", {})
        lines.append(f"- {mode} run: {runs[mode].get('generated_at')}, {m.get('cpus')} CPUs, load average "
                     f"{m.get('loadavg_start')} → {m.get('loadavg_end')}, "
                     f"{_fmt((runs[mode].get('timings_s') or {}).get('total'), 0)} s "
                     f"(`python benchmarks/run.py{' --quick' if mode == 'quick' else ''}`).")
    return "\n".join(lines) + "\n"


def _update_goals_in_readme(folder: Path) -> None:
    """Put the goals table of the last quick and full runs into the project README."""
    runs = {}
    for mode in ("quick", "full"):
        with contextlib.suppress(OSError, ValueError):
            runs[mode] = json.loads((folder / f"{mode}.json").read_text())
    readme = HERE.parent / "README.md"
    text = readme.read_text()
    start, end = "<!-- goals.md -->", "<!-- /goals.md -->"
    if runs and start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{goals_table(runs)}{end}{tail}")


def _update_readme(md: str) -> None:
    """Put the latest table into benchmarks/README.md (between its latest.md markers)."""
    readme = HERE / "README.md"
    try:
        text = readme.read_text()
    except OSError:
        return
    start, end = "<!-- latest.md -->", "<!-- /latest.md -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{md}{end}{tail}")


def _previous(folder: Path) -> dict[str, Any]:
    """The last full or partial run's results, or nothing."""
    try:
        previous = json.loads((folder / "latest.json").read_text())
    except (OSError, ValueError):
        return {}
    if "measured_at" not in previous:  # written before sections were dated: all from its one run
        previous["measured_at"] = {key: previous.get("generated_at") for key in previous
                                   if isinstance(previous[key], dict) and key not in ("machine", "config", "errors",
                                                                                      "timings_s", "targets",
                                                                                      "summary")}
    return dict(previous)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples: under six minutes")
    ap.add_argument("--only", help="comma list of sections: "
                                   "polling,kernel,cost,import,sim,audio,notebook,sim_load,eta,browser")
    ap.add_argument("--out", default=str(RESULTS), help="folder for latest.json / latest.md")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else None
    sections: list[tuple[str, str, Callable[[], dict]]] = [
        ("polling", "polling", lambda: section_polling(cfg["polling"], cfg["model"])),
        ("sim", "sim", lambda: section_sim(cfg["sim"])),
        ("audio", "audio", lambda: section_audio(cfg["audio"])),
        ("import", "import", lambda: section_import(cfg["import"])),
        ("kernel", "kernel", lambda: section_kernel(cfg["kernel"])),
        ("cost", "poller_cost", lambda: section_cost(cfg["cost"])),
        ("notebook", "notebook", lambda: section_notebook(cfg["notebook"])),
        ("sim_load", "sim_load", lambda: section_sim_load(cfg["sim_load"])),
        ("eta", "eta", lambda: section_eta(cfg["eta"])),
        ("browser", "browser", lambda: section_browser(cfg["browser"])),
    ]
    results: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "config": {k: {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in v.items()} for k, v in cfg.items()},
        "errors": {}, "timings_s": {},
    }
    previous = _previous(Path(args.out)) if only else {}
    for _name, key, _fn in sections:
        if key in previous:  # a partial run keeps what it does not measure again
            results[key] = previous[key]
    results["measured_at"] = dict(previous.get("measured_at") or {})
    t_all = time.perf_counter()
    for name, key, fn in sections:
        if only and name not in only:
            continue
        results["measured_at"][key] = results["generated_at"]
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[key] = fn()
        except Exception:  # one broken section must not lose the others
            results["errors"][name] = traceback.format_exc()
            print(results["errors"][name], file=sys.stderr)
        results["timings_s"][name] = round(time.perf_counter() - t0, 1)
    results["timings_s"]["total"] = round(time.perf_counter() - t_all, 1)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = {}
    for key, (op, bound) in TARGETS.items():
        value = _get(results, key)
        results["targets"][key] = {"value": value, "target": f"{op} {bound}", "met": _verdict(results, key)}
    results["summary"] = {k: _get(results, k) for k in SUMMARY_KEYS}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = markdown(results)
    (out / "latest.md").write_text(md)
    if not only:  # a whole run: the one the README's goals table shows for its mode
        (out / f"{results['mode']}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    if out.resolve() == RESULTS.resolve():
        _update_readme(md)
        _update_goals_in_readme(out)
    print(md)
    print(f"[benchmarks] wrote {out / 'latest.json'} and {out / 'latest.md'} in {results['timings_s']['total']} s",
          file=sys.stderr)
    return 0 if not results["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""How far the time left people see ("≈ 20 s left") is from the truth, in virtual time.

What is measured: ``runway_nb.client.eta.FinishEstimate`` (what the task view and the grid
show), fed exactly what the real view sees: the polls a ``PollSchedule`` makes. No sockets, no
sleeping: each task's lifecycle comes from the virtual-time model of ``polling_model.py``
(``Publisher``, ``CURVES``, ``durations``, ``status_at``) and its poll loop is the one of
``polling_model.run_ours`` (``TaskHandle.wait`` + ``PollSchedule``: the same first delay, the
same ``next_delay`` after each answer, 0.05 s request time split evenly between the way there
and back, the same seeds). After each answer the estimate observes ``(status, progress, the
time the client knows it)``, as ``TaskView._apply`` does, with ``FinishEstimate(created=0,
floor=5, typical_run=...)``.

Tasks: ``n`` run times log-uniform from 10 s to 5 min (``durations(n, seed)``), the same set
for every curve and scenario. Two scenarios:

- *prompt*: 1 s PENDING, then RUNNING (as ``polling_model`` and ``polling.py``);
- *after THROTTLED*: 1 s PENDING, then THROTTLED until a start drawn uniformly from 20-180 s
  (seeded), then RUNNING. The poll schedule backs off while the task waits (up to 15 s
  between polls), so when a poll first sees the task running, the run began anywhere since the
  previous poll.

Figures, per curve and scenario, errors as ``|estimated remaining - true remaining| / true
remaining * 100`` at the moment the client has the answer:

- ``first_*``: at the first poll that shows progress > 0 (median, p90). A poll that shows
  progress but for which the estimate has no figure (``remaining`` is None) counts as a 100 %
  error (the view shows nothing), and ``first_no_estimate`` counts them. Tasks that finish
  before any poll shows progress > 0 (short runs after a long backoff) have no first report:
  ``no_progress_seen`` counts them; they are left out of the medians.
- ``later_*``: over every later poll that shows progress while running with at least one
  floor (5 s) of true time left (median, p90; under 5 s left, a percentage of a few seconds
  says little); ``later_median_abs_error_s`` is the median error in seconds over all of them.
- ``first_start_window_median_s``: how long the span the run may have begun in was at the
  first report (from the last poll that saw the task waiting to the first that saw it run):
  one reading cannot place the start closer, so it bounds how good the first estimate can be.
- ``schedule_latest_later_median_abs_error_pct``: for comparison, the ``later_*`` median had
  the view shown the poll schedule's *latest possible* finish (``predicted_finish()``, None
  counting as 100 %), as it did before the estimate existed.

``typical_run``: the headline figures use None, no history (the first task of a model in a
session). The ``with_history`` variant feeds a ``RunTimes`` with what earlier tasks of the same
run measured (``FinishEstimate.running`` at their end, as the view records it) and gives each
task the median so far and their spread (``RunTimes.typical``, ``RunTimes.spread``, as the task
view does); here every task is the same kind while run times spread 30-fold (log-uniform
10 s to 5 min), so that history is only a weak hint: a real model's runs spread far less.

Headline keys (``run.py``): ``median_abs_error_pct`` and ``after_throttled_median_abs_error_pct``
are the ``first_median_abs_error_pct`` of the simulator's own curve ("sim": ease-in/out,
published every 5 s, 4 decimals), no history, prompt and after THROTTLED.

``python benchmarks/eta.py [n]`` prints the figures.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polling_model import CURVES, Publisher, _legs, durations, status_at

from runway_nb.api.task import Task
from runway_nb.client.eta import FinishEstimate, RunTimes
from runway_nb.client.schedule import PollSchedule

FLOOR = 5.0
RTT = 0.05
PENDING_S = 1.0
THROTTLED_S = (20.0, 180.0)


def _status(t: float, start: float, run: float, pub: Publisher) -> tuple[str, float | None]:
    if t < start and t >= PENDING_S:
        return "THROTTLED", None
    return status_at(t, start, run, pub)


def watch(run: float, start: float, pub: Publisher, seed: int, typical_run: float | None,
          run_spread: float | None = None) -> dict[str, Any]:
    """One task polled as ``polling_model.run_ours`` polls it, its estimate fed every answer.

    Returns the reports (polls that showed progress > 0 while running) as (progress, true
    remaining, estimated remaining or None, the schedule's latest possible remaining or None),
    and the run time the estimate measured at the end."""
    rng = random.Random(seed + 7919)
    sched = PollSchedule(floor=FLOOR, rng=random.Random(seed))
    estimate = FinishEstimate(created=0.0, floor=FLOOR, typical_run=typical_run, run_spread=run_spread)
    finish = start + run
    reports: list[tuple[float, float, float | None, float | None]] = []
    window: float | None = None  # how vague the run's start was at the first report
    t = sched.first_delay()
    while True:
        up, down = _legs(rng, RTT, 0.0)
        status, progress = _status(t + up, start, run, pub)
        now = t + up + down
        done = status == "SUCCEEDED"
        estimate.observe(status, progress, now, finished=done)
        if done:
            return {"reports": reports, "measured_run": estimate.running(now), "start_window_s": window}
        if status == "RUNNING" and progress:
            if window is None and estimate.start_window is not None:
                window = estimate.start_window[1] - estimate.start_window[0]
            latest = sched.predicted_finish()
            reports.append((progress, finish - now, estimate.remaining(now),
                            None if latest is None else max(0.0, latest - now)))
        task = Task(id="t", status=status, progress=progress)
        t = now + sched.next_delay(task, now)


def _pct(estimated: float | None, true: float) -> float:
    if estimated is None:
        return 100.0  # nothing shown
    return abs(estimated - true) / max(true, 1e-9) * 100.0


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def scenario(curve: str, runs: list[float], starts: list[float], history: bool) -> dict[str, Any]:
    make = CURVES[curve]
    times = RunTimes(keep=9)
    first: list[float] = []
    later_latest: list[float] = []
    later: list[float] = []
    later_s: list[float] = []
    windows: list[float] = []
    no_estimate = no_progress = 0
    for i, (run, start) in enumerate(zip(runs, starts, strict=True)):
        typical = times.typical("task") if history else None
        spread = times.spread("task") if history else None
        seen = watch(run, start, make(i), seed=i, typical_run=typical, run_spread=spread)
        times.record("task", seen["measured_run"])
        reports = seen["reports"]
        if not reports:
            no_progress += 1
            continue
        _, true, estimated, _ = reports[0]
        windows.append(seen["start_window_s"] or 0.0)
        first.append(_pct(estimated, true))
        no_estimate += estimated is None
        for _, true, estimated, latest in reports[1:]:
            if true >= FLOOR:
                later.append(_pct(estimated, true))
                later_latest.append(_pct(latest, true))
            later_s.append(abs(estimated - true) if estimated is not None else true)
    return {
        "first_median_abs_error_pct": _median(first), "first_p90_abs_error_pct": _p90(first),
        "later_median_abs_error_pct": _median(later), "later_p90_abs_error_pct": _p90(later),
        "later_median_abs_error_s": _median(later_s),
        "first_start_window_median_s": _median(windows),
        "schedule_latest_later_median_abs_error_pct": _median(later_latest),
        "tasks": len(runs), "first_reports": len(first), "first_no_estimate": no_estimate,
        "no_progress_seen": no_progress, "later_reports": len(later),
    }


def run(n: int = 400, seed: int = 1) -> dict[str, Any]:
    runs = durations(n, seed=seed)
    rng = random.Random(seed * 7907 + 13)
    throttled = [rng.uniform(*THROTTLED_S) for _ in runs]
    prompt = [PENDING_S] * n
    curves: dict[str, Any] = {}
    for curve in CURVES:
        curves[curve] = {"prompt": scenario(curve, runs, prompt, history=False),
                         "after_throttled": scenario(curve, runs, throttled, history=False)}
    sim_history = {"prompt": scenario("sim", runs, prompt, history=True),
                   "after_throttled": scenario("sim", runs, throttled, history=True)}
    sim = curves["sim"]
    return {
        "median_abs_error_pct": sim["prompt"]["first_median_abs_error_pct"],
        "after_throttled_median_abs_error_pct": sim["after_throttled"]["first_median_abs_error_pct"],
        "p90_abs_error_pct": sim["prompt"]["first_p90_abs_error_pct"],
        "after_throttled_p90_abs_error_pct": sim["after_throttled"]["first_p90_abs_error_pct"],
        "later_median_abs_error_pct": sim["prompt"]["later_median_abs_error_pct"],
        "after_throttled_later_median_abs_error_pct": sim["after_throttled"]["later_median_abs_error_pct"],
        "after_throttled_start_window_median_s": sim["after_throttled"]["first_start_window_median_s"],
        "with_history_median_abs_error_pct": sim_history["prompt"]["first_median_abs_error_pct"],
        "with_history_after_throttled_median_abs_error_pct":
            sim_history["after_throttled"]["first_median_abs_error_pct"],
        "schedule_latest_after_throttled_later_median_abs_error_pct":
            sim["after_throttled"]["schedule_latest_later_median_abs_error_pct"],
        "curves": curves, "sim_with_history": sim_history,
        "setup": {"tasks": n, "seed": seed, "floor_s": FLOOR, "request_s": RTT, "pending_s": PENDING_S,
                  "throttled_until_s": list(THROTTLED_S), "run_s": [10.0, 300.0]},
    }


if __name__ == "__main__":
    res = run(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
    print(json.dumps({k: v for k, v in res.items() if k not in ("curves", "sim_with_history")}, indent=1))
    for name, row in [*res["curves"].items(), ("sim+history", res["sim_with_history"])]:
        for case, r in row.items():
            f = {k: ("   n/a" if v is None else f"{v:6.1f}") if isinstance(v, (float, type(None))) else v
                 for k, v in r.items()}
            print(f"{name:12s} {case:16s} first p50 {f['first_median_abs_error_pct']} % "
                  f"p90 {f['first_p90_abs_error_pct']} % | later p50 {f['later_median_abs_error_pct']} % "
                  f"p90 {f['later_p90_abs_error_pct']} % ({f['later_median_abs_error_s']} s) | "
                  f"latest-finish later p50 {f['schedule_latest_later_median_abs_error_pct']} % | "
                  f"none {r['first_no_estimate']} unseen {r['no_progress_seen']}")

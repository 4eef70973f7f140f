"""Our poller against the official SDK's ``wait_for_task_output``, on a live ``SimServer``.

One simulator (clock sped up ``speed`` times) serves both clients over real sockets on
127.0.0.1. Each side creates the same set of text_to_image tasks (run times log-uniform from
10 s to 5 min, the simulator's own progress curve, 1 s PENDING, no throttling), created at
staggered moments over the first 10 simulated seconds, and waits for each:

- ours: ``runway_nb.AsyncRunway(provider="sim", base_url=<server>, simulator=sim)`` then
  ``await handle.wait()`` (its poll floor is 5 simulated seconds);
- the SDK: ``runwayml.AsyncRunwayML(base_url=<server>, api_key="key_" + "0"*128)``, then
  ``await task.wait_for_task_output(timeout=None)``.

Time scaling for the SDK: its loop (``runwayml/lib/polling.py``) sleeps
``anyio.sleep(6 + random()*3 - 1.5)`` real seconds before each poll and checks its timeout with
``anyio.current_time()``. For the run we replace the module's ``anyio`` name with a shim whose
``sleep(s)`` awaits ``anyio.sleep(s / speed)`` and whose ``current_time()`` returns
``anyio.current_time() * speed``, so its 4.5-7.5 s interval is in simulated seconds, like our
floor. Nothing else of the SDK changes (its HTTP client, retries, parsing are as shipped).

Figures, in simulated seconds, measured by the simulator itself: GETs of ``/v1/tasks/{id}``
per task (counted by the server), and latency = the simulator's clock when ``wait`` returns in
the client minus the task's ``finished_sim``. Both sides run concurrently in one event loop, so
they share the same machine load; the loop's own lag is reported too. Every real millisecond
of request time is ``speed`` ms of simulated latency for both sides, so the benchmark turns
off Nagle's algorithm on the server's sockets (``_Handler.disable_nagle_algorithm``): with it
on, each keep-alive answer waits ~40 ms for a delayed ACK.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import statistics
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL, RATIO, PROMPT, SEED = "gen4_image", "720:720", "benchmark", 1
SDK_KEY = "key_" + "0" * 128


def durations(n: int, seed: int, lo: float = 10.0, hi: float = 300.0) -> list[float]:
    rng = random.Random(seed)
    return [round(math.exp(rng.uniform(math.log(lo), math.log(hi))), 1) for _ in range(n)]


class _ScaledAnyio:
    """Stands in for ``anyio`` inside ``runwayml.lib.polling``: its seconds become sim seconds."""

    def __init__(self, speed: float):
        import anyio

        self._anyio, self._speed = anyio, speed

    async def sleep(self, seconds: float) -> None:
        await self._anyio.sleep(seconds / self._speed)

    def current_time(self) -> float:
        return self._anyio.current_time() * self._speed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._anyio, name)


class _Instrument:
    """Wraps ``SimApp.handle``: assigns each created task its run time and counts its GETs."""

    def __init__(self, sim: Any, runs: dict[str, list[float]]):
        self.sim = sim
        self.app = sim.app
        self.runs = {k: list(v) for k, v in runs.items()}
        self.lock = threading.Lock()
        self.meta: dict[str, dict] = {}
        self.gets: dict[str, list[float]] = {}
        self._orig = self.app.handle
        self.app.handle = self.handle  # the server's handler calls app.handle(req)

    def handle(self, req: Any) -> Any:
        resp = self._orig(req)
        path = req.path
        if req.method == "POST" and path == "/v1/text_to_image" and resp.status == 200:
            tid = json.loads(resp.body)["id"]
            ua = (req.header("user-agent") or "").lower()
            side = "ours" if ua.startswith("runway-nb") else "sdk"
            with self.lock:
                run = self.runs[side].pop(0)
                self.meta[tid] = {"side": side, "run": run}
            with self.app.store._lock:  # before it leaves PENDING (1 sim s later)
                self.app.store._tasks[tid].run_seconds = run
        elif req.method == "GET" and path.startswith("/v1/tasks/"):
            tid = path.rsplit("/", 1)[1]
            now = self.app.clock.now()
            with self.lock:
                self.gets.setdefault(tid, []).append(now)
        return resp

    def finished(self, tid: str) -> float:
        return self.app.store._tasks[tid].finished_sim


async def _loop_lag(stop: asyncio.Event, out: list[float], tick: float = 0.005) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(tick)
        out.append(time.perf_counter() - t - tick)


async def _round(n: int, speed: float, seed: int) -> dict:
    import runwayml
    import runwayml.lib.polling as sdk_polling

    from runway_nb import AsyncRunway
    from runway_nb.sim import Simulator, server

    # The stdlib handler writes headers and body separately; with Nagle's algorithm on, a
    # keep-alive client's delayed ACK then holds every answer ~40 ms (a whole simulated second
    # at speed 25). Until server.py turns it off itself, the benchmark does.
    server._Handler.disable_nagle_algorithm = True
    runs = durations(n, seed)
    sim = Simulator(speed=speed, concurrency=100000, pending_seconds=1.0, run_seconds=8.0)
    inst = _Instrument(sim, {"ours": runs, "sdk": runs})
    url = sim.url
    # Warm the render cache: every task asks for the same picture, so rendering is done once
    # and no task waits for its media (latency then measures polling alone).
    warm = sim.app.renderer.render(_warm_job(sim))
    assert warm
    ours = AsyncRunway(provider="sim", base_url=url, simulator=sim, journal=False, announce=False)
    sdk = runwayml.AsyncRunwayML(base_url=url, api_key=SDK_KEY)
    original_anyio = sdk_polling.anyio
    sdk_polling.anyio = _ScaledAnyio(speed)  # type: ignore[assignment]
    rng = random.Random(seed + 1)
    offsets = [rng.uniform(0, 10) / speed for _ in range(2 * n)]
    known: dict[str, float] = {}

    async def one_ours(offset: float) -> None:
        await asyncio.sleep(offset)
        h = await ours.text_to_image.create(model=MODEL, prompt=PROMPT, ratio=RATIO, seed=SEED)
        await h.wait()
        known[h.id] = sim.clock.now()

    async def one_sdk(offset: float) -> None:
        await asyncio.sleep(offset)
        r = await sdk.text_to_image.create(model=MODEL, prompt_text=PROMPT, ratio=RATIO, seed=SEED)
        await r.wait_for_task_output(timeout=None)
        known[r.id] = sim.clock.now()

    stop = asyncio.Event()
    lags: list[float] = []
    lagger = asyncio.create_task(_loop_lag(stop, lags))
    t0 = time.perf_counter()
    try:
        jobs = [one_ours(o) for o in offsets[:n]] + [one_sdk(o) for o in offsets[n:]]
        random.Random(seed + 2).shuffle(jobs)
        await asyncio.gather(*jobs)
    finally:
        stop.set()
        await lagger
        sdk_polling.anyio = original_anyio  # type: ignore[assignment]
        await ours.aclose()
        await sdk.close()
        sim.close()
    wall = time.perf_counter() - t0
    rows = []
    for tid, meta in inst.meta.items():
        gets = inst.gets.get(tid, [])
        gaps = [b - a for a, b in pairwise(gets)]
        rows.append({"side": meta["side"], "run_s": meta["run"], "gets": len(gets),
                     "latency_s": known[tid] - inst.finished(tid), "min_gap_s": min(gaps) if gaps else None,
                     "last_get_after_finish_s": gets[-1] - inst.finished(tid) if gets else None})
    lags.sort()
    return {"rows": rows, "wall_s": wall, "speed": speed,
            "loop_lag_ms": {"p50": 1e3 * lags[len(lags) // 2], "p99": 1e3 * lags[int(0.99 * (len(lags) - 1))],
                            "max": 1e3 * lags[-1]} if lags else None}


def _warm_job(sim: Any) -> Any:
    from runway_nb.api import catalog
    from runway_nb.sim.render import RenderJob

    w, h = catalog.output_size("text_to_image", {"model": MODEL, "ratio": RATIO})
    return RenderJob("image", (int(w), int(h)), None, PROMPT, MODEL, SEED, 1, None, None)


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summarise(rounds: list[dict]) -> dict:
    rows = [r for rd in rounds for r in rd["rows"]]
    out: dict[str, Any] = {}
    for side in ("ours", "sdk"):
        mine = [r for r in rows if r["side"] == side]
        lat = [r["latency_s"] for r in mine]
        gaps = [r["min_gap_s"] for r in mine if r["min_gap_s"] is not None]
        out[side] = {
            "tasks": len(mine),
            "gets_per_task": statistics.fmean(r["gets"] for r in mine),
            "latency_p50_s": _pct(lat, 0.5),
            "latency_p95_s": _pct(lat, 0.95),
            "latency_max_s": max(lat),
            "min_gap_between_gets_s": min(gaps) if gaps else None,
        }
    by_round = []
    for rd in rounds:
        o = [r for r in rd["rows"] if r["side"] == "ours"]
        s = [r for r in rd["rows"] if r["side"] == "sdk"]
        by_round.append({
            "gets_ratio": statistics.fmean(r["gets"] for r in o) / statistics.fmean(r["gets"] for r in s),
            "p50_ratio": _pct([r["latency_s"] for r in o], 0.5) / _pct([r["latency_s"] for r in s], 0.5),
            "wall_s": rd["wall_s"], "loop_lag_ms": rd["loop_lag_ms"]})
    buckets = []
    for lo, hi in ((10, 30), (30, 60), (60, 120), (120, 301)):
        b: dict[str, Any] = {"run_s": f"{lo}-{min(hi, 300)}"}
        for side in ("ours", "sdk"):
            mine = [r for r in rows if r["side"] == side and lo <= r["run_s"] < hi]
            if mine:
                b[side] = {"tasks": len(mine), "gets_per_task": statistics.fmean(r["gets"] for r in mine),
                           "latency_p50_s": _pct([r["latency_s"] for r in mine], 0.5)}
        buckets.append(b)
    out["by_run_time"] = buckets
    out["rounds"] = by_round
    out["gets_per_task_ratio_vs_sdk"] = out["ours"]["gets_per_task"] / out["sdk"]["gets_per_task"]
    out["median_latency_ratio_vs_sdk"] = out["ours"]["latency_p50_s"] / out["sdk"]["latency_p50_s"]
    out["p95_latency_ratio_vs_sdk"] = out["ours"]["latency_p95_s"] / out["sdk"]["latency_p95_s"]
    return out


def run(n: int = 24, rounds: int = 2, speed: float = 25.0, seed: int = 11) -> dict:
    results = [asyncio.run(_round(n, speed, seed + 100 * i)) for i in range(rounds)]
    summary = summarise(results)
    summary["setup"] = {
        "tasks_per_side_per_round": n, "rounds": rounds, "speed": speed, "run_s": "log-uniform 10-300",
        "pending_s": 1.0, "progress": "simulator's ease-in/out curve, published every 5 sim s",
        "sdk": "runwayml AsyncRunwayML.wait_for_task_output, anyio sleep/clock scaled to sim seconds",
        "ours": "runway_nb AsyncRunway handle.wait(), poll floor 5 sim s, journal off",
        "transport": "both over HTTP to one SimServer on 127.0.0.1",
    }
    return summary


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--speed", type=float, default=25.0)
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.rounds, args.speed), indent=2))

"""Poller cost: CPU seconds and memory to watch 1000 tasks, per minute.

A client process (this one, or a child for isolation) creates ``n`` tasks with
``runway_nb.AsyncRunway`` against a simulator server in another process (speed 1, each task
RUNNING for ``run_s`` seconds so that all stay active through the window, 1 s PENDING, no
throttling) and waits on all of them with ``handle.wait()``. Measured in the client process
only (the server's work is not counted): CPU seconds (user + system, all threads) over a
``window`` starting right after creation, scaled to one minute and 1000 tasks; RSS growth from
after the imports to the end of the window; task GETs answered by the server in the window
(its ``/_sim/stats``). Each client runs as shipped (the SDK with its own HTTP client). The same
is measured for the SDK's ``wait_for_task_output`` (real-time sleeps: the server runs at
speed 1) when ``sdk=True``. The journal is on (a temporary SQLite file), as by default.

A per-GET profile (``profile=True``) splits our client's CPU per poll by module.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, ServerProcess, env

CHILD = r"""
import asyncio, json, sys, time
sys.path.insert(0, {bench!r})
from _common import cpu_seconds, rss_bytes
side, url, n, window, profile = {side!r}, {url!r}, {n}, {window}, {profile}
rss0 = None

def server_gets():
    import httpx
    data = httpx.get(url + "/_sim/stats", timeout=30).json()
    return sum(v for k, v in (data.get("requests") or {{}}).items() if k.startswith("GET /v1/tasks"))

async def main():
    global rss0
    if side == "ours":
        import runway_nb.client.core, runway_nb.client.journal  # noqa: F401
    else:
        import runwayml  # noqa: F401
    rss0 = rss_bytes()  # after the imports: what the tasks themselves add
    if side == "ours":
        from runway_nb import AsyncRunway
        client = AsyncRunway(provider="sim", base_url=url, announce=False)
        sem = asyncio.Semaphore(32)
        async def make():
            async with sem:
                return await client.text_to_image.create(model="gen4_image", prompt="benchmark", ratio="720:720",
                                                         seed=1)
        handles = await asyncio.gather(*(make() for _ in range(n)))
        waits = [asyncio.ensure_future(h.wait()) for h in handles]
    else:
        import runwayml
        client = runwayml.AsyncRunwayML(base_url=url, api_key="key_" + "0" * 128)
        sem = asyncio.Semaphore(32)
        async def make():
            async with sem:
                return await client.text_to_image.create(model="gen4_image", prompt_text="benchmark",
                                                         ratio="720:720", seed=1)
        made = await asyncio.gather(*(make() for _ in range(n)))
        waits = [asyncio.ensure_future(m.wait_for_task_output(timeout=None)) for m in made]
    gets = server_gets()
    g0, c0, t0 = gets, cpu_seconds(), time.perf_counter()
    if profile:
        import cProfile, pstats, io
        pr = cProfile.Profile(); pr.enable()
    await asyncio.sleep(window)
    if profile:
        pr.disable()
    c1, t1 = cpu_seconds(), time.perf_counter()
    g1 = server_gets()
    out = {{"cpu_s": c1 - c0, "wall_s": t1 - t0, "gets": g1 - g0, "rss_growth_mb": (rss_bytes() - rss0) / 2**20,
           "rss_mb": rss_bytes() / 2**20}}
    if profile:
        s = io.StringIO(); st = pstats.Stats(pr, stream=s)
        by_file = {{}}
        for (fn, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
            key = fn.split("site-packages/")[-1].split("/work/main/")[-1]
            key = "/".join(key.split("/")[:2])
            by_file[key] = by_file.get(key, 0.0) + tt
        out["profile_self_s"] = dict(sorted(by_file.items(), key=lambda kv: -kv[1])[:15])
        funcs = sorted(((tt, f"{{fn.split('/')[-1]}}:{{name}}") for (fn, line, name), (cc, nc, tt, ct, callers)
                        in st.stats.items()), reverse=True)[:15]
        out["profile_top_functions"] = [[round(tt, 3), name] for tt, name in funcs]
    for w in waits:
        w.cancel()
    print("RESULT" + json.dumps(out), flush=True)

asyncio.run(main())
"""


def measure(side: str, n: int, window: float, run_s: float, profile: bool = False) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False) as file:
        journal = file.name
    try:
        with ServerProcess(speed=1, concurrency=100000, pending_seconds=1, run_seconds=run_s) as url:
            code = CHILD.format(bench=str(Path(__file__).resolve().parent), side=side, url=url, n=n, window=window,
                                profile=profile)
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                 env=env(RUNWAY_NB_JOURNAL=journal), timeout=window + 300)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(journal)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(f"cost child failed: {res.stderr[-2000:]}")
    data = json.loads(line[len("RESULT"):])
    scale = (60.0 / data["wall_s"]) * (1000.0 / n)
    data.update({"side": side, "tasks": n, "cpu_s_per_1000_tasks_per_min": data["cpu_s"] * scale,
                 "gets_per_1000_tasks_per_min": data["gets"] * scale,
                 "cpu_ms_per_get": 1e3 * data["cpu_s"] / data["gets"] if data["gets"] else None,
                 "rss_mb_per_1000_tasks": data["rss_growth_mb"] * 1000.0 / n})
    return data


def run(window: float = 20.0, n: int = 1000, sdk: bool = True, profile: bool = False) -> dict:
    # Tasks run long enough to stay active for the whole window (creation takes a few seconds).
    run_s = max(120.0, window + 60.0)
    out = {"window_s": window, "run_s": run_s, "ours": measure("ours", n, window, run_s, profile)}
    if sdk:
        out["sdk"] = measure("sdk", n, window, run_s)
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--no-sdk", action="store_true")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    print(json.dumps(run(a.window, a.n, not a.no_sdk, a.profile), indent=2))

"""Kernel responsiveness: how long a trivial cell takes while 0, 100 or 1000 tasks are watched.

For each count, a fresh IPython kernel (jupyter_client + ipykernel) runs a setup cell that
creates the tasks with ``runway_nb.AsyncRunway`` against a simulator server in another
process (real time, speed 1; every task runs 240 s, so all stay RUNNING through the
measurement; 1 s PENDING; no throttling), then watches them:

- ``widget`` mode: ``TaskView(handle)`` for each, all displayed (``display(*views)``): each view
  polls on the kernel's event loop and syncs its traits to the front end over the comm;
- ``bare`` mode: ``asyncio.ensure_future(handle.wait())`` for each (the same poll loop without
  a widget).

After a short settling pause, the client sends ``pass`` cells one after another (a few ms
apart) for ``window`` seconds and times each execute_request -> execute_reply round trip.
iopub (widget traffic included) is drained between cells, as a front end would. Reported:
p50/p99 in ms, the kernel's RSS, and how many task GETs the server answered during the window.
The tasks are created at the start of the window, so it covers their busiest polling (the
first readings); the journal is on (a temporary SQLite file), as it is by default.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, ServerProcess, env, pct, rss_bytes

SETUP = r"""
import asyncio, time
from runway_nb import AsyncRunway
_client = AsyncRunway(provider="sim", base_url={url!r}, announce=False)
_t0 = time.perf_counter()
_sem = asyncio.Semaphore(32)
async def _make():
    async with _sem:
        return await _client.text_to_image.create(model="gen4_image", prompt="benchmark", ratio="720:720", seed=1)
_handles = list(await asyncio.gather(*(_make() for _ in range({n}))))
_create_s = time.perf_counter() - _t0
if {mode!r} == "widget" and _handles:
    from IPython.display import display
    from runway_nb.notebook.widgets import TaskView
    _views = [TaskView(h) for h in _handles]
    display(*_views)
else:
    _bg = [asyncio.ensure_future(h.wait()) for h in _handles]
print("SETUP", {{"create_s": _create_s, "tasks": len(_handles)}})
"""


def _stats(url: str) -> int:
    import httpx

    data = httpx.get(url + "/_sim/stats", timeout=10).json()
    requests = data.get("requests") or {}
    return sum(v for k, v in requests.items() if k.startswith("GET /v1/tasks"))


def _drain(kc) -> int:
    n = 0
    while True:
        try:
            kc.get_iopub_msg(timeout=0)
            n += 1
        except Exception:  # queue.Empty
            return n


def measure(n: int, mode: str, window: float, settle: float = 2.0, journal_on: bool = True) -> dict:
    from jupyter_client.manager import start_new_kernel

    journal = "off"
    if journal_on:
        with tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False) as file:
            journal = file.name
    with ServerProcess(speed=1, concurrency=100000, pending_seconds=1, run_seconds=240) as url:
        km, kc = start_new_kernel(kernel_name="python3", env=env(RUNWAY_NB_JOURNAL=journal), cwd=str(ROOT),
                                  stderr=subprocess.DEVNULL)
        try:
            out: list[str] = []
            reply = kc.execute_interactive(SETUP.format(url=url, n=n, mode=mode), timeout=300,
                                           output_hook=lambda m: out.append(m["content"].get("text", "")
                                                                            if m["msg_type"] == "stream" else ""))
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"setup failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
            setup = {}
            m = re.search(r"SETUP (\{.*\})", "".join(out))
            if m:
                setup = eval(m.group(1), {})  # a dict literal printed by our own cell
            _drain(kc)
            for _ in range(20):  # warm-up cells (the first ones after start-up are slower)
                kc.execute_interactive("pass", store_history=False, timeout=60, output_hook=lambda m: None)
            time.sleep(settle)
            _drain(kc)
            gets0 = _stats(url)
            times: list[float] = []
            iopub = 0
            t_end = time.monotonic() + window
            while time.monotonic() < t_end:
                t = time.perf_counter()
                msg_id = kc.execute("pass", store_history=False)
                while True:
                    msg = kc.get_shell_msg(timeout=60)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        break
                times.append((time.perf_counter() - t) * 1e3)
                iopub += _drain(kc)
                time.sleep(0.005)
            gets = _stats(url) - gets0
            pid = getattr(getattr(km, "provisioner", None), "pid", None) or km.kernel.pid  # type: ignore[union-attr]
            rss = rss_bytes(pid)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            if journal_on:
                with contextlib.suppress(OSError):
                    os.unlink(journal)
    return {"tasks": n, "mode": mode, "cells": len(times), "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99),
            "max_ms": max(times), "kernel_rss_mb": rss / 2**20, "task_gets_in_window": gets,
            "window_s": window, "iopub_msgs_in_window": iopub, **setup}


def run(window: float = 8.0, counts: tuple[int, ...] = (0, 100, 1000), mode: str = "widget",
        journal_on: bool = True) -> dict:
    rows = [measure(n, mode, window, journal_on=journal_on) for n in counts]
    idle = rows[0]["p99_ms"]
    out = {"mode": mode, "rows": rows}
    for r in rows:
        out[f"p50_ms_{r['tasks']}_tasks"] = r["p50_ms"]
        out[f"p99_ms_{r['tasks']}_tasks"] = r["p99_ms"]
        r["p99_above_idle_ms"] = r["p99_ms"] - idle
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--mode", default="widget", choices=["widget", "bare"])
    ap.add_argument("--counts", default="0,100,1000")
    ap.add_argument("--no-journal", action="store_true")
    a = ap.parse_args()
    print(json.dumps(run(a.window, tuple(int(x) for x in a.counts.split(",")), a.mode, not a.no_journal), indent=2))

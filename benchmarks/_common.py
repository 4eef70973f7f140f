"""Helpers shared by the benchmarks: a simulator server in its own process, percentiles, env."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# ``python -m runway_nb.sim`` with Nagle's algorithm off on the server's sockets: the stdlib
# handler writes headers and body separately, and with Nagle on each keep-alive answer waits
# ~40 ms for the client's delayed ACK (see polling.py).
_SERVER = ("import sys, runway_nb.sim.server as s; s._Handler.disable_nagle_algorithm = True; "
           "from runway_nb.sim.__main__ import main; sys.exit(main(sys.argv[1:]))")


def env(**extra: str) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(extra)
    return e


def in_fresh_process(module: str, **kwargs: object) -> dict:
    """``module.run(**kwargs)`` (a module of this folder) in a new Python process; its result.

    A figure measured in this process would also pay for what the benchmarks before it left here:
    a bigger heap makes each garbage collection slower, hence renders and event-loop stalls too
    (the 10 s mp3 took 0.18 s after the polling section against 0.165 s alone)."""
    code = ("import importlib, json, sys; sys.path.insert(0, sys.argv[1]); "
            "result = importlib.import_module(sys.argv[2]).run(**json.loads(sys.argv[3])); "
            "print('RESULT', json.dumps(result))")
    # its stderr is ours (warnings and tracebacks show as they happen); an hour is far beyond any section
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent), module,
                           json.dumps(kwargs)], stdout=subprocess.PIPE, text=True, env=env(), cwd=ROOT,
                          timeout=3600)
    results = [line[len("RESULT "):] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        raise RuntimeError(f"{module}.run failed (exit {done.returncode}; its error is above)")
    return dict(json.loads(results[-1]))


class ServerProcess:
    """``with ServerProcess(speed=1, run_seconds=240) as url: ...``: a SimServer in a subprocess."""

    def __init__(self, **options: float | int):
        self.args = ["--port", "0"]
        for key, value in options.items():
            self.args += [f"--{key.replace('_', '-')}", str(value)]
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, *self.args], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env(), cwd=ROOT)
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on (http://\S+?)[ ,]", line)
            if m:
                self.url = m.group(1).rstrip(".")
                return self.url
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("the simulator server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    with open(f"/proc/{pid or 'self'}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (and its threads), from /proc (Linux)."""
    with open(f"/proc/{pid or 'self'}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks

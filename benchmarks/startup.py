"""Start-up cost: ``%load_ext runway_nb`` in a fresh kernel, and plain imports for comparison.

- ``load_ext_ms``: in a fresh IPython kernel (jupyter_client ``KernelManager``, ipykernel), the
  time of ``get_ipython().run_line_magic("load_ext", "runway_nb")`` measured inside the kernel
  with ``time.perf_counter``; one kernel per run, median over runs. The modules it imported
  (new entries of ``sys.modules``) are listed by top-level package.
- ``import runway_nb`` / ``import runwayml``: a fresh ``python -c`` per run, the import timed
  inside it (interpreter start-up excluded), median over runs.
- ``client_ratio_vs_runwayml`` (goal <= 0.6): what a first cell needs to have a client class in
  hand, timed inside a fresh ``python -c`` per run (interpreter start-up excluded), the two sides
  alternating run by run in the same loop, medians, ours / SDK. Ours: ``import runway_nb.client``
  then the attribute ``runway_nb.client.Runway`` (loads ``runway_nb.client.core``, httpx and the
  retry, watch and handle modules; not pydantic, the model catalog, the journal or the simulator,
  which load on first use). The SDK: ``import runwayml`` then ``runwayml.RunwayML`` (its package
  imports httpx, pydantic, anyio and all its types at once: it has nothing left to load on use).
- ``first_client``: the same two, then one client made and closed, no request sent:
  ``Runway(api_key=..., base_url="http://127.0.0.1:9")`` (a key and a base URL, so no simulator;
  the journal off, as in every figure here) against ``RunwayML(api_key=..., base_url=...)``. Reported
  without a goal, so the ratio above is not read as the whole of a first cell's wait.
- ``importtime``: ``python -X importtime`` of the load_ext path in a plain process (IPython
  imported first, so only what runway_nb adds is listed), the largest cumulative entries.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOAD_EXT_CELL = r"""
import sys as _s, time as _t, json as _j
_before = set(_s.modules)
_t0 = _t.perf_counter()
get_ipython().run_line_magic("load_ext", "runway_nb")
_ms = (_t.perf_counter() - _t0) * 1e3
_new = sorted(set(_s.modules) - _before)
print("RESULT" + _j.dumps({"ms": _ms, "new": _new}))
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("RUNWAY_NB_JOURNAL", "off")
    return env


def _kernel_run(code: str, timeout: float = 60.0) -> str:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env=_env(), cwd=str(ROOT))
    try:
        out: list[str] = []
        reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: _collect(m, out))
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        return "".join(out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _collect(msg: dict, out: list[str]) -> None:
    if msg["msg_type"] == "stream":
        out.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        out.append("\n".join(msg["content"].get("traceback", [])))


def load_ext(runs: int = 3) -> dict:
    times, new = [], []
    error = None
    for _ in range(runs):
        try:
            text = _kernel_run(LOAD_EXT_CELL)
        except Exception as exc:  # reported, not fatal
            error = f"{type(exc).__name__}: {exc}"
            break
        m = re.search(r"RESULT(\{.*\})", text)
        if not m:
            error = text[-500:]
            break
        data = json.loads(m.group(1))
        times.append(data["ms"])
        new = data["new"]
    top: dict[str, int] = {}
    for name in new:
        root = name.split(".")[0]
        top[root] = top.get(root, 0) + 1
    return {"load_ext_ms": statistics.median(times) if times else None, "load_ext_runs_ms": times,
            "modules_added": len(new), "packages_added": dict(sorted(top.items(), key=lambda kv: -kv[1])),
            "runway_nb_modules": sorted(n for n in new if n.startswith("runway_nb")), "error": error}


def import_ms(module: str, runs: int = 5) -> dict:
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1e3)"
    times = []
    for _ in range(runs):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT,
                             timeout=120)
        if res.returncode != 0:
            return {"ms": None, "error": res.stderr[-500:]}
        times.append(float(res.stdout.strip().splitlines()[-1]))
    return {"ms": statistics.median(times), "runs_ms": times}


# A dummy key in the shape runway-nb accepts; nothing is sent.
_DUMMY = "key_" + "0" * 60
CLIENT_CLASS = {
    "runway_nb": "import runway_nb.client; runway_nb.client.Runway",
    "runwayml": "import runwayml; runwayml.RunwayML",
}
FIRST_CLIENT = {
    "runway_nb": ("import runway_nb.client; "
                  f"runway_nb.client.Runway(api_key={_DUMMY!r}, base_url='http://127.0.0.1:9').close()"),
    "runwayml": f"import runwayml; runwayml.RunwayML(api_key={_DUMMY!r}, base_url='http://127.0.0.1:9').close()",
}


def paired_ms(codes: dict[str, str], runs: int) -> dict:
    """Each snippet timed in its own fresh interpreter, the sides alternating run by run (so a busy
    moment of the machine falls on both), medians and ours / SDK."""
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, snippet in codes.items():
            code = f"import time; t = time.perf_counter(); {snippet}; print((time.perf_counter() - t) * 1e3)"
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT,
                                 timeout=120)
            if res.returncode != 0:
                return {"error": f"{name}: {res.stderr[-500:]}"}
            times[name].append(float(res.stdout.strip().splitlines()[-1]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"code": codes, "runway_nb_ms": medians["runway_nb"], "runwayml_ms": medians["runwayml"],
            "ratio": medians["runway_nb"] / medians["runwayml"], "runs_ms": times}


def importtime(limit: int = 12) -> list[dict]:
    """The biggest cumulative import times under load_ext (after IPython is already loaded)."""
    code = ("import IPython, traitlets, ipykernel.ipkernel\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "import sys; sys.stderr.write('--- load_ext ---\\n')\n"
            "import runway_nb; runway_nb.load_ipython_extension(InteractiveShell.instance())\n")
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         env=_env(), cwd=ROOT, timeout=120)
    lines = res.stderr.split("--- load_ext ---", 1)[-1].splitlines()
    rows = []
    for line in lines:
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append({"module": m.group(4), "self_us": int(m.group(1)), "cumulative_us": int(m.group(2)),
                         "depth": len(m.group(3)) // 2})
    top = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cumulative_us"])[:limit]
    return top


def run(runs: int = 3) -> dict:
    out = load_ext(runs)
    out["import_runway_nb"] = import_ms("runway_nb", max(runs, 3))
    out["import_runway_nb_client"] = import_ms("runway_nb.client.core", max(runs, 3))
    out["import_runwayml"] = import_ms("runwayml", max(runs, 3))
    out["client_class"] = paired_ms(CLIENT_CLASS, max(2 * runs + 1, 7))
    out["first_client"] = paired_ms(FIRST_CLIENT, max(runs, 3))
    out["importtime_top"] = importtime()
    return out


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=2))

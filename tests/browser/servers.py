"""Starting and stopping the servers the browser tests (and benchmarks/browser_grid.py) open
(Jupyter, marimo): a free loopback port, waiting until the server answers, stopping it with
everything it started, and a JupyterLab server in a temporary home (``start_lab``).
Needs no pytest: the benchmarks import it too."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_serving(url: str, proc: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    """Until ``url`` answers 200; ServerDidNotStart (the end of ``log``) if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise ServerDidNotStart(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the server and the kernels it started), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


class Lab:
    def __init__(self, url: str, root: Path, proc: subprocess.Popen, log: Path):
        self.url = url
        self.root = root
        self.proc = proc
        self.log = log

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset"


def start_lab(home: Path, *, save_state: bool = False, app: str = "jupyterlab",
              extra_env: dict[str, str] | None = None, theme: str | None = None) -> Lab:
    """A Jupyter server (``app``: ``jupyterlab`` or ``notebook`` for Notebook 7) in ``home``, with
    runway-nb's server extension enabled the way an installed runway-nb enables it (its config file
    in ``jupyter_server_config.d``); stop it with :func:`stop_lab`. ``theme``: the name of the theme
    its pages open in (e.g. ``"JupyterLab Dark"``; default: JupyterLab's light theme)."""
    root = home / "notebooks"
    root.mkdir()
    dirs = {name: home / name for name in ("config", "data", "runtime", "ipython", "app-settings",
                                            "user-settings", "workspaces")}
    for d in dirs.values():
        d.mkdir()
    (dirs["config"] / "jupyter_server_config.d").mkdir()
    (dirs["config"] / "jupyter_server_config.d" / "runway_nb.json").write_bytes(
        (REPO / "jupyter-config" / "jupyter_server_config.d" / "runway_nb.json").read_bytes())
    overrides: dict[str, Any] = {
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": save_state},
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    if theme is not None:
        overrides["@jupyterlab/apputils-extension:themes"] = {"theme": theme}
    (dirs["app-settings"] / "overrides.json").write_text(json.dumps(overrides))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAYML_", "RUNWAY_NB_", "COMETAPI_", "USEAPI_", "MAKEVID_"))
           and k not in ("RUNWAY_API_KEY",)}
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               RUNWAY_NB_SIM_SPEED="10")
    env.update(extra_env or {})
    port = free_port()
    log = home / "lab.log"
    settings = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    cmd = [sys.executable, "-m", app, "--no-browser", "--allow-root", "--ServerApp.token=",
           "--ServerApp.password=", "--ip", "127.0.0.1", "--port", str(port), f"--ServerApp.root_dir={root}",
           f"--{settings}.app_settings_dir={dirs['app-settings']}",
           f"--{settings}.user_settings_dir={dirs['user-settings']}",
           f"--{settings}.workspaces_dir={dirs['workspaces']}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/status", proc, log, f"Jupyter ({app})")
    return Lab(url, root, proc, log)


def stop_lab(lab: Lab) -> None:
    stop(lab.proc)

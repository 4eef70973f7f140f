"""The Binder environment, checked the way Binder builds it: run by ``.ci/binder-check``.

That script makes a fresh virtual environment from ``binder/requirements.txt`` only and sets
``RUNWAY_NB_BINDER_VENV`` (and ``RUNWAY_NB_BINDER_REPO``, a clean copy of the repository). This
test starts JupyterLab from that environment, through ``binder/start`` as Binder does, with no
API key, opens ``notebooks/01-quickstart.ipynb`` at the path the README's Binder badge opens
(``lab/tree/notebooks/01-quickstart.ipynb``) and runs it in headless Chromium: both task widgets
reach SUCCEEDED, the video plays (readyState >= 2, 1280x720), and the cells checked by nbval
print what they should. Skipped in the ordinary suite (no environment given).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop, wait_until_serving

pytestmark = pytest.mark.browser

VENV = os.environ.get("RUNWAY_NB_BINDER_VENV", "")
REPO = Path(os.environ.get("RUNWAY_NB_BINDER_REPO") or Path(__file__).resolve().parents[2])
NOTEBOOK = "notebooks/01-quickstart.ipynb"
# Appended to the copy under test only: proves the kernel runs in the Binder environment.
PROBE = ("import sys, runway_nb, os\n"
         "print('PROBE', sys.prefix, runway_nb.__file__, 'key' if os.environ.get('RUNWAYML_API_SECRET') else 'no-key')")


class BinderLab:
    def __init__(self, url: str, root: Path, log: Path):
        self.url = url
        self.root = root
        self.log = log

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset"


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BinderLab]:
    if not VENV:
        pytest.skip("run by .ci/binder-check (RUNWAY_NB_BINDER_VENV: a virtual environment built from "
                    "binder/requirements.txt)")
    python = Path(VENV) / "bin" / "python"
    assert python.exists(), f"no Python in RUNWAY_NB_BINDER_VENV={VENV}"
    home = tmp_path_factory.mktemp("binder-home")
    root = home / "repo"  # what Binder serves: the repository's files
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns("runway_outputs", ".ipynb_checkpoints"))
    nb_path = root / NOTEBOOK
    nb = json.loads(nb_path.read_text())
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "binder-probe", "metadata": {},
                        "outputs": [], "source": PROBE})
    nb_path.write_text(json.dumps(nb))
    dirs = {name: home / name for name in ("config", "data", "runtime", "ipython", "app-settings",
                                            "user-settings", "workspaces")}
    for d in dirs.values():
        d.mkdir()
    (dirs["app-settings"] / "overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    }))
    # Binder's environment: the venv first on PATH, nothing of this checkout importable, no keys.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAYML_", "RUNWAY_NB_", "COMETAPI_", "USEAPI_", "MAKEVID_", "VIRTUAL_ENV"))
           and k not in ("RUNWAY_API_KEY", "PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{Path(VENV) / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=VENV,
               JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               RUNWAY_NB_JOURNAL=str(home / "journal.sqlite3"))
    port = free_port()
    cmd = [str(python), "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.token=",
           "--ServerApp.password=", "--ip", "127.0.0.1", "--port", str(port), f"--ServerApp.root_dir={root}",
           f"--LabApp.app_settings_dir={dirs['app-settings']}",
           f"--LabApp.user_settings_dir={dirs['user-settings']}", f"--LabApp.workspaces_dir={dirs['workspaces']}"]
    start = REPO / "binder" / "start"
    if start.exists():
        cmd = ["bash", str(start), *cmd]
    log = home / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/status", proc, log, "JupyterLab from the Binder environment", timeout=90)
    yield BinderLab(url, root, log)
    stop(proc)


def _code_cell_text(page: Any, index: int) -> str:
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea").inner_text()


def test_binder_quickstart_runs_and_plays(binder_lab: BinderLab, page: Any, nb_tools: Any) -> None:
    nb_tools.open(page, binder_lab, NOTEBOOK)
    nb_tools.run_all(page)

    # Both results end SUCCEEDED (live widget or, once final, its static output).
    page.wait_for_function(
        "() => document.querySelectorAll('.rnb-static[data-rnb-status=\"SUCCEEDED\"], "
        ".rnb-task[data-status=\"SUCCEEDED\"]').length >= 2", timeout=120_000)
    assert "FAILED" not in page.evaluate("() => window.__rnbStatuses")

    # The image-to-video result plays: data loaded, the requested size.
    facts = page.wait_for_function(
        "() => { const v = document.querySelector('.jp-Notebook video');"
        " if (!v || v.readyState < 2 || v.videoWidth === 0) return null;"
        " return {readyState: v.readyState, width: v.videoWidth, height: v.videoHeight, src: v.currentSrc}; }",
        timeout=60_000).json_value()
    assert facts["readyState"] >= 2
    assert (facts["width"], facts["height"]) == (1280, 720), facts

    # The last cell (the probe) ran: the kernel is the Binder environment's, with no key.
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    last = cells.count() - 1
    page.wait_for_function(
        f"() => /PROBE/.test(document.querySelectorAll('.jp-Notebook .jp-CodeCell')[{last}]"
        ".querySelector('.jp-OutputArea').innerText)",
        timeout=60_000)
    probe = _code_cell_text(page, last)
    assert str(Path(VENV).resolve()) in probe or VENV in probe, probe
    assert "site-packages" in probe and "no-key" in probe, probe

    # The cell nbval checks printed the expected result here too.
    texts = [_code_cell_text(page, i) for i in range(cells.count())]
    summary = next(t for t in texts if "poster:" in t)
    assert "poster: SUCCEEDED, 1 output(s)" in summary and "image 1920x1080" in summary, summary
    assert "clip: SUCCEEDED, 1 output(s)" in summary and "video 1280x720, 5.0 s" in summary, summary
    assert not page.errors, page.errors

"""Run All twice bills each task once, end to end: real kernels, one simulator server, one journal.

The quickstart notebook is executed headlessly (nbclient, as nbconvert --execute and papermill
do) twice against one simulator server process with a shared journal: the server must create
each task once. A "generate again" (the same cell with ``--new``) creates exactly one more, and
from then on that cell shows the newest task. A kernel started as jupyter_server starts it
(``JPY_SESSION_NAME``) and sent cell ids as JupyterLab sends them (``metadata.cellId``) knows a
cell by its id, so an edited prompt keeps the cell's seed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from test_reattach_kernel import ROOT, Kernel, start_server, stop_server

QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"


@pytest.fixture
def sim_server(tmp_path):
    proc, url, _ = start_server(tmp_path, "--speed", "20", "--concurrency", "8")
    try:
        yield url
    finally:
        stop_server(proc)


def _creates(url: str) -> int:
    return int(httpx.get(f"{url}/_sim/stats", timeout=30).json()["creates"])


def _kernel_env(sim_server: str, journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_REUSE",
                                                            "JPY_SESSION_NAME")}
    env.update({"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "RUNWAYML_BASE_URL": sim_server, "RUNWAY_NB_PROVIDER": "sim", "RUNWAY_NB_JOURNAL": str(journal)})
    return env


def _run_all(nb: object, folder: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import nbclient

    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_REUSE", "JPY_SESSION_NAME"):
            patch.delenv(name, raising=False)
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}}).execute()


def _stderr(nb: object) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"  # type: ignore[attr-defined]
                     for o in c.outputs if o.output_type == "stream")


@pytest.mark.kernel
def test_run_all_twice_creates_each_task_once_and_new_one_more(tmp_path, sim_server, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    env = _kernel_env(sim_server, tmp_path / "journal.sqlite3")
    original = nbformat.read(QUICKSTART, as_version=4)
    tasks = sum(1 for c in original.cells if c.cell_type == "code" and c.source.startswith("%%runway"))
    assert tasks == 2

    first = nbformat.read(QUICKSTART, as_version=4)
    _run_all(first, tmp_path, env, monkeypatch)
    assert _creates(sim_server) == tasks

    second = nbformat.read(QUICKSTART, as_version=4)  # Run All again, in a new kernel
    _run_all(second, tmp_path, env, monkeypatch)
    assert _creates(sim_server) == tasks
    said = _stderr(second)
    assert said.count("runway-nb: same request as task") == tasks, said
    assert "run with --new" in said

    again = nbformat.read(QUICKSTART, as_version=4)  # "generate again" on the poster's cell
    poster = next(c for c in again.cells if c.cell_type == "code" and c.source.startswith("%%runway"))
    first_line, rest = poster.source.split("\n", 1)
    poster.source = f"{first_line} --new\n{rest}"
    _run_all(again, tmp_path, env, monkeypatch)
    assert _creates(sim_server) == tasks + 1

    fourth = nbformat.read(QUICKSTART, as_version=4)  # the poster's cell now shows the newest task
    _run_all(fourth, tmp_path, env, monkeypatch)
    assert _creates(sim_server) == tasks + 1
    assert _stderr(fourth).count("runway-nb: same request as task") == tasks


def _run_cell(kernel: Kernel, code: str, cell_id: str, timeout: float = 120) -> list[tuple[str, dict]]:
    """An execute request as JupyterLab sends it: the cell's id in ``metadata.cellId``."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    msg = kernel.kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
    kernel.kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    outputs = []
    deadline = time.monotonic() + timeout
    while True:
        reply = kernel.kc.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return outputs
        outputs.append((reply["msg_type"], reply["content"]))


def _text(outputs: list[tuple[str, dict]]) -> str:
    return "\n".join(c.get("text", "") or c.get("data", {}).get("text/plain", "") or c.get("evalue", "")
                     for _, c in outputs)


@pytest.mark.kernel
def test_a_kernel_knows_the_notebook_and_the_cell_by_id(tmp_path, sim_server) -> None:
    env = _kernel_env(sim_server, tmp_path / "journal.sqlite3")
    env["JPY_SESSION_NAME"] = str(tmp_path / "studio.ipynb")  # as jupyter_server starts a notebook's kernel
    cell = "%%runway -m gen4_image -r 1280:720 -o h\n{}"
    kernel = Kernel(tmp_path, env)
    try:
        assert "error" not in [t for t, _ in _run_cell(kernel, "%load_ext runway_nb", "c-load")]
        out = _run_cell(kernel, "from runway_nb.notebook import reuse\nprint(reuse.notebook_scope(), "
                                "reuse.running_cell_id())", "c-probe")
        assert f"notebook:{tmp_path / 'studio.ipynb'} c-probe" in _text(out), out
        out = _run_cell(kernel, cell.format("a heron in the reeds") + "\n", "c-heron")
        assert "error" not in [t for t, _ in out], _text(out)
        out = _run_cell(kernel, "first = h.id; print(h.params['seed'])", "c-x")
        seed = _text(out).strip()
        out = _run_cell(kernel, cell.format("a heron in the reeds") + "\n", "c-heron")
        assert "same request as task" in _text(out) and _creates(sim_server) == 1
        out = _run_cell(kernel, cell.format("a heron in the fog") + "\n", "c-heron")  # edited: same seed
        out = _run_cell(kernel, "print(h.id != first, h.params['seed'])", "c-y")
        assert _text(out).split() == ["True", seed] and _creates(sim_server) == 2
    finally:
        kernel.close()

"""Nothing lost across a kernel crash (or a simulator restart), end to end.

The simulator runs as its own server process (``python -m runway_nb.sim``), so its tasks outlive
the kernels. A real Jupyter kernel submits a sweep (kept by default) and one more task (``--no-save``)
and is killed while they run; a second kernel lists every task from the journal, reattaches to
the unfinished ones, waits for them, and archives every output. The server must have created
each task exactly once.

The simulator server itself keeps its tasks across its own restarts with ``--db PATH``
(``runway_nb/sim/persist.py``): tested in-process and with a real server process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 10  # each task: 1 s PENDING + 10 s RUNNING, in real time (speed 1)


def start_server(cwd: Path, *args: str) -> tuple[subprocess.Popen, str, str]:
    """``python -m runway_nb.sim --port 0 ARGS`` in a subprocess -> (process, base URL, first line)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "runway_nb.sim", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=str(cwd))
    line = proc.stdout.readline()  # "Runway simulator listening on http://127.0.0.1:PORT (...)"
    match = re.search(r"listening on (http://\S+?)[ ,(]", line)
    if not match:
        stop_server(proc)
        raise AssertionError(f"the simulator did not report its URL: {line!r}")
    return proc, match.group(1), line


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def sim_server(tmp_path):
    """The simulator server, each task 1 s PENDING + ``RUN_SECONDS`` RUNNING in real time."""
    proc, url, _ = start_server(tmp_path, "--speed", "1", "--concurrency", "8", "--pending-seconds", "1",
                                "--run-seconds", str(RUN_SECONDS))
    try:
        yield url
    finally:
        stop_server(proc)


class Kernel:
    """A real ipykernel started with jupyter_client; ``run(code)`` -> the iopub messages of that cell."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def run(self, code: str, timeout: float = 120) -> list[tuple[str, dict]]:
        msg_id = self.kc.execute(code)
        outputs = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return outputs
            outputs.append((msg["msg_type"], msg["content"]))

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing in the kernel gets to clean up."""
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def close(self) -> None:
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass


def _errors(outputs: list[tuple[str, dict]]) -> list[str]:
    return ["\n".join(c.get("traceback", [])) or c.get("evalue", "") for t, c in outputs if t == "error"]


def _text(outputs: list[tuple[str, dict]]) -> str:
    parts = []
    for kind, content in outputs:
        if kind == "stream":
            parts.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            parts.append(content["data"].get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.kernel
def test_a_killed_kernel_loses_nothing(tmp_path, sim_server) -> None:
    from runway_nb.client.journal import Journal

    journal_path = tmp_path / "journal.sqlite3"
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_OUTPUTS")}  # kept in ./runway_outputs
    env.update({"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "RUNWAYML_BASE_URL": sim_server, "RUNWAY_NB_PROVIDER": "sim",
                "RUNWAY_NB_JOURNAL": str(journal_path)})
    api = httpx.Client(base_url=sim_server, headers={"Authorization": "Bearer any-key",
                                                     "X-Runway-Version": "2024-11-06"}, timeout=30)

    # -- kernel 1: submit, then die mid-flight -------------------------------------------------
    first = Kernel(tmp_path, env)
    try:
        out = first.run("%load_ext runway_nb")
        assert not _errors(out), _errors(out)
        out = first.run("%%runway --model gen4_image --ratio 1280:720 --seed 1,2,3,4 --yes -o sweep\n"
                        "A lighthouse at dusk, long exposure")
        assert not _errors(out), _errors(out)
        out = first.run("%%runway -m gen4_image -r 1280:720 --no-save -o single\nA heron in the reeds (not saved)")
        assert not _errors(out), _errors(out)
        submitted = Journal(journal_path).entries()
        assert len(submitted) == 5 and all(e.task_id for e in submitted)
        statuses = {e.task_id: api.get(f"/v1/tasks/{e.task_id}").json()["status"] for e in submitted}
        assert not any(s == "SUCCEEDED" for s in statuses.values()), statuses  # still running
    finally:
        first.kill()
    assert api.get("/_sim/stats").json()["creates"] == 5

    journal = Journal(journal_path)
    ids = [e.task_id for e in journal.entries()]
    assert all(not e.finished for e in journal.entries())  # the kernel died before they ended
    saved_rows = [e for e in journal.entries() if e.save_to]
    assert len(saved_rows) == 4 and all(Path(e.save_to).is_absolute() for e in saved_rows)

    # -- kernel 2: history, reattach, archive --------------------------------------------------
    second = Kernel(tmp_path, env)
    try:
        out = second.run("%load_ext runway_nb")
        assert not _errors(out), _errors(out)

        out = second.run("%runway history")
        assert not _errors(out), _errors(out)
        listing = _text(out)
        server_tasks = api.get("/_sim/tasks").json()["tasks"]
        assert sorted(t["id"] for t in server_tasks) == sorted(ids)
        for task_id in ids:
            assert task_id in listing, listing
        assert "A lighthouse at dusk" in listing and "gen4_image" in listing

        out = second.run("%runway attach --pending -o pending")
        assert not _errors(out), _errors(out)
        assert "watching 5 unfinished task(s)" in _text(out)
        shown = [c for t, c in out if t == "display_data"]
        assert shown  # the task views (or the grid)
        # Keep the kernel's event loop free (as a person working in other cells would): the views
        # poll in the background and archive the kept tasks' outputs as soon as they end.
        out = second.run("import asyncio, time\n"
                         "t0 = time.monotonic()\n"
                         "while time.monotonic() - t0 < 90 and not (pending.finished and all(\n"
                         "        h.files for h in pending.tasks if getattr(h, 'save_to', None))):\n"
                         "    await asyncio.sleep(0.2)\n"
                         "print(sorted(t.id for t in pending.tasks))\n"
                         "print([t.status for t in pending.tasks])\n"
                         "print(sum(bool(t.files) for t in pending.tasks), 'archived')")
        assert not _errors(out), _errors(out)
        text = _text(out)
        assert text.count("SUCCEEDED") == 5 and "4 archived" in text, text
        for task_id in ids:
            assert task_id in text

        out = second.run("%runway fetch --all")
        assert not _errors(out), _errors(out)
        # The four sweep tasks were archived when they finished (the save choice is journalled,
        # so the new kernel kept it); fetch archives the one submitted with --no-save.
        fetched = _text(out)
        assert "1 archived" in fetched and ids[0] in fetched, fetched  # ids[0]: the newest, unsaved

        out = second.run("%runway history")
        listing = _text(out)
        assert listing.count("SUCCEEDED") == 5, listing
    finally:
        second.close()

    # -- what is on disk and in the journal ----------------------------------------------------
    archive = tmp_path / "runway_outputs"
    journal = Journal(journal_path)
    for entry in journal.entries():
        assert entry.status == "SUCCEEDED", entry
        assert entry.files, f"no files recorded for {entry.task_id}"
        for name in entry.files:
            assert Path(name).exists() and Path(name).stat().st_size > 0
            assert Path(name).parent == archive
        assert (archive / f"{entry.task_id}.json").exists()
    assert sorted(p.name for p in archive.glob("*.png")) == sorted(f"{i}_0.png" for i in ids)

    # -- no task was submitted twice -----------------------------------------------------------
    stats = api.get("/_sim/stats").json()
    assert stats["creates"] == len(ids) == 5
    assert len(api.get("/_sim/tasks").json()["tasks"]) == 5
    api.close()


# ----------------------------------------------------------------------------------------
# the simulator server across its own restarts (--db)
# ----------------------------------------------------------------------------------------

def _sim_client(app):
    from runway_nb.sim import SimTransport

    return httpx.Client(transport=SimTransport(app), base_url="http://sim",
                        headers={"Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"})


def _create(http, prompt: str) -> str:
    r = http.post("/v1/text_to_image", json={"model": "gen4_image", "promptText": prompt, "ratio": "1280:720",
                                             "seed": 5})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_sim_db_keeps_tasks_outputs_and_credits_across_a_restart(tmp_path) -> None:
    from runway_nb.sim import SimApp, SimClock, SimConfig
    from runway_nb.sim.persist import open_db

    path = tmp_path / "sim.sqlite3"
    config = dict(pending_seconds=1.0, concurrency=1, run_seconds=10.0)
    clock = SimClock(manual=True)
    app = SimApp(SimConfig(**config), clock=clock)
    db, loaded = open_db(app, path)
    assert loaded == 0
    http = _sim_client(app)
    done, running, queued, cancelled = (_create(http, p) for p in ("done", "running", "queued", "cancelled"))
    app.wait_media()
    clock.advance(11.5)  # `done` ran 1..11; `running` started at 11
    assert http.delete(f"/v1/tasks/{cancelled}").status_code == 204
    before = {i: http.get(f"/v1/tasks/{i}").json() for i in (done, running, queued)}
    assert [before[i]["status"] for i in (done, running, queued)] == ["SUCCEEDED", "RUNNING", "THROTTLED"]
    image = http.get(before[done]["output"][0]).content
    balance = http.get("/v1/organization").json()["creditBalance"]
    db.close()
    app.close()

    # a new server process: a fresh clock, the same file
    clock2 = SimClock(manual=True)
    app2 = SimApp(SimConfig(**config), clock=clock2)
    db2, loaded = open_db(app2, path)
    assert loaded == 4
    http2 = _sim_client(app2)
    after = http2.get(f"/v1/tasks/{done}").json()
    assert after["status"] == "SUCCEEDED" and after["createdAt"] == before[done]["createdAt"]
    assert http2.get(after["output"][0]).content == image  # the output itself was kept
    assert http2.get(f"/v1/tasks/{running}").json()["status"] == "RUNNING"
    assert http2.get(f"/v1/tasks/{queued}").json()["status"] == "THROTTLED"
    assert http2.get(f"/v1/tasks/{cancelled}").status_code == 404
    assert http2.get("/v1/organization").json()["creditBalance"] == balance
    assert [t["id"] for t in http2.get("/_sim/tasks").json()["tasks"]] == [done, running, queued]
    app2.wait_media()
    clock2.advance(40)  # the rest of the queue runs
    assert http2.get(f"/v1/tasks/{running}").json()["status"] == "SUCCEEDED"
    assert http2.get(f"/v1/tasks/{queued}").json()["status"] == "SUCCEEDED"
    new = _create(http2, "after the restart")
    assert new not in (done, running, queued, cancelled)
    db2.close()
    app2.close()
    assert open_db(SimApp(SimConfig(**config)), path)[1] == 5


def test_time_goes_on_while_the_sim_server_is_down(tmp_path) -> None:
    from runway_nb.sim import SimApp, SimConfig
    from runway_nb.sim.persist import open_db

    path = tmp_path / "sim.sqlite3"
    app = SimApp(SimConfig(speed=10.0, pending_seconds=0.5, run_seconds=5.0))
    db, _ = open_db(app, path)
    task_id = _create(_sim_client(app), "finishes while the server is down")
    db.close()  # down before the render and the run ended
    app.close()
    time.sleep(0.8)  # 8 sim seconds
    app2 = SimApp(SimConfig(speed=10.0, pending_seconds=0.5, run_seconds=5.0))
    db2, loaded = open_db(app2, path)
    assert loaded == 1
    app2.wait_media()  # the cut-off render is done again
    answer = _sim_client(app2).get(f"/v1/tasks/{task_id}").json()
    assert answer["status"] == "SUCCEEDED" and answer["output"]
    db2.close()
    app2.close()


def test_a_restarted_sim_server_with_db_answers_for_its_tasks(tmp_path) -> None:
    """The client journals tasks made before the restart; the new server (new port) knows them and
    gives fresh output URLs; ``archive.fetch`` archives them."""
    from runway_nb import Runway
    from runway_nb.client import archive
    from runway_nb.client.journal import Journal

    db = tmp_path / "sim.sqlite3"
    args = ("--speed", "20", "--pending-seconds", "1", "--run-seconds", "40", "--db", str(db))
    proc, url, line = start_server(tmp_path, *args)
    assert "Tasks are kept in" in line and "(0 loaded)" in line
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        client = Runway(provider="sim", base_url=url, journal=journal)
        ids = [client.text_to_image.create(model="gen4_image", prompt=f"take {i}", seed=i).id for i in range(3)]
        client.close()
    finally:
        stop_server(proc)  # SIGTERM: a clean stop
    proc, url2, line = start_server(tmp_path, *args)
    try:
        assert "(3 loaded)" in line
        client = Runway(provider="sim", base_url=url2, journal=journal)
        handles = [client.tasks.handle(i) for i in ids]
        for handle in handles:
            handle.wait(timeout=30)
        assert all(h.status == "SUCCEEDED" and h.outputs[0].startswith(url2) for h in handles)
        report = archive.fetch(client, [journal.get(i) for i in ids], tmp_path / "out")
        assert [r.outcome for r in report] == ["archived"] * 3
        stats = httpx.get(f"{url2}/_sim/tasks").json()
        assert sorted(t["id"] for t in stats["tasks"]) == sorted(ids)
        client.close()
    finally:
        stop_server(proc)

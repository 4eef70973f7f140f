"""Kept by default: every succeeded task's outputs are archived, however the task was waited on.

Scripts and a terminal IPython run in their own process, in a temporary folder, with the
built-in default (``./runway_outputs``); the rest run in this process against the simulator.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import httpx
import pytest

from runway_nb import Runway
from runway_nb.client.journal import Journal
from runway_nb.client.keep import Keeper, OutputsNotKept, folder_setting


def _script_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RUNWAY_NB_OUTPUTS"}
    env["RUNWAY_NB_JOURNAL"] = str(tmp_path / "journal.sqlite3")
    env["RUNWAY_NB_SIM_SPEED"] = "50"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


def _run(tmp_path: Path, args: list[str], code: str) -> str:
    out = subprocess.run([sys.executable, *args, textwrap.dedent(code)], cwd=tmp_path, env=_script_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _archived(tmp_path: Path, task_id: str) -> list[Path]:
    folder = tmp_path / "runway_outputs"
    files = sorted(folder.glob(f"{task_id}_*"))
    facts = json.loads((folder / f"{task_id}.json").read_text())
    assert facts["status"] == "SUCCEEDED" and facts["files"] == [p.name for p in files]
    journal = Journal(tmp_path / "journal.sqlite3")
    assert [Path(f) for f in journal.get(task_id).files] == [p.resolve() for p in files]
    return files


def test_a_script_keeps_outputs_with_handle_wait(tmp_path) -> None:
    """`generate(...)` then `h.wait()`: on main this wrote nothing unless wait=True was passed."""
    task_id = _run(tmp_path, ["-c"], """
        import runway_nb
        h = runway_nb.generate("a heron at dawn", model="gen4_image")
        h.wait()
        print(h.id)
    """).split()[-1]
    files = _archived(tmp_path, task_id)
    assert len(files) == 1 and files[0].suffix == ".png" and files[0].stat().st_size > 1000


def test_a_script_keeps_outputs_with_await_handle(tmp_path) -> None:
    task_id = _run(tmp_path, ["-c"], """
        import asyncio
        from runway_nb import AsyncRunway

        async def main():
            async with AsyncRunway() as client:
                handle = await client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024")
                await handle
                print(handle.id, len(handle.files))

        asyncio.run(main())
    """).split()
    assert task_id[1] == "1"
    _archived(tmp_path, task_id[0])


def test_terminal_ipython_keeps_outputs_with_handle_wait(tmp_path) -> None:
    """A terminal IPython session (no kernel, no event loop): the magic, then `h.wait()`."""
    out = _run(tmp_path, ["-m", "IPython", "--quick", "--no-banner", "--colors=NoColor", "-c"], """
        get_ipython().run_line_magic("load_ext", "runway_nb")
        get_ipython().run_cell_magic("runway", "-m gen4_image -o h", "a lighthouse in fog")
        h.wait()
        print("TASK", h.id, len(h.files))
    """)
    line = next(x for x in out.splitlines() if x.startswith("TASK"))
    _, task_id, count = line.split()
    assert count == "1"
    _archived(tmp_path, task_id)


def test_no_save_and_off_keep_nothing(sim_client, tmp_path, monkeypatch) -> None:
    handle = sim_client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024")
    handle.save_to = None
    handle.wait()
    assert handle.files == [] and handle.save_problem == ""
    assert sim_client.journal.get(handle.id).save_to == ""  # decided: not kept
    monkeypatch.setenv("RUNWAY_NB_OUTPUTS", "off")
    assert folder_setting(None) is None and folder_setting(True) == Path("runway_outputs")
    off = Runway(provider="sim", simulator=sim_client.simulator)
    other = off.text_to_image.create(model="gen4_image", prompt="a cat", ratio="1024:1024")
    other.wait()
    assert other.files == [] and other.save_to is None
    off.close()


def test_async_client_keeps_and_shares_with_its_twin(sim_client) -> None:
    handle = sim_client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024")

    async def main() -> None:
        await handle  # the async twin polls; the sync handle sees the files
    asyncio.run(main())
    assert len(handle.files) == 1 and handle.files[0].exists()
    assert handle.files[0].parent == sim_client.keeper.folder.absolute()
    assert handle.to_async().files == handle.files
    before = handle.files[0].stat().st_mtime_ns
    assert handle.save(handle.files[0].parent) == handle.files  # already there: not downloaded again
    assert handle.files[0].stat().st_mtime_ns == before


def test_a_new_kernel_keeps_what_the_journal_says(fast_sim, tmp_path) -> None:
    """A task created in one process and seen succeeding by another is kept where it was planned."""
    journal = Journal(tmp_path / "j.sqlite3")
    first = Runway(provider="sim", simulator=fast_sim, journal=journal, outputs=tmp_path / "kept")
    slow = first.text_to_video.create(model="gen4.5", prompt="waves", ratio="1280:720", duration=5)
    first.close()
    second = Runway(provider="sim", simulator=fast_sim, journal=journal, outputs=False)  # its own default: off
    assert second.tasks.handle(slow.id).wait().succeeded
    kept = sorted((tmp_path / "kept").glob(f"{slow.id}_*"))
    assert [p.suffix for p in kept] == [".mp4"]
    second.close()


def test_the_size_cap_says_what_to_do(fast_sim, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_OUTPUTS_MAX_MB", "0.001")  # 1 KB: the first output fills it
    client = Runway(provider="sim", simulator=fast_sim, outputs=tmp_path / "small", journal=False)
    first = client.text_to_image.create(model="gen4_image", prompt="one", ratio="1024:1024")
    first.wait()
    assert first.files
    second = client.text_to_image.create(model="gen4_image", prompt="two", ratio="1024:1024")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second.wait()
    assert second.files == []
    message = second.save_problem
    assert [str(w.message) for w in caught if w.category is OutputsNotKept] == [message]
    assert str(tmp_path / "small") in message and "RUNWAY_NB_OUTPUTS_MAX_MB" in message
    assert f"%runway fetch {second.id}" in message and "1.0 KB" in message
    client.close()


def test_a_failed_download_is_reported_not_raised(tmp_path) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/tasks/t1":
            return httpx.Response(200, json={"id": "t1", "status": "SUCCEEDED", "createdAt": "2026-01-01T00:00:00Z",
                                             "output": ["https://cdn.test/t1.png"]})
        return httpx.Response(403, text="expired")

    client = Runway(provider="runway", api_key="key_" + "ab" * 32, transport=httpx.MockTransport(api),
                    journal=False, outputs=tmp_path)
    handle = client.tasks.handle("t1")
    handle.save_to = tmp_path
    with pytest.warns(OutputsNotKept, match="not saved .*%runway fetch t1"):
        assert handle.wait().succeeded
    assert handle.files == [] and "t1" in handle.save_problem and "%runway fetch t1" in handle.save_problem
    client.close()


def test_serve_keeps_what_it_serves(tmp_path) -> None:
    pytest.importorskip("uvicorn")
    from runway_nb.serve.app import ServeOptions, start_in_thread
    from runway_nb.sim import Simulator

    sim = Simulator(speed=200.0)
    served = start_in_thread(ServeOptions(provider="sim", simulator=sim, port=0, mcp_port=0,
                                          outputs=str(tmp_path / "served")))
    try:
        with httpx.Client(base_url=served.rest_url, timeout=60, trust_env=False) as http:
            created = http.post("/v1/text_to_image", json={"model": "gen4_image", "promptText": "a fox",
                                                           "ratio": "1024:1024"})
            task_id = created.json()["id"]
            done = http.get(f"/v1/tasks/{task_id}", params={"wait": 30}).json()
        assert done["status"] == "SUCCEEDED"
        assert [p.name for p in (tmp_path / "served").glob(f"{task_id}_*")] == [f"{task_id}_0.png"]
        assert "outputs=" + str(tmp_path / "served") in served.service.startup_line()
    finally:
        served.stop()
        sim.close()


def test_keeper_plans_are_claimed_once() -> None:
    from runway_nb.api.task import Task

    keeper = Keeper(Path("x"), max_bytes=False)
    keeper.plan("a", Path("x"))
    task = Task(id="a", status="SUCCEEDED", outputs=["https://cdn.test/a.png"])
    assert keeper.due(task) is not None
    assert keeper.due(task) is None  # claimed: a twin's poll does not download it again
    keeper.kept("a", [Path("x/a_0.png")])
    assert keeper.files("a") == [Path("x/a_0.png")] and keeper.due(task) is None
    assert keeper.due(Task(id="b", status="SUCCEEDED", outputs=["u"])) is None  # never planned


def test_two_async_pollers_of_one_task_both_get_its_files(sim_client, tmp_path) -> None:
    """A view's poller and `await handle` see the task succeed together: one archives, the other
    waits for it (it must not show the result without its files), and a blocking caller may take
    over (it cannot wait for a download on its own thread's event loop)."""
    twin = sim_client.async_twin()
    handle = sim_client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024")
    task = handle.wait()
    sim_client.keeper.plan(handle.id, tmp_path / "again")  # due once more

    async def main() -> tuple[list[Path], list[Path]]:
        return tuple(await asyncio.gather(twin.keep(task), twin.keep(task)))  # type: ignore[return-value]

    first, second = asyncio.run(main())
    assert first == second and len(first) == 1 and first[0].exists()
    keeper = Keeper(Path("x"), max_bytes=False)
    keeper.plan("t", Path("x"))
    assert keeper.due(task.model_copy(update={"id": "t"})) is not None
    assert keeper.in_flight("t") is not None
    assert keeper.due(task.model_copy(update={"id": "t"})) is None  # claimed ...
    assert keeper.due(task.model_copy(update={"id": "t"}), retake=True) is not None  # ... unless retaken
    keeper.kept("t", [Path("x/t_0.png")])
    assert keeper.in_flight("t") is None


def test_a_cancelled_archiving_is_taken_over_by_the_poller_waiting_for_it(sim_client, tmp_path) -> None:
    """One poller's wait times out (its read is cancelled) while it downloads a task's outputs and
    another poller waits for that archiving: the waiter takes it over, and gets the files."""
    twin = sim_client.async_twin()
    task = sim_client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024").wait()
    folder = tmp_path / "again"
    sim_client.keeper.plan(task.id, folder)  # due once more
    download = twin.download_with_type
    downloading = asyncio.Event()

    async def first_one_hangs(url: str) -> tuple[bytes, str | None]:
        if not downloading.is_set():
            downloading.set()
            await asyncio.sleep(3600)
        return await download(url)

    twin.download_with_type = first_one_hangs  # type: ignore[method-assign]

    async def main() -> list[Path]:
        first = asyncio.create_task(twin.keep(task))
        await downloading.wait()
        second = asyncio.create_task(twin.keep(task))
        for _ in range(3):
            await asyncio.sleep(0)  # the second is waiting for the first's archiving now
        first.cancel()
        files = await asyncio.wait_for(second, 30)
        with pytest.raises(asyncio.CancelledError):
            await first
        return files

    files = asyncio.run(main())
    assert len(files) == 1 and files[0].exists() and files[0].parent == folder.resolve()
    assert sim_client.keeper.files(task.id) == files and sim_client.keeper.problem(task.id) == ""


def test_an_interrupted_archiving_is_kept_by_the_next_read(sim_client, monkeypatch, tmp_path) -> None:
    """Ctrl-C while a script's read downloads outputs: the task is not left half-claimed, the
    next read archives it."""
    handle = sim_client.text_to_image.create(model="gen4_image", prompt="a fox", ratio="1024:1024")
    task = handle.wait()
    sim_client.keeper.plan(task.id, tmp_path / "again")
    save = sim_client.save_outputs

    def interrupted(*args: object) -> list[Path]:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim_client, "save_outputs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sim_client.keep(task)
    assert sim_client.keeper.in_flight(task.id) is None and sim_client.keeper.problem(task.id) == ""
    assert not (tmp_path / "again").exists()
    monkeypatch.setattr(sim_client, "save_outputs", save)
    files = sim_client.keep(task)
    assert len(files) == 1 and files[0].exists() and files[0].parent.name == "again"


def test_a_released_archiving_wakes_its_waiters_and_is_due_again() -> None:
    from runway_nb.api.task import Task

    keeper = Keeper(Path("x"), max_bytes=False)
    keeper.plan("t", Path("x"))
    task = Task(id="t", status="SUCCEEDED", outputs=["https://cdn.test/t.png"])
    assert keeper.due(task) is not None
    woken: list[str] = []
    settling = keeper.in_flight("t")
    assert settling is not None
    settling.add_done_callback(lambda _done: woken.append("first"))
    keeper.released("t")
    settling.add_done_callback(lambda _done: woken.append("late"))  # after the end: called at once
    assert woken == ["first", "late"] and keeper.in_flight("t") is None
    assert keeper.due(task) is not None  # to be kept still


def test_a_release_while_another_caller_still_archives_leaves_it_to_that_one() -> None:
    # A blocking reader retook a task an async poller was archiving; the poller is cancelled:
    # the reader's download goes on, and its end settles the task (no third download).
    from runway_nb.api.task import Task

    keeper = Keeper(Path("x"), max_bytes=False)
    keeper.plan("t", Path("x"))
    task = Task(id="t", status="SUCCEEDED", outputs=["https://cdn.test/t.png"])
    assert keeper.due(task) is not None  # the async poller
    assert keeper.due(task, retake=True) is not None  # the blocking reader
    keeper.released("t")
    assert keeper.in_flight("t") is not None and keeper.due(task) is None  # still being archived
    keeper.kept("t", [Path("x/t_0.png")])
    assert keeper.in_flight("t") is None and keeper.files("t") == [Path("x/t_0.png")]

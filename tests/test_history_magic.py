"""``%runway history``, ``%runway attach --pending|ID`` and ``%runway fetch``, against the
in-process simulator, each test with its own journal."""

from __future__ import annotations

import html
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from runway_nb.client.core import Runway, TaskHandle
from runway_nb.client.journal import REFUSED, SUBMITTED, UNKNOWN, Journal, default_journal
from runway_nb.notebook.history import attach, fetch_outputs
from runway_nb.notebook.sweep import Sweep


@pytest.fixture(autouse=True)
def journal(tmp_path, monkeypatch):
    """A fresh default journal for each test (set before any client is made)."""
    monkeypatch.setenv("RUNWAY_NB_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.chdir(tmp_path)
    return default_journal()


@pytest.fixture(autouse=True)
def _displayhook_in_step():
    """After each test, keep the shared shell's ``_``/``__``/``___`` and its display hook in step.

    ``ip_empty`` restores the user namespace after a test, but IPython stops updating ``_`` once
    ``user_ns["_"]`` differs from what its display hook last set (it takes that as the user's own
    ``_``), which would break a later test that reads ``_``.
    """
    yield
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
        for name in ("_", "__", "___"):
            if name in shell.user_ns:
                setattr(shell.displayhook, name, shell.user_ns[name])


def _new_kernel(session, client) -> Runway:
    """What a kernel restart leaves: no session state; only the journal and the simulator (the
    "server") remain. Returns the new kernel's client."""
    session.reset()
    return session.use_client(Runway(provider="sim", simulator=client.simulator))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _set_pid(journal: Journal, task_id: str | None, pid: int, rowid: int | None = None) -> None:
    conn = sqlite3.connect(journal.path)
    if rowid is not None:
        conn.execute("UPDATE tasks SET pid=? WHERE rowid_=?", (pid, rowid))
    else:
        conn.execute("UPDATE tasks SET pid=? WHERE task_id=?", (pid, task_id))
    conn.commit()
    conn.close()


# ----------------------------------------------------------------------------------------
# history
# ----------------------------------------------------------------------------------------

def test_history_lists_past_tasks_in_a_new_session(ip, runway_session, sim_client) -> None:
    sweep = ip.run_cell("%%runway -m gen4_image --seed 1,2 --wait\nA <b>lighthouse</b> & the sea").result
    single = ip.run_cell("%%runway -m gen4_image\nA heron").result
    _new_kernel(runway_session, sim_client)
    table = ip.run_cell("%runway history").result
    assert table.ids == [single.id, *reversed(sweep.ids)]  # newest first
    text = repr(table)
    for task_id in [*sweep.ids, single.id]:
        assert task_id in text
    assert "SUCCEEDED" in text and "gen4_image" in text and "A heron" in text
    assert "built-in simulator, in-process" in text
    page = table._repr_html_()
    assert "<b>lighthouse</b>" not in page and html.escape("A <b>lighthouse</b> & the sea") in page
    # filters and limits
    done = ip.run_cell("%runway history --status succeeded").result
    assert set(done.ids) == set(sweep.ids)
    assert ip.run_cell("%runway history --status pending,running").result.ids == [single.id]
    assert ip.run_cell("%runway history --status unfinished").result.ids == [single.id]
    limited = ip.run_cell("%runway history --limit 1").result
    assert limited.ids == [single.id] and "--limit N shows more" in repr(limited)
    with pytest.raises(UsageError, match="not a status"):
        ip.run_cell("%runway history --status bogus")
    with pytest.raises(UsageError):
        ip.run_cell("%runway history --nope")


def test_history_scope_is_this_provider_unless_all(ip, runway_session, sim_client, journal) -> None:
    ip.run_cell("%%runway -m gen4_image\nhere")
    other = journal.begin(provider="runway", base_url="https://api.dev.runwayml.com", endpoint="text_to_video",
                          params={"model": "gen4.5", "promptText": "on Runway"})
    journal.created(other, "remote-task-1", 25)
    assert "remote-task-1" not in repr(ip.run_cell("%runway history").result)
    everything = ip.run_cell("%runway history --all").result
    assert "remote-task-1" in everything.ids and "provider" in everything.columns
    assert "runway" in repr(everything)


def test_in_process_sim_tasks_of_a_dead_kernel_ended_with_it(ip, runway_session, sim_client, journal,
                                                             capsys) -> None:
    lost = sim_client.create("text_to_image", prompt="made in a kernel that died", model="gen4_image")
    alive = sim_client.create("text_to_image", prompt="made here", model="gen4_image")
    _set_pid(journal, lost.id, _dead_pid())
    table = ip.run_cell("%runway history").result
    line = next(line for line in repr(table).splitlines() if lost.id in line)
    assert "ended with its kernel" in line and "(last seen PENDING)" in line
    assert "ended with its kernel" not in next(line for line in repr(table).splitlines() if alive.id in line)
    ended = ip.run_cell("%runway history --status ended").result
    assert ended.ids == [lost.id]
    # attach --pending leaves it alone (it would 404), and says why
    _new_kernel(runway_session, sim_client)
    result = ip.run_cell("%runway attach --pending").result
    err = capsys.readouterr().err
    assert isinstance(result, TaskHandle) and result.id == alive.id
    assert lost.id in err and "ended with its kernel" in err
    with pytest.raises(UsageError, match="ended with its kernel"):
        ip.run_cell(f"%runway attach {lost.id}")


def test_outcome_unknown_is_listed_with_how_to_resolve_it(ip, runway_session, sim_client, journal,
                                                          capsys) -> None:
    from runway_nb.errors import OutcomeUnknownError

    base = sim_client.settings.base_url
    row = journal.begin(provider="sim", base_url=base, endpoint="text_to_image",
                        params={"model": "gen4_image", "promptText": "did it go through?"})
    journal.create_failed(row, OutcomeUnknownError("connection dropped after sending", endpoint="text_to_image"),
                          outcome_unknown=True)
    table = ip.run_cell("%runway history").result
    text = repr(table)
    assert "outcome unknown" in text and "(none)" in text
    assert f"%runway history --resolve {row} TASK_ID" in text and f"--resolve {row} none" in text
    assert ip.run_cell("%runway history --status unknown").result.entries[0].rowid == row
    # it did make a task: found on the dashboard, settled with its id (checked on the server)
    made = sim_client.create("text_to_image", prompt="did it go through?", model="gen4_image")
    with pytest.raises(UsageError, match="no task"):
        ip.run_cell(f"%runway history --resolve {row} 00000000-0000-4000-8000-000000000000")
    assert journal.row(row).submit_state == UNKNOWN
    ip.run_cell(f"%runway history --resolve {row} {made.id}")
    assert f"Row {row} settled" in capsys.readouterr().out
    settled = journal.get(made.id)
    assert settled.rowid == row and settled.submit_state == SUBMITTED and settled.status is not None
    assert len([e for e in journal.entries() if e.task_id == made.id]) == 1  # merged with the create's row
    with pytest.raises(UsageError, match="settled already"):
        ip.run_cell(f"%runway history --resolve {row} none")
    # another one that made nothing
    row2 = journal.begin(provider="sim", base_url=base, endpoint="text_to_image", params={"model": "gen4_image"})
    journal.create_failed(row2, OutcomeUnknownError("timeout", endpoint="text_to_image"), outcome_unknown=True)
    ip.run_cell(f"%runway history --resolve {row2} none")
    assert journal.row(row2).submit_state == REFUSED
    assert "not created" in repr(ip.run_cell("%runway history").result)
    with pytest.raises(UsageError, match="no row"):
        ip.run_cell("%runway history --resolve 999 none")
    with pytest.raises(UsageError, match="not a row number"):
        ip.run_cell("%runway history --resolve abc none")


def test_a_create_cut_off_by_a_dead_kernel_counts_as_outcome_unknown(ip, runway_session, sim_client,
                                                                     journal) -> None:
    row = journal.begin(provider="sim", base_url=sim_client.settings.base_url, endpoint="text_to_image",
                        params={"model": "gen4_image", "promptText": "in flight when the kernel died"})
    table = ip.run_cell("%runway history").result
    assert "submitting" in repr(table)  # this process is alive: still being sent
    with pytest.raises(UsageError, match="being submitted right now"):
        ip.run_cell(f"%runway history --resolve {row} none")
    _set_pid(journal, None, _dead_pid(), rowid=row)
    text = repr(ip.run_cell("%runway history").result)
    assert "outcome unknown" in text and "process stopped while the create request was in flight" in text
    ip.run_cell(f"%runway history --resolve {row} none")
    assert journal.row(row).submit_state == REFUSED


def test_journal_off_is_explained(ip, runway_session, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_JOURNAL", "off")
    runway_session.reset()
    runway_session.use_client(Runway(provider="sim", journal=False))
    with pytest.raises(UsageError, match="turned off"):
        ip.run_cell("%runway history")


# ----------------------------------------------------------------------------------------
# attach
# ----------------------------------------------------------------------------------------

def test_attach_pending_resumes_every_unfinished_task(ip, runway_session, sim_client, make_sim,
                                                      journal, capsys) -> None:
    slow = make_sim(speed=2000.0, pending_seconds=0.5, run_seconds=200.0, concurrency=10)
    client = runway_session.use_client(Runway(provider="sim", simulator=slow))
    ip.run_cell("%%runway -m gen4_image --wait\nfinished already")
    slow.configure(speed=1.0)  # the sweep runs for minutes
    sweep = ip.run_cell("%%runway -m gen4_image --seed 1,2,3\nA fox").result
    capsys.readouterr()
    client = _new_kernel(runway_session, client)
    pending = ip.run_cell("%runway attach --pending -o again").result
    assert isinstance(pending, Sweep) and ip.user_ns["again"] is pending
    assert sorted(pending.ids) == sorted(sweep.ids)
    assert "watching 3 unfinished task(s)" in capsys.readouterr().err
    # params come back from the journal: captions, %runway list, the grid's labels
    assert [h.params["seed"] for h in pending.tasks] == [1, 2, 3]
    assert all(h.params["promptText"] == "A fox" and h.endpoint == "text_to_image" for h in pending.tasks)
    assert [c["seed"] for c in pending.combos] == [1, 2, 3] and pending.varying == ["seed"]
    assert runway_session.tasks == pending.tasks
    assert all(h.status in ("PENDING", "RUNNING") for h in pending.tasks)
    slow.configure(speed=5000.0)
    pending.wait(timeout=30, progress=False)
    assert all(h.status == "SUCCEEDED" for h in pending.tasks)
    assert all(journal.get(h.id).status == "SUCCEEDED" for h in pending.tasks)
    _new_kernel(runway_session, client)
    assert ip.run_cell("%runway attach --pending").result is None
    assert "No unfinished tasks" in capsys.readouterr().out


def test_a_voice_sweep_resumed_after_a_restart_is_labelled_by_its_voices(ip, runway_session, make_sim,
                                                                           journal, capsys) -> None:
    # The journal keeps each task's body, whose voice is a preset object: the sweep read back
    # from it names its voices as the one that was submitted did (the grid's row and column labels).
    slow = make_sim(speed=1.0, pending_seconds=0.5, run_seconds=200.0, concurrency=10)
    client = runway_session.use_client(Runway(provider="sim", simulator=slow))
    sweep = ip.run_cell("%%runway -t text_to_speech --voice Maya,Arjun\nThe same line, twice.").result
    assert isinstance(sweep, Sweep) and sweep.varying == ["voice"]
    _new_kernel(runway_session, client)
    capsys.readouterr()
    pending = ip.run_cell("%runway attach --pending").result
    assert isinstance(pending, Sweep) and pending.varying == ["voice"]
    assert sorted(c["voice"] for c in pending.combos) == ["Arjun", "Maya"]
    assert all(c["prompt"] == "The same line, twice." for c in pending.combos)


def test_attach_pending_wait_keeps_the_save_choice_of_the_dead_kernel(ip, runway_session, make_sim, journal,
                                                                      tmp_path) -> None:
    slow = make_sim(speed=100.0, pending_seconds=0.5, run_seconds=100.0)
    client = runway_session.use_client(Runway(provider="sim", simulator=slow))
    sweep = ip.run_cell("%%runway -m gen4_image --seed 1,2 --save kept\nA fox").result
    loose = ip.run_cell("%%runway -m gen4_image --no-save\nnot saved").result
    kept = (tmp_path / "kept").resolve()
    assert all(journal.get(i).save_to == str(kept) for i in sweep.ids)
    assert journal.get(loose.id).save_to == ""  # decided: not kept
    _new_kernel(runway_session, client)
    slow.configure(speed=1000.0)
    result = ip.run_cell("%runway attach --pending --wait").result
    assert isinstance(result, Sweep) and result.finished
    for task_id in sweep.ids:
        files = journal.get(task_id).files
        assert files and all(Path(f).parent == kept and Path(f).exists() for f in files)
        facts = json.loads((kept / f"{task_id}.json").read_text())
        assert facts["provider"] == "sim" and facts["status"] == "SUCCEEDED"
        assert [h["status"] for h in facts["status_history"]][-1] == "SUCCEEDED"
    assert journal.get(loose.id).files == []  # opted out: not saved; %runway fetch does it


def test_attach_one_task_records_it_and_takes_params_from_the_journal(ip, runway_session, sim_client,
                                                                      fast_sim, journal) -> None:
    made = sim_client.create("text_to_image", prompt="made before the restart", model="gen4_image", seed=7)
    _new_kernel(runway_session, sim_client)
    handle = ip.run_cell(f"%runway attach {made.id} -o watched").result
    assert ip.user_ns["watched"] is handle
    assert handle.params["promptText"] == "made before the restart" and handle.params["seed"] == 7
    assert handle.endpoint == "text_to_image" and handle.estimated_cost == made.estimated_cost
    assert len(journal.entries()) == 1  # the same row, not a second one
    # a task made with no journal at all (another machine): attach records it
    outsider = Runway(provider="sim", simulator=fast_sim, journal=False)
    other = outsider.create("text_to_image", prompt="made elsewhere", model="gen4_image")
    handle = ip.run_cell(f"%runway attach {other.id} --wait").result
    entry = journal.get(other.id)
    assert entry is not None and entry.submit_state == SUBMITTED and entry.status == "SUCCEEDED"
    assert handle.status == "SUCCEEDED"
    with pytest.raises(UsageError, match="no such task"):
        ip.run_cell("%runway attach 00000000-0000-4000-8000-000000000000")
    with pytest.raises(UsageError, match="not both"):
        ip.run_cell(f"%runway attach {other.id} --pending")
    with pytest.raises(UsageError, match="needs a task id"):
        ip.run_cell("%runway attach")
    with pytest.raises(UsageError, match="--out: '1st' is not a valid Python variable name"):
        ip.run_cell(f"%runway attach {other.id} -o 1st")
    # the Python side takes parsed values, with the same checks and the same handle
    assigned: dict[str, object] = {}
    assert attach(made.id, out="again", assign=assigned.__setitem__) is runway_session.get(made.id)
    assert assigned == {"again": runway_session.get(made.id)}
    with pytest.raises(UsageError, match="not both"):
        attach(other.id, pending=True)
    with pytest.raises(UsageError, match="needs a task id"):
        attach(None)
    outsider.close()


# ----------------------------------------------------------------------------------------
# fetch
# ----------------------------------------------------------------------------------------

def test_fetch_archives_what_was_not_saved(ip, runway_session, sim_client, journal, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RUNWAY_NB_OUTPUTS")  # fetch's default folder: the session's, ./runway_outputs
    a = ip.run_cell("%%runway -m gen4_image --wait --no-save\nfirst").result
    b = ip.run_cell("%%runway -m gen4_image --wait --no-save\nsecond").result
    failed = ip.run_cell("%%runway -m gen4_image --wait --no-save\nsomething forbidden").result
    assert failed.status == "FAILED"
    _new_kernel(runway_session, sim_client)  # (its session reads the default folder again)
    report = ip.run_cell(f"%runway fetch {a.id}").result
    assert [(r.task_id, r.outcome) for r in report] == [(a.id, "archived")]
    path = (tmp_path / "runway_outputs" / f"{a.id}_0.png").resolve()
    assert path.exists() and [p.resolve() for p in report.results[0].files] == [path]
    assert journal.get(a.id).files == [str(path)]
    facts = json.loads((tmp_path / "runway_outputs" / f"{a.id}.json").read_text())
    assert facts["prompt"] == "first" and facts["files"] == [path.name] and facts["journal_row"]
    assert sim_client.settings.api_key not in json.dumps(facts)  # never the key
    # --all: the rest; the failed one has nothing to fetch; a second run has nothing to do
    report = ip.run_cell("%runway fetch --all --dir elsewhere").result
    assert [(r.task_id, r.outcome) for r in report] == [(b.id, "archived")]
    assert (tmp_path / "elsewhere" / f"{b.id}_0.png").exists()
    again = ip.run_cell("%runway fetch --all").result
    assert len(again) == 0 and "Nothing to fetch" in repr(again)
    assert ip.run_cell(f"%runway fetch {a.id}").result.results[0].outcome == "already archived"
    # a deleted file is fetched again
    path.unlink()
    assert [r.outcome for r in ip.run_cell("%runway fetch --all").result] == ["archived"]
    assert path.exists()
    with pytest.raises(UsageError, match="needs task id"):
        ip.run_cell("%runway fetch")
    # the Python side takes parsed values, with the same checks
    assert [r.outcome for r in fetch_outputs([a.id])] == ["already archived"]
    assert [r.outcome for r in fetch_outputs([a.id], force=True, folder="forced")] == ["archived"]
    assert (tmp_path / "forced" / f"{a.id}_0.png").exists()
    with pytest.raises(UsageError, match="needs task id"):
        fetch_outputs([a.id], all_=True)
    with pytest.raises(UsageError, match="needs task id"):
        fetch_outputs([])


def test_fetch_gets_fresh_urls_and_reports_unfinished_and_gone(ip, runway_session, sim_client, make_sim,
                                                               journal) -> None:
    done = ip.run_cell("%%runway -m gen4_image --wait --no-save\ndone").result
    # the journal's URL is stale (expired): fetch GETs the task again and uses the new one
    conn = sqlite3.connect(journal.path)
    conn.execute("UPDATE tasks SET outputs=? WHERE task_id=?", (json.dumps(["https://expired.test/x.png"]),
                                                                 done.id))
    conn.commit()
    conn.close()
    slow = make_sim(speed=1.0, run_seconds=1000.0)
    running = Runway(provider="sim", simulator=slow)
    runway_session.use_client(running)
    waiting = running.create("text_to_image", prompt="still running", model="gen4_image")
    report = ip.run_cell(f"%runway fetch {waiting.id}").result
    assert report.results[0].outcome == "not finished" and "%runway attach" in report.results[0].note
    running.cancel_task(waiting.id)
    gone = ip.run_cell(f"%runway fetch {waiting.id}").result.results[0]
    assert gone.outcome == "gone"
    runway_session.use_client(sim_client)
    report = ip.run_cell(f"%runway fetch {done.id}").result
    assert report.results[0].outcome == "archived"
    assert not journal.get(done.id).outputs[0].startswith("https://expired.test")
    running.close()


def test_help_lists_the_new_subcommands(ip, capsys) -> None:
    ip.run_cell("%runway help")
    text = capsys.readouterr().out
    assert "%runway history" in text and "%runway attach --pending" in text and "%runway fetch" in text


# ----------------------------------------------------------------------------------------
# the journal: a file from before the save_to column, opened by several processes at once
# ----------------------------------------------------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE tasks (rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, submit_state TEXT NOT NULL,
    provider TEXT NOT NULL, base_url TEXT NOT NULL, endpoint TEXT, model TEXT, prompt TEXT,
    params TEXT NOT NULL DEFAULT '{}', status TEXT, progress REAL, outputs TEXT NOT NULL DEFAULT '[]',
    files TEXT NOT NULL DEFAULT '[]', failure TEXT, failure_code TEXT, error TEXT, estimated_cost REAL,
    cost REAL, submitted_at REAL NOT NULL, updated_at REAL NOT NULL, pid INTEGER);
INSERT INTO tasks (task_id, submit_state, provider, base_url, model, prompt, status, submitted_at, updated_at, pid)
    VALUES ('old-1', 'submitted', 'sim', 'http://127.0.0.1:9', 'gen4.5', 'from an older version', 'RUNNING', 1, 1, 1);
"""


def _open_and_write(path: str, worker: int) -> None:
    j = Journal(path)
    row = j.begin(provider="sim", base_url="http://127.0.0.1:9", endpoint="text_to_image",
                  params={"model": "gen4_image", "promptText": f"w{worker}"})
    j.created(row, f"new-{worker}", 5)
    j.set_save_to(f"new-{worker}", f"/tmp/out{worker}")


def test_an_older_journal_gains_the_new_column_safely_under_concurrency(tmp_path) -> None:
    import multiprocessing

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(_OLD_SCHEMA)
    conn.close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_write, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    j = Journal(path)
    old = j.get("old-1")
    assert old.prompt == "from an older version" and old.save_to is None and old.pid == 1
    assert sorted(e.save_to for e in j.entries() if e.task_id.startswith("new-")) == [
        f"/tmp/out{w}" for w in range(4)]

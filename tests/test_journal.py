"""The SQLite journal: every create recorded before it is sent, outcomes settled after,
and several processes writing at once without losing a row."""

from __future__ import annotations

import multiprocessing
import sqlite3

import httpx
import pytest

from runway_nb import Runway, Task, errors
from runway_nb.client.journal import SUBMITTED, SUBMITTING, UNKNOWN, Journal

KEY = "key_" + "9f" * 64
BODY = dict(model="gen4_turbo", prompt_image="https://example.com/a.png", prompt_text="a heron", ratio="1280:720",
            duration=5, seed=3)


def test_wal_mode_and_key_never_stored(tmp_path):
    path = tmp_path / "j.sqlite3"
    seen = []

    def handler(request):
        if request.method == "POST":
            # The row exists, as "submitting", while the request is in flight.
            seen.extend(Journal(path).entries())
            return httpx.Response(200, json={"id": "t-1", "estimatedCost": {"credits": 25}})
        return httpx.Response(200, json={"id": "t-1", "status": "SUCCEEDED", "createdAt": "2026-01-01T00:00:00Z",
                                         "output": ["https://cdn.test/o.mp4"], "cost": {"credits": 25}})

    client = Runway(provider="runway", api_key=KEY, transport=httpx.MockTransport(handler), journal=Journal(path))
    handle = client.image_to_video.create(**BODY)
    assert [e.submit_state for e in seen] == [SUBMITTING]
    handle.refresh()
    entry = Journal(path).get("t-1")
    assert entry.submit_state == SUBMITTED and entry.status == "SUCCEEDED"
    assert entry.outputs == ["https://cdn.test/o.mp4"] and entry.model == "gen4_turbo"
    assert entry.prompt == "a heron" and entry.estimated_cost == 25
    assert [h[0] for h in Journal(path).history("t-1")] == ["SUCCEEDED"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    dump = "\n".join(conn.iterdump())
    assert KEY not in dump and "9f9f9f" not in dump


def test_outcome_unknown_create_stays_visible(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    transport = httpx.MockTransport(lambda r: httpx.Response(502, json={"error": "bad gateway"}))
    client = Runway(provider="runway", api_key=KEY, transport=transport, journal=journal)
    with pytest.raises(errors.OutcomeUnknownError):
        client.image_to_video.create(**BODY)
    (entry,) = journal.entries()
    assert entry.submit_state == UNKNOWN and entry.task_id is None
    assert "502" in entry.error
    journal.resolve_unknown(entry.rowid, "t-found-later")
    assert journal.get("t-found-later").submit_state == SUBMITTED


def test_unfinished_and_status_filters(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    for i, status in enumerate(["RUNNING", "SUCCEEDED", "THROTTLED", "FAILED"]):
        row = journal.begin(provider="sim", base_url="http://sim", endpoint="text_to_image",
                            params={"model": "gen4_image", "promptText": f"p{i}"})
        journal.created(row, f"t{i}", 5)
        journal.update(Task(id=f"t{i}", status=status))
    assert {e.task_id for e in journal.entries(unfinished=True)} == {"t0", "t2"}
    assert {e.task_id for e in journal.entries(status=["failed"])} == {"t3"}
    assert "t1" in journal.entries(limit=10)[2].line()


def test_progress_alone_is_written_at_most_every_few_seconds_a_new_status_at_once(tmp_path, monkeypatch):
    from runway_nb.client import events

    journal = Journal(tmp_path / "j.sqlite3")
    row = journal.begin(provider="sim", base_url="http://sim", endpoint="text_to_image",
                        params={"model": "gen4_image", "promptText": "p"})
    journal.created(row, "t", 5)
    record = events.JournalRecorder(journal)
    clock = [1000.0]
    monkeypatch.setattr(events.time, "monotonic", lambda: clock[0])

    def seen(status: str, progress: float | None = None, outputs: tuple[str, ...] = ()) -> None:
        record(events.TaskSeen(Task(id="t", status=status, progress=progress, outputs=list(outputs)), "http://sim"))

    def journalled() -> tuple[str | None, float | None]:
        entry = journal.get("t")
        assert entry is not None
        return entry.status, entry.progress

    seen("RUNNING", 0.1)
    assert journalled() == ("RUNNING", 0.1)
    clock[0] += 5
    seen("RUNNING", 0.3)  # progress only, soon after: not written yet
    assert journalled() == ("RUNNING", 0.1)
    clock[0] += events.PROGRESS_EVERY
    seen("RUNNING", 0.6)
    assert journalled() == ("RUNNING", 0.6)
    clock[0] += 1
    seen("SUCCEEDED", None, ("https://x.test/o.png",))  # a new status: at once
    assert journalled() == ("SUCCEEDED", None)
    assert journal.get("t").outputs == ["https://x.test/o.png"]


def _writer(path: str, worker: int, count: int) -> None:
    journal = Journal(path)
    for i in range(count):
        row = journal.begin(provider="sim", base_url="http://sim", endpoint="text_to_video",
                            params={"model": "gen4.5", "promptText": f"w{worker}-{i}"})
        journal.created(row, f"w{worker}-{i}", 10)
        journal.update(Task(id=f"w{worker}-{i}", status="RUNNING", progress=0.5))
        journal.update(Task(id=f"w{worker}-{i}", status="SUCCEEDED", outputs=["https://x.test/o.mp4"]))


def test_survives_concurrent_writers(tmp_path):
    path = str(tmp_path / "j.sqlite3")
    Journal(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    entries = Journal(path).entries()
    assert len(entries) == 240
    assert len({e.task_id for e in entries}) == 240
    assert all(e.status == "SUCCEEDED" and e.outputs for e in entries)
    assert all(len(Journal(path).history(e.task_id)) == 2 for e in entries[:20])


def test_the_prompt_is_recorded_wherever_the_operation_keeps_it(tmp_path):
    """Routed generation nests it (input.promptText), recipes call it prompt, avatars speak it."""
    journal = Journal(tmp_path / "j.sqlite")
    client = Runway(provider="sim", journal=journal, poll_floor=0.05)
    made = {
        "routed fox": client.generate.image.create(configId="default", input={"promptText": "routed fox"}),
        "stock fox": client.recipes.marketing_stock_image.create(version="2026-06", prompt="stock fox"),
        "plain fox": client.text_to_image.create(model="gen4_image", prompt="plain fox", ratio="1920:1080"),
    }
    for prompt, handle in made.items():
        entry = journal.get(handle.id)
        assert entry is not None and entry.prompt == prompt, (prompt, entry)
    client.close()

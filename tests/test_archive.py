"""The output archive: files of finished tasks with their facts beside them, recorded in the journal."""

from __future__ import annotations

import json

import httpx
import pytest

from runway_nb import Runway, errors
from runway_nb.client import archive
from runway_nb.client.journal import Journal

KEY = "key_" + "7e" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


class FakeRunway:
    """A Runway API whose output URLs expire: each GET of a task hands out a new signed URL, and
    only the newest one downloads (older ones answer 403, as expired signed URLs do)."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict] = {}
        self.gets: dict[str, int] = {}
        self.creates = 0

    def add(self, task_id: str, status: str = "SUCCEEDED", **extra) -> None:
        self.tasks[task_id] = {"id": task_id, "status": status, "createdAt": "2026-01-01T00:00:00Z", **extra}

    def _url(self, task_id: str) -> str:
        return f"https://cdn.test/{task_id}/{self.gets[task_id]}/out.png?sig=abc"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "cdn.test":
            assert "authorization" not in request.headers  # signed URLs never get the key
            task_id, n = path.split("/")[1:3]
            if int(n) != self.gets.get(task_id):
                return httpx.Response(403, text="<Error>Request has expired</Error>")
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if request.method == "POST" and path == "/v1/text_to_image":
            self.creates += 1
            task_id = f"task-{self.creates}"
            self.add(task_id, "PENDING")
            return httpx.Response(200, json={"id": task_id, "estimatedCost": {"credits": 5}})
        if request.method == "GET" and path.startswith("/v1/tasks/"):
            task_id = path.rsplit("/", 1)[1]
            if task_id not in self.tasks:
                return httpx.Response(404, json={"error": "Task not found."})
            self.gets[task_id] = self.gets.get(task_id, 0) + 1
            body = dict(self.tasks[task_id])
            if body["status"] == "SUCCEEDED":
                body.update(output=[self._url(task_id)], cost={"credits": 5})
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"error": "no route"})


@pytest.fixture
def api():
    return FakeRunway()


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal.sqlite3")


@pytest.fixture
def client(api, journal):
    # outputs=False: these tests archive by hand what was not kept (tests/test_keep.py: kept by default)
    client = Runway(provider="runway", api_key=KEY, transport=httpx.MockTransport(api), journal=journal,
                    outputs=False)
    yield client
    client.close()


def _submit(client, api, prompt="a heron at dawn", status="SUCCEEDED"):
    handle = client.text_to_image.create(model="gen4_image", prompt=prompt, ratio="1280:720", seed=3)
    api.tasks[handle.id]["status"] = status
    return handle


def test_archive_writes_files_and_facts_and_records_them(client, api, journal, tmp_path) -> None:
    handle = _submit(client, api)
    handle.refresh()
    handle.refresh()  # the task seen twice: its first URL has expired meanwhile
    paths = archive.archive(client, handle.id, tmp_path / "out")
    assert [p.name for p in paths] == [f"{handle.id}_0.png"] and paths[0].read_bytes() == PNG
    facts = json.loads(archive.facts_path(tmp_path / "out", handle.id).read_text())
    assert facts["id"] == handle.id and facts["status"] == "SUCCEEDED"
    assert facts["provider"] == "runway" and facts["base_url"] == "https://api.dev.runwayml.com"
    assert facts["endpoint"] == "text_to_image" and facts["model"] == "gen4_image"
    assert facts["prompt"] == "a heron at dawn" and facts["params"]["seed"] == 3
    assert facts["files"] == [paths[0].name] and facts["cost"] == 5
    assert facts["submitted_at"] and facts["finished_at"] and facts["archived_at"]
    assert [h["status"] for h in facts["status_history"]] == ["SUCCEEDED"]
    assert facts["journal_row"] == journal.get(handle.id).rowid
    assert journal.get(handle.id).files == [str(paths[0].resolve())]
    assert journal.get(handle.id).outputs == [api._url(handle.id)]  # the fresh URL, recorded
    text = (tmp_path / "out").joinpath(f"{handle.id}.json").read_text()
    assert KEY not in text and "7e7e7e" not in text


def test_archive_refuses_unfinished_and_failed_tasks(client, api, tmp_path) -> None:
    running = _submit(client, api, status="RUNNING")
    with pytest.raises(errors.RunwayError, match="RUNNING"):
        archive.archive(client, running.id, tmp_path)
    failed = _submit(client, api, status="FAILED")
    api.tasks[failed.id].update(failure="bad", failureCode="INTERNAL")
    with pytest.raises(errors.RunwayError, match="only a SUCCEEDED task"):
        archive.archive(client, failed.id, tmp_path)
    assert not list(tmp_path.glob("task-*"))


def test_archive_handle_reuses_a_fresh_task_and_sets_files(client, api, tmp_path) -> None:
    handle = _submit(client, api)
    handle.refresh()
    gets = api.gets[handle.id]
    paths = archive.archive_handle(handle, tmp_path)
    assert handle.files == paths and api.gets[handle.id] == gets  # no extra GET: the URL is fresh


def test_fetch_reports_per_task_and_skips_the_archived(client, api, journal, tmp_path) -> None:
    done = _submit(client, api, "first")
    done.refresh()
    also = _submit(client, api, "second")
    running = _submit(client, api, "third", status="RUNNING")
    failed = _submit(client, api, "fourth", status="FAILED")
    failed.refresh()
    gone = _submit(client, api, "fifth")
    del api.tasks[gone.id]
    entries = journal.entries()
    report = archive.fetch(client, entries, tmp_path / "a")
    outcomes = {r.task_id: r.outcome for r in report}
    assert outcomes == {done.id: "archived", also.id: "archived", running.id: "not finished",
                        failed.id: "nothing to fetch", gone.id: "gone"}
    assert (tmp_path / "a" / f"{done.id}_0.png").exists() and (tmp_path / "a" / f"{also.id}.json").exists()
    text = repr(report)
    assert "2 archived" in text and "%runway attach" in text
    assert "<script" not in report._repr_html_()
    # a second run: the archived ones are left alone unless forced
    again = {r.task_id: r.outcome for r in archive.fetch(client, journal.entries(), tmp_path / "a")}
    assert again[done.id] == "already archived" and again[also.id] == "already archived"
    forced = {r.task_id: r.outcome for r in archive.fetch(client, journal.entries(), tmp_path / "a", force=True)}
    assert forced[done.id] == "archived"
    assert api.creates == 5  # fetching never submits anything


def test_fetch_uses_the_folder_chosen_at_submission(client, api, journal, tmp_path) -> None:
    chosen = _submit(client, api, "chosen")
    archive.remember_save(client, chosen.id, tmp_path / "chosen")
    other = _submit(client, api, "other")
    report = archive.fetch(client, journal.entries(), default_folder=tmp_path / "default")
    folders = {r.task_id: r.files[0].parent.resolve() for r in report}
    assert folders == {chosen.id: (tmp_path / "chosen").resolve(), other.id: (tmp_path / "default").resolve()}


def test_fetch_html_escapes_everything(client, api, journal, tmp_path) -> None:
    report = archive.FetchReport([archive.FetchResult("<img src=x onerror=alert(1)>", "error",
                                                      note="<b>boom</b>")])
    page = report._repr_html_()
    assert "<img" not in page and "<b>" not in page and "&lt;b&gt;boom" in page


def test_session_archives_on_finish_by_default(runway_session, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNWAY_NB_OUTPUTS")  # the built-in default: ./runway_outputs
    runway_session.configure(save=None, save_dir=None)
    handle = runway_session.generate("a fox", model="gen4_image", wait=True, progress=False)
    assert handle.files and all(p.exists() for p in handle.files)
    facts = json.loads(archive.facts_path(tmp_path / "runway_outputs", handle.id).read_text())
    assert facts["status"] == "SUCCEEDED" and facts["provider"] == "sim" and facts["status_history"]
    entry = handle.client.journal.get(handle.id)
    assert entry.save_to == str((tmp_path / "runway_outputs").resolve())
    assert entry.files == [str(p.resolve()) for p in handle.files]
    # opted out: nothing saved, nothing remembered
    plain = runway_session.generate("a cat", model="gen4_image", wait=True, progress=False, save=False)
    assert plain.files == [] and handle.client.journal.get(plain.id).save_to == ""  # decided: not kept

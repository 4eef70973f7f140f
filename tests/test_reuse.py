"""No second bill by accident: an identical request from the same cell shows its earlier task.

Fingerprints, a seed per cell kept in the journal, ``new``, the off switch, the journal's
migration, and the magic through a real InteractiveShell (creates counted on the simulator).
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from PIL import Image

from runway_nb.api import request as api_request
from runway_nb.client.core import Runway
from runway_nb.client.journal import Journal
from runway_nb.client.local_files import read_local_file
from runway_nb.notebook import reuse
from runway_nb.notebook.archived import ArchivedTaskHandle
from runway_nb.notebook.session import Session

BODY = dict(model="gen4.5", promptText="a heron at dawn", ratio="1280:720", duration=5, seed=7)


@pytest.fixture(autouse=True)
def reuse_on(monkeypatch):
    """The repository's conftest turns reuse off for every other test."""
    monkeypatch.delenv("RUNWAY_NB_REUSE", raising=False)


def fp(endpoint: str = "text_to_video", **params):
    return reuse.fingerprint(api_request.build(endpoint, {**BODY, **params}, read_file=read_local_file))


def png(path, color) -> None:
    Image.new("RGB", (64, 36), color).save(path, format="PNG")


@pytest.fixture
def journal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "this notebook" is the working folder here
    monkeypatch.delenv(reuse.ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return Journal(tmp_path / "journal.sqlite3")


@pytest.fixture
def session(journal, fast_sim, clean_env):
    s = Session()
    s.use_client(Runway(provider="sim", simulator=fast_sim, journal=journal))
    yield s
    s.reset()


def creates(session: Session) -> int:
    return session.client.simulator.stats.creates


# ----------------------------------------------------------------------------------------
# fingerprints
# ----------------------------------------------------------------------------------------

def test_fingerprint_is_stable_and_every_field_counts() -> None:
    assert fp() == fp()
    assert fp(promptText="a heron at dusk") != fp()
    assert fp(seed=8) != fp()
    assert fp(ratio="720:1280") != fp()
    assert fp(duration=10) != fp()
    assert fp(model="veo3.1", duration=8) != fp(duration=8)
    assert fp("image_to_video", promptImage="https://example.com/a.png") != fp()


def test_fingerprint_reads_media_by_content_not_by_path(tmp_path) -> None:
    a, b, c = tmp_path / "a.png", tmp_path / "copy" / "b.png", tmp_path / "c.png"
    b.parent.mkdir()
    png(a, (200, 80, 40))
    png(b, (200, 80, 40))
    png(c, (10, 80, 40))
    same = fp("image_to_video", promptImage=str(a))
    assert fp("image_to_video", promptImage=str(b)) == same  # another name, the same picture
    assert fp("image_to_video", promptImage=str(c)) != same
    png(a, (10, 80, 40))  # the same name, another picture
    assert fp("image_to_video", promptImage=str(a)) != same


def test_fingerprint_of_media_to_upload_is_its_content() -> None:
    big = io.BytesIO()
    Image.effect_noise((1200, 1200), 80).convert("RGB").save(big, format="PNG")
    data = big.getvalue()
    draft = api_request.build("image_to_video", {**BODY, "promptImage": data}, read_file=read_local_file)
    again = api_request.build("image_to_video", {**BODY, "promptImage": data}, read_file=read_local_file)
    assert reuse.fingerprint(draft) == reuse.fingerprint(again)
    other = api_request.build("image_to_video", {**BODY, "promptImage": data[:-1] + b"\x00"},
                              read_file=read_local_file)
    assert reuse.fingerprint(other) != reuse.fingerprint(draft)


# ----------------------------------------------------------------------------------------
# the session: one task per identical request, a seed per cell
# ----------------------------------------------------------------------------------------

def test_the_same_call_twice_makes_one_task_and_says_so(session, capsys) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    second = session.generate("a heron at dawn", key="cell-a")
    assert second is first and creates(session) == 1
    err = capsys.readouterr().err
    assert f"same request as task {first.id[:8]}" in err and "pass new=True to make another" in err


def test_a_changed_prompt_or_option_makes_a_new_task_with_the_cells_seed(session) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    other = session.generate("a heron at dusk", key="cell-a")
    wider = session.generate("a heron at dawn", key="cell-a", ratio="720:1280")
    assert len({first.id, other.id, wider.id}) == 3 and creates(session) == 3
    assert first.params["seed"] == other.params["seed"] == wider.params["seed"]  # drawn once for the cell


def test_each_call_site_has_its_own_seed(session) -> None:
    here = session.generate("a heron at dawn")
    there = session.generate("a heron at dawn")
    assert here.id != there.id and here.params["seed"] != there.params["seed"]
    again = [session.generate("a fox") for _ in range(2)]  # one call site: the second shows the first
    assert again[0] is again[1]


def test_the_cells_seed_is_kept_for_a_new_session_on_the_same_journal(session, journal, make_sim) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    seed = first.params["seed"]
    assert journal.cell_seed(reuse.notebook_scope(), "cell-a") == seed
    later = Session()  # a new kernel: its own simulator, the same journal
    later.use_client(Runway(provider="sim", simulator=make_sim(), journal=Journal(journal.path)))
    try:
        changed = later.generate("a heron at dusk", key="cell-a")
        assert changed.params["seed"] == seed
    finally:
        later.reset()


def test_new_draws_a_new_seed_makes_one_more_task_and_becomes_the_cells(session) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    another = session.generate("a heron at dawn", key="cell-a", new=True)
    assert another.id != first.id and another.params["seed"] != first.params["seed"] and creates(session) == 2
    assert session.generate("a heron at dawn", key="cell-a") is another  # the newest from now on
    assert creates(session) == 2


def test_new_with_a_typed_seed_sends_it_again_and_the_newest_is_shown(session) -> None:
    first = session.generate("a heron", key="cell-a", seed=5)
    another = session.generate("a heron", key="cell-a", seed=5, new=True)
    assert another.id != first.id and another.params["seed"] == 5 == first.params["seed"]
    assert session.generate("a heron", key="cell-a", seed=5) is another
    assert creates(session) == 2


def test_a_model_without_a_seed_matches_on_its_fields(session) -> None:
    first = session.generate("Hello there.", type="text_to_speech", voice="Maya", key="speech")
    assert "seed" not in first.params
    assert session.generate("Hello there.", type="text_to_speech", voice="Maya", key="speech") is first
    assert session.generate("Hello again.", type="text_to_speech", voice="Maya", key="speech") is not first
    assert creates(session) == 2


def test_a_sweep_shares_the_cells_seed_and_is_shown_again(session, capsys) -> None:
    sweep = session.compare(["a cat", "a dog"], model="gen4.5", ratio=["1280:720", "720:1280"], key="grid")
    seeds = {h.params["seed"] for h in sweep.tasks}
    assert len(sweep.tasks) == 4 and len(seeds) == 1 and creates(session) == 4
    again = session.compare(["a cat", "a dog"], model="gen4.5", ratio=["1280:720", "720:1280"], key="grid")
    assert [h.id for h in again.tasks] == [h.id for h in sweep.tasks] and creates(session) == 4
    assert "4 of 4 tasks are the same requests" in capsys.readouterr().err
    fresh = session.compare(["a cat", "a dog"], model="gen4.5", ratio=["1280:720", "720:1280"], key="grid", new=True)
    assert len({h.params["seed"] for h in fresh.tasks}) == 1 and creates(session) == 8


def test_a_swept_seed_is_typed_and_draws_none(session, journal) -> None:
    sweep = session.compare("a cat", model="gen4.5", seed=[1, 2], key="seeds")
    assert [h.params["seed"] for h in sweep.tasks] == [1, 2]
    assert journal.cell_seed(reuse.notebook_scope(), "seeds") is None
    again = session.compare("a cat", model="gen4.5", seed=[1, 2], key="seeds")
    assert [h.id for h in again.tasks] == [h.id for h in sweep.tasks] and creates(session) == 2


def test_failed_and_cancelled_tasks_do_not_count(session) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    first.cancel()
    second = session.generate("a heron at dawn", key="cell-a")
    assert second.id != first.id and creates(session) == 2


def test_a_finished_task_is_shown_from_its_archive_when_the_server_lost_it(session, journal, make_sim,
                                                                           tmp_path) -> None:
    first = session.generate("a heron at dawn", key="cell-a", wait=True, save=str(tmp_path / "out"), progress=False)
    files = journal.get(first.id).files
    assert files
    later = Session()  # a new kernel: the in-process simulator that ran the task is gone
    sim = make_sim()
    later.use_client(Runway(provider="sim", simulator=sim, journal=Journal(journal.path)))
    try:
        shown = later.generate("a heron at dawn", key="cell-a")
        assert isinstance(shown, ArchivedTaskHandle) and shown.id == first.id
        assert shown.status == "SUCCEEDED" and [str(f) for f in shown.files] == files
        assert shown.wait() is shown.task  # never polled: the server does not know it
        assert sim.stats.creates == 0
        for name in files:  # without its files, it is not shown: a new task is made
            Path(name).unlink()
        later.reset()
        later.use_client(Runway(provider="sim", simulator=sim, journal=Journal(journal.path)))
        assert later.generate("a heron at dawn", key="cell-a").id != first.id and sim.stats.creates == 1
    finally:
        later.reset()


def test_an_unsettled_identical_create_is_not_sent_again(session, journal) -> None:
    first = session.generate("a heron at dawn", key="cell-a")
    entry = journal.get(first.id)
    with sqlite3.connect(journal.path) as conn:  # as if its answer never came
        conn.execute("UPDATE tasks SET task_id=NULL, submit_state='outcome-unknown', status=NULL, "
                     "error='APIConnectionError: reset' WHERE rowid_=?", (entry.rowid,))
    session.reset()
    session.use_client(Runway(provider="sim", simulator=first.client.simulator, journal=journal))
    with pytest.raises(reuse.UnsettledRequest, match=rf"--resolve {entry.rowid} TASK_ID"):
        session.generate("a heron at dawn", key="cell-a")
    assert creates(session) == 1
    assert session.generate("a heron at dawn", key="cell-a", new=True).id != first.id
    assert creates(session) == 2


def test_reuse_is_off_with_the_setting_or_the_environment(session, monkeypatch) -> None:
    session.configure(reuse="false")
    a = session.generate("a heron at dawn", key="cell-a")
    b = session.generate("a heron at dawn", key="cell-a")
    assert a.id != b.id and creates(session) == 2
    session.configure(reuse=True)
    monkeypatch.setenv(reuse.ENV, "off")
    c = session.generate("a heron at dawn", key="cell-a")
    d = session.generate("a heron at dawn", key="cell-a")
    assert c.id != d.id and creates(session) == 4


# ----------------------------------------------------------------------------------------
# the journal
# ----------------------------------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE tasks (
    rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, submit_state TEXT NOT NULL, provider TEXT NOT NULL,
    base_url TEXT NOT NULL, endpoint TEXT, model TEXT, prompt TEXT, params TEXT NOT NULL DEFAULT '{}', status TEXT,
    progress REAL, outputs TEXT NOT NULL DEFAULT '[]', files TEXT NOT NULL DEFAULT '[]', failure TEXT,
    failure_code TEXT, error TEXT, estimated_cost REAL, cost REAL, submitted_at REAL NOT NULL,
    updated_at REAL NOT NULL, pid INTEGER
);
CREATE TABLE status_history (task_id TEXT NOT NULL, status TEXT NOT NULL, progress REAL, at REAL NOT NULL);
INSERT INTO tasks (task_id, submit_state, provider, base_url, endpoint, model, params, status, submitted_at,
                   updated_at) VALUES ('old-1', 'submitted', 'sim', 'http://sim', 'text_to_video', 'gen4.5',
                   '{"promptText": "an old one"}', 'SUCCEEDED', 1, 1);
"""


def test_an_old_journal_file_is_migrated_and_keeps_its_rows(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    journal = Journal(path)
    (old,) = journal.entries()
    assert old.task_id == "old-1" and old.fingerprint is None and old.scope is None and old.cell is None
    journal.set_cell_seed("folder:/nb", "cell-a", 42)
    assert journal.cell_seed("folder:/nb", "cell-a") == 42 and journal.cell_seed("folder:/nb", "cell-b") is None
    tag = reuse.Origin(scope="folder:/nb", cell="cell-a").tag("f" * 64)
    with journal.tagging(tag):
        row = journal.begin(provider="sim", base_url="http://sim", endpoint="text_to_video",
                            params={"model": "gen4.5", "promptText": "a new one"})
    untagged = journal.begin(provider="sim", base_url="http://sim", endpoint="text_to_video", params={})
    assert [e.rowid for e in journal.same_requests("folder:/nb", "cell-a", "f" * 64, "http://sim")] == [row]
    assert journal.same_requests("folder:/nb", "cell-b", "f" * 64, "http://sim") == []
    assert journal.row(untagged).fingerprint is None
    Journal(path)  # opening it again changes nothing
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(tasks)")}
    assert {"fingerprint", "scope", "cell", "save_to"} <= columns


# ----------------------------------------------------------------------------------------
# the magic, through a real InteractiveShell
# ----------------------------------------------------------------------------------------

@pytest.fixture
def shell(ip, runway_session, journal, fast_sim):
    runway_session.use_client(Runway(provider="sim", simulator=fast_sim, journal=journal))
    return ip


def test_running_the_same_cell_twice_makes_one_task_and_new_one_more(shell, fast_sim, capsys) -> None:
    source = "%%runway -m gen4.5 -r 1280:720\na red fox in the snow\n"
    first = shell.run_cell(source, cell_id="c-fox").result
    second = shell.run_cell(source, cell_id="c-fox").result
    assert second is first and fast_sim.stats.creates == 1
    assert "run with --new or press “Generate again” to make another" in capsys.readouterr().err
    edited = shell.run_cell(source.replace("fox", "hare"), cell_id="c-fox").result  # same cell, same seed
    assert edited.id != first.id and edited.params["seed"] == first.params["seed"]
    another = shell.run_cell(source.replace("1280:720", "1280:720 --new"), cell_id="c-fox").result
    assert another.id != first.id and fast_sim.stats.creates == 3
    assert shell.run_cell(source, cell_id="c-fox").result is another and fast_sim.stats.creates == 3


def test_a_cell_without_an_id_is_known_by_its_text(shell, fast_sim) -> None:
    source = "%%runway -m gen4.5\na red fox in the snow\n"
    first = shell.run_cell(source).result
    assert shell.run_cell(source).result is first and fast_sim.stats.creates == 1
    assert shell.run_cell("%%runway -m gen4.5 --new\na red fox in the snow\n").result is not first
    assert fast_sim.stats.creates == 2


def test_two_cells_with_one_text_have_their_own_seeds(shell, fast_sim) -> None:
    source = "%%runway -m gen4.5\na red fox in the snow\n"
    a = shell.run_cell(source, cell_id="c-1").result
    b = shell.run_cell(source, cell_id="c-2").result
    assert a.id != b.id and a.params["seed"] != b.params["seed"]


def test_an_unsettled_create_stops_the_cell_with_what_to_do(shell, journal, fast_sim) -> None:
    source = "%%runway -m gen4.5\na red fox in the snow\n"
    first = shell.run_cell(source, cell_id="c-u").result
    with sqlite3.connect(journal.path) as conn:
        conn.execute("UPDATE tasks SET task_id=NULL, submit_state='outcome-unknown' WHERE task_id=?", (first.id,))
    shell.user_ns.clear()
    from runway_nb.notebook.session import get_session

    get_session().reset()
    get_session().use_client(Runway(provider="sim", simulator=fast_sim, journal=journal))
    with pytest.raises(UsageError, match=r"may already have made a task.*run the cell with --new to send it anyway"):
        shell.run_cell(source, cell_id="c-u")
    assert fast_sim.stats.creates == 1


# ----------------------------------------------------------------------------------------
# the task view's "Generate again"
# ----------------------------------------------------------------------------------------

class ContextPub:
    """ipykernel's display publisher as far as parents go: ``set_thread_parent`` sets the parent
    of this context only (a contextvar), which ``parent_header`` then reads."""

    def __init__(self) -> None:
        import contextvars

        self.cell_parent: dict = {"msg_id": "cell-A"}
        self.thread_parent: contextvars.ContextVar[dict | None] = contextvars.ContextVar("parent", default=None)
        self.sent: list[dict] = []

    @property
    def parent_header(self) -> dict:
        return self.thread_parent.get() or self.cell_parent

    def set_thread_parent(self, parent: dict) -> None:
        self.thread_parent.set(parent)

    def publish(self, data, metadata=None, *, transient=None, update=False, **kw) -> None:
        self.sent.append({"data": data, "transient": transient, "update": update,
                          "parent": self.parent_header.get("msg_id")})


@pytest.fixture
def kernel_shell(monkeypatch):
    from fake_kernel import fake_kernel_shell

    yield from fake_kernel_shell(monkeypatch, ContextPub())


def test_generate_again_sends_one_more_and_shows_it_in_the_views_place(runway_session, journal, fast_sim,
                                                                       kernel_shell) -> None:
    import asyncio

    from test_task_view import call

    from runway_nb.notebook.widgets._task_view import display_handle

    runway_session.use_client(Runway(provider="sim", simulator=fast_sim, journal=journal))

    async def scenario() -> None:
        pub = kernel_shell.display_pub
        first = runway_session.generate("a heron at dawn", key="cell-a")
        view = display_handle(first)
        assert view.can_again and pub.sent[0]["parent"] == "cell-A"
        pub.cell_parent = {"msg_id": "comm-msg"}  # the button's message: no cell runs
        call(view, "again", call_id=1)
        assert fast_sim.stats.creates == 2
        shown = [m for m in pub.sent if not m["update"]]
        assert len(shown) == 1  # no new output (a page drops one sent while no cell runs) ...
        again = runway_session.last()
        display_id = shown[0]["transient"]["display_id"]
        taken = [m for m in pub.sent if m["update"] and m["transient"]["display_id"] == display_id
                 and again.id in m["data"]["text/plain"]]
        assert again.id != first.id and taken and taken[0]["parent"] == "cell-A"  # ... it takes the view's place
        assert again.params["seed"] != first.params["seed"]
        assert runway_session.generate("a heron at dawn", key="cell-a") is again  # the cell's task now
        assert fast_sim.stats.creates == 2
        sweep = runway_session.compare(["a cat", "a dog"], key="grid")
        assert not any(runway_session.can_send_again(h) for h in sweep.tasks)  # one seed for the sweep: --new

    asyncio.run(scenario())


def test_a_button_press_outside_any_cell_always_sends(session, monkeypatch) -> None:
    """The panel's Generate runs while the kernel handles a widget's message: no cell to key on."""
    from types import SimpleNamespace

    parent = {"header": {"msg_type": "comm_msg"}, "metadata": {}}
    kernel = SimpleNamespace(get_parent=lambda channel=None: parent)
    monkeypatch.setattr(reuse, "_ipython", lambda: SimpleNamespace(kernel=kernel, user_ns={}))
    a = session.generate("a heron at dawn", seed=3)
    b = session.generate("a heron at dawn", seed=3)
    assert a.id != b.id and creates(session) == 2
    parent = {"header": {"msg_type": "execute_request"}, "metadata": {"cellId": "c-9"}}
    c = session.generate("a heron at dawn", seed=3)
    assert session.generate("a heron at dawn", seed=3) is not c  # two lines of one cell: two call sites
    d = [session.generate("a heron at dawn", seed=3) for _ in range(2)]
    assert d[0] is d[1] and creates(session) == 5


def test_a_task_shown_from_its_archive_is_static_with_its_local_files(session, journal, make_sim, tmp_path,
                                                                       kernel_shell) -> None:
    from runway_nb.notebook.widgets._task_view import display_handle

    first = session.generate("a heron at dawn", key="cell-a", wait=True, save="out", progress=False)
    later = Session()  # a new kernel: the simulator that ran it is gone
    later.use_client(Runway(provider="sim", simulator=make_sim(), journal=Journal(journal.path)))
    try:
        shown = later.generate("a heron at dawn", key="cell-a")
        assert isinstance(shown, ArchivedTaskHandle)
        view = display_handle(shown)
        (published,) = kernel_shell.display_pub.sent
        assert set(published["data"]) == {"text/html", "text/plain"}  # no widget: nothing to load from a dead URL
        assert f'src="out/{first.id}_0.mp4"' in published["data"]["text/html"]
        assert view.files and view.files[0].endswith(f"{first.id}_0.mp4")
    finally:
        later.reset()


def test_generate_again_is_offered_by_the_view_made_while_submitting(runway_session, journal, fast_sim,
                                                                       kernel_shell, tmp_path, monkeypatch) -> None:
    """With saving on, the view is made inside the submission (it saves the outputs): it offers the button too."""
    import asyncio

    from runway_nb.notebook import viewers
    from runway_nb.notebook.widgets import _task_view
    from runway_nb.notebook.widgets._task_view import TaskView

    runway_session.use_client(Runway(provider="sim", simulator=fast_sim, journal=journal))
    kernel_shell.user_ns = {}
    monkeypatch.setattr("IPython.core.getipython.get_ipython", lambda: kernel_shell)  # the session sees a kernel
    made: list[TaskView] = []
    make = viewers.view(viewers.SAVING_TASK)
    assert make is not None
    monkeypatch.setitem(viewers._views, viewers.SAVING_TASK, lambda *a: made.append(make(*a)) or made[-1])
    assert _task_view.TaskView is TaskView

    async def scenario() -> None:
        handle = runway_session.generate("a heron at dawn", key="cell-s", save=str(tmp_path / "out"))
        assert [v.handle for v in made] == [handle] and made[0].can_again
        assert TaskView.for_handle(handle) is made[0]
        sweep = runway_session.compare(["a cat", "a dog"], key="grid-s", save=str(tmp_path / "out"))
        assert not any(TaskView.for_handle(h).can_again for h in sweep.tasks)

    asyncio.run(scenario())

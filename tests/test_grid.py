"""The comparison grid: layout, live state on the simulator (one poller for every cell), queued
(THROTTLED) cells, cancel, errors, the static output, relayed bytes, and the sweep handle."""

from __future__ import annotations

import asyncio
import functools
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fake_kernel import fake_kernel_shell

from runway_nb.api.task import Task
from runway_nb.client.core import Runway
from runway_nb.notebook.session import get_session
from runway_nb.notebook.sweep import Sweep
from runway_nb.notebook.widgets import Grid, TaskView
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets import _task_view as tv
from runway_nb.notebook.widgets._grid import grid_layout, value_text
from runway_nb.notebook.widgets._urls import safe_url

HOSTILE = "<img src=x onerror=alert(1)>"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# A task runs ~1 s of real time and is seen PENDING and RUNNING.
WATCHABLE = dict(speed=20.0, pending_seconds=1.0, run_seconds=16.0)
IMAGE = "https://example.com/kite.png"

def call(widget: Any, method: str, args: dict | None = None, buffers: Any = (), call_id: int | None = None) -> None:
    """What the front end sends through the channel (a notification when ``call_id`` is None)."""
    widget._on_custom(widget, {"kind": "rnb:call", "id": call_id, "method": method, "args": args or {}}, list(buffers))



def run_async(fn):
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=60))
    return wrapper


async def until(predicate, timeout: float = 20.0, step: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)


@pytest.fixture
def session(make_sim, clean_env):
    """The process-wide session on a simulator where tasks are watchable (about 1 s each)."""
    sim = make_sim(**WATCHABLE)
    client = Runway(provider="sim", simulator=sim)
    s = get_session()
    s.reset()
    s.use_client(client)
    s.sim = sim
    yield s
    s.reset()


def two_by_two(session: Any, **kw: Any) -> Sweep:
    return session.compare("a kite over dunes", model=["gen4_turbo", "gen4.5"], ratio=["1280:720", "720:1280"],
                           image=IMAGE, duration=2, **kw)


def record(widget: Any, name: str) -> list:
    seen = [getattr(widget, name)]
    widget.observe(lambda change: seen.append(change["new"]), names=[name])
    return seen


# ---------------------------------------------------------------------- layout
def test_layout_model_by_ratio() -> None:
    combos = [{"prompt": "p", "model": m, "ratio": r} for m in ("a", "b") for r in ("1280:720", "720:1280")]
    lay = grid_layout(combos, ["model", "ratio"])
    assert lay["rows"] == ["model"] and lay["cols"] == ["ratio"]
    assert lay["row_labels"] == ["a", "b"] and lay["col_labels"] == ["1280:720", "720:1280"]
    assert lay["positions"] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert not lay["wrap"] and lay["columns"] == 2
    swapped = grid_layout(combos, ["model", "ratio"], rows="ratio", cols="model")
    assert swapped["rows"] == ["ratio"] and swapped["cols"] == ["model"]
    assert swapped["positions"] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    only_rows = grid_layout(combos, ["model", "ratio"], rows="ratio")
    assert only_rows["rows"] == ["ratio"] and only_rows["cols"] == ["model"]


def test_layout_three_options_combine_the_rows() -> None:
    combos = [{"prompt": p, "model": m, "seed": s} for p in ("cat", "dog") for m in ("a", "b") for s in (1, 2, 3)]
    lay = grid_layout(combos, ["prompt", "model", "seed"])
    assert lay["cols"] == ["seed"] and lay["rows"] == ["prompt", "model"]
    assert lay["col_labels"] == ["seed 1", "seed 2", "seed 3"]  # a bare number is named
    assert lay["row_labels"] == ["prompt cat · model a", "prompt cat · model b", "prompt dog · model a",
                                 "prompt dog · model b"]
    assert len(set(lay["positions"])) == 12, "every combination has its own cell"
    ignored = grid_layout(combos, ["prompt", "model", "seed"], rows="ratio", cols="nothing")
    assert ignored["cols"] == ["seed"], "names that do not vary are ignored"


def test_layout_one_long_option_wraps_and_none_is_one_cell() -> None:
    combos = [{"seed": s} for s in range(6)]
    lay = grid_layout(combos, ["seed"])
    assert lay["wrap"] and lay["columns"] == 4
    assert lay["positions"] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]
    assert lay["row_labels"] == [] and lay["col_labels"] == []
    few = grid_layout(combos[:3], ["seed"])
    assert not few["wrap"] and few["col_labels"] == ["seed 0", "seed 1", "seed 2"] and few["positions"][2] == (0, 2)
    single = grid_layout([{"model": "a"}], [])
    assert single["positions"] == [(0, 0)] and single["columns"] == 1


def test_layout_groups_unhashable_values_by_identity() -> None:
    frames = [b"\x89PNG1", b"\x89PNG2"]
    pair = [[1, 2], [3, 4]]
    combos = [{"image": f, "keyframes": k} for f in frames for k in pair]
    lay = grid_layout(combos, ["image", "keyframes"])
    assert len(set(lay["positions"])) == 4


def test_value_text() -> None:
    assert value_text("image", b"\x89PNG....") == "<8 bytes>"
    assert value_text("image", "https://cdn.example/a/b/kite.png?sig=1") == "kite.png"
    assert value_text("image", Path("/tmp/x/frame.jpg")) == "frame.jpg"
    assert value_text("image", "data:image/png;base64,AAAA") == "data:image/png"
    assert value_text("duration", 5.0) == "5 s"
    assert value_text("prompt", "a  long\nprompt " * 10, limit=20) == "a long prompt a lon…"
    assert value_text("model", None) == "—"
    assert value_text("image", object()).startswith("<object")


# ---------------------------------------------------------------------- live state
@run_async
async def test_grid_watches_every_cell_with_one_poller(session):
    sweep = two_by_two(session)
    twin_client = tv.async_twin(session.client)
    real, times = twin_client.get_task, {}

    async def spy(task_id: str) -> Task:
        times.setdefault(task_id, []).append(asyncio.get_running_loop().time())
        return await real(task_id)

    twin_client.get_task = spy
    before = set(live.background_tasks)
    grid = Grid(sweep)
    pollers = set(live.background_tasks) - before
    assert pollers == {grid._poller}, "ONE asyncio task polls every cell"
    assert grid.row_title == "model" and grid.col_title == "ratio"
    assert grid.row_labels == ["gen4_turbo", "gen4.5"] and grid.col_labels == ["1280:720", "720:1280"]
    assert ["prompt", "a kite over dunes"] in grid.fixed and ["image", "kite.png"] in grid.fixed
    shapes = [(c["width"], c["height"]) for c in grid.cells]
    assert shapes == [(1280, 720), (720, 1280), (1280, 720), (720, 1280)]
    assert [(c["row"], c["col"]) for c in grid.cells] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [c["id"] for c in grid.cells] == sweep.ids
    seen: set[str] = set()
    grid.observe(lambda ch: seen.update(c["status"] for c in ch["new"]), names=["cells"])
    progress = []
    grid.observe(lambda ch: progress.extend(c["progress"] for c in ch["new"] if c["progress"]), names=["cells"])
    await until(lambda: grid.finished)
    assert {"RUNNING", "SUCCEEDED"} <= seen
    assert any(0 < p < 1 for p in progress)
    assert all(c["status"] == "SUCCEEDED" and c["finished"] for c in grid.cells)
    assert all(len(c["outputs"]) == 1 and c["kinds"] == ["video"] for c in grid.cells)
    assert grid.summary["done"] == 4 and grid.summary["queued"] == 0 and grid.summary["credits"] > 0
    assert grid.error == ""
    # the Sweep's sync handles were kept current by the async twins
    assert sweep.finished and [t.status for t in sweep.tasks] == ["SUCCEEDED"] * 4
    await asyncio.sleep(0)
    assert grid._poller.done() and grid._poller not in live.background_tasks
    del twin_client.get_task
    floor = session.client.poll_floor
    assert set(times) == set(sweep.ids)
    for stamps in times.values():  # each cell on its own schedule, never faster than the poll floor
        assert all(b - a >= floor * 0.9 for a, b in pairwise(stamps)), stamps


@run_async
async def test_tasks_beyond_the_concurrency_limit_show_as_queued(make_sim, clean_env):
    sim = make_sim(**WATCHABLE, concurrency=1)
    s = get_session()
    s.reset()
    s.use_client(Runway(provider="sim", simulator=sim))
    try:
        sweep = s.compare("a kite", model="gen4_turbo", seed=[1, 2, 3], image=IMAGE, duration=2)
        grid = Grid(sweep)
        summaries = record(grid, "summary")
        notes: list[str] = []
        grid.observe(lambda ch: notes.extend(c["note"] for c in ch["new"] if c["status"] == "THROTTLED"),
                     names=["cells"])
        await until(lambda: grid.finished, timeout=40)
        assert any(x.get("throttled") for x in summaries), "some cells waited for a slot"
        assert all(x.get("failed", 0) == 0 for x in summaries), "queued is never an error"
        assert notes and all("concurrency limit" in n for n in notes)
        assert grid.error == "" and grid.summary["done"] == 3
        assert "queued" in sweep.summary() or sweep.summary().count("SUCCEEDED") == 1
    finally:
        s.reset()


@run_async
async def test_cancel_one_cell_then_all(make_sim, clean_env):
    sim = make_sim(speed=20.0, pending_seconds=1.0, run_seconds=600.0)
    s = get_session()
    s.reset()
    s.use_client(Runway(provider="sim", simulator=sim))
    try:
        sweep = s.compare("a long take", seed=[1, 2, 3])
        grid = Grid(sweep)
        await until(lambda: any(c["status"] == "RUNNING" for c in grid.cells))
        call(grid, "cancel", {"cell": 1})  # the cell's cancel button
        assert grid.cells[1]["cancelling"] and grid.cells[1]["note"].startswith("Cancelling")
        await until(lambda: grid.cells[1]["status"] == "CANCELLED")
        assert sim.app.store.view(sweep.ids[1], include_gone=True).status == "CANCELLED"
        assert not grid.finished and grid.cells[0]["status"] != "CANCELLED"
        call(grid, "cancel", {"cell": "1"})  # ignored: not an index
        call(grid, "cancel", {"cell": 99})  # ignored: no such cell
        call(grid, "cancel_all", None)
        await until(lambda: grid.finished)
        assert [c["status"] for c in grid.cells] == ["CANCELLED"] * 3
        assert grid.summary["cancelled"] == 3 and grid.summary["credits"] is None
        assert [sim.app.store.view(i, include_gone=True).status for i in sweep.ids] == ["CANCELLED"] * 3
    finally:
        s.reset()


@run_async
async def test_refresh_errors_are_shown_and_polling_recovers(session, monkeypatch):
    sweep = two_by_two(session)
    twin_client = tv.async_twin(session.client)
    real = twin_client.get_task
    calls = {"n": 0}

    async def flaky(task_id: str) -> Task:
        calls["n"] += 1
        if calls["n"] <= 4:
            raise ConnectionError("simulated outage <b>")
        return await real(task_id)

    monkeypatch.setattr(twin_client, "get_task", flaky)
    grid = Grid(sweep)
    errors = record(grid, "error")
    await until(lambda: grid.finished, timeout=40)
    assert any("could not refresh" in e and "ConnectionError: simulated outage <b>" in e for e in errors)
    assert grid.error == "", "cleared once polls succeed again"
    assert grid.summary["done"] == 4


@run_async
async def test_a_crash_of_the_poller_lands_in_the_error_trait_and_retry_resumes(session, monkeypatch):
    sweep = two_by_two(session)
    grid = Grid(sweep, watch=False)

    def boom(*_: Any) -> None:
        raise ValueError("bug in the grid")

    monkeypatch.setattr(grid, "_sync_handle", boom)
    grid.watch()
    await until(lambda: grid.error != "")
    assert grid.error == "ValueError: bug in the grid"
    monkeypatch.undo()
    call(grid, "retry", None)
    assert grid.error == ""
    await until(lambda: grid.finished)


@run_async
async def test_failures_show_code_and_hint(session):
    sweep = session.compare(["a kite", "something forbidden"], model="gen4_turbo", image=IMAGE, duration=2)
    grid = Grid(sweep)
    await until(lambda: grid.finished)
    ok, bad = grid.cells
    assert ok["status"] == "SUCCEEDED" and bad["status"] == "FAILED"
    assert bad["failure_code"] == "SAFETY.INPUT.TEXT" and "moderation" in bad["hint"]
    assert grid.summary["failed"] == 1 and grid.summary["done"] == 1
    assert grid.row_labels == ["a kite", "something forbidden"] or grid.col_labels == ["a kite", "something forbidden"]


def test_without_a_loop_watch_blocks_with_progress(session, capsys):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    grid = Grid(sweep)
    assert grid._poller is None
    grid.watch()
    assert grid.finished and all(c["status"] == "SUCCEEDED" for c in grid.cells)
    assert "2 task(s)" in capsys.readouterr().out
    assert repr(grid).startswith("<Grid 2 tasks: 2 done")


def test_grid_of_handles(session):
    h1 = session.generate("first", model="gen4.5", ratio="720:1280", duration=2)
    h2 = session.generate("second", model="gen4.5", ratio="1280:720", duration=2)
    grid = Grid([h1, h2], watch=False)
    assert (grid.col_labels == ["first", "second"] and grid.fixed[0] == ["model", "gen4.5"]) or grid.row_labels
    assert [(c["width"], c["height"]) for c in grid.cells] == [(720, 1280), (1280, 720)]
    with pytest.raises(TypeError):
        Grid(["not a handle"])


# ---------------------------------------------------------------------- saving, static output, security
@run_async
async def test_save_to_downloads_and_the_static_grid_uses_local_files(session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = session.compare("a kite", seed=[1, 2], save="outs", duration=2)
    grid = Grid(sweep)
    await until(lambda: grid.finished)
    assert all(len(t.files) == 1 and t.files[0].exists() for t in sweep.tasks)
    assert [c["files"] for c in grid.cells] == [[f"outs/{t.id}_0.mp4"] for t in sweep.tasks]
    html = grid.static_html()
    for t in sweep.tasks:
        assert f'src="outs/{t.id}_0.mp4"' in html
    assert "127.0.0.1" not in html


def test_static_grid_escapes_everything_and_only_safe_urls(session):
    sweep = session.compare([HOSTILE, "b"], seed=[1, 2], duration=2)
    grid = Grid(sweep, watch=False)
    bad = ["javascript:alert(1)", "data:text/html,<script>x</script>", HOSTILE]
    for i, h in enumerate(sweep.tasks):
        h.task = Task(id=h.id, status="SUCCEEDED", outputs=[bad[i % 3], "https://cdn.example/o.mp4?a=1&b=2"])
        grid._finish_cell(i, h.task)
    html = grid.static_html()
    assert "<img" not in html and HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.lower() and "data:text" not in html and "<script" not in html
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert safe_url(url.replace("&amp;", "&")) is not None, url
    assert html.count("<video") == 4
    for cell in grid.cells:
        assert all(safe_url(u) for u in cell["outputs"]) and len(cell["outputs"]) == 1
    text = grid.static_text()
    assert text.startswith("Runway sweep · 4 tasks: 4 done")


def test_bytes_requests_name_a_cell_and_an_index_never_a_url(session):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    grid = Grid(sweep, watch=False)
    sent: list = []
    grid.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    call(grid, "media", {"cell": 0, "index": 0, "url": "file:///etc/passwd"}, call_id=1)
    call(grid, "media", {"cell": -1, "index": 0}, call_id=2)
    call(grid, "media", {"cell": 5, "index": 0}, call_id=3)
    grid._on_custom(grid, {"kind": "rnb:call", "id": "4", "method": "media", "args": {"cell": 0, "index": 0}}, [])
    # no outputs yet, bad cell: refused (an error answer, no bytes); a bad id: no answer
    assert [(c["id"], c["ok"], b) for c, b in sent] == [(1, False, None), (2, False, None), (3, False, None)]
    sent.clear()
    grid.watch()
    assert grid.finished
    call(grid, "media", {"cell": 1, "index": 0}, call_id=7)
    content, buffers = sent[0]
    assert content == {"kind": "rnb:reply", "id": 7, "ok": True, "result": {"mime": "video/mp4"}}
    assert buffers[0][4:8] == b"ftyp"
    assert all(not isinstance(getattr(grid, k), bytes) for k in grid.keys)


@run_async
async def test_relay_on_the_loop(session):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    grid = Grid(sweep)
    await until(lambda: grid.finished)
    sent: list = []
    grid.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    call(grid, "media", {"cell": 0, "index": 0}, call_id=3)
    await until(lambda: bool(sent))
    assert sent[0][0]["id"] == 3 and sent[0][0]["ok"] and sent[0][1][0][4:8] == b"ftyp"


# ---------------------------------------------------------------------- display in a (fake) kernel
@pytest.fixture
def fake_kernel(monkeypatch):
    yield from fake_kernel_shell(monkeypatch)


@run_async
async def test_headless_run_ends_with_the_static_grid(session, fake_kernel):
    pub = fake_kernel.display_pub
    grid = Grid(two_by_two(session))
    grid._ipython_display_()
    first = pub.sent[0]
    assert set(first["data"]) == {WIDGET_MIME, "text/html", "text/plain"}
    assert "rnb-grid-static" in first["data"]["text/html"]
    await until(lambda: grid.finished and len(pub.sent) > 1)
    final = pub.sent[-1]
    assert final["update"] and final["transient"] == first["transient"]
    assert set(final["data"]) == {"text/html", "text/plain"}, "no browser rendered it: static only"
    assert final["data"]["text/html"].count("<video") == 4
    assert 'data-rnb-sweep-status="SUCCEEDED"' in final["data"]["text/html"]
    assert "post_run_cell" in fake_kernel.events.callbacks


@run_async
async def test_in_a_browser_the_player_stays_beside_the_final_static_grid(session, fake_kernel):
    pub = fake_kernel.display_pub
    grid = Grid(two_by_two(session))
    grid._ipython_display_()
    assert pub.sent[0]["metadata"] == {"runway_nb": {"final": False}}, "a running grid keeps its view when saved"
    call(grid, "view", None)
    await until(lambda: grid.finished and len(pub.sent) > 1)
    final = pub.sent[-1]
    assert WIDGET_MIME in final["data"], "synced playback needs the widget"
    # the final static grid is beside it, marked so that saving keeps only it
    assert final["metadata"] == {"runway_nb": {"final": True}}
    assert 'data-rnb-sweep-status="SUCCEEDED"' in final["data"]["text/html"]
    assert final["data"]["text/html"].count("<video") == 4
    call(grid, "media_status", {"results": ["loaded"] * 4})
    assert WIDGET_MIME in grid._repr_mimebundle_()[0]
    call(grid, "freeze", None, call_id=7)  # the button is gone: no such request
    assert WIDGET_MIME in grid._repr_mimebundle_()[0]
    grid.freeze()  # still there from Python
    assert set(pub.sent[-1]["data"]) == {"text/html", "text/plain"}
    assert pub.sent[-1]["update"]


@run_async
async def test_a_blocking_wait_is_taken_in_after_the_cell(session, fake_kernel):
    pub = fake_kernel.display_pub
    sweep = two_by_two(session)
    grid = Grid(sweep)
    grid._ipython_display_()
    live.current_cell["parent"] = {"msg_id": "cell-B"}
    sweep.wait(progress=False)  # blocks the loop: the poller cannot run
    assert not grid.finished
    live.post_run_cell(None)
    assert grid.finished and grid.summary["done"] == 4
    assert [m["parent"] for m in pub.sent[1:]] == ["cell-A", "cell-B"]
    await asyncio.sleep(0.05)
    assert grid._poller.done()


def test_a_finished_sweep_displays_static_only(session, fake_kernel):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    sweep.wait(progress=False)
    grid = Grid(sweep)
    assert grid.finished and grid._poller is None
    grid._ipython_display_()
    assert set(fake_kernel.display_pub.sent[0]["data"]) == {"text/html", "text/plain"}


def test_outside_a_kernel_the_grid_prints_text(session, capsys):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    sweep.wait(progress=False)
    Grid(sweep)._ipython_display_()
    assert capsys.readouterr().out.startswith("Runway sweep · 2 tasks: 2 done")


# ---------------------------------------------------------------------- the sweep handle (--out)
@run_async
async def test_the_sweep_handle(session, tmp_path):
    sweep = two_by_two(session, rows="ratio")
    assert [t.id for t in sweep.tasks] == sweep.ids and len(sweep) == 4
    assert [t.params["model"] for t in sweep.tasks] == ["gen4_turbo", "gen4_turbo", "gen4.5", "gen4.5"]
    assert [t.params["ratio"] for t in sweep.tasks] == ["1280:720", "720:1280"] * 2
    assert all(t.status in ("PENDING", "THROTTLED", "RUNNING") for t in sweep.tasks)
    grid = Grid(sweep)
    assert grid.row_title == "ratio", "--rows reaches the grid through the sweep's layout"
    finals = await sweep.wait_async()
    assert [f.status for f in finals] == ["SUCCEEDED"] * 4
    assert all(t.outputs for t in sweep.tasks)
    await until(lambda: grid.finished)
    saved = sweep.save(tmp_path)
    assert set(saved) == set(sweep.ids) and all(p.exists() for ps in saved.values() for p in ps)
    rows = sweep.to_records()
    assert [r["model"] for r in rows] == ["gen4_turbo", "gen4_turbo", "gen4.5", "gen4.5"]
    assert all(r["status"] == "SUCCEEDED" and r["outputs"] and r["files"] for r in rows)
    assert sweep.cancel() == []


def test_records_and_dataframe(session, monkeypatch):
    import sys
    import types

    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    rows = sweep.to_records()
    assert [r["seed"] for r in rows] == [1, 2] and all(r["id"] for r in rows)
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    with pytest.raises(ImportError, match="pip install pandas"):
        sweep.to_dataframe()
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda data: ("DataFrame", data)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert sweep.to_dataframe() == ("DataFrame", rows)


@run_async
async def test_one_grid_per_sweep_and_it_takes_over_from_undisplayed_task_views(session):
    sweep = session.compare("a kite", seed=[1, 2], duration=2)
    views = [TaskView(h) for h in sweep.tasks]  # what the session makes for --save in a kernel
    assert all(v._poller is not None and not v._poller.done() for v in views)
    grid = Grid.for_sweep(sweep)
    assert Grid.for_sweep(sweep) is grid, "shown twice: the same grid, one poller"
    await asyncio.sleep(0)
    assert all(v._poller.done() for v in views), "the grid polls these handles now"
    await until(lambda: grid.finished)
    grid.close()
    assert Grid.for_sweep(sweep) is not grid


# ---------------------------------------------------------------------- the JS bundle
def test_bundle_is_one_module_that_renders_in_node(tmp_path, node):
    import json
    import subprocess
    import textwrap

    code = live.asset("grid.js").read_text()
    assert not re.search(r"\bimport\s*[{*\"'(]|\bimport\s+\w+\s+from\b", code), "one self-contained module"
    assert re.search(r"export\s*\{\s*[\w$]+ as default\s*\};?\s*$", code)
    css = str(Grid._css)
    assert str(Grid._esm) == code and ".rnb-grid" in css and ".rnb-badge" in css and ".rnb-btn:disabled{" in css
    repo = Path(__file__).resolve().parent.parent
    bundle = tmp_path / "grid.mjs"
    bundle.write_text(code)
    script = tmp_path / "check.mjs"
    script.write_text(textwrap.dedent(f"""
        import {{ installFakes, MockModel }} from {json.dumps((repo / "js/test/fake_dom.js").as_uri())};
        installFakes();
        const mod = await import({json.dumps(bundle.as_uri())});
        const model = new MockModel({{ cells: [{{ index: 0, status: "SUCCEEDED", finished: true, width: 720,
          height: 1280, outputs: ["https://a.example/0.mp4"], kinds: ["video"], caption: {{}} }}], columns: 1 }});
        const el = document.createElement("div");
        const cleanup = mod.default.render({{ model, el }});
        if (el.querySelectorAll("video").length !== 1) throw new Error("no video");
        cleanup();
        console.log("ok");
    """))
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

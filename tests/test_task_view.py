"""TaskView: state transitions on the simulator, cancel, failure hints, security, the background
task's bookkeeping, the synchronous fallback, autosave, static output, display updates, and
what a headlessly executed notebook keeps (nbclient, real kernel)."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fake_kernel import fake_kernel_shell

from runway_nb.api.task import Task
from runway_nb.client.core import Runway
from runway_nb.errors import failure_hint
from runway_nb.notebook.widgets import TaskView, display_handle, register_formatters, static_html, static_text
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets import _task_view as tv
from runway_nb.notebook.widgets._urls import safe_url

HOSTILE = "<img src=x onerror=alert(1)>"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
REPO = Path(__file__).resolve().parent.parent

# A task runs ~1 s of real time, and is seen PENDING and RUNNING (poll floor 0.25 s real).
WATCHABLE = dict(speed=20.0, pending_seconds=1.0, run_seconds=16.0)



def call(widget: Any, method: str, args: dict | None = None, call_id: int | None = None) -> None:
    """What the front end sends through the channel (a notification when ``call_id`` is None)."""
    widget._on_custom(widget, {"kind": "rnb:call", "id": call_id, "method": method, "args": args or {}}, [])

@pytest.fixture
def client(make_sim, clean_env):
    sim = make_sim(**WATCHABLE)
    c = Runway(provider="sim", simulator=sim)
    yield c
    c.close()


def i2v(client: Runway, prompt: str = "a lighthouse at dusk", **kw: Any):
    params = dict(model="gen4_turbo", prompt=prompt, image="https://example.com/in.png", ratio="1280:720",
                  duration=5)
    params.update(kw)
    return client.image_to_video.create(**params)


def run_async(fn):
    """Run an async test on a fresh event loop (no pytest plugin needed)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=60))
    return wrapper


async def until(predicate, timeout: float = 15.0, step: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)


def record(view: TaskView, name: str) -> list:
    seen = [getattr(view, name)]
    view.observe(lambda change: seen.append(change["new"]), names=[name])
    return seen


# ---------------------------------------------------------------------- transitions
@run_async
async def test_pending_running_succeeded(client):
    h = i2v(client)
    view = TaskView(h)  # a running loop: it starts watching at once, the call returns at once
    statuses, progress = record(view, "status"), record(view, "progress")
    assert view.status == "PENDING" and not view.finished
    assert view._poller is not None and view._poller in live.background_tasks
    assert view.caption == {"prompt": "a lighthouse at dusk", "model": "gen4_turbo", "ratio": "1280:720",
                            "seed": h.params["seed"], "duration": 5, "credits": h.estimated_cost}
    await until(lambda: view.finished)
    assert statuses[0] == "PENDING" and statuses[-1] == "SUCCEEDED"
    assert "RUNNING" in statuses
    assert [s for s in statuses if s not in ("PENDING", "RUNNING", "SUCCEEDED")] == []
    assert statuses.index("RUNNING") < statuses.index("SUCCEEDED")
    assert any(p is not None and 0 <= p < 1 for p in progress)
    assert view.status == "SUCCEEDED" and view.finished and view.note == "" and view.error == ""
    assert len(view.outputs) == 1 and view.outputs[0].startswith("http://127.0.0.1:")
    assert view.kinds == ["video"]
    assert view.elapsed > 0.5 and view.eta is None
    assert view.caption["credits"] == h.task.cost
    # the sync handle's .task was kept current by the async twin, and polling is over
    assert h.task is not None and h.task.status == "SUCCEEDED" and h.task.outputs == view.outputs
    await until(lambda: view._poller.done())  # its last steps (posters) run off the loop, then it ends
    await asyncio.sleep(0)
    assert view._poller not in live.background_tasks
    assert tv.async_twin(client) is tv.async_twin(client), "one async client per sync client"


@run_async
async def test_eta_while_running(client):
    h = i2v(client)
    view = TaskView(h)
    etas = record(view, "eta")
    await until(lambda: view.finished)
    numbers = [e for e in etas if e is not None]
    assert numbers, "an ETA was shown while running"
    assert all(0 <= e < 30 for e in numbers)


@run_async
async def test_the_placeholder_has_the_outputs_size_even_for_a_ratio_that_is_not_one(client):
    """hailuo3 takes "16:9": a ratio, not a size. The view sends the size the catalog computes (the
    grid's rule), so the front end never draws a 16 px placeholder; speech has no shape at all."""
    video = client.create("text_to_video", model="hailuo3", prompt="waves at dusk", ratio="16:9", duration=6)
    assert TaskView(video, watch=False).shape == {"width": 1280, "height": 720}
    speech = client.create("text_to_speech", model="eleven_multilingual_v2", prompt="hello", voice="Maya")
    assert TaskView(speech, watch=False).shape == {}
    assert TaskView(i2v(client), watch=False).shape == {"width": 1280, "height": 720}


@run_async
async def test_throttled_is_explained(make_sim, clean_env):
    sim = make_sim(**WATCHABLE, concurrency=1)
    c = Runway(provider="sim", simulator=sim)
    first = i2v(c)
    second = i2v(c)
    view = TaskView(second)
    notes = record(view, "note")
    statuses = record(view, "status")
    await until(lambda: view.finished, timeout=20)
    assert "THROTTLED" in statuses
    assert any("concurrency limit" in n and "free slot" in n for n in notes)
    assert view.status == "SUCCEEDED" and view.note == ""
    first.cancel()


@run_async
async def test_moderation_failure_shows_code_and_hint(client):
    h = i2v(client, prompt="something forbidden here")
    view = TaskView(h)
    await until(lambda: view.finished)
    assert view.status == "FAILED"
    assert view.failure_code == "SAFETY.INPUT.TEXT"
    assert view.failure
    assert view.hint == failure_hint("SAFETY.INPUT.TEXT") and "moderation" in view.hint
    assert view.outputs == [] and view.error == ""
    html = view.static_html()
    assert "SAFETY.INPUT.TEXT" in html and "Content moderation rejected an input" in html
    assert "FAILED" in static_text(h)


@run_async
async def test_cancel_message_cancels_the_remote_task(make_sim, clean_env):
    sim = make_sim(speed=20.0, pending_seconds=1.0, run_seconds=600.0)
    c = Runway(provider="sim", simulator=sim)
    h = i2v(c)
    view = TaskView(h)
    cancelling = record(view, "cancelling")
    await until(lambda: view.status == "RUNNING")
    call(view, "cancel")  # what the Cancel button sends
    assert view.cancelling and view.note.startswith("Cancelling")
    await until(lambda: view.finished)
    assert view.status == "CANCELLED" and not view.cancelling and True in cancelling
    assert sim.app.store.view(h.id, include_gone=True).status == "CANCELLED"  # the remote task
    assert h.task.status == "CANCELLED"  # the Python handle
    await asyncio.sleep(0)
    assert view._poller.done()
    call(view, "cancel")  # a second click does nothing
    assert view.status == "CANCELLED"


@run_async
async def test_cancel_failure_is_shown_and_watching_resumes(client, monkeypatch):
    h = i2v(client)
    view = TaskView(h)
    twin = view._async_handle()

    async def broken_cancel() -> None:
        raise RuntimeError("network down")

    monkeypatch.setattr(twin, "cancel", broken_cancel)
    view.cancel()
    await until(lambda: "cancel failed" in view.error)
    assert not view.cancelling
    monkeypatch.undo()
    await until(lambda: view.finished)
    assert view.status == "SUCCEEDED"


# ---------------------------------------------------------------------- background task
@run_async
async def test_poller_errors_land_in_the_error_trait(client, monkeypatch):
    h = i2v(client)
    twin_client = tv.async_twin(client)

    async def broken(task_id: str) -> Task:
        raise ConnectionError("simulated outage <b>")

    monkeypatch.setattr(twin_client, "get_task", broken)
    view = TaskView(h)
    poller = view._poller
    assert poller in live.background_tasks  # strongly referenced while it runs
    await until(lambda: view.error != "")
    assert view.error == "ConnectionError: simulated outage <b>"
    await asyncio.sleep(0)
    assert poller.done() and poller not in live.background_tasks
    assert not view.finished
    # Retry (the button) resumes watching once the outage is over
    monkeypatch.undo()
    call(view, "retry")
    assert view.error == "" and view._poller is not poller
    await until(lambda: view.finished)
    assert view.status == "SUCCEEDED"


@run_async
async def test_unexpected_exceptions_in_the_task_reach_the_error_trait(client, monkeypatch):
    h = i2v(client)
    view = TaskView(h, watch=False)

    def boom(task: Task) -> None:
        raise ValueError("bug in apply")

    monkeypatch.setattr(view, "_apply", boom)
    view.watch()
    await until(lambda: view.error != "")
    assert view.error == "ValueError: bug in apply"


# ---------------------------------------------------------------------- security
def test_hostile_outputs_and_text_never_reach_urls(client):
    h = i2v(client, prompt=HOSTILE)
    view = TaskView(h, watch=False)
    bad = ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
           "data:text/html,<script>alert(1)</script>", "data:image/svg+xml,<svg onload=alert(1)>",
           "vbscript:x", "//evil.example/x.mp4", "file:///etc/passwd", HOSTILE, "https://ok.example/a.mp4\n"]
    good = "https://cdn.example/out.mp4?_jwt=a.b.c"
    task = Task(id=h.id, status="SUCCEEDED", outputs=[*bad, good], failure=None)
    view._apply(task)
    assert view.outputs == [good] and view.kinds == ["video"]
    assert "not shown" in view.note
    html = static_html(task, h.params)
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.lower() and "data:text" not in html and "svg" not in html
    assert html.count("<video") == 1 and f'src="{good.replace("&", "&amp;")}"' in html
    # every src/href in the static HTML is a safe URL
    import re
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert safe_url(url.replace("&amp;", "&")) is not None, url


def test_static_html_escapes_every_field():
    task = Task(id=f"id{HOSTILE}", status="FAILED", failure=HOSTILE, failure_code=f"SAFETY{HOSTILE}")
    params = {"endpoint": f"x{HOSTILE}", "promptText": HOSTILE, "model": HOSTILE, "ratio": HOSTILE,
              "seed": HOSTILE, "duration": HOSTILE}
    html = static_html(task, params, caption=HOSTILE)
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    assert '"' not in html.split("data-rnb-task=")[1].split(" data-rnb-status")[0].strip('"')


def test_safe_url_rules():
    for ok in ("https://a.example/x.mp4", "http://127.0.0.1:5/x.png", "data:image/png;base64,AA",
               "data:video/mp4;base64,AA", "blob:http://localhost:8888/abc", "runway_outputs/a_0.mp4"):
        assert safe_url(ok) == ok
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "data:image/svg+xml,<svg>",
                "//x.example/a", "/etc/passwd", "c:\\x", "https://", "https://a b/", "x:y", "", None, 3):
        assert safe_url(bad) is None, bad


def test_bytes_requests_name_an_index_never_a_url(client):
    h = i2v(client)
    view = TaskView(h, watch=False)
    sent: list = []
    view.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    call(view, "media", {"index": 0, "url": "file:///etc/passwd"}, call_id=1)
    call(view, "media", {"index": -1}, call_id=2)
    view._on_custom(view, {"kind": "rnb:call", "id": "3", "method": "media", "args": {"index": 0}}, [])
    # no outputs yet, bad index: refused (answered with an error, no bytes); a bad id: no answer
    assert [(c["id"], c["ok"], b) for c, b in sent] == [(1, False, None), (2, False, None)]
    assert "no output" in sent[0][0]["error"]


# ---------------------------------------------------------------------- media relay
@run_async
async def test_relay_sends_output_bytes_for_an_index(client):
    h = i2v(client)
    view = TaskView(h)
    await until(lambda: view.finished)
    sent: list = []
    view.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    call(view, "media", {"index": 0}, call_id=7)
    await until(lambda: bool(sent))
    content, buffers = sent[0]
    assert content == {"kind": "rnb:reply", "id": 7, "ok": True, "result": {"mime": "video/mp4"}}
    assert len(buffers) == 1 and buffers[0][4:8] == b"ftyp"
    assert "bytes" not in view.keys and all(not isinstance(getattr(view, k), bytes) for k in view.keys)


# ---------------------------------------------------------------------- sync fallback
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sync_watch_prints_one_line_progress(client):
    h = i2v(client)
    view = TaskView(h)  # no running loop: nothing starts until watch()
    assert view._poller is None
    out = _Terminal()
    assert view.watch(file=out) is view
    text = out.getvalue()
    assert text.count("\r") >= 3 and text.endswith("\n")
    assert "PENDING" in text and "RUNNING" in text and "SUCCEEDED" in text
    assert "%" in text
    last = text.split("\r")[-1]
    assert "SUCCEEDED" in last and "1 output(s)" in last
    assert view.status == "SUCCEEDED" and h.task.status == "SUCCEEDED"


def test_sync_watch_piped_writes_one_line_per_state(client):
    """Piped or written to a file, ``\\r`` would glue every update onto one endless line."""
    h = i2v(client)
    out = io.StringIO()  # not a terminal
    TaskView(h).watch(file=out)
    text = out.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    progress = [line for line in lines if line.startswith("runway ")]
    assert len(progress) >= 3, lines
    assert "PENDING" in progress[0] and any("RUNNING" in line for line in progress)
    assert "SUCCEEDED" in progress[-1] and "1 output(s)" in progress[-1]
    assert len(set(progress)) == len(progress), "a line only for a new state"


def test_sync_watch_piped_adds_no_line_between_the_last_reading_and_the_end(client, monkeypatch):
    """The wait tells its last reading, the end, to on_update too: that is no news for the
    status line (the end is shown once archived), so no stale RUNNING line comes before it."""
    h = i2v(client)
    view = TaskView(h)
    clock = iter(range(1000, 100_000, 7))
    monkeypatch.setattr(view, "_now", lambda: float(next(clock)))  # every status line at another time

    def wait(on_update):
        on_update(Task(id=h.id, status="RUNNING", progress=0.5))
        end = h.wait(raise_on_failure=False)
        on_update(end)
        return end

    monkeypatch.setattr(view, "_wait", wait)
    out = io.StringIO()
    view.watch(file=out)
    states = [("RUNNING" in line, "SUCCEEDED" in line) for line in out.getvalue().splitlines()
              if line.startswith("runway ")]
    assert states[-2:] == [(True, False), (False, True)] and states.count((True, False)) == 1, out.getvalue()


def test_sync_watch_failure_line(client):
    h = i2v(client, prompt="forbidden")
    out = io.StringIO()
    TaskView(h).watch(file=out)
    assert "FAILED" in out.getvalue() and "SAFETY.INPUT.TEXT" in out.getvalue()
    assert "hint:" in out.getvalue()


def test_display_handle_outside_a_kernel_watches_synchronously(client, capsys):
    h = i2v(client)
    view = display_handle(h)
    assert view.finished and view.status == "SUCCEEDED"
    assert "SUCCEEDED" in capsys.readouterr().out
    assert TaskView.for_handle(h) is view, "one view per handle"


def test_handle_repr_stays_a_readable_line(client):
    h = i2v(client)
    assert repr(h).startswith("<TaskHandle ") and "\n" not in repr(h)
    view = TaskView(h, watch=False)
    assert repr(view).startswith("<TaskView Runway task ")


# ---------------------------------------------------------------------- autosave
@run_async
async def test_autosave_refers_to_local_files(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h = i2v(client)
    view = TaskView(h, save_to="runway_outputs")
    await until(lambda: view.finished and (view.files or view.error))
    assert view.error == ""
    assert view.files == [f"runway_outputs/{h.id}_0.mp4"]
    assert (tmp_path / view.files[0]).stat().st_size > 1000
    assert h.files and h.files[0].name == f"{h.id}_0.mp4"
    html = view.static_html()
    assert f'src="runway_outputs/{h.id}_0.mp4"' in html and "127.0.0.1" not in html
    assert "saved file" in html


@run_async
async def test_outputs_are_kept_by_default(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    view = TaskView(i2v(client))
    assert view.save_to == client.keeper.folder.absolute()  # the client's: RUNWAY_NB_OUTPUTS in tests
    assert TaskView(i2v(client), save_to=False, watch=False).save_to is None
    assert TaskView(i2v(client), save_to="out", watch=False).save_to == tmp_path / "out"
    await until(lambda: view.finished and bool(view.files))
    assert all(Path(p).exists() for p in view.handle.files)


# ---------------------------------------------------------------------- display in a kernel
@pytest.fixture
def fake_kernel(monkeypatch):
    yield from fake_kernel_shell(monkeypatch)


@run_async
async def test_display_then_final_static_output(client, fake_kernel):
    pub = fake_kernel.display_pub
    h = i2v(client)
    view = display_handle(h)
    first = pub.sent[0]
    assert not first["update"] and first["parent"] == "cell-A"
    assert set(first["data"]) == {WIDGET_MIME, "text/html", "text/plain"}
    assert 'data-rnb-status="PENDING"' in first["data"]["text/html"]
    display_id = first["transient"]["display_id"]
    await until(lambda: view.finished and len(pub.sent) > 1)
    final = pub.sent[-1]
    assert final["update"] and final["transient"]["display_id"] == display_id
    assert final["parent"] == "cell-A"  # JupyterLab applies it to the cell that showed the view
    # no view ever rendered (headless): the final output is static only
    assert set(final["data"]) == {"text/html", "text/plain"}
    assert 'data-rnb-status="SUCCEEDED"' in final["data"]["text/html"] and "<video" in final["data"]["text/html"]
    assert final["data"]["text/plain"].startswith(f"Runway task {h.id} · SUCCEEDED")


@run_async
async def test_final_output_keeps_the_widget_until_the_browser_loaded_the_media(client, fake_kernel):
    pub = fake_kernel.display_pub
    view = display_handle(i2v(client), save_to=False)  # no local copy: only the widget shows relayed bytes
    call(view, "view")  # a browser rendered it
    await until(lambda: view.finished)
    await asyncio.sleep(0.1)
    assert len(pub.sent) == 1, "the live view is not re-rendered while its media load"
    call(view, "media_status", {"results": ["loaded"]})
    assert len(pub.sent) == 2 and set(pub.sent[-1]["data"]) == {"text/html", "text/plain"}
    assert 'data-rnb-status="SUCCEEDED"' in pub.sent[-1]["data"]["text/html"]
    assert view._retired


@run_async
async def test_final_output_keeps_the_widget_when_media_came_through_the_kernel(client, fake_kernel):
    pub = fake_kernel.display_pub
    view = display_handle(i2v(client), save_to=False)  # no local copy: only the widget shows relayed bytes
    call(view, "view")
    await until(lambda: view.finished)
    call(view, "media_status", {"results": ["relayed"]})
    # the widget (showing the relayed bytes) stays, now beside the final static HTML
    assert len(pub.sent) == 2 and WIDGET_MIME in pub.sent[-1]["data"]
    assert 'data-rnb-status="SUCCEEDED"' in pub.sent[-1]["data"]["text/html"]
    call(view, "media_status", {"results": ["relayed"]})  # a second view
    assert len(pub.sent) == 2 and not view._retired


@run_async
async def test_a_view_that_never_reports_does_not_keep_the_widget(client, fake_kernel, monkeypatch):
    monkeypatch.setattr(tv, "VERDICT_TIMEOUT", 0.2)
    pub = fake_kernel.display_pub
    view = display_handle(i2v(client))
    call(view, "view")
    await until(lambda: view.finished)
    await until(lambda: set(pub.sent[-1]["data"]) == {"text/html", "text/plain"}, timeout=5)
    assert view._retired and view.comm is None, "the closed model leaves no state behind"


@run_async
async def test_a_relay_request_keeps_the_widget(client, fake_kernel):
    view = display_handle(i2v(client), save_to=False)  # no local copy: only the widget shows relayed bytes
    call(view, "view")
    await until(lambda: view.finished)
    view.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    call(view, "media", {"index": 0, "purpose": "show"}, call_id=1)
    call(view, "media_status", {"results": ["loaded"]})
    assert WIDGET_MIME in TaskView._repr_mimebundle_(view)[0] and not view._retired


@run_async
async def test_updates_also_reach_the_running_cell(client, fake_kernel):
    """nbclient records only messages whose parent is the cell it runs now."""
    pub = fake_kernel.display_pub
    view = display_handle(i2v(client))
    live.current_cell["parent"] = {"msg_id": "cell-B"}  # a later cell runs (e.g. `await asyncio.sleep`)
    await until(lambda: view.finished and len(pub.sent) >= 3)
    parents = [m["parent"] for m in pub.sent[1:]]
    assert parents == ["cell-A", "cell-B"]


@run_async
async def test_post_run_cell_finishes_views_after_a_blocking_wait(client, fake_kernel):
    pub = fake_kernel.display_pub
    h = i2v(client)
    view = display_handle(h)
    live.current_cell["parent"] = {"msg_id": "cell-B"}
    h.wait()  # blocks the loop: the background poller cannot run
    assert not view.finished
    live.post_run_cell(None)  # IPython's post_run_cell hook, still inside cell B
    assert view.finished and view.status == "SUCCEEDED"
    assert [m["parent"] for m in pub.sent[1:]] == ["cell-A", "cell-B"]
    assert live.current_cell["parent"] is None
    await asyncio.sleep(0.05)
    assert view._poller.done()


@run_async
async def test_formatter_shows_handles_as_task_views(client, fake_kernel):
    assert register_formatters(fake_kernel) is True
    assert set(fake_kernel.events.callbacks) == {"pre_run_cell", "post_run_cell"}
    h = i2v(client)
    handled = fake_kernel.display_formatter.ipython_display_formatter(h)
    assert handled is True
    assert fake_kernel.display_pub.sent and WIDGET_MIME in fake_kernel.display_pub.sent[0]["data"]
    view = TaskView.for_handle(h)
    assert view.handle is h
    fake_kernel.display_formatter.ipython_display_formatter(h)
    assert len(view._displays) == 1, "shown once per cell (display_handle(h) as a cell's last line)"
    fake_kernel.display_pub.parent_header = {"msg_id": "cell-C"}
    fake_kernel.display_formatter.ipython_display_formatter(h)
    assert TaskView.for_handle(h) is view and len(view._displays) == 2, "same view, shown again in cell C"
    await until(lambda: view.finished)


def test_no_formatter_outside_a_kernel(ip_empty):
    assert register_formatters(ip_empty) is False


def test_unregistering_hands_back_plain_reprs_and_the_cell_hooks_go_with_the_last_formatter(client, fake_kernel):
    from runway_nb.notebook.widgets import unregister_formatters
    from runway_nb.notebook.widgets._workflow_view import unregister_workflow_formatters

    shows = fake_kernel.display_formatter.ipython_display_formatter
    assert register_formatters(fake_kernel) is True
    unregister_workflow_formatters(fake_kernel)  # the workflow views' alone: task views still need the hooks
    assert fake_kernel.events.callbacks["post_run_cell"] and shows(i2v(client)) is True
    unregister_formatters(fake_kernel)
    assert not any(fake_kernel.events.callbacks.values())
    assert not shows(i2v(client))  # a plain repr again


def test_finished_handle_displays_static_only(client, fake_kernel):
    h = i2v(client)
    h.wait()
    view = display_handle(h)
    assert view.finished and view._poller is None
    assert set(fake_kernel.display_pub.sent[0]["data"]) == {"text/html", "text/plain"}


# ---------------------------------------------------------------------- the JS bundle
def test_bundle_is_one_module_without_imports():
    code = live.asset("task_view.js").read_text()
    assert not re.search(r"\bimport\s*[{*\"'(]|\bimport\s+\w+\s+from\b", code), "one self-contained module"
    assert re.search(r"export\s*\{\s*[\w$]+ as default\s*\};?\s*$", code), "only a default export"
    assert "rnb:call" in code and "rnb-task" in code


def test_bundle_renders_in_node(tmp_path, node):
    bundle = tmp_path / "bundle.mjs"
    bundle.write_text(live.asset("task_view.js").read_text())
    script = tmp_path / "check.mjs"
    script.write_text(textwrap.dedent(f"""
        import {{ installFakes, MockModel }} from {json.dumps((REPO / "js/test/fake_dom.js").as_uri())};
        const fakes = installFakes();
        const mod = await import({json.dumps(bundle.as_uri())});
        const model = new MockModel({{ task_id: "t", status: "SUCCEEDED", finished: true, caption: {{}},
          outputs: ["https://a.example/0.mp4"], kinds: ["video"] }});
        const el = document.createElement("div");
        const cleanup = mod.default.render({{ model, el }});
        if (el.querySelectorAll("video").length !== 1) throw new Error("no video");
        cleanup();
        console.log("ok");
    """))
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_assets_found_in_the_checkout():
    assert live.asset("task_view.js").parent == Path(tv.__file__).parent / "static"
    css = live.asset("task_view.css").read_text()
    assert ".rnb-task" in css and ".rnb-btn{" in css and ".rnb-btn:disabled{" in css
    assert str(TaskView._esm) == live.asset("task_view.js").read_text()
    assert str(TaskView._css) == css


# ---------------------------------------------------------------------- more handles and life cycle
@run_async
async def test_async_handles_are_polled_directly(make_sim, clean_env):
    from runway_nb.client.core import AsyncRunway

    sim = make_sim(**WATCHABLE)
    async with AsyncRunway(provider="sim", simulator=sim) as ac:
        ah = await ac.text_to_image.create(model="gen4_image", prompt="a map", ratio="1920:1080")
        view = TaskView(ah)
        assert view._async_handle() is ah
        await until(lambda: view.finished)
        assert view.status == "SUCCEEDED" and view.kinds == ["image"] and ah.task.status == "SUCCEEDED"


@run_async
async def test_a_blocking_wait_then_display_shows_the_final_output(client, fake_kernel):
    h = i2v(client)
    view = TaskView(h)  # watching in the background...
    h.wait()  # ...but the cell blocks the loop until the end (like `%%runway --wait`)
    shown = display_handle(h)
    assert shown is view and view.finished
    await asyncio.sleep(0)
    assert view._poller.done()
    first = fake_kernel.display_pub.sent[0]
    assert set(first["data"]) == {"text/html", "text/plain"} and "SUCCEEDED" in first["data"]["text/html"]


@run_async
async def test_close_stops_polling(client):
    view = TaskView(i2v(client))
    poller = view._poller
    view.close()
    await asyncio.sleep(0)
    assert poller.cancelled() or poller.done()
    assert not live.followed(view)


@run_async
async def test_session_save_to_mark_is_honoured(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h = i2v(client)
    h.save_to = "kept"  # what the session sets for `%%runway --save kept`
    view = TaskView(h)
    assert view.save_to == tmp_path / "kept"
    await until(lambda: view.finished and bool(view.files))
    assert view.files[0].startswith("kept/")


# ---------------------------------------------------------------------- a real kernel, headless
HEADLESS_CELLS = [
    # 1. shown, then a later cell awaits (the loop stays free)
    "from runway_nb import Runway, Simulator\n"
    "from runway_nb.notebook.widgets import display_handle, register_formatters\n"
    "register_formatters(get_ipython())\n"
    "c = Runway(provider='sim', simulator=Simulator(speed=20, pending_seconds=1, run_seconds=16))\n"
    "def make(prompt):\n"
    "    return c.image_to_video.create(model='gen4_turbo', prompt=prompt, image='https://example.com/x.png',\n"
    "                                   ratio='1280:720', duration=5)\n"
    "h1 = make('awaited')\n"
    "display_handle(h1)",
    "import asyncio\nwhile not h1.finished:\n    await asyncio.sleep(0.05)",
    # 2. shown, then a later cell blocks in handle.wait()
    "h2 = make('waited')\ndisplay_handle(h2)",
    "h2.wait();",
    # 3. a handle as a cell's value (the formatter), then a cell blocks in time.sleep
    "h3 = make('slept')\nh3",
    "import time\ntime.sleep(2)",
    "1 + 1",
    # 4. already finished when shown
    "h4 = make('done'); h4.wait()\nh4",
]


@pytest.mark.kernel
def test_headless_execution_keeps_final_static_outputs(tmp_path):
    """nbclient (as nbconvert --execute, papermill and nbval use it) records only the running
    cell's messages; the final outputs still land in the cells that showed the tasks."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in HEADLESS_CELLS])
    env_path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"], old = env_path, os.environ.get("PYTHONPATH")
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    results = {}
    for index in (0, 2, 4, 7):
        # the quiet notes (the simulator, a placeholder input) sit beside the result: not counted
        displays = [o for o in nb.cells[index].outputs if o.output_type in ("display_data", "execute_result")
                    and 'class="rnb-notice"' not in o.get("data", {}).get("text/html", "")]
        assert len(displays) == 1, (index, nb.cells[index].outputs)
        results[index] = displays[0].data
    for index, data in results.items():
        assert WIDGET_MIME not in data, index
        assert 'data-rnb-status="SUCCEEDED"' in data["text/html"], index
        assert "<video" in data["text/html"] and "SUCCEEDED" in data["text/plain"]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    widgets = json.dumps(nb.metadata.get("widgets", {}))
    outputs = sum(len(json.dumps(c.get("outputs", []))) for c in nb.cells)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for key, model in state.items():
        print(key, model["model_name"], model["state"].get("status"), model["state"].get("task_id"),
              len(json.dumps(model)))
    print(f"\nheadless notebook, 4 tasks: {path.stat().st_size} bytes; outputs {outputs} bytes; "
          f"widget state saved by nbclient {len(widgets)} bytes")
    assert len(widgets) < 4 * 3000, "finished views leave only a stub of their state"
    # Exported to HTML (what GitHub/nbviewer-like viewers get): the static result is there.
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(nb)
    assert html.count('data-rnb-status="SUCCEEDED"') == 4


# ---------------------------------------------------------------------- many views in one kernel
def task_gets(client: Runway) -> int:
    return sum(n for route, n in client.simulator.stats.requests.items() if route.startswith("GET /v1/tasks"))


@run_async
async def test_after_cell_polls_only_a_late_view_with_a_blocking_handle(client, fake_kernel):
    """Views of blocking handles are asked after every cell: one polling on time makes no request
    there, one whose poll a blocking cell delayed past the floor polls once; a view of an async
    handle (asked only after a cell during which a task ended) never does."""
    twin = tv.async_twin(client)
    blocking = TaskView(i2v(client))
    asynchronous = TaskView(await twin.image_to_video.create(
        model="gen4_turbo", prompt="a harbour", image="https://example.com/in.png", ratio="1280:720", duration=5))
    await until(lambda: blocking._next_poll is not None and asynchronous._next_poll is not None)
    gets = task_gets(client)
    live.post_run_cell(None)  # a quick cell: both pollers are on time
    assert task_gets(client) == gets
    import time

    time.sleep(blocking._overdue_slack + 0.3 + max(0.0, blocking._next_poll - blocking._now()))  # a cell blocks
    assert blocking._poll_overdue() and asynchronous._poll_overdue()
    live.post_run_cell(None)
    assert task_gets(client) == gets + 1, "one GET, for the view with a blocking handle"
    blocking.close()
    asynchronous.close()


@run_async
async def test_after_a_cell_running_async_views_are_visited_only_once_some_task_ended(client, fake_kernel,
                                                                                    monkeypatch):
    """A thousand watched views must not cost every cell a thousand calls: a view of an async
    handle is polled by the loop, so after a cell it has nothing to do unless a task ended
    elsewhere (another wait on the same handle), which it then takes in."""
    twin = tv.async_twin(client)
    handles = [await twin.image_to_video.create(model="gen4_turbo", prompt=f"view {i}", duration=5,
                                                image="https://example.com/in.png", ratio="1280:720")
               for i in range(3)]
    views = [TaskView(h, watch=False) for h in handles]
    for view in views:
        view._follow(keep_alive=True)
    visited: list[TaskView] = []
    original = TaskView.after_cell
    monkeypatch.setattr(TaskView, "after_cell", lambda self: (visited.append(self), original(self))[1])
    asked: list[TaskView] = []
    wants = TaskView.wants_cell
    monkeypatch.setattr(TaskView, "wants_cell", lambda self, ended: (asked.append(self), wants(self, ended))[1])
    live.post_run_cell(None)  # takes in whatever ended before this test
    visited.clear()
    asked.clear()
    live.post_run_cell(None)
    assert visited == []
    assert asked == []  # not even asked: a quiet cell costs nothing per watched view
    await handles[0].wait()  # ends through the handle, not through its view
    assert not views[0].finished
    live.post_run_cell(None)
    assert views[0].finished and views[0].status == "SUCCEEDED"
    assert set(map(id, visited)) == set(map(id, views))
    visited.clear()
    live.post_run_cell(None)
    assert visited == []
    for view in views:
        view.close()


@run_async
async def test_a_poll_of_many_views_sends_one_message_per_view_with_only_what_changed(make_sim, clean_env):
    """Each update of a view is one comm message (``hold_sync``) carrying only the traits that
    changed: the caption, endpoint and task id are not sent again on every poll."""
    # All twelve run at once, each for 2 s of real time (eight floors): a loaded machine still
    # sees them run, so there are running updates to look at.
    client = Runway(provider="sim", simulator=make_sim(speed=20.0, pending_seconds=1.0, run_seconds=40.0,
                                                       concurrency=12))
    twin = tv.async_twin(client)
    handles = await asyncio.gather(*(twin.image_to_video.create(
        model="gen4_turbo", prompt=f"view {i}", duration=5, image="https://example.com/in.png", ratio="1280:720")
        for i in range(12)))
    views = [TaskView(h, watch=False) for h in handles]
    running: list[dict] = []  # the update messages of views still running
    for view in views:
        # Caught where the widget sends (its comm may have no kernel to publish to, in which case
        # ipywidgets drops the message before the comm sees it).
        def send(msg: dict, buffers: Any = None, view: TaskView = view) -> None:
            if msg.get("method") == "update" and not view.finished:
                running.append(msg["state"])
        view._send = send
    gets = task_gets(client)
    for view in views:
        view.watch()
    await until(lambda: all(v.finished for v in views))
    polls = task_gets(client) - gets
    assert any("progress" in state for state in running)
    assert len(running) <= polls, (len(running), polls)
    for state in running:
        assert not {"caption", "endpoint", "task_id", "outputs", "can_again"} & set(state), state
    for view in views:
        view.close()
    client.close()

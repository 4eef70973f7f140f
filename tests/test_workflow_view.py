"""The notebook side of workflows and routed generation: the WorkflowView (live on the kernel's loop,
then its state and static HTML), routing in a task's repr, text and HTML, and ``%%runway --workflow``
through a real InteractiveShell."""

from __future__ import annotations

import asyncio
import functools
import io
import warnings
from typing import Any

import pytest
from fake_kernel import fake_kernel_shell
from IPython.core.error import UsageError

from runway_nb.api.task import Task
from runway_nb.api.workflow import Workflow, WorkflowInvocation
from runway_nb.client.core import Runway
from runway_nb.client.workflows import PartialRunWarning, WorkflowRun
from runway_nb.notebook import posters
from runway_nb.notebook.widgets import TaskView, WorkflowView, static_html, static_text, workflow_static_html
from runway_nb.notebook.widgets._workflow_static import workflow_static_text
from runway_nb.sim.workflows import SAMPLE_WORKFLOWS

HOSTILE = "<img src=x onerror=alert(1)>"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CHAIN, SHOTS = SAMPLE_WORKFLOWS[0][0], SAMPLE_WORKFLOWS[1][0]


def run_async(fn):
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=90))
    return wrapper


async def until(predicate, timeout: float = 60.0, step: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)


@pytest.fixture
def client(make_sim, clean_env):
    c = Runway(provider="sim", simulator=make_sim(), poll_floor=0.05, journal=False)
    yield c
    c.close()


# ---------------------------------------------------------------------- routing
def test_routing_in_repr_text_html_and_task_view(client):
    handle = client.generate.video.create(configId="default", input={"promptText": "a fox in the snow"})
    line = handle.routing.summary()
    assert line.startswith("routed to ") and "(router default, optimized for cost)" in line
    assert line in repr(handle)
    handle.wait(timeout=60)
    assert line in static_text(handle).splitlines()[1]
    assert 'class="rnb-routing"' in static_html(handle) and line in static_html(handle)
    view = TaskView(handle, watch=False)
    assert view.routing == line
    plain = client.text_to_image.create(model="gen4_image", prompt="a kite", ratio="1024:1024")
    assert plain.routing is None and "routed" not in repr(plain) and "rnb-routing" not in static_html(plain)
    assert TaskView(plain, watch=False).routing == ""


def test_routing_is_escaped_in_static_html():
    task = Task(id="t-1", status="SUCCEEDED", raw={"routing": {
        "model": HOSTILE, "configId": "default", "resolvedSettings": {"optimizeFor": "cost"},
        "capacityFallback": {"skipped": [HOSTILE], "allExhausted": False}}})
    assert task.routing is not None and task.routing.model == HOSTILE
    html = static_html(task)
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert f"routed to {HOSTILE}" in static_text(task)


# ---------------------------------------------------------------------- the WorkflowView
def test_view_of_a_finished_partial_run(client):
    run = client.workflows.run(SHOTS.name)
    with pytest.warns(PartialRunWarning):
        run.wait(timeout=60)
    view = WorkflowView(run)
    assert view.finished and view.status == "SUCCEEDED" and view.partial is True
    assert view.cost is not None and view.cost == run.cost and view.workflow == SHOTS.name
    nodes = {n["name"]: n for n in view.nodes}
    assert [n["name"] for n in view.nodes] == [n.name for n in SHOTS.nodes]
    assert nodes["Styled variant"]["status"] == "FAILED" and "could not be read" in nodes["Styled variant"]["error"]
    assert nodes["Hero shot"]["status"] == "SUCCEEDED" and nodes["Hero shot"]["kind"] == "image"
    assert nodes["Turntable"]["kind"] == "video" and nodes["Turntable"]["outputs"][0].startswith("http")
    assert nodes["Product"]["status"] == "INPUT" and "coffee mug" in nodes["Product"]["value"]
    html = view.static_html()
    assert 'data-rnb-status="SUCCEEDED"' in html and "Partial run: 1 node(s) failed" in html
    assert "<video" in html and "<img" in html and f"{run.cost:g} credits" in html
    assert 'data-rnb-status="FAILED"' in html and "Styled variant" in html
    text = workflow_static_text(run)
    assert text.startswith(f"workflow '{SHOTS.name}'") and "Styled variant: FAILED" in text


@run_async
async def test_view_fills_in_on_the_kernels_loop(client):
    run = client.workflows.run(CHAIN.name)
    view = WorkflowView(run)  # a loop runs: it starts watching at once, without blocking
    seen: list[list[tuple[str, str]]] = []
    view.observe(lambda change: seen.append([(n["name"], n["status"]) for n in change["new"]]), names=["nodes"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await until(lambda: view.finished)
    assert view.status == "SUCCEEDED" and view.cost is not None and not view.partial
    assert any(("Key frame", "SUCCEEDED") in s and ("Animate", "SUCCEEDED") not in s for s in seen)  # filling in
    assert all(n["outputs"] for n in view.nodes if n["status"] == "SUCCEEDED")
    assert run.invocation is not None and run.invocation.succeeded  # the run's state is the view's
    assert WorkflowView.for_run(run) is view


def test_static_html_escapes_everything(client):
    graph = {"id": "11111111-1111-4111-8111-111111111111", "name": HOSTILE, "graph": {"nodes": [
        {"id": "22222222-2222-4222-8222-222222222222", "name": HOSTILE, "type": "primitive",
         "outputs": {"prompt": {"type": "primitive"}}, "defaults": {"prompt": {"type": "primitive", "value": HOSTILE}}},
        {"id": "33333333-3333-4333-8333-333333333333", "name": HOSTILE, "type": "text_to_image", "model": HOSTILE,
         "outputs": {"image": {"type": "image"}}},
        {"id": "44444444-4444-4444-8444-444444444444", "name": "bad url", "type": "text_to_image",
         "outputs": {"image": {"type": "image"}}}], "edges": []}}
    run = WorkflowRun(client, "55555555-5555-4555-8555-555555555555", workflow=Workflow.model_validate(graph))
    run.invocation = WorkflowInvocation.model_validate({
        "id": run.id, "status": "SUCCEEDED", "cost": {"credits": 4},
        "output": {"44444444-4444-4444-8444-444444444444": ["javascript:alert(1)"]},
        "nodeErrors": {"33333333-3333-4333-8333-333333333333": {"message": HOSTILE, "failureCode": HOSTILE}}})
    html = workflow_static_html(run)
    assert HOSTILE not in html and "javascript:" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 5
    view = WorkflowView(run)
    assert view.nodes[2]["outputs"] == []  # an unsafe URL never reaches the browser


# ---------------------------------------------------------------------- without a kernel's loop
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_blocking_watch_piped_writes_a_line_per_new_state_then_the_nodes(client):
    """As a task's: in a pipe or a file, ``\\r`` would glue every update onto one endless line."""
    run = client.workflows.run(CHAIN.name)
    out = io.StringIO()  # not a terminal
    view = WorkflowView(run)  # no running loop: nothing starts until watch()
    assert view.watch(file=out) is view
    text = out.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    status = [line for line in lines if line.startswith("workflow ")]
    assert len(status) >= 2 and len(set(status)) == len(status), "a line only for a new state"
    assert "SUCCEEDED" not in status[0] and "SUCCEEDED" in status[-1]
    assert lines[len(status):] == workflow_static_text(run).splitlines()[1:]  # then one line per node
    assert view.finished and view._poller is None


def test_a_blocking_watch_on_a_terminal_rewrites_its_line(client):
    run = client.workflows.run(CHAIN.name)
    out = _Terminal()
    WorkflowView(run).watch(file=out)
    text = out.getvalue()
    assert text.count("\r") >= 2 and "SUCCEEDED" in text.split("\r")[-1].splitlines()[0]


def test_both_run_views_provide_every_part_the_base_leaves_to_them():
    """What RunView leaves to its views raises NotImplementedError there: each view has its own."""
    import inspect

    from runway_nb.notebook.widgets._run_view import RunView

    left = [name for name, member in vars(RunView).items()
            if inspect.isfunction(member) and "raise NotImplementedError" in inspect.getsource(member)]
    assert {"_latest", "_poll", "_wait", "_take_update", "_take_end", "_still_running", "_plain_text"} <= set(left)
    for view in (TaskView, WorkflowView):
        assert [name for name in left if getattr(view, name) is getattr(RunView, name)] == [], view.__name__


def test_a_view_refused_at_construction_is_collected_quietly(monkeypatch):
    """ipywidgets closes a widget when it is collected, even one whose __init__ raised."""
    import gc
    import sys

    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(TypeError, match="WorkflowView needs a WorkflowRun"):
        WorkflowView("not a run")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TaskView needs a TaskHandle"):
        TaskView("not a handle")  # type: ignore[arg-type]
    gc.collect()
    assert unraisable == []


def test_an_ended_runs_output_is_final_and_media_it_relayed_leave_their_posters(client):
    run = client.workflows.run(CHAIN.name)
    run.wait(timeout=60)
    view = WorkflowView(run)
    _, metadata = view._repr_mimebundle_()
    assert metadata["runway_nb"] == {"final": True}  # saving may drop a widget view beside it
    node = next(i for i, n in enumerate(view.nodes) if n["kind"] == "video")
    url = view.nodes[node]["outputs"][0]
    assert url.startswith("http") and posters.known("video", url=url) is None  # not fetched yet
    reply, buffers = view._command_media({"node": node, "index": 0}, [])
    assert reply == {"mime": "video/mp4"} and len(buffers) == 1 and buffers[0][4:8] == b"ftyp"
    assert view._relayed
    assert posters.known("video", url=url) is not None  # the static output embeds it, no second download


# ---------------------------------------------------------------------- display in a kernel
@pytest.fixture
def fake_kernel(monkeypatch):
    yield from fake_kernel_shell(monkeypatch)


@run_async
async def test_a_run_displays_as_the_view_then_as_static_html(client, fake_kernel):
    from runway_nb.notebook.widgets import register_formatters

    assert register_formatters(fake_kernel) is True
    run = client.workflows.run(CHAIN.name)
    fake_kernel.display_formatter.ipython_display_formatter(run)
    pub = fake_kernel.display_pub
    first = pub.sent[0]
    assert set(first["data"]) == {WIDGET_MIME, "text/html", "text/plain"}
    view = WorkflowView.for_run(run)
    await until(lambda: view.finished and len(pub.sent) > 1)
    final = pub.sent[-1]
    assert final["update"] and final["transient"] == first["transient"]
    assert set(final["data"]) == {"text/html", "text/plain"}  # no browser view: static only
    assert 'data-rnb-status="SUCCEEDED"' in final["data"]["text/html"] and "<video" in final["data"]["text/html"]


# ---------------------------------------------------------------------- %%runway --workflow
def test_magic_runs_a_workflow_with_overrides(ip, runway_session):
    ip.user_ns["motion"] = "the fox looks up at the lamp"
    ip.run_cell_magic("runway", '--workflow "image to video" -p "Motion.prompt={motion}" --wait -o wf',
                      "a red fox on a cliff at dusk")
    run = ip.user_ns["wf"]
    assert isinstance(run, WorkflowRun) and run.finished and run.status == "SUCCEEDED"
    nodes = {n.name: n for n in run.nodes}
    assert nodes["Prompt"].value == "a red fox on a cliff at dusk"  # the cell body: the first text input
    assert nodes["Motion"].value == "the fox looks up at the lamp"
    assert nodes["Animate"].outputs and run.cost is not None


def test_magic_node_value_without_key_and_unknown_workflow(ip, runway_session, capsys):
    sim = runway_session.client.simulator
    before = sim.stats.requests_for("POST", "/v1/workflows/{id}")
    with pytest.raises(UsageError, match=r"--workflow: .*available: 'Image to video'"):
        ip.run_cell_magic("runway", "--workflow nope", None)
    with pytest.raises(UsageError, match=r"--param: .*no node 'Nope'"):
        ip.run_cell_magic("runway", f"--workflow {CHAIN.id} -p Nope=1", None)
    with pytest.raises(UsageError, match=r"--model .*do not apply to a workflow"):
        ip.run_cell_magic("runway", f"--workflow {CHAIN.id} -m gen4_turbo", None)
    assert sim.stats.requests_for("POST", "/v1/workflows/{id}") == before
    run = ip.run_cell_magic("runway", f'--workflow "{SHOTS.name}" -p "product=a teapot" --wait', None)
    assert isinstance(run, WorkflowRun) and run.partial
    assert next(n for n in run.nodes if n.name == "Product").value == "a teapot"
    assert "partial run" in capsys.readouterr().err

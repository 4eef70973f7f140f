"""Workflows, voices, routers and routing through the client, against the simulator over real HTTP.

The simulator runs on a manual clock behind its loopback server; the client's clock advances it
(after letting every render finish, so answers never depend on rendering speed), so a run is
watched through the watch engine in simulated time and every poll is a real request.
"""

from __future__ import annotations

import asyncio
import io
import warnings

import av
import pytest
from PIL import Image

from runway_nb import AsyncRunway, Runway, errors
from runway_nb.api.workflow import INPUT, WorkflowInvocation
from runway_nb.client.watch import AdvancingClock
from runway_nb.client.workflows import AsyncWorkflowRun, PartialRunWarning, WorkflowFailedError, WorkflowRun
from runway_nb.sim import SimClock, Simulator
from runway_nb.sim.workflows import SAMPLE_WORKFLOWS

CHAIN, SHOTS = SAMPLE_WORKFLOWS[0][0], SAMPLE_WORKFLOWS[1][0]
RUN_ROUTE = ("POST", "/v1/workflows/{id}")
INVOCATION_ROUTE = ("GET", "/v1/workflow_invocations/{id}")


class RenderedClock(AdvancingClock):
    """Moves the simulator's manual clock when the client sleeps, once every render has finished."""

    def __init__(self, sim: Simulator):
        super().__init__(sim.clock)
        self.sim = sim

    def sleep(self, seconds: float) -> None:
        assert self.sim.wait_media(60)
        super().sleep(seconds)


@pytest.fixture
def sim():
    simulator = Simulator(clock=SimClock(manual=True), run_seconds=10, pending_seconds=1)
    yield simulator
    simulator.close()


def _client(cls, sim):
    return cls(provider="sim", base_url=sim.url, clock=RenderedClock(sim), journal=False)


@pytest.fixture
def client(sim, clean_env):
    c = _client(Runway, sim)
    yield c
    c.close()


def node_id(workflow, name: str) -> str:
    return next(n.id for n in workflow.nodes if n.name == name)


def _media_kind(data: bytes) -> str:
    try:
        Image.open(io.BytesIO(data)).verify()
        return "image"
    except Exception:
        pass
    with av.open(io.BytesIO(data)) as container:
        if container.streams.video:
            assert container.streams.video[0].frames > 0 or container.duration
            return "video"
        return "audio" if container.streams.audio else "unknown"


# ---------------------------------------------------------------------------- workflows
def test_list_and_get_published_workflows(client):
    listed = client.workflows.list()
    names = [w.name for w in listed]
    assert names == [CHAIN.name, SHOTS.name]
    chain = listed[0]
    assert [v.version for v in chain.versions] == [2, 1] and chain.id == CHAIN.id  # the newest version runs
    detail = client.workflows.get(CHAIN.id)
    assert detail.name == CHAIN.name and detail.version == 2
    assert [n.name for n in detail.nodes] == [n.name for n in CHAIN.nodes]
    assert detail.sources(node_id(CHAIN, "Animate")) == [node_id(CHAIN, "Key frame"), node_id(CHAIN, "Motion")]
    assert client.workflows.retrieve(CHAIN.id).id == CHAIN.id  # the SDK's name


def test_chain_by_name_fills_in_node_by_node_with_real_media(client, sim):
    run = client.workflows.run("image TO video")  # any case
    assert isinstance(run, WorkflowRun) and run.workflow is not None and run.workflow.id == CHAIN.id
    assert run.status == "PENDING" and run.cost is None and run.invocation is None
    seen: list[WorkflowInvocation] = []
    final = run.wait(timeout=3600, on_update=seen.append)
    assert final.status == "SUCCEEDED" and not run.partial and run.node_errors == {}
    # before the end, no cost; at least one RUNNING poll with some but not all nodes' outputs
    assert all(inv.cost is None for inv in seen[:-1])
    steps = {node_id(CHAIN, "Key frame"), node_id(CHAIN, "Animate")}
    assert any(inv.status == "RUNNING" and 0 < len(set(inv.output) & steps) < len(steps) for inv in seen)
    assert isinstance(run.cost, (int, float)) and run.cost > 0 and final.cost == run.cost
    assert set(run.outputs) == steps
    by_name = {n.name: n for n in run.nodes}
    assert by_name["Prompt"].status == INPUT and "lighthouse" in str(by_name["Prompt"].value)
    assert (by_name["Key frame"].status, by_name["Key frame"].kind) == ("SUCCEEDED", "image")
    assert (by_name["Animate"].status, by_name["Animate"].kind) == ("SUCCEEDED", "video")
    for name in ("Key frame", "Animate"):
        (url,) = by_name[name].outputs
        assert _media_kind(client.download(url)) == by_name[name].kind
    assert sim.stats.requests_for(*INVOCATION_ROUTE) == len(seen)
    assert "SUCCEEDED" in repr(run) and "2/2 node(s) with outputs" in repr(run)


def test_run_by_id_with_node_outputs_by_name(client):
    run = client.workflows.run(CHAIN.id, node_outputs={"Prompt": "a red fox in fresh snow",
                                                       "motion": {"prompt": "the fox looks up"}})
    assert run.node_outputs[node_id(CHAIN, "Prompt")] == {"prompt": {"type": "primitive",
                                                                     "value": "a red fox in fresh snow"}}
    assert run.node_outputs[node_id(CHAIN, "Motion")]["prompt"]["value"] == "the fox looks up"
    final = run.wait(timeout=3600)
    assert final.succeeded
    prompt = next(n for n in run.nodes if n.name == "Prompt")
    assert prompt.value == "a red fox in fresh snow"


def test_a_node_with_an_error_makes_a_partial_run_that_warns(client):
    run = client.workflows.run(SHOTS.name)
    with pytest.warns(PartialRunWarning, match="partial run.*Styled variant"):
        final = run.wait(timeout=3600)
    assert final.status == "SUCCEEDED" and run.partial is True
    styled = node_id(SHOTS, "Styled variant")
    assert list(run.node_errors) == [styled] and run.node_errors[styled].node_name == "Styled variant"
    states = {n.name: n.status for n in run.nodes}
    assert states["Styled variant"] == "FAILED" and states["Hero shot"] == states["Turntable"] == "SUCCEEDED"
    assert run.cost is not None and "partial run: 1 node(s) failed" in repr(run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.wait()  # warned once per run


def test_unknown_workflow_or_node_is_refused_before_any_run_request(client, sim):
    with pytest.raises(errors.ValidationError) as caught:
        client.workflows.run("Image to vid")
    assert caught.value.field == "workflow" and caught.value.value == "Image to vid"
    assert "'Image to video'" in str(caught.value) and "'Product shots (one broken node)'" in str(caught.value)
    with pytest.raises(errors.ValidationError) as node_error:
        client.workflows.run(CHAIN.name, node_outputs={"Nope": "x"})
    assert node_error.value.field == "node_outputs.Nope" and "Prompt" in str(node_error.value)
    with pytest.raises(errors.ValidationError, match="has no output 'text'"):
        client.workflows.run(CHAIN.name, node_outputs={"Prompt": {"text": "x"}})
    assert sim.stats.requests_for(*RUN_ROUTE) == 0


def test_media_node_output_from_a_pil_image(client):
    image = Image.new("RGB", (64, 64), (30, 160, 90))
    run = client.workflows.run(SHOTS.name, node_outputs={"Brand reference": image})
    given = run.node_outputs[node_id(SHOTS, "Brand reference")]["image"]
    assert given["type"] == "image" and given["uri"].startswith("data:image/png;base64,")
    final = run.wait(timeout=3600)
    assert final.succeeded and not run.partial  # a readable brand image: every node succeeds


def test_async_twin_runs_and_waits(sim, clean_env):
    async def main():
        async with _client(AsyncRunway, sim) as client:
            listed = await client.workflows.list()
            run = await client.workflows.run(listed[0].name)
            assert isinstance(run, AsyncWorkflowRun)
            seen: list[str] = []
            final = await run.wait(timeout=3600, on_update=lambda inv: seen.append(inv.status))
            return run, final, seen

    run, final, seen = asyncio.run(main())
    assert final.succeeded and run.cost is not None and "RUNNING" in seen


def test_a_sync_run_waited_on_the_event_loop_shares_its_state(client):
    run = client.workflows.run(CHAIN.name)
    twin = run.to_async()
    assert twin.state is run.state and run.to_async() is twin
    final = asyncio.run(run.wait_async(timeout=3600))
    assert final.succeeded and run.invocation is final and run.cost is not None


def test_a_failed_run_raises_unless_asked_not_to(client):
    run = WorkflowRun(client, "00000000-0000-4000-8000-000000000000")
    failed = WorkflowInvocation.model_validate({"id": run.id, "status": "FAILED", "failure": "Node 'X' failed",
                                                "failureCode": "INTERNAL.BAD_OUTPUT", "cost": {"credits": 3}})
    run.invocation = failed
    with pytest.raises(WorkflowFailedError, match=r"INTERNAL\.BAD_OUTPUT") as caught:
        run.wait()
    assert isinstance(caught.value, errors.TaskFailedError) and caught.value.task is failed
    assert run.wait(raise_on_failure=False) is failed and run.cost == 3


def test_invocations_by_id(client):
    run = client.workflows.run(CHAIN.name)
    again = client.workflow_invocations.handle(run.id, workflow=CHAIN.name)
    assert again.id == run.id and again.workflow is not None and again.workflow.id == CHAIN.id
    assert client.workflow_invocations.retrieve(run.id).id == run.id


# ---------------------------------------------------------------------------- voices, routers
def test_voices_list_and_preview(client):
    assert client.voices.list() == []  # the simulator starts with no custom voice
    preview = client.voices.preview("a warm, low voice with a slight rasp, calm and slow")
    assert preview.duration_secs > 0
    assert _media_kind(client.download(preview.url)) == "audio"
    with pytest.raises(errors.ValidationError) as caught:
        client.voices.preview("too short")
    assert caught.value.field == "prompt"
    with pytest.raises(errors.ValidationError) as model_error:
        client.voices.preview("a warm, low voice with a slight rasp", model="eleven_v3")
    assert model_error.value.field == "model"


def test_routers_list_get_create(client):
    (default,) = client.routers.list()
    assert default.slug == "default" and default.optimize_for == "cost"
    assert client.routers.get("default").id == default.id and client.routers.get(default.id).slug == "default"
    made = client.routers.create("fast-video", name="Fast video", settings={"optimizeFor": "latency"})
    assert made.slug == "fast-video" and made.optimize_for == "latency"
    assert {r.slug for r in client.routers.list()} == {"default", "fast-video"}
    with pytest.raises(errors.ValidationError) as caught:
        client.routers.get("nope")
    assert caught.value.field == "router" and "default" in str(caught.value)


def test_routed_generation_says_which_model_ran_and_why(client):
    handle = client.generate.video.create(configId="default", input={"promptText": "a fox in the snow"})
    routing = handle.routing
    assert routing is not None and routing.config_id == "default"
    assert routing.summary() == f"routed to {routing.model} (router default, optimized for cost)"
    assert routing.summary() in repr(handle)
    task = handle.wait(timeout=3600)
    assert task.routing == routing and routing.summary() in task.summary()

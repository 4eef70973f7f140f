"""The simulator's published workflows and their invocations, over real HTTP with a manual clock."""

from __future__ import annotations

import base64
import io

import av
import httpx
import pytest
import runwayml
from PIL import Image
from sim_resources import check, check_error, manual_sim, step, validator

from runway_nb.sim.workflows import SAMPLE_WORKFLOWS

INVOCATION = "/v1/workflow_invocations/{id}"
CHAIN, SHOTS = SAMPLE_WORKFLOWS[0][0], SAMPLE_WORKFLOWS[1][0]


def node_id(workflow, name: str) -> str:
    return next(n.id for n in workflow.nodes if n.name == name)


def check_invocation(response: httpx.Response) -> dict:
    """The spec's invocation schema, plus ``cost`` (SDK 5.24's field, newer than the spec copy):
    ``{"credits": int}`` on SUCCEEDED/FAILED only."""
    assert response.status_code == 200, response.text
    body = response.json()
    cost = body.pop("cost", None)
    check_body = httpx.Response(200, json=body)
    check(check_body, INVOCATION, "get", 200)
    if cost is not None:
        assert body["status"] in ("SUCCEEDED", "FAILED")
        assert set(cost) == {"credits"} and isinstance(cost["credits"], int) and cost["credits"] >= 0
        body["cost"] = cost
    return body


def png_data_uri(color=(20, 160, 60)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def run(client: httpx.Client, workflow_id: str, body: dict | None = None) -> str:
    return check(client.post(f"/v1/workflows/{workflow_id}", json=body or {}), "/v1/workflows/{id}", "post",
                 200)["id"]


def poll_until_done(sim, client, invocation_id: str, limit: int = 20) -> list[dict]:
    seen = []
    for _ in range(limit):
        inv = check_invocation(client.get(f"/v1/workflow_invocations/{invocation_id}"))
        seen.append(inv)
        if inv["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") and "cost" in inv:
            return seen
        step(sim, 5)
    raise AssertionError(f"not finished: {seen[-1]}")


def test_list_and_detail_follow_the_spec():
    with manual_sim() as (_sim, client):
        listed = check(client.get("/v1/workflows"), "/v1/workflows", "get", 200)
        names = [w["name"] for w in listed["data"]]
        assert CHAIN.name in names and SHOTS.name in names
        chain = next(w for w in listed["data"] if w["name"] == CHAIN.name)
        assert [v["version"] for v in chain["versions"]] == [2, 1]  # newest first
        for group in listed["data"]:
            for version in group["versions"]:
                detail = check(client.get(f"/v1/workflows/{version['id']}"), "/v1/workflows/{id}", "get", 200)
                assert detail["id"] == version["id"] and detail["version"] == version["version"]
                assert detail["graph"]["nodes"] and detail["graph"]["edges"]
        detail = client.get(f"/v1/workflows/{CHAIN.id}").json()
        edges = {(e["source"], e["target"]) for e in detail["graph"]["edges"]}
        assert (node_id(CHAIN, "Key frame"), node_id(CHAIN, "Animate")) in edges


def test_image_to_video_chain_fills_in_node_by_node_with_real_media():
    with manual_sim() as (sim, client):
        seen = poll_until_done(sim, client, run(client, CHAIN.id))
        keyframe, animate = node_id(CHAIN, "Key frame"), node_id(CHAIN, "Animate")
        assert seen[0]["status"] == "PENDING"
        outputs = [set(s.get("output", {})) for s in seen]
        first_image = next(i for i, o in enumerate(outputs) if o)
        assert outputs[first_image] == {keyframe}  # the key frame arrives alone ...
        assert seen[first_image]["status"] == "RUNNING"
        assert outputs[-1] == {keyframe, animate}  # ... then the video
        assert all("cost" not in s for s in seen[:-1]) and seen[-1]["cost"]["credits"] > 0
        progress = [s["progress"] for s in seen if s["status"] == "RUNNING"]
        assert progress == sorted(progress) and progress[-1] < 1
        final = seen[-1]
        assert final["status"] == "SUCCEEDED" and "nodeErrors" not in final

        image = httpx.get(final["output"][keyframe][0])
        assert Image.open(io.BytesIO(image.content)).size == (1280, 720)
        video = httpx.get(final["output"][animate][0])
        with av.open(io.BytesIO(video.content)) as container:
            assert container.streams.video[0].frames > 0 or container.duration
        # the video node was created from the key frame's output, as an official image_to_video body
        video_task = final["output"][animate][0].split("/_sim/outputs/")[1].split("/")[0]
        view = sim.app.store.view(video_task)
        assert view is not None and view.endpoint == "image_to_video" and view.model == "gen4_turbo"
        assert view.body["promptImage"] == final["output"][keyframe][0]
        assert view.body["duration"] == 5


def test_failing_optional_node_gives_a_succeeded_run_with_node_errors():
    with manual_sim() as (sim, client):
        final = poll_until_done(sim, client, run(client, SHOTS.id))[-1]
        styled = node_id(SHOTS, "Styled variant")
        assert final["status"] == "SUCCEEDED"
        assert final["nodeErrors"] == {styled: {"nodeName": "Styled variant", "message": final["nodeErrors"][styled][
            "message"]}}
        assert "could not be read" in final["nodeErrors"][styled]["message"]
        assert set(final["output"]) == {node_id(SHOTS, "Hero shot"), node_id(SHOTS, "Turntable")}
        assert final["cost"]["credits"] > 0


def test_node_outputs_override_a_prompt_and_fix_the_broken_reference():
    overrides = {
        node_id(SHOTS, "Product"): {"prompt": {"type": "primitive", "value": "a blue teapot on slate"}},
        node_id(SHOTS, "Brand reference"): {"image": {"type": "image", "uri": png_data_uri()}},
    }
    with manual_sim() as (sim, client):
        final = poll_until_done(sim, client, run(client, SHOTS.id, {"nodeOutputs": overrides}))[-1]
        assert final["status"] == "SUCCEEDED" and "nodeErrors" not in final
        assert len(final["output"]) == 3
        hero_task = final["output"][node_id(SHOTS, "Hero shot")][0].split("/_sim/outputs/")[1].split("/")[0]
        view = sim.app.store.view(hero_task)
        assert view is not None and view.body["promptText"] == "a blue teapot on slate"


def test_a_node_given_its_output_is_not_run():
    given = {node_id(CHAIN, "Key frame"): {"image": {"type": "image", "uri": png_data_uri()}}}
    with manual_sim() as (sim, client):
        before = sim.app.stats.creates
        final = poll_until_done(sim, client, run(client, CHAIN.id, {"nodeOutputs": given}))[-1]
        assert final["status"] == "SUCCEEDED"
        assert set(final["output"]) == {node_id(CHAIN, "Animate")}
        assert sim.app.stats.creates - before == 1


def test_a_required_node_failing_fails_the_run_and_cost_waits_for_every_task():
    with manual_sim(moderation_words=("forbidden",)) as (sim, client):
        overrides = {node_id(SHOTS, "Product"): {"prompt": {"type": "primitive", "value": "a forbidden mug"}}}
        seen = poll_until_done(sim, client, run(client, SHOTS.id, {"nodeOutputs": overrides}))
        final = seen[-1]
        assert final["status"] == "FAILED"
        assert final["failureCode"] == "SAFETY.INPUT.TEXT"
        assert "Hero shot" in final["failure"]
        hero = node_id(SHOTS, "Hero shot")
        assert final["nodeErrors"][hero]["nodeName"] == "Hero shot"
        assert node_id(SHOTS, "Turntable") in final["nodeErrors"]  # never ran: its input failed
        assert final["cost"]["credits"] >= 0


@pytest.mark.parametrize("node_outputs", [
    {"not-a-uuid": {"prompt": {"type": "primitive", "value": "x"}}},
    {"2b1f8d7e-0c43-4a8e-9d55-3f0e8c2a1b77": {"prompt": {"type": "primitive", "value": "x"}}},
    {"PRODUCT": {"nope": {"type": "primitive", "value": "x"}}},
    {"PRODUCT": {"prompt": {"type": "image", "uri": "https://example.com/a.png"}}},
    {"PRODUCT": {"prompt": {"type": "primitive"}}},
    {"PRODUCT": {"prompt": {"type": "image", "uri": "ftp://example.com/a.png"}}},
    {"PRODUCT": "a string"},
])
def test_bad_run_bodies_are_refused_with_runways_error_body(node_outputs):
    product = node_id(SHOTS, "Product")
    body = {"nodeOutputs": {(product if k == "PRODUCT" else k): v for k, v in node_outputs.items()}}
    with manual_sim() as (sim, client):
        before = sim.app.stats.creates
        error = check_error(client.post(f"/v1/workflows/{SHOTS.id}", json=body))
        assert error["issues"] and error["issues"][0]["path"][0] == "nodeOutputs"
        assert sim.app.stats.creates == before
        check_error(client.post(f"/v1/workflows/{SHOTS.id}", content=b"[1]"))


def test_unknown_workflows_and_invocations_answer_404_in_the_spec_shape():
    missing = "0b6c4a44-5d4e-4f7a-9b7e-0a1b2c3d4e5f"
    with manual_sim() as (_sim, client):
        check(client.get(f"/v1/workflows/{missing}"), "/v1/workflows/{id}", "get", 404)
        check(client.post(f"/v1/workflows/{missing}", json={}), "/v1/workflows/{id}", "post", 404)
        check(client.get(f"/v1/workflow_invocations/{missing}"), INVOCATION, "get", 404)
        check_error(client.get("/v1/workflow_invocations/not-a-uuid"))


def test_the_official_sdk_reads_workflows_and_invocations():
    with manual_sim() as (sim, _client):
        sdk = runwayml.RunwayML(api_key="key_test", base_url=sim.url, max_retries=0)
        listed = sdk.workflows.list()
        assert {w.name for w in listed.data} >= {CHAIN.name, SHOTS.name}
        assert sdk.workflows.retrieve(SHOTS.id).name == SHOTS.name
        invocation = sdk.workflows.run(SHOTS.id)
        for _ in range(20):
            got = sdk.workflow_invocations.retrieve(invocation.id)
            if got.status == "SUCCEEDED" and getattr(got, "cost", None) is not None:
                break
            step(sim, 5)
        assert got.status == "SUCCEEDED"
        assert got.node_errors and got.cost is not None and got.cost.credits > 0
        with pytest.raises(runwayml.NotFoundError):
            sdk.workflow_invocations.retrieve("0b6c4a44-5d4e-4f7a-9b7e-0a1b2c3d4e5f")
        sdk.close()


def test_cost_is_the_only_field_beyond_the_spec():
    """``cost`` is the SDK's addition (documented on its models); the spec copy's schema lacks it."""
    spec_schema = validator(INVOCATION, "get", 200)
    with manual_sim() as (sim, client):
        final = poll_until_done(sim, client, run(client, CHAIN.id))[-1]
        assert not spec_schema.is_valid(final)  # with cost: outside the spec copy
        final.pop("cost")
        spec_schema.validate(final)

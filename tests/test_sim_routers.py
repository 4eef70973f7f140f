"""The simulator's Model Routers and routed generation, over real HTTP with a manual clock."""

from __future__ import annotations

import io

import httpx
import jsonschema
import pytest
import runwayml
from PIL import Image
from sim_resources import check, check_error, manual_sim, spec_request_schema, step

from runway_nb.api import catalog

ROUTER = "/v1/routers/{id}"


def make_router(client: httpx.Client, slug: str, **fields) -> dict:
    return check(client.post("/v1/routers", json={"slug": slug, **fields}), "/v1/routers", "post", 200)


def generate(client: httpx.Client, kind: str, slug: str, given: dict) -> httpx.Response:
    return client.post(f"/v1/generate/{kind}", json={"configId": slug, "input": given})


def routed(client: httpx.Client, kind: str, slug: str, given: dict) -> dict:
    return check(generate(client, kind, slug, given), f"/v1/generate/{kind}", "post", 200)


def model_of(sim, task_id: str) -> str:
    view = sim.app.store.view(task_id)
    assert view is not None
    return view.model


def test_router_crud_and_pagination_follow_the_spec():
    with manual_sim() as (_sim, client):
        made = [make_router(client, f"router-{i}", name=f"Router {i}") for i in range(3)]
        assert made[0]["settings"] == {"schemaVersion": 1, "optimizeFor": "cost"} and made[0]["version"] == 1
        first = check(client.get("/v1/routers?limit=2"), "/v1/routers", "get", 200)
        assert len(first["data"]) == 2 and first["hasMore"] and first["nextCursor"]
        rest = check(client.get("/v1/routers", params={"limit": 2, "cursor": first["nextCursor"]}),
                     "/v1/routers", "get", 200)
        assert not rest["hasMore"] and rest["nextCursor"] is None
        listed = first["data"] + rest["data"]  # newest first: the one the simulator started with is last
        assert [r["id"] for r in listed[:3]] == [r["id"] for r in reversed(made)]
        assert listed[3]["slug"] == "default" and listed[3]["settings"]["optimizeFor"] == "cost"

        rid = made[0]["id"]
        assert check(client.get(f"/v1/routers/{rid}"), ROUTER, "get", 200) == made[0]
        renamed = check(client.patch(f"/v1/routers/{rid}", json={"name": "Renamed"}), ROUTER, "patch", 200)
        assert renamed["name"] == "Renamed" and renamed["version"] == 1  # names do not make versions
        settings = {"optimizeFor": "latency", "models": {"mode": "allowlist_only", "ids": ["gen4_turbo"]}}
        changed = check(client.patch(f"/v1/routers/{rid}", json={"settings": settings}), ROUTER, "patch", 200)
        assert changed["version"] == 2 and changed["settings"] == {**settings, "schemaVersion": 1}
        assert changed["slug"] == "router-0"

        deleted = client.delete(f"/v1/routers/{rid}")
        assert deleted.status_code == 204 and deleted.content == b""
        check_error(client.get(f"/v1/routers/{rid}"), 404)
        check_error(client.delete(f"/v1/routers/{rid}"), 404)


@pytest.mark.parametrize("body", [
    {"slug": "Bad Slug"},
    {"name": "no slug"},
    {"slug": "ok", "settings": {"optimizeFor": "speed"}},
    {"slug": "ok", "settings": {"models": {"mode": "allowlist_only", "ids": ["not_a_model"]}}},
    {"slug": "ok", "settings": {"maxCreditsPerGeneration": {"video": 0}}},
    {"slug": "ok", "settings": {"fallback": {"onCapacity": "yes"}}},
])
def test_bad_router_bodies_are_refused(body):
    with manual_sim() as (_sim, client):
        error = check_error(client.post("/v1/routers", json=body))
        assert error["issues"]
        listed = check(client.get("/v1/routers"), "/v1/routers", "get", 200)["data"]
        assert [r["slug"] for r in listed] == ["default"]  # nothing added to the one it starts with


def test_a_slug_is_unique_and_limits_and_cursors_are_checked():
    with manual_sim() as (_sim, client):
        make_router(client, "only")
        check_error(client.post("/v1/routers", json={"slug": "only"}))
        check_error(client.get("/v1/routers?limit=0"))
        check_error(client.get("/v1/routers?limit=101"))
        check_error(client.get("/v1/routers?cursor=garbage!"))
        check_error(client.get("/v1/routers/not-a-uuid"))


def test_routed_video_runs_the_cheapest_eligible_model_as_a_real_task():
    with manual_sim() as (sim, client):
        make_router(client, "allow-cheap", settings={"optimizeFor": "cost",
                                                     "models": {"mode": "allowlist_only",
                                                                "ids": ["gen4.5", "gen4_turbo", "veo3.1"]}})
        image = "https://example.com/first-frame.png"
        answer = routed(client, "video", "allow-cheap", {
            "promptText": "a paper boat drifting", "duration": 5, "aspectRatio": "16:9",
            "referenceImages": [{"uri": image, "role": "first"}]})
        routing = answer["routing"]
        assert routing["model"] == "gen4_turbo" and routing["provider"] == "runway"  # 5 credits/s, cheapest
        assert routing["configId"] == "allow-cheap"
        assert routing["resolvedSettings"] == {"optimizeFor": "cost", "priceCeiling": None}
        assert routing["resolvedInput"] == {"duration": 5, "ratio": "1280:720", "resolution": "720p"}
        assert "capacityFallback" not in routing
        view = sim.app.store.view(answer["id"])
        assert view is not None and view.endpoint == "image_to_video"
        assert view.body["promptImage"] == image and view.body["duration"] == 5
        assert routing["estimatedCost"]["credits"] == view.estimated_cost == 25
        step(sim, 1)
        step(sim, 10)
        task = check(client.get(f"/v1/tasks/{answer['id']}"), "/v1/tasks/{id}", "get", 200)
        assert task["status"] == "SUCCEEDED"
        assert httpx.get(task["output"][0]).headers["content-type"] == "video/mp4"


def test_optimize_for_quality_and_latency_pick_differently():
    allowed = {"mode": "allowlist_only", "ids": ["gen4.5", "gen4_turbo"]}
    given = {"promptText": "waves", "duration": 5, "referenceImages": [{"uri": "https://example.com/a.png",
                                                                         "role": "first"}]}
    with manual_sim() as (_sim, client):
        make_router(client, "quality", settings={"optimizeFor": "quality", "models": allowed})
        make_router(client, "cost", settings={"optimizeFor": "cost", "models": allowed})
        best = routed(client, "video", "quality", given)["routing"]
        cheap = routed(client, "video", "cost", given)["routing"]
        assert best["model"] == "gen4.5" and cheap["model"] == "gen4_turbo"
        assert best["estimatedCost"]["credits"] > cheap["estimatedCost"]["credits"]


def test_allow_new_except_excludes_its_ids():
    with manual_sim() as (_sim, client):
        make_router(client, "no-turbo", settings={"models": {"mode": "allow_new_except", "ids": ["gen4_turbo"]}})
        answer = routed(client, "video", "no-turbo", {"promptText": "waves", "referenceImages": [
            {"uri": "https://example.com/a.png", "role": "first"}]})
        assert answer["routing"]["model"] != "gen4_turbo"


def test_no_eligible_model_answers_the_pipeline():
    with manual_sim() as (sim, client):
        make_router(client, "tight", settings={"models": {"mode": "allowlist_only", "ids": ["gen4.5"]},
                                               "maxCreditsPerGeneration": {"video": 10}})
        before = sim.app.stats.creates
        response = generate(client, "video", "tight", {"promptText": "waves", "duration": 5})
        body = check(response, "/v1/generate/video", "post", 400)
        assert body["code"] == "no_eligible_model" and body["emptiedBy"] == ["price"]
        assert [stage["filter"] for stage in body["pipeline"]] == ["capability", "prompt_length", "input_support",
                                                                    "allow_deny", "price"]
        assert body["pipeline"][3]["models"] == ["gen4.5"] and body["pipeline"][4]["models"] == []
        assert sim.app.stats.creates == before

        make_router(client, "images-only", settings={"models": {"mode": "allowlist_only", "ids": ["gen4_image"]}})
        body = check(generate(client, "video", "images-only", {"promptText": "waves"}), "/v1/generate/video",
                     "post", 400)
        assert body["emptiedBy"] == ["allow_deny"]


def test_unknown_config_and_bad_inputs():
    with manual_sim() as (_sim, client):
        body = check(generate(client, "image", "missing", {"promptText": "a cat"}), "/v1/generate/image", "post", 404)
        assert body["code"] == "router_config_not_found"
        make_router(client, "any")
        for kind, given in (("video", {"duration": 1}), ("image", {}), ("audio", {"promptText": "hi"}),
                            ("video", {"promptText": "x", "unknown": 1})):
            check(generate(client, kind, "any", given), f"/v1/generate/{kind}", "post", 400)
            check_error(generate(client, kind, "any", given))


def test_capacity_fallback_skips_a_busy_model():
    allowed = {"mode": "allowlist_only", "ids": ["gen4.5", "gen4_turbo"]}
    given = {"promptText": "waves", "duration": 5, "referenceImages": [{"uri": "https://example.com/a.png",
                                                                         "role": "first"}]}
    with manual_sim(concurrency=1) as (_sim, client):
        make_router(client, "spill", settings={"optimizeFor": "cost", "models": allowed,
                                               "fallback": {"onCapacity": True}})
        first = routed(client, "video", "spill", given)["routing"]
        assert first["model"] == "gen4_turbo" and "capacityFallback" not in first
        second = routed(client, "video", "spill", given)["routing"]
        assert second["model"] == "gen4.5"
        assert second["capacityFallback"] == {"skipped": ["gen4_turbo"], "allExhausted": False}
        third = routed(client, "video", "spill", given)["routing"]
        assert third["model"] == "gen4_turbo"  # every model busy: the best one queues
        assert third["capacityFallback"] == {"skipped": ["gen4_turbo", "gen4.5"], "allExhausted": True}


def test_routed_image_with_references_gives_a_real_image():
    with manual_sim() as (sim, client):
        make_router(client, "stills", settings={"models": {"mode": "allowlist_only",
                                                           "ids": ["gen4_image_turbo", "gen4_image"]}})
        answer = routed(client, "image", "stills", {"promptText": "a lighthouse", "aspectRatio": "16:9",
                                                    "referenceImages": [{"uri": "https://example.com/ref.png"}]})
        assert answer["routing"]["model"] == "gen4_image_turbo"  # 2 credits: cheapest that takes references
        assert answer["routing"]["resolvedInput"] == {"ratio": "1280:720", "aspectRatio": "16:9", "resolution": "1k"}
        plain = routed(client, "image", "stills", {"promptText": "a lighthouse"})
        assert plain["routing"]["model"] == "gen4_image"  # turbo needs a reference image
        step(sim, 1)
        step(sim, 10)
        task = check(client.get(f"/v1/tasks/{answer['id']}"), "/v1/tasks/{id}", "get", 200)
        assert Image.open(io.BytesIO(httpx.get(task["output"][0]).content)).size == (1280, 720)
        assert model_of(sim, plain["id"]) == "gen4_image"


def test_routed_audio_uses_the_catalogs_audio_models():
    speech_models = [m.model for m in catalog.models() if m.output == "audio" and m.endpoint == "text_to_speech"
                     and not m.legacy]
    with manual_sim() as (sim, client):
        make_router(client, "voice")
        response = generate(client, "audio", "voice", {"type": "speech", "promptText": "Hello there.",
                                                        "voice": {"type": "preset", "presetId": "Maya"}})
        if not speech_models:  # the catalog has no audio operations yet: nothing can serve it
            assert check(response, "/v1/generate/audio", "post", 400)["emptiedBy"] == ["capability"]
            return
        routing = check(response, "/v1/generate/audio", "post", 200)["routing"]
        assert routing["model"] in speech_models
        assert routing["resolvedInput"] == {"type": "speech", "voice": "preset"}
        assert model_of(sim, check(response, "/v1/generate/audio", "post", 200)["id"]) == routing["model"]


def test_request_history_has_one_entry_per_generate_call():
    with manual_sim() as (_sim, client):
        router = make_router(client, "logged", settings={"models": {"mode": "allowlist_only", "ids": ["gen4_turbo"]}})
        ok = routed(client, "video", "logged", {"promptText": "waves", "referenceImages": [
            {"uri": "https://example.com/a.png", "role": "first"}]})
        # gen4_turbo does 2-10 s: a 30 s request leaves only models the router does not allow
        generate(client, "video", "logged", {"promptText": "waves", "duration": 30})
        path = "/v1/routers/{id}/requests"
        history = check(client.get(f"/v1/routers/{router['id']}/requests"), path, "get", 200)
        assert [e["status"] for e in history["data"]] == ["no_eligible_model", "routed"]  # newest first
        done = history["data"][1]
        assert done["taskId"] == ok["id"] and done["model"] == "gen4_turbo"
        assert done["reasonCode"] == "only_eligible_model" and done["estimatedCredits"] == 25
        assert done["pipeline"][-1] == {"type": "rank", "outcome": "single_candidate"}
        assert history["data"][0]["emptiedBy"] == ["allow_deny"] and history["data"][0]["taskId"] is None
        assert "gen4_turbo" not in history["data"][0]["pipeline"][0]["models"]
        page = check(client.get(f"/v1/routers/{router['id']}/requests?limit=1"), path, "get", 200)
        assert page["hasMore"] and len(page["data"]) == 1


def test_the_official_sdk_drives_routers_and_generation():
    with manual_sim() as (sim, _client):
        sdk = runwayml.RunwayML(api_key="key_test", base_url=sim.url, max_retries=0)
        router = sdk.routers.create(slug="sdk-router", settings={"optimizeFor": "cost"})
        assert sdk.routers.retrieve(router.id).slug == "sdk-router"
        created = sdk.generate.image.create(config_id="sdk-router", input={"promptText": "a red kite"})
        assert created.routing.config_id == "sdk-router" and created.routing.model
        page = sdk.routers.list_requests(router.id, limit=10)
        assert [entry.task_id for entry in page.data] == [created.id]
        sdk.routers.delete(router.id)
        sdk.close()


def _spec_models(path: str, endpoint: str) -> list[catalog.ModelInfo]:
    """The spec's models of one audio operation, as catalog entries (the catalog may not list them yet)."""
    infos = []
    for branch in spec_request_schema(path, "post")["oneOf"]:
        props = branch["properties"]
        prompt = props.get("promptText", {})
        infos.append(catalog.ModelInfo(
            endpoint=endpoint, model=props["model"]["const"], output="audio", ratios=(), default_ratio=None,
            durations=None, default_duration=None, prompt_field="promptText" if prompt else None,
            prompt_min=prompt.get("minLength"), prompt_max=prompt.get("maxLength"),
            required=frozenset(branch.get("required", [])), fields=frozenset(props), media_fields={},
            schema=branch))
    return infos


@pytest.mark.parametrize(("given", "path", "endpoint"), [
    ({"type": "speech", "promptText": "Hello there.", "voice": {"type": "preset", "presetId": "Arjun"}},
     "/v1/text_to_speech", "text_to_speech"),
    ({"type": "speech", "promptText": "Hello there."}, "/v1/text_to_speech", "text_to_speech"),
    ({"type": "speech", "promptText": "Hello.", "voice": {"type": "reference-audio",
                                                          "audioUri": "https://example.com/v.mp3"}},
     "/v1/text_to_speech", "text_to_speech"),
    ({"type": "audio", "promptText": "rain on a tin roof", "duration": 4, "loop": True},
     "/v1/sound_effect", "sound_effect"),
])
def test_routed_audio_sends_each_model_an_official_body(monkeypatch, given, path, endpoint):
    """Whatever audio model the router picks, the task body it creates is valid for the spec's operation."""
    models = _spec_models(path, endpoint)
    monkeypatch.setattr(catalog, "models", lambda *a, **k: models)
    sent: list[tuple[str, dict]] = []

    class Created:
        id = "6f1c1a52-5b39-4c0e-9c55-0a6f3d1e2b11"
        estimated_cost = 3.0

    with manual_sim() as (sim, client):
        monkeypatch.setattr(sim.app.task_factory, "create", lambda ep, body, dialect: sent.append((ep, body))
                            or Created())
        for model in [m.model for m in models]:
            make_router(client, f"only-{model.replace('.', '-')}",
                        settings={"models": {"mode": "allowlist_only", "ids": [model]}})
            response = generate(client, "audio", f"only-{model.replace('.', '-')}", given)
            if response.status_code == 400:  # this model cannot serve the input (e.g. a preset on seed_audio)
                assert response.json()["code"] == "no_eligible_model"
                continue
            routing = check(response, "/v1/generate/audio", "post", 200)["routing"]
            assert routing["model"] == model and routing["resolvedInput"]["type"] == given["type"]
            ep, body = sent[-1]
            assert ep == endpoint and body["model"] == model
            jsonschema.Draft202012Validator(spec_request_schema(path, "post")).validate(body)
        assert sent  # at least one model served each input

"""The form panel submits every kind of operation: routed generation through a router picker
(the slugs from ``client.routers.list()``), and avatar videos and recipes through generic inputs
read from the model's JSON Schema. The form is filled the way the front end fills it (synced
traits with a revision count, uploads and Submit through the channel) and submitted on the
simulator; an invalid value shows the client's error, naming the field, and creates no task."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

import pytest
from PIL import Image

from runway_nb.notebook.widgets import Panel, TaskView
from runway_nb.notebook.widgets._panel import magic_text


def call(widget: Any, method: str, args: dict | None = None, buffers: Any = ()) -> None:
    """What the front end sends through the channel."""
    widget._on_custom(widget, {"kind": "rnb:call", "id": None, "method": method, "args": args or {}}, list(buffers))


def browser_sets(form: Any, **traits: Any) -> None:
    """What the front end does on a change: set the traits, count the revision."""
    with form.hold_trait_notifications():
        for name, value in traits.items():
            setattr(form, name, value)
        form.client_rev += 1
    assert form.checked_rev == form.client_rev  # the verdict is about this change


def fill(form: Any, **values: Any) -> None:
    """Type into the generic inputs, one at a time (a choice may bring in the next input)."""
    for key, value in values.items():
        assert key in {f["key"] for f in form.fields}, (key, form.fields)
        browser_sets(form, values={**form.values, key: value})


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(8000)))
    return out.getvalue()


@pytest.fixture
def panel(runway_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Panel()


def creates(runway_session: Any) -> int:
    return int(runway_session.client.simulator.stats.creates)


def submitted(panel: Any, runway_session: Any) -> Any:
    """Click Submit; the task it created, finished."""
    before = creates(runway_session)
    assert panel.form.valid, panel.form.reason
    call(panel.form, "submit")
    assert panel.form.error == ""
    assert creates(runway_session) == before + 1
    task = panel.handles[-1].wait(timeout=60)
    assert task.status == "SUCCEEDED", task.failure
    return task


def refused(panel: Any, runway_session: Any, field: str) -> str:
    """The form's reason names ``field``, and Submit creates nothing."""
    before = creates(runway_session)
    form = panel.form
    assert not form.valid
    assert field in form.reason, form.reason
    call(form, "submit")
    assert creates(runway_session) == before and len(panel.handles) == 0
    return str(form.reason)


# ---------------------------------------------------------------------- routed generation
def test_a_routed_operation_lists_the_routers_and_submits_with_the_chosen_one(panel, runway_session, ip):
    form = panel.form
    assert not form.takes_router and form.routers == []
    browser_sets(form, endpoint="generate/video", prompt="a paper boat on a pond")
    assert form.takes_router
    assert ["default", "default (Default router)"] in form.routers and form.router == "default"
    assert "--router default" in form.magic
    task = submitted(panel, runway_session)
    assert panel.handles[-1].params["configId"] == "default"
    assert task.routing is not None and task.routing.model  # the model the router picked
    assert isinstance(panel.views[0], TaskView)
    # the copied cell submits the same request
    assert ip.run_cell(panel.magic()).result.params == panel.handles[-1].params


def test_routers_are_listed_again_when_the_operation_becomes_routed(panel, runway_session):
    form = panel.form
    browser_sets(form, endpoint="generate/image", prompt="a lighthouse at dusk")
    assert [slug for slug, _ in form.routers] == ["default"]
    runway_session.client.routers.create("cheap-fast", name="Cheap and fast", settings={"optimizeFor": "cost"})
    browser_sets(form, endpoint="text_to_image")
    assert not form.takes_router and "router" not in form.combo()
    browser_sets(form, endpoint="generate/image")
    assert sorted(slug for slug, _ in form.routers) == ["cheap-fast", "default"]
    assert form.router == "default"  # the choice is kept while the router exists
    browser_sets(form, router="cheap-fast")
    submitted(panel, runway_session)
    assert panel.handles[-1].params["configId"] == "cheap-fast"
    assert "cheap-fast" in form.history[-1]["title"]


def test_routed_audio_speaks_with_a_voice_and_its_input_type_is_a_choice(panel, runway_session, ip):
    form = panel.form
    browser_sets(form, endpoint="generate/audio", prompt="Good morning, and welcome aboard.")
    assert [(f["key"], f["kind"], f["options"]) for f in form.fields] == [("input.type", "select", ["speech", "audio"])]
    assert form.values == {"input.type": "speech"} and form.voices and form.router == "default"
    browser_sets(form, voice=form.voices[1])
    task = submitted(panel, runway_session)
    params = panel.handles[-1].params
    assert params["input"]["type"] == "speech" and params["input"]["voice"]["presetId"] == form.voices[1]
    assert task.outputs and task.routing is not None
    assert ip.run_cell(panel.magic()).result.params == params


def test_an_invalid_router_slug_is_refused_by_the_client(panel, runway_session):
    browser_sets(panel.form, endpoint="generate/video", prompt="a paper boat")
    browser_sets(panel.form, router="Not A Slug!")
    reason = refused(panel, runway_session, "configId")
    assert reason.startswith("Router: ")


def test_without_a_router_the_form_says_so(panel, runway_session, monkeypatch):
    def no_routers() -> list[Any]:
        return []

    monkeypatch.setattr(runway_session.client.routers, "list", no_routers)
    browser_sets(panel.form, endpoint="generate/video", prompt="a paper boat")
    assert panel.form.routers == [] and panel.form.router == ""
    assert "client.routers.create" in refused(panel, runway_session, "Router")


# ---------------------------------------------------------------------- avatar videos
def test_an_avatar_video_from_generic_inputs(panel, runway_session, ip):
    form = panel.form
    browser_sets(form, endpoint="avatar_videos")
    keys = [f["key"] for f in form.fields]
    assert keys[:3] == ["avatar.type", "avatar.presetId", "speech.type"]
    assert {f["key"]: f["kind"] for f in form.fields}["avatar.presetId"] == "select"
    # speech as audio: an upload slot for the nested media field, and no voice picker
    assert form.values["speech.type"] == "audio" and "speech.audio" in [s["name"] for s in form.slots]
    assert form.voices == []
    fill(form, **{"speech.type": "text"})
    assert "speech.text" in [f["key"] for f in form.fields] and "speech.audio" not in [s["name"] for s in form.slots]
    assert form.voices  # the voice picker is back: a text speech has a voice
    fill(form, **{"avatar.presetId": "cooking-teacher", "speech.text": 'Stir, then taste: "salt" last.'})
    browser_sets(form, voice="nina")
    submitted(panel, runway_session)
    params = panel.handles[-1].params
    assert params["avatar"] == {"type": "runway-preset", "presetId": "cooking-teacher"}
    assert params["speech"]["text"] == 'Stir, then taste: "salt" last.'
    assert params["speech"]["voice"]["presetId"] == "nina"
    assert "-p speech.text=" in panel.magic()
    assert ip.run_cell(panel.magic()).result.params == params


def test_an_avatar_speaking_an_uploaded_recording(panel, runway_session):
    form = panel.form
    browser_sets(form, endpoint="avatar_videos")
    call(form, "upload", {"slot": "speech.audio", "name": "line.wav", "mime": "audio/wav"}, [wav_bytes()])
    assert form.uploads["speech.audio"]["name"] == "line.wav"
    task = submitted(panel, runway_session)
    assert panel.handles[-1].params["speech"]["type"] == "audio"
    assert task.outputs


def test_an_invalid_avatar_id_shows_the_clients_error(panel, runway_session):
    form = panel.form
    browser_sets(form, endpoint="avatar_videos")
    fill(form, **{"speech.type": "text"})
    fill(form, **{"speech.text": "Hello.", "avatar.type": "custom"})
    fill(form, **{"avatar.avatarId": "not-a-uuid"})
    reason = refused(panel, runway_session, "avatar.avatarId")
    assert "not-a-uuid" in reason


# ---------------------------------------------------------------------- recipes
def test_a_product_ad_from_an_uploaded_product_image(panel, runway_session, ip, tmp_path):
    form = panel.form
    browser_sets(form, endpoint="recipes/product_ad", prompt="sunlit kitchen, slow push in")
    assert [f["key"] for f in form.fields] == ["version"]
    assert form.values["version"] == form.fields[0]["options"][0]
    slot = next(s for s in form.slots if s["name"] == "productImages")
    assert slot["accept"] == "image/*" and slot["required"]
    assert not form.valid and "productImages" in form.reason
    call(form, "upload", {"slot": "productImages", "name": "mug.png", "mime": "image/png"}, [png_bytes()])
    fill(form, version="unsafe-latest")
    task = submitted(panel, runway_session)
    params = panel.handles[-1].params
    assert params["version"] == "unsafe-latest" and len(params["productImages"]) == 1
    assert task.outputs
    assert ip.run_cell(panel.magic()).result.params == params


def test_a_product_image_that_is_not_https_is_refused(panel, runway_session):
    form = panel.form
    browser_sets(form, endpoint="recipes/product_ad", urls={"productImages": "ftp://example.com/mug.png"})
    refused(panel, runway_session, "productImages")


def test_a_marketing_stock_image_with_its_version(panel, runway_session, ip):
    form = panel.form
    browser_sets(form, endpoint="recipes/marketing_stock_image", prompt="a lemon on a blue table")
    assert [(f["key"], f["kind"]) for f in form.fields] == [("version", "select")]
    task = submitted(panel, runway_session)
    assert panel.handles[-1].params["version"] == form.values["version"]
    assert task.outputs
    assert ip.run_cell(panel.magic()).result.params == panel.handles[-1].params


def test_a_version_the_recipe_does_not_have_never_reaches_the_request(panel):
    form = panel.form
    browser_sets(form, endpoint="recipes/marketing_stock_image", prompt="a lemon", values={"version": "1999-01"})
    assert form.values["version"] in form.fields[0]["options"]  # a select shows only what it offers


def test_a_prompt_over_the_recipes_limit_is_refused(panel, runway_session):
    browser_sets(panel.form, endpoint="recipes/marketing_stock_image", prompt="x" * 3501)
    refused(panel, runway_session, "prompt")


# ---------------------------------------------------------------------- the generic inputs
def test_generic_inputs_follow_the_schema(panel):
    form = panel.form
    browser_sets(form, endpoint="recipes/multi_shot_video")
    assert [(f["key"], f["kind"]) for f in form.fields][:2] == [("mode", "select"), ("version", "select")]
    fill(form, mode="custom")
    shots = next(f for f in form.fields if f["key"] == "shots")
    assert shots["kind"] == "json"  # a list of objects: typed as JSON
    browser_sets(form, endpoint="recipes/product_swap")
    kinds = {s["name"]: s["accept"] for s in form.slots}
    assert kinds["referenceVideo"] == "video/*" and kinds["newProductImages"] == "image/*"


def test_panel_set_takes_generic_inputs_by_request_path(panel, runway_session):
    panel.set(type="avatar_videos",
              fields={"speech.type": "text", "speech.text": "Hi.", "avatar.presetId": "influencer"})
    assert panel.form.valid, panel.form.reason
    with pytest.raises(TypeError, match="not an input"):
        panel.set(fields={"speech.nope": 1})
    assert panel.submit() is not None
    panel.set(type="text_to_video")
    panel.load(1)
    assert panel.form.endpoint == "avatar_videos" and panel.form.values["speech.text"] == "Hi."


@pytest.mark.parametrize("value", ["plain", "true", "12", "a, b", 'say "hi"', "{name} here", "two  spaces"])
def test_param_values_round_trip_through_the_magic(value, ip, runway_session):
    text = magic_text({"type": "avatar_videos", "model": "gwm1_avatars", "avatar.type": "runway-preset",
                       "avatar.presetId": "influencer", "speech.type": "text", "speech.text": value},
                      "avatar_videos")
    handle = ip.run_cell(text).result
    assert handle.params["speech"]["text"] == value

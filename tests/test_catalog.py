"""Model catalog and request validation.

The built-in validator must agree with ``jsonschema`` (Draft 2020-12) run against Runway's own
OpenAPI request schemas, for valid bodies and for a set of mutations of them.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_docs import OPENAPI_SPEC, shared_file, shared_path

from runway_nb.api import catalog
from runway_nb.errors import ValidationError

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[1]
SPEC_PATH = shared_path(OPENAPI_SPEC)
CATALOG_JSON = REPO / "runway_nb" / "api" / "catalog.json"

needs_spec = pytest.mark.needs_shared(OPENAPI_SPEC)


def _build_module():
    spec = importlib.util.spec_from_file_location("build_catalog", REPO / "tools" / "build_catalog.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


_REQUEST_SCHEMAS: dict[str, dict] = {}


def request_schema(endpoint: str) -> dict:
    """The request-body schema of ``endpoint`` straight from the OpenAPI file ($refs resolved)."""
    if endpoint not in _REQUEST_SCHEMAS:
        spec = json.loads(shared_file(OPENAPI_SPEC).read_text("utf-8"))
        body = spec["paths"][f"/v1/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]
        _REQUEST_SCHEMAS[endpoint] = _build_module().resolve_refs(body["schema"], spec)
    return _REQUEST_SCHEMAS[endpoint]


def jsonschema_errors(info: catalog.ModelInfo, body: dict) -> list[str]:
    """jsonschema's verdict: spec models against the spec's request schema (the whole oneOf),
    hand-made models (legacy, SDK-only) against their catalog schema."""
    schema = request_schema(info.endpoint) if info.source.startswith("openapi") else info.schema
    validator = jsonschema.Draft202012Validator(schema)
    return [e.message for e in validator.iter_errors(body)]


def ours_ok(endpoint: str, body: dict) -> tuple[bool, str]:
    try:
        info = catalog.find_for_body(endpoint, body)
        catalog.validate(endpoint, body, strict=info is None or info.retired is None)
    except ValidationError as e:
        return False, str(e)
    return True, ""


# ---------------------------------------------------------------------------------------------
# Contents


def test_endpoints_are_every_task_operation_of_the_spec_and_the_sdk():
    spec = json.loads(shared_file(OPENAPI_SPEC).read_text("utf-8"))
    starts_a_task = set()
    for path, ops in spec["paths"].items():
        post = ops.get("post")
        if not post or "{" in path:
            continue
        props = post["responses"].get("200", {}).get("content", {}).get("application/json", {}) \
            .get("schema", {}).get("properties", {})
        if "id" in props and len(props) <= 3 and path.split("/")[2] not in \
                ("realtime_sessions", "voices", "avatars", "documents", "routers", "uploads"):
            starts_a_task.add(path[len("/v1/"):])
    assert len(starts_a_task) == 23
    assert set(catalog.ENDPOINTS) == starts_a_task | {"video_to_audio", "video_to_hdr"}  # SDK 5.24
    assert catalog.ENDPOINTS[:4] == ("image_to_video", "text_to_video", "video_to_video", "text_to_image")
    for ep in catalog.ENDPOINTS:
        assert catalog.models(ep), ep
    kinds = {ep: catalog.models(ep)[0].output for ep in catalog.ENDPOINTS}
    assert {ep for ep, k in kinds.items() if k == "audio"} == {
        "sound_effect", "speech_to_speech", "text_to_speech", "voice_dubbing", "voice_isolation",
        "generate/audio", "video_to_audio"}
    assert {ep for ep, k in kinds.items() if k == "image"} == {
        "text_to_image", "image_upscale", "generate/image", "recipes/ad_localization",
        "recipes/marketing_stock_image", "recipes/product_campaign_image"}


def test_models_newer_than_the_spec_come_from_the_sdk():
    newer = {(m.endpoint, m.model) for m in catalog.models() if m.source.startswith("runwayml")}
    for key in [("sound_effect", "mirelo_sfx_2_0"), ("video_to_hdr", "ruby"), ("text_to_speech", "eleven_v4"),
                ("text_to_image", "nano_banana_2.1"), ("image_to_video", "kling_4"),
                ("video_upscale", "enhance_frame_rate")]:
        assert key in newer, key
    assert sum(1 for e, _ in newer if e == "text_to_image") == 13
    v4 = catalog.get("text_to_speech", "eleven_v4")
    assert v4.voices is not None and "Maya" in v4.voices["presets"] and v4.voices["path"] == "voice"
    mirelo = catalog.get("video_to_audio", "mirelo_sfx_2_0")
    assert mirelo.output == "audio" and mirelo.media_fields == {"videoUri": "video"}
    assert mirelo.output_count == {"field": "numVariants", "max": None, "default": 1}
    assert {"duration", "videoUri"} <= mirelo.required


def test_operations_without_a_model_field():
    ad = catalog.get("recipes/product_ad", "product_ad")
    assert not ad.sends_model and ad.output == "video" and ad.prompt_field == "userConcept"
    routed = catalog.get("generate/audio", "router")
    assert routed.prompt_field == "input.promptText" and routed.voices["path"] == "input.voice"
    body = catalog.example_body("generate/audio", "router")
    assert "model" not in body and body["input"]["promptText"]
    catalog.validate("generate/audio", body)


def test_the_package_and_the_build_tool_agree_on_endpoints_and_the_seed_range():
    build = _build_module()
    stored = json.loads(CATALOG_JSON.read_text("utf-8"))
    assert tuple(stored["endpoints"]) == catalog.ENDPOINTS == tuple(stored["operations"])
    assert build.SEED_FIELD["maximum"] == catalog.SEED_MAX


SEED_MODELS = {  # shared/seeds/000_*: the models that third-party schema names
    "gen4": ["image_to_video"],
    "gen4_turbo": ["image_to_video"],
    "gen4.5": ["image_to_video", "text_to_video"],
    "gen4_aleph": ["video_to_video"],
    "veo3.1": ["image_to_video", "text_to_video"],
    "veo3.1_fast": ["image_to_video", "text_to_video"],
    "veo3": ["image_to_video", "text_to_video"],
    "gen4_image": ["text_to_image"],
    "act_two": ["character_performance"],
}
CORE_MODELS = {  # reference §3: the core models
    "gen4_image": ["text_to_image"],
    "gen4_image_turbo": ["text_to_image"],
    "gen4_turbo": ["image_to_video"],
    "gen4.5": ["image_to_video", "text_to_video"],
    "veo3.1": ["image_to_video", "text_to_video"],
    "veo3.1_fast": ["image_to_video", "text_to_video"],
    "aleph2": ["video_to_video"],
    "act_two": ["character_performance"],
    "magnific_video_upscaler_creative": ["video_upscale"],
    "enhance_frame_rate": ["video_upscale"],
}


@pytest.mark.parametrize("table", [SEED_MODELS, CORE_MODELS], ids=["seed", "core"])
def test_models_on_the_right_endpoints(table):
    for model, eps in table.items():
        assert catalog.endpoints_for_model(model) == eps, model
        for ep in eps:
            info = catalog.get(ep, model)
            assert info.endpoint == ep and info.model == model


def test_legacy_models_are_marked():
    legacy = {(m.endpoint, m.model) for m in catalog.models() if m.legacy}
    assert legacy == {("image_to_video", "gen4"), ("video_to_video", "gen4_aleph"),
                      ("image_to_video", "veo3"), ("text_to_video", "veo3"),
                      ("image_to_video", "gen3a_turbo"), ("video_upscale", "upscale_v1")}
    for ep, model in legacy:
        info = catalog.get(ep, model)
        assert info.note and "refuse" in info.note
        assert info.source and not info.source.startswith("openapi")
    assert catalog.get("video_upscale", "enhance_frame_rate").legacy is False
    names = [m.model for m in catalog.models("image_to_video", include_legacy=False)]
    assert "gen4_turbo" in names and "gen3a_turbo" not in names and "veo3" not in names


def test_legacy_constraints():
    g4 = catalog.get("image_to_video", "gen4")
    assert g4.ratios == ("1280:720", "1584:672", "1104:832", "720:1280", "832:1104", "960:960")
    assert g4.durations == (5, 10) and g4.prompt_max == 1000 and "promptImage" in g4.required
    al = catalog.get("video_to_video", "gen4_aleph")
    assert {"videoUri", "promptText"} <= al.required and set(al.ratios) == set(g4.ratios)
    for ep in ("image_to_video", "text_to_video"):
        v3 = catalog.get(ep, "veo3")
        assert v3.durations == (8,) and v3.default_duration == 8
        assert v3.ratios == ("1280:720", "720:1280", "1080:1920", "1920:1080")
    g3 = catalog.get("image_to_video", "gen3a_turbo")
    assert g3.ratios == ("1280:768", "768:1280") and g3.durations == (5, 10)
    assert g3.default_duration == 10 and "promptText" in g3.required
    up = catalog.get("video_upscale", "upscale_v1")
    assert up.fields == {"model", "videoUri"} and up.media_fields == {"videoUri": "video"}


def test_facts_of_core_models():
    g45 = catalog.get("text_to_video", "gen4.5")
    assert g45.output == "video" and g45.ratios == ("1280:720", "720:1280")
    assert g45.durations == tuple(range(2, 11)) and g45.default_duration == 5
    assert g45.prompt_field == "promptText" and (g45.prompt_min, g45.prompt_max) == (1, 1000)
    assert g45.required == {"model", "promptText", "ratio", "duration"}
    veo = catalog.get("image_to_video", "veo3.1")
    assert veo.durations == (4, 6, 8) and veo.default_duration == 4
    assert veo.media_fields == {"promptImage": "image"}
    img = catalog.get("text_to_image", "gen4_image")
    assert img.output == "image" and img.durations is None and img.default_duration is None
    assert img.default_ratio == "1280:720" and img.media_fields == {"referenceImages": "image list"}
    act = catalog.get("character_performance", "act_two")
    assert act.media_fields == {"character": "image|video", "reference": "video"}
    assert act.prompt_field is None and act.default_ratio == "1280:720"
    al = catalog.get("video_to_video", "aleph2")
    assert al.ratios == () and al.default_ratio is None  # ratio is a free (deprecated) string
    assert al.media_fields == {"videoUri": "video", "keyframes": "image list"}
    assert catalog.get("video_to_video", "seedance2").media_fields["promptVideo"] == "video"
    assert catalog.get("image_to_video", "seedance2").media_fields["referenceAudio"] == "audio list"
    hai = catalog.get("text_to_video", "hailuo3")
    assert hai.default_ratio == "16:9"  # never "adaptive" (text-only needs a concrete ratio)
    for m in catalog.models():
        assert m.output == catalog.OUTPUT_KINDS[m.endpoint]
        assert m.fields >= m.required and ("model" in m.required) == m.sends_model
        if m.ratios:
            assert m.default_ratio in m.ratios
        if m.durations is not None:
            assert list(m.durations) == sorted(m.durations) and m.default_duration in m.durations
        assert m.credits.get("unit") in ("image", "second", "task") and m.credits.get("rate", 0) > 0
        assert "seed" not in m.fields or m.schema["properties"]["seed"]["maximum"] == 4294967295


def test_get_errors():
    with pytest.raises(ValidationError) as ei:
        catalog.get("text_to_video", "gen4_turbo")
    assert ei.value.field == "model" and "gen4.5" in ei.value.allowed
    assert "image_to_video" in str(ei.value)
    with pytest.raises(ValidationError) as ei:
        catalog.get("text_to_music", "x")
    assert ei.value.field == "endpoint" and "text_to_video" in ei.value.allowed
    with pytest.raises(ValidationError):
        catalog.models("nope")
    assert catalog.endpoints_for_model("no_such_model") == []


@needs_spec
def test_shipped_catalog_is_up_to_date(tmp_path):
    build = _build_module()
    out = tmp_path / "catalog.json"
    assert build.main([str(SPEC_PATH), "--out", str(out)]) == 0
    assert out.read_text("utf-8") == CATALOG_JSON.read_text("utf-8"), \
        "runway_nb/api/catalog.json is stale: run python tools/build_catalog.py"


@needs_spec
def test_catalog_schemas_match_the_spec():
    """Every spec-derived schema is the spec's oneOf branch, minus description/example."""
    build = _build_module()
    spec_paths = json.loads(shared_file(OPENAPI_SPEC).read_text("utf-8"))["paths"]
    for ep in catalog.ENDPOINTS:
        if f"/v1/{ep}" not in spec_paths:
            continue  # newer than the spec copy (from the SDK)
        schema = request_schema(ep)
        if "oneOf" not in schema or "model" not in schema["oneOf"][0].get("properties", {}):
            # one schema: one entry (no model field for recipes and routing)
            (info,) = catalog.models(ep)
            assert info.schema == build.minimise(schema)
            assert info.sends_model == ("model" in schema.get("properties", {}))
            continue
        branches = {build.model_name(b): b for b in schema["oneOf"]}
        for info in catalog.models(ep):
            if info.source.startswith("openapi"):
                assert info.schema == build.minimise(branches[info.model])
            else:
                assert info.model not in branches  # hand entries only fill gaps


def test_package_does_not_read_shared_and_loads_lazily():
    for path in sorted((REPO / "runway_nb" / "api").glob("*.py")):
        src = path.read_text("utf-8")
        assert "shared" not in src and "../" not in src and "openapi-2024" not in src, path.name
    code = ("import sys, runway_nb.api.catalog as c, runway_nb.api.catalog_data as data; "
            "assert not data.is_loaded(); c.models(); assert data.is_loaded()")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ---------------------------------------------------------------------------------------------
# Reference §3.1 bodies

REFERENCE_VALID = [
    ("text_to_image", {"model": "gen4_image", "promptText": "a red fox in snow", "ratio": "1920:1080"}),
    ("image_to_video", {"model": "gen4_turbo", "promptImage": "https://example.com/a.jpg",
                        "ratio": "1280:720", "duration": 5, "promptText": "slow dolly in"}),
    ("image_to_video", {"model": "gen4.5", "promptImage": [{"uri": "runway://0123456789abcdef",
                                                            "position": "first"}],
                        "promptText": "…", "ratio": "1280:720", "duration": 5}),
    ("text_to_video", {"model": "veo3.1_fast", "promptText": "…", "ratio": "1920:1080",
                       "duration": 8, "audio": False}),
    ("video_to_video", {"model": "aleph2", "videoUri": "https://example.com/in.mp4",
                        "promptText": "make it snow"}),
    ("video_upscale", {"model": "magnific_video_upscaler_creative",
                       "videoUri": "https://example.com/in.mp4", "resolution": "4k"}),
    ("character_performance", {"model": "act_two",
                               "character": {"type": "image", "uri": "https://example.com/face.png"},
                               "reference": {"type": "video", "uri": "https://example.com/perf.mp4"},
                               "ratio": "1280:720"}),
]
REFERENCE_INVALID = [
    ("text_to_video", {"model": "gen4.5", "promptText": "a", "ratio": "1104:832", "duration": 5},
     "ratio"),
    ("text_to_video", {"model": "veo3.1", "promptText": "a", "ratio": "1280:720", "duration": 5},
     "duration"),
]


@needs_spec
@pytest.mark.parametrize("endpoint,body", REFERENCE_VALID, ids=lambda x: str(x)[:30])
def test_reference_valid_bodies(endpoint, body):
    catalog.validate(endpoint, body)
    assert jsonschema_errors(catalog.get(endpoint, body["model"]), body) == []


@needs_spec
@pytest.mark.parametrize("endpoint,body,field", REFERENCE_INVALID, ids=["gen4.5-ratio", "veo-5s"])
def test_reference_invalid_bodies(endpoint, body, field):
    with pytest.raises(ValidationError) as ei:
        catalog.validate(endpoint, body)
    assert ei.value.field == field
    assert jsonschema_errors(catalog.get(endpoint, body["model"]), body)


# ---------------------------------------------------------------------------------------------
# Agreement with jsonschema for every model

ALL = [(m.endpoint, m.model) for m in catalog.models()]


@needs_spec
@pytest.mark.parametrize("endpoint,model", ALL, ids=[f"{e}:{m}" for e, m in ALL])
def test_minimal_body_valid_for_both(endpoint, model):
    info = catalog.get(endpoint, model)
    body = catalog.example_body(endpoint, model)
    for req in info.required:
        assert req in body
    if info.ratios:
        assert body["ratio"] == info.default_ratio
    if info.durations:
        assert body["duration"] == info.default_duration
    if info.prompt_field:
        assert body[info.prompt_field] if "." not in info.prompt_field else body["input"]["promptText"]
    catalog.validate(endpoint, body, strict=info.retired is None)
    assert jsonschema_errors(info, body) == []


def _mutations(info: catalog.ModelInfo) -> list[tuple[str, dict]]:
    base = catalog.example_body(info.endpoint, info.model)
    props = info.schema.get("properties", {})
    out: list[tuple[str, dict]] = []

    def mut(name, **changes):
        b = copy.deepcopy(base)
        for k, v in changes.items():
            if v is _DELETE:
                b.pop(k, None)
            else:
                b[k] = v
        out.append((name, b))

    if info.ratios:
        mut("bad_ratio", ratio="1234:567")
        mut("ratio_as_number", ratio=1280)
    if info.durations:
        mut("duration_too_long", duration=max(info.durations) + 1)
        mut("duration_too_short", duration=min(info.durations) - 1)
        gaps = [d for d in range(int(min(info.durations)), int(max(info.durations)))
                if d not in info.durations]
        if gaps:
            mut("duration_gap", duration=gaps[0])
        mut("duration_bool", duration=True)
        mut("duration_string", duration=str(info.default_duration))
    if info.prompt_field and "." not in info.prompt_field:
        if info.prompt_max is not None:
            mut("prompt_too_long", **{info.prompt_field: "x" * (info.prompt_max + 1)})
        if info.prompt_min:
            mut("prompt_empty", **{info.prompt_field: ""})
        mut("prompt_wrong_type", **{info.prompt_field: 123})
    for req in sorted(info.required - {"model"}):
        mut(f"missing_{req}", **{req: _DELETE})
    if info.schema.get("additionalProperties") is False:
        mut("unknown_field", bogusField=1)
    if "seed" in props:
        mut("seed_too_big", seed=4294967296)
        mut("seed_negative", seed=-1)
        mut("seed_fraction", seed=1.5)
        mut("seed_bool", seed=True)
    for name, kind in info.media_fields.items():
        if "list" not in kind and name in base and isinstance(base[name], str):
            mut(f"{name}_not_https", **{name: "http://example.com/input.jpg"})
            mut(f"{name}_wrong_type", **{name: 42})
    return out


class _Del:
    pass


_DELETE = _Del()

MUTATIONS = [(m.endpoint, m.model, name, body) for m in catalog.models()
             for name, body in _mutations(m)]


@needs_spec
@pytest.mark.parametrize("endpoint,model,name,body", MUTATIONS,
                         ids=[f"{e}:{m}:{n}" for e, m, n, _ in MUTATIONS])
def test_mutation_rejected_by_both(endpoint, model, name, body):
    info = catalog.get(endpoint, model)
    ok, msg = ours_ok(endpoint, body)
    theirs = jsonschema_errors(info, body)
    assert not ok, f"our validator accepted {name}"
    assert theirs, f"jsonschema accepted {name}: our message was {msg!r}"


def test_every_model_has_mutations():
    names = {(e, m) for e, m, _, _ in MUTATIONS}
    assert names == set(ALL)
    assert len(MUTATIONS) > 300


# ---------------------------------------------------------------------------------------------
# Messages


def _err(endpoint, body, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as ei:
        catalog.validate(endpoint, body, **kw)
    return ei.value


def test_message_ratio_names_field_value_and_allowed():
    e = _err("text_to_video", {"model": "gen4.5", "promptText": "a", "ratio": "1104:832",
                               "duration": 5})
    assert str(e).startswith("ratio='1104:832' is not allowed for model gen4.5 on text_to_video; "
                             "allowed: 1280:720, 720:1280")
    assert e.field == "ratio" and e.value == "1104:832" and e.allowed == ["1280:720", "720:1280"]


def test_message_duration():
    e = _err("text_to_video", {"model": "veo3.1", "promptText": "a", "ratio": "1280:720",
                               "duration": 5})
    assert str(e) == "duration=5 is not allowed for model veo3.1; allowed: 4, 6, 8"
    e = _err("image_to_video", {"model": "gen4.5", "promptText": "a", "ratio": "1280:720",
                                "promptImage": "https://example.com/a.jpg", "duration": 11})
    assert "duration=11" in str(e) and "2 to 10" in str(e)


def test_message_bool_is_not_an_integer():
    e = _err("image_to_video", {"model": "gen4_turbo", "promptImage": "https://example.com/a.jpg",
                                "ratio": "1280:720", "duration": True})
    assert e.field == "duration" and "integer" in str(e) and "boolean" in str(e)
    e = _err("text_to_image", {"model": "gemini_image3_pro", "promptText": "a",
                               "ratio": "1024:1024", "outputCount": True})
    assert e.field == "outputCount"


def test_message_required_and_order():
    e = _err("text_to_video", {"model": "gen4.5", "ratio": "9:9", "duration": 5})
    assert str(e).startswith("promptText is required for model gen4.5")
    assert e.field == "promptText"
    assert len(e.errors) == 2 and e.errors[1].field == "ratio"
    e = _err("image_to_video", {"model": "gen4.5", "promptText": "a", "ratio": "1280:720",
                                "duration": 5})
    assert str(e).startswith("promptImage is required for model gen4.5 on image_to_video")
    # model problems come first
    e = _err("text_to_video", {"model": "gen5", "ratio": "bad"})
    assert e.field == "model" and "gen4.5" in e.allowed


def test_message_prompt_length_in_utf16_units():
    base = {"model": "gen4_turbo", "promptImage": "https://example.com/a.jpg", "ratio": "1280:720"}
    e = _err("image_to_video", {**base, "promptText": "x" * 1201})
    assert str(e) == "promptText is 1201 characters; model gen4_turbo allows at most 1000"
    catalog.validate("image_to_video", {**base, "promptText": "😀" * 500})  # 1000 units
    e = _err("image_to_video", {**base, "promptText": "😀" * 501})  # 501 code points, 1002 units
    assert "1002 characters" in str(e)
    e = _err("image_to_video", {**base, "promptText": ""})
    assert e.field == "promptText" and "at least 1" in str(e)


def test_message_uri_forms():
    base = {"model": "gen4_turbo", "ratio": "1280:720"}
    e = _err("image_to_video", {**base, "promptImage": "ftp://example.com/a.jpg"})
    assert e.field == "promptImage"
    assert ("promptImage must be an https:// URL (≤2048 chars), a runway:// upload URI (≤5000) "
            "or a data:image/… URI (≤5,242,880 chars)") in str(e)
    e = _err("image_to_video", {**base, "promptImage": "https://example.com/" + "a" * 3000})
    assert "2048" in str(e) and "runway://" in str(e)
    e = _err("image_to_video", {**base, "promptImage": "data:image/png;base64," + "A" * 5_242_880})
    assert "5,242,880" in str(e)
    long_value = "data:video/mp4;base64," + "A" * 100
    e = _err("image_to_video", {**base, "promptImage": long_value})
    assert "data:image/" in str(e) and len(str(e)) < 600


def test_message_nested_path():
    e = _err("image_to_video", {"model": "veo3.1", "ratio": "1280:720", "promptImage": [
        {"uri": "https://example.com/a.jpg", "position": "first"},
        {"uri": "https://example.com/b.jpg", "position": "middle"}]})
    assert e.field == "promptImage[1].position" and "first, last" in str(e)
    e = _err("text_to_image", {"model": "gen4_image", "promptText": "a", "ratio": "1280:720",
                               "referenceImages": [{"uri": "https://example.com/a.jpg",
                                                    "tag": "Bad-Tag"}]})
    assert e.field == "referenceImages[0].tag" and "Bad-Tag" in str(e)
    e = _err("character_performance", {
        "model": "act_two", "character": {"type": "audio", "uri": "https://example.com/a.mp3"},
        "reference": {"type": "video", "uri": "https://example.com/b.mp4"}})
    assert e.field == "character.type" and "image, video" in str(e)
    e = _err("video_to_video", {"model": "aleph2", "videoUri": "https://example.com/in.mp4",
                                "keyframes": [{"uri": "https://example.com/k.jpg", "seconds": 31}]})
    assert e.field == "keyframes[0].seconds"


def test_message_unknown_field_suggests():
    e = _err("text_to_image", {"model": "gpt_image_2", "promptText": "a", "ratio": "auto",
                               "qualty": "high"})
    assert e.field == "qualty" and "quality" in str(e) and "quality" in e.allowed


def test_message_truncates_huge_values():
    e = _err("text_to_video", {"model": "gen4.5", "promptText": "a", "ratio": "x" * 100_000,
                               "duration": 5})
    assert len(str(e)) < 500


def test_prose_rules():
    base = {"model": "veo3.1", "ratio": "1280:720"}
    e = _err("image_to_video", {**base, "promptImage": [
        {"uri": "https://example.com/a.jpg", "position": "last"}]})
    assert "last" in str(e)
    catalog.validate("image_to_video", {**base, "promptImage": [
        {"uri": "https://example.com/a.jpg", "position": "first"},
        {"uri": "https://example.com/b.jpg", "position": "last"}]})
    e = _err("text_to_video", {"model": "hailuo3", "promptText": "a", "ratio": "adaptive"})
    assert e.field == "ratio" and "16:9" in str(e)
    e = _err("image_to_video", {"model": "seedance2", "promptImage": [
        {"uri": "https://example.com/a.jpg", "position": "first"},
        {"uri": "https://example.com/b.jpg"}]})
    assert "mixes" in str(e)
    e = _err("video_to_video", {"model": "seedance2_5", "promptVideo": "https://example.com/v.mp4",
                                "mode": "extend", "ratio": "1280:720"})
    assert e.field == "promptText"


def test_strict_false_allows_unknown_model_with_basic_checks():
    e = _err("text_to_video", {"model": "gen9", "promptText": "a"})
    assert e.field == "model"
    catalog.validate("text_to_video", {"model": "gen9", "promptText": "a", "seed": 7,
                                       "anything": [1]}, strict=False)
    for bad in ({"seed": 4294967296}, {"seed": True}, {"promptText": 5}, {"duration": True},
                {"ratio": 16}):
        with pytest.raises(ValidationError):
            catalog.validate("text_to_video", {"model": "gen9", **bad}, strict=False)
    with pytest.raises(ValidationError):  # a missing model is never fine
        catalog.validate("text_to_video", {"promptText": "a"}, strict=False)
    with pytest.raises(ValidationError):  # known models are still fully checked
        catalog.validate("text_to_video", {"model": "gen4.5", "promptText": "a",
                                           "ratio": "1", "duration": 5}, strict=False)


def test_validate_rejects_bad_endpoint_and_body():
    e = _err("text_to_music", {"model": "x"})
    assert e.field == "endpoint"
    with pytest.raises(ValidationError):
        catalog.validate("text_to_video", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_retired_models_are_explained_and_validate_only_when_not_strict():
    body = {"model": "gen3a_turbo", "promptImage": "https://example.com/a.jpg", "promptText": "a",
            "ratio": "768:1280", "duration": 10}
    e = _err("image_to_video", body)
    assert e.field == "model" and "retired" in str(e) and "use gen4_turbo" in str(e) and "strict=False" in str(e)
    catalog.validate("image_to_video", body, strict=False)
    with pytest.raises(ValidationError) as info:
        catalog.validate("text_to_video", {"model": "veo3", "promptText": "a", "ratio": "1280:720",
                                           "duration": 6}, strict=False)
    assert info.value.field == "duration" and "8" in str(info.value)
    catalog.validate("video_upscale", {"model": "upscale_v1", "videoUri": "https://example.com/v.mp4"},
                     strict=False)
    assert "use veo3.1" in str(_err("text_to_video", {"model": "veo3", "promptText": "a"}))


# ---------------------------------------------------------------------------------------------
# Credits, sizes, durations, endpoint inference


def test_estimate_credits_core_models():
    est = catalog.estimate_credits
    assert est("text_to_image", {"model": "gen4_image", "promptText": "a", "ratio": "1280:720"}) == 5
    assert est("text_to_image", {"model": "gen4_image", "promptText": "a", "ratio": "1920:1080"}) == 8
    assert est("text_to_image", {"model": "gen4_image_turbo", "ratio": "1920:1080"}) == 2
    assert est("image_to_video", {"model": "gen4_turbo", "duration": 10}) == 50
    assert est("image_to_video", {"model": "gen4_turbo"}) == 25  # default 5 s
    assert est("text_to_video", {"model": "gen4.5", "duration": 10}) == 120
    assert est("text_to_video", {"model": "gen4.5", "duration": 10, "outputFormat": "prores"}) == 170
    assert est("text_to_video", {"model": "veo3.1", "duration": 8}) == 320
    assert est("text_to_video", {"model": "veo3.1", "duration": 8, "audio": False}) == 160
    assert est("image_to_video", {"model": "veo3.1_fast", "duration": 8}) == 120
    assert est("image_to_video", {"model": "veo3.1_fast", "duration": 4, "audio": False}) == 40
    assert est("video_to_video", {"model": "aleph2"}, input_duration=10) == 150
    assert est("video_to_video", {"model": "aleph2"}) == 75  # nominal 5 s input
    assert est("character_performance", {"model": "act_two"}, input_duration=6) == 30
    assert est("video_upscale", {"model": "magnific_video_upscaler_creative"},
               input_duration=10) == 20
    assert est("video_upscale", {"model": "enhance_frame_rate"}, input_duration=4) == 8
    assert est("text_to_video", {"model": "unknown_model"}) is None
    rough = catalog.get("text_to_video", "seedance2").credits
    assert rough["estimate"] == "rough"
    assert est("text_to_video", {"model": "seedance2", "duration": 4}) > 0
    assert est("text_to_image", {"model": "seedream5_pro", "outputCount": 3}) == \
        3 * est("text_to_image", {"model": "seedream5_pro"})


def test_output_size():
    size = catalog.output_size
    assert size("text_to_image", {"model": "gen4_image", "ratio": "1920:1080"}) == (1920, 1080)
    assert size("image_to_video", {"model": "gen4_turbo", "ratio": "1584:672"}) == (1584, 672)
    assert size("image_to_video", {"model": "gen4_turbo"}) == (1280, 720)  # default ratio
    assert size("image_to_video", {"model": "hailuo3", "ratio": "16:9"}) == (1280, 720)
    assert size("image_to_video", {"model": "hailuo3", "ratio": "9:16"}) == (720, 1280)
    assert size("image_to_video", {"model": "hailuo3", "ratio": "1:1"}) == (960, 960)
    assert size("image_to_video", {"model": "hailuo3", "ratio": "21:9"}) == (1680, 720)
    assert size("image_to_video", {"model": "hailuo3", "ratio": "adaptive"}) == (1280, 720)
    assert size("image_to_video", {"model": "hailuo3", "ratio": "16:9",
                                   "resolution": "768P"}) == (1366, 768)
    assert size("text_to_image", {"model": "seedream5_pro", "ratio": "auto_1k"}) == (1280, 720)
    assert size("text_to_image", {"model": "gpt_image_2", "ratio": "auto"}) == (1280, 720)
    assert size("video_to_video", {"model": "aleph2", "targetAspectRatio": "4:3"}) == (960, 720)
    assert size("video_upscale", {"model": "magnific_video_upscaler_creative",
                                  "resolution": "4k"}) == (3840, 2160)
    assert size("video_upscale", {"model": "magnific_video_upscaler_creative"}) == (2560, 1440)
    assert size("character_performance", {"model": "act_two", "ratio": "960:960"}) == (960, 960)
    for w, h in (size(m.endpoint, catalog.example_body(m.endpoint, m.model))
                 for m in catalog.models()):
        assert w > 0 and h > 0 and w % 2 == 0 and h % 2 == 0
    assert catalog.ratio_size("3:4") == (720, 960)
    assert catalog.ratio_size("4:3") == (960, 720)
    assert catalog.ratio_size("1280:720") == (1280, 720)
    assert catalog.ratio_sizes()["16:9"] == (1280, 720)
    with pytest.raises(ValidationError):
        catalog.ratio_size("wide")


def test_output_duration():
    dur = catalog.output_duration
    assert dur("text_to_image", {"model": "gen4_image"}) is None
    assert dur("image_to_video", {"model": "gen4_turbo", "duration": 10}) == 10
    assert dur("image_to_video", {"model": "gen4_turbo"}) == 5
    assert dur("text_to_video", {"model": "veo3.1"}) == 4
    assert dur("text_to_video", {"model": "veo3"}) == 8
    assert dur("image_to_video", {"model": "gen3a_turbo"}) == 10
    assert dur("video_to_video", {"model": "aleph2"}) == catalog.NOMINAL_INPUT_SECONDS
    assert dur("video_to_video", {"model": "aleph2"}, input_duration=12.5) == 12.5
    # an avatar lasts as long as the words it says, at the speaking rate the simulator speaks at
    words = "Welcome to the course. " * 6
    avatar = {"model": "gwm1_avatars", "speech": {"type": "text", "text": words}}
    assert dur("avatar_videos", avatar) == pytest.approx(len(words.strip()) / 14.0)
    from runway_nb.sim import audio
    assert audio.speech_seconds(words) == dur("avatar_videos", avatar)


def test_infer_endpoint():
    inf = catalog.infer_endpoint
    assert inf("gen4.5", has_image=True, has_video=False) == "image_to_video"
    assert inf("gen4.5", has_image=False, has_video=False) == "text_to_video"
    assert inf("gen4_image", has_image=True, has_video=False) == "text_to_image"
    assert inf("gen4_image", has_image=False, has_video=False) == "text_to_image"
    assert inf("aleph2", has_image=False, has_video=True) == "video_to_video"
    assert inf("seedance2", has_image=False, has_video=True) == "video_to_video"
    assert inf("act_two", has_image=False, has_video=True, has_character=True) == \
        "character_performance"
    assert inf("magnific_video_upscaler_creative", has_image=False, has_video=True) == \
        "video_upscale"
    with pytest.raises(ValidationError) as ei:
        inf("gen4_turbo", has_image=False, has_video=False)
    assert "image_to_video" in str(ei.value)
    with pytest.raises(ValidationError):
        inf("gen4.5", has_image=False, has_video=True)
    with pytest.raises(ValidationError) as ei:
        inf("gen4_turbbo", has_image=True, has_video=False)
    assert "gen4_turbo" in str(ei.value)


def test_modelinfo_is_frozen_and_hashable():
    info = catalog.get("image_to_video", "gen4_turbo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.model = "x"  # type: ignore[misc]
    assert hash(info) == hash(catalog.get("image_to_video", "gen4_turbo"))
    assert isinstance(info.required, frozenset) and isinstance(info.ratios, tuple)


# ---------------------------------------------------------------------------------------------
# Broad agreement: every field of every model, set to each value of a pool


_POOL = [None, True, False, 0, -1, 1, 1.5, 3, 4, 5, 8, 10, 31, 4294967296, "", "x", "ab",
         "1280:720", "16:9", "auto", "first", "image", "video", "https://example.com/a.jpg",
         "runway://0123456789", "http://example.com/a.jpg", "data:image/png;base64,AAAA",
         "data:video/mp4;base64,AAAA", [], ["https://example.com/a.jpg"],
         [{"uri": "https://example.com/a.jpg"}],
         [{"uri": "https://example.com/a.jpg", "position": "first"}],
         [{"uri": "https://example.com/a.jpg", "position": "last"}],
         [{"uri": "https://example.com/a.jpg", "tag": "ab"}],
         [{"uri": "https://example.com/a.jpg", "seconds": 2}],
         [{"type": "video", "uri": "https://example.com/a.mp4"}],
         {}, {"type": "image", "uri": "https://example.com/a.jpg"},
         {"type": "video", "uri": "https://example.com/a.mp4"},
         {"publicFigureThreshold": "low"}]


@needs_spec
@pytest.mark.parametrize("endpoint,model", ALL, ids=[f"{e}:{m}" for e, m in ALL])
def test_agreement_over_value_pool(endpoint, model):
    info = catalog.get(endpoint, model)
    base = catalog.example_body(endpoint, model)
    disagreements = []
    for fieldname in sorted(info.fields - {"model"}):
        for value in _POOL:
            body = {**base, fieldname: value}
            try:
                catalog.validate(endpoint, body, strict=False)  # schema only, no prose rules
                ours = True
            except ValidationError:
                ours = False
            theirs = not jsonschema_errors(info, body)
            if ours != theirs:
                disagreements.append((fieldname, value, ours, theirs))
    assert not disagreements, disagreements[:5]

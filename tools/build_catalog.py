#!/usr/bin/env python3
"""Build ``runway_nb/api/catalog.json`` from Runway's OpenAPI spec (maintainer tool).

Usage::

    python tools/build_catalog.py [SPEC] [--out runway_nb/api/catalog.json] [--check]

``SPEC`` defaults to ``../shared/runway/openapi-2024-11-06.json`` relative to the repository
root. The package never reads the spec at run time: ``catalog.json`` is the shipped data.

The task operations are read from the spec: every ``POST /v1/...`` without path parameters that
answers with a task ``id`` (with ``estimatedCost`` or ``routing``, or a description that says to
poll ``/v1/tasks``). Operations newer than the spec copy come from the installed ``runwayml``
package (``resources/*.py`` posting to ``/v1/<name>`` with a ``types/<name>_create_params.py``),
and so do models newer than the spec on known operations (see ``sdk_schemas.py``).

For each task operation, every ``oneOf`` branch of the request body (discriminated by
``model``) becomes one catalog entry; an operation without a ``model`` field (recipes, routed
generation) becomes one entry named after the operation (``sends_model`` false). Each holds

* ``schema``: the branch's JSON Schema with every ``$ref`` resolved and the non-validating
  keywords (``description``, ``example``, ``title``, ``x-*``) dropped;
* derived facts: ``output``, ``ratios``, ``default_ratio``, ``durations``,
  ``default_duration``, ``prompt_field``, ``prompt_min``/``prompt_max``, ``required``,
  ``fields``, ``media_fields`` and ``credits`` (a pricing rule for estimates only).

Then the models Runway *removed* (``gen4``, ``gen4_aleph``, ``veo3``, ``gen3a_turbo``,
``upscale_v1``) are added by hand with ``"legacy": true`` if the spec does not already carry
them, plus ``enhance_frame_rate`` (SDK 5.24 only, newer than the spec copy). Each hand-made
entry names its source in ``"source"``; the sources are:

* ``REF`` = ``shared/reference/runway-api.md`` (§3.6 upscale history, §3.10 removed models),
  itself compiled from the runwayml/sdk-python git history and an older (2026-03) spec;
* ``SEED`` = ``shared/seeds/000_54b63e0027b56f43.txt``, a third-party "Runway Generation Task"
  JSON Schema (not Runway's): the only source that names a model ``gen4``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sdk_schemas sits beside this file
import sdk_schemas

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO.parent / "shared" / "runway" / "openapi-2024-11-06.json"
DEFAULT_OUT = REPO / "runway_nb" / "api" / "catalog.json"

DEFAULT_OPERATIONS_OUT = REPO / "runway_nb" / "api" / "operations.py"

DROP_KEYS = {"description", "example", "examples", "title", "$schema", "$comment"}

# --------------------------------------------------------------------------------------------
# Ratio tokens that are not "W:H" pixel strings -> a concrete, even pixel size (width, height).
# "W:H" strings whose numbers are pixel counts (e.g. "1280:720") map to exactly W x H and are
# not listed. Aspect-ratio tokens are given a 720-pixel short side (the size Runway's own
# 720p models use); the "let the model decide" tokens (adaptive, auto, auto_1k, auto_2k,
# auto_720p) are treated as 16:9 at 720p, because the real size depends on the input.
# A request's "resolution" (e.g. hailuo3 "2K") rescales these, see catalog.ratio_size().
RATIO_SIZES = {
    "16:9": [1280, 720],
    "9:16": [720, 1280],
    "1:1": [960, 960],
    "21:9": [1680, 720],
    "9:21": [720, 1680],
    "4:3": [960, 720],
    "3:4": [720, 960],
    "3:2": [1080, 720],
    "2:3": [720, 1080],
    "adaptive": [1280, 720],
    "auto": [1280, 720],
    "auto_720p": [1280, 720],
    "auto_1k": [1280, 720],
    "auto_2k": [1280, 720],
}
# Short side in pixels for "resolution" tokens (compared case-insensitively).
RESOLUTION_SHORT_SIDE = {
    "480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "1k": 1080, "2k": 1440, "4k": 2160,
}

# --------------------------------------------------------------------------------------------
# Pricing rules (credits; 1 credit = USD 0.01). ESTIMATES ONLY: Runway's answer
# (``estimatedCost``) is authoritative. "unit" is "second" (video) or "image".
#   rate            credits per unit
#   rate_720p       (images) rate when the output's short side is <= 720 px
#   rate_no_audio   (video with an ``audio`` flag) rate when audio is false
#   non_mp4_surcharge  credits per second added for outputFormat != mp4 (from the spec's
#                      outputFormat description; filled in automatically)
_SKILLS = "reference §3.2/§3.7 [S: runwayml/skills rw-api-reference]"
_BRIEF = "pricing list in the project brief (not in shared/reference)"
KNOWN_CREDITS = {
    "gen4_image": {"unit": "image", "rate": 8, "rate_720p": 5, "source": _SKILLS},
    "gen4_image_turbo": {"unit": "image", "rate": 2, "source": _SKILLS},
    "gemini_2.5_flash": {"unit": "image", "rate": 5, "source": _SKILLS},
    "act_two": {"unit": "second", "rate": 5, "source": _SKILLS},
    "gen4_turbo": {"unit": "second", "rate": 5, "source": _BRIEF},
    "gen4.5": {"unit": "second", "rate": 12, "source": _BRIEF},
    "veo3.1": {"unit": "second", "rate": 40, "rate_no_audio": 20, "source": _BRIEF},
    "veo3.1_fast": {"unit": "second", "rate": 15, "rate_no_audio": 10, "source": _BRIEF},
    "aleph2": {"unit": "second", "rate": 15, "source": _BRIEF},
    "gen4_aleph": {"unit": "second", "rate": 15, "source": _BRIEF},
    "magnific_video_upscaler_creative": {"unit": "second", "rate": 2, "source": _BRIEF},
    "enhance_frame_rate": {"unit": "second", "rate": 2, "source": _BRIEF},
    "upscale_v1": {"unit": "second", "rate": 2, "source": _BRIEF},
    "ruby": {"unit": "second", "rate": 20, "source": "runwayml 5.24 resources/video_to_hdr.py docstring "
                                                     "(40/s above 4 MP, not modelled)"},
}
# Rough guesses for everything else (no published figure in our sources).
ROUGH_CREDITS = {
    "veo3": {"unit": "second", "rate": 40},
    "gen3a_turbo": {"unit": "second", "rate": 5},
    "gen4": {"unit": "second", "rate": 12},
}
ROUGH_DEFAULT = {"image": {"unit": "image", "rate": 5}, "video": {"unit": "second", "rate": 10},
                 "audio": {"unit": "task", "rate": 2}}

# --------------------------------------------------------------------------------------------
# Hand-written schemas for models the spec does not carry.


def uri_anyof(kind: str) -> dict:
    """The three URI forms Runway accepts for a media field (spec §3.1 of the reference)."""
    data_max = 5242880 if kind == "image" else 16777216
    return {
        "anyOf": [
            {"type": "string", "minLength": 13, "maxLength": 2048, "pattern": "^https:\\/\\/.*"},
            {"type": "string", "minLength": 13, "maxLength": 5000, "pattern": "^runway:\\/\\/.*"},
            {"type": "string", "minLength": 13, "maxLength": data_max,
             "pattern": f"^data:{kind}\\/.*"},
        ]
    }


def prompt_image(positions: list[str], max_items: int) -> dict:
    pos = {"type": "string", "const": positions[0]} if len(positions) == 1 else \
        {"type": "string", "enum": positions}
    return {
        "anyOf": [
            uri_anyof("image"),
            {"type": "array", "minItems": 1, "maxItems": max_items,
             "items": {"type": "object", "properties": {"uri": uri_anyof("image"), "position": pos},
                       "required": ["uri", "position"]}},
        ]
    }


SEED_FIELD = {"type": "integer", "minimum": 0, "maximum": 4294967295}
MODERATION = {"type": "object", "properties": {"publicFigureThreshold": {
    "type": "string", "enum": ["auto", "low"]}}, "additionalProperties": False}
GEN4_RATIOS = ["1280:720", "1584:672", "1104:832", "720:1280", "832:1104", "960:960"]
VEO3_RATIOS = ["1280:720", "720:1280", "1080:1920", "1920:1080"]
_REMOVED = ("Retired by Runway ({when}); kept so old notebooks can be read and explained. "
            "The API refuses it (HTTP 400); the client says so before sending unless strict=False.")


def _branch(model: str, props: dict, required: list[str]) -> dict:
    props = dict(props)
    props["model"] = {"type": "string", "const": model}
    return {"type": "object", "properties": props, "required": [*required, "model"]}


HAND_MODELS = [
    {
        "endpoint": "image_to_video", "model": "gen4", "legacy": True,
        "retired": {"replacement": "gen4_turbo", "when": "no longer offered"},
        "source": "SEED (third-party schema, ImageToVideoInput): promptImage required, "
                  "promptText maxLength 1000, duration enum [5, 10], the six gen4 ratios. "
                  "Never in Runway's spec or SDK history per REF.",
        "note": _REMOVED.format(when="no longer offered; the API model was gen4_turbo"),
        "schema": _branch("gen4", {
            "promptImage": uri_anyof("image"),
            "promptText": {"type": "string", "maxLength": 1000},
            "seed": SEED_FIELD,
            "duration": {"type": "integer", "enum": [5, 10]},
            "ratio": {"type": "string", "enum": GEN4_RATIOS},
        }, ["promptImage"]),
    },
    {
        "endpoint": "video_to_video", "model": "gen4_aleph", "legacy": True,
        "retired": {"replacement": "aleph2", "when": "SDK 5.0.0, 2026-06-10"},
        "source": "REF §3.10: videoUri and promptText required, ratio from the six gen4 ratios "
                  "(required when last present, later deprecated/ignored, so optional here), "
                  "references <= 1 {type: image, uri}. SEED calls the video field promptVideo; "
                  "REF (SDK history) says videoUri, which we follow.",
        "note": _REMOVED.format(when="SDK 5.0.0, 2026-06-10; aleph2 replaces it"),
        "schema": _branch("gen4_aleph", {
            "videoUri": uri_anyof("video"),
            "promptText": {"type": "string", "minLength": 1, "maxLength": 1000},
            "seed": SEED_FIELD,
            "ratio": {"type": "string", "enum": GEN4_RATIOS},
            "references": {"type": "array", "maxItems": 1, "items": {
                "type": "object", "properties": {"type": {"type": "string", "const": "image"},
                                                 "uri": uri_anyof("image")},
                "required": ["type", "uri"]}},
            "contentModeration": MODERATION,
        }, ["videoUri", "promptText"]),
    },
    {
        "endpoint": "image_to_video", "model": "veo3", "legacy": True,
        "retired": {"replacement": "veo3.1", "when": "SDK 5.0.0, 2026-06-10"},
        "source": "REF §3.10: duration const 8 (required), ratio 1280:720/720:1280/1080:1920/"
                  "1920:1080, first frame only. promptText limits as veo3.1 (1-1000).",
        "note": _REMOVED.format(when="SDK 5.0.0, 2026-06-10; use veo3.1"),
        "schema": _branch("veo3", {
            "promptImage": prompt_image(["first"], 1),
            "promptText": {"type": "string", "minLength": 1, "maxLength": 1000},
            "ratio": {"type": "string", "enum": VEO3_RATIOS},
            "duration": {"type": "integer", "const": 8},
        }, ["promptImage", "ratio", "duration"]),
    },
    {
        "endpoint": "text_to_video", "model": "veo3", "legacy": True,
        "retired": {"replacement": "veo3.1", "when": "SDK 5.0.0, 2026-06-10"},
        "source": "REF §3.10 (duration const 8 required, the four veo ratios); SEED lists veo3 "
                  "under TextToVideoInput with promptText required.",
        "note": _REMOVED.format(when="SDK 5.0.0, 2026-06-10; use veo3.1"),
        "schema": _branch("veo3", {
            "promptText": {"type": "string", "minLength": 1, "maxLength": 1000},
            "ratio": {"type": "string", "enum": VEO3_RATIOS},
            "duration": {"type": "integer", "const": 8},
        }, ["promptText", "ratio", "duration"]),
    },
    {
        "endpoint": "image_to_video", "model": "gen3a_turbo", "legacy": True,
        "retired": {"replacement": "gen4_turbo", "when": "SDK 5.0.0, 2026-06-10"},
        "source": "REF §3.10: promptText required (1-1000), promptImage string or [first, last], "
                  "duration 5 or 10 (default 10), ratio 1280:768 or 768:1280.",
        "note": _REMOVED.format(when="SDK 5.0.0, 2026-06-10"),
        "schema": _branch("gen3a_turbo", {
            "promptImage": prompt_image(["first", "last"], 2),
            "promptText": {"type": "string", "minLength": 1, "maxLength": 1000},
            "seed": SEED_FIELD,
            "duration": {"type": "integer", "enum": [5, 10], "default": 10},
            "ratio": {"type": "string", "enum": ["1280:768", "768:1280"]},
        }, ["promptImage", "promptText"]),
    },
    {
        "endpoint": "video_upscale", "model": "upscale_v1", "legacy": True,
        "retired": {"replacement": "magnific_video_upscaler_creative", "when": "2026-01-17"},
        "source": "REF §3.6/§3.10: {model: upscale_v1, videoUri} only.",
        "note": _REMOVED.format(when="'Sunset upscale endpoint', 2026-01-17"),
        "schema": _branch("upscale_v1", {"videoUri": uri_anyof("video")}, ["videoUri"]),
    },
]

# --------------------------------------------------------------------------------------------


def resolve_refs(node, root: dict, stack: tuple = ()):
    """Return ``node`` with every local ``$ref`` (``#/...``) replaced by its target."""
    if isinstance(node, list):
        return [resolve_refs(v, root, stack) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"non-local $ref {ref!r}")
        if ref in stack:
            raise ValueError(f"recursive $ref {ref!r}")
        target = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = resolve_refs(target, root, (*stack, ref))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if siblings:
            merged = {**merged, **resolve_refs(siblings, root, stack)}
        return merged
    return {k: resolve_refs(v, root, stack) for k, v in node.items()}


def minimise(node):
    if isinstance(node, list):
        return [minimise(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in DROP_KEYS or k.startswith("x-") or k == "discriminator":
            continue
        # "properties" maps field names to schemas: never drop a field called "title" etc.
        if k == "properties":
            out[k] = {name: minimise(sub) for name, sub in v.items()}
        else:
            out[k] = minimise(v)
    return out


def model_name(branch: dict) -> str:
    prop = branch.get("properties", {}).get("model", {})
    if "const" in prop:
        return prop["const"]
    if len(prop.get("enum", [])) == 1:
        return prop["enum"][0]
    raise ValueError(f"cannot tell the model of branch {branch.get('title')!r}")


# ---- derived facts --------------------------------------------------------------------------

def _media_kinds(schema: dict) -> tuple[set[str], bool, bool]:
    """(kinds, has_single_form, has_list_form) of a media field's schema."""
    kinds: set[str] = set()
    single = listy = False
    if not isinstance(schema, dict):
        return kinds, single, listy
    pat = schema.get("pattern", "")
    if pat.startswith("^data:"):
        kinds.add(pat[len("^data:"):].split("\\", 1)[0].split("/", 1)[0])
        single = True
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            k, s, lst = _media_kinds(sub)
            kinds |= k
            single |= s
            listy |= lst
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        k, _, _ = _media_kinds(schema["items"])
        if k:
            kinds |= k
            listy = True
    if schema.get("type") == "object" or "properties" in schema:
        uri = schema.get("properties", {}).get("uri")
        if uri is not None:
            k, _, _ = _media_kinds(uri)
            if k:
                kinds |= k
                single = True
    return kinds, single, listy


def media_fields(schema: dict) -> dict[str, str]:
    order = ["image", "video", "audio"]
    out = {}
    for name, sub in schema.get("properties", {}).items():
        kinds, single, _listy = _media_kinds(sub)
        if not kinds:
            # e.g. hailuo3 promptImage array items are {} -> the string form decides
            continue
        text = "|".join(k for k in order if k in kinds) or "|".join(sorted(kinds))
        out[name] = text if single else f"{text} list"
    return out


def _allowed_values(sub: dict) -> list | None:
    if "const" in sub:
        return [sub["const"]]
    if "enum" in sub:
        return list(sub["enum"])
    return None


def ratios_of(schema: dict) -> list[str]:
    sub = schema.get("properties", {}).get("ratio")
    if not sub:
        return []
    return list(_allowed_values(sub) or [])


def default_ratio(ratios: list[str]) -> str | None:
    """1280:720 if allowed, else 16:9, else the first concrete entry (not adaptive/auto*)."""
    if not ratios:
        return None
    for pref in ("1280:720", "16:9"):
        if pref in ratios:
            return pref
    concrete = [r for r in ratios if not (r == "adaptive" or r.startswith("auto"))]
    return (concrete or ratios)[0]


def durations_of(schema: dict) -> list | None:
    sub = schema.get("properties", {}).get("duration")
    if sub is None:
        return None
    if "anyOf" in sub or "oneOf" in sub:  # e.g. "auto" or a number: the numeric branch decides
        numeric = [b for b in sub.get("anyOf", sub.get("oneOf", [])) if b.get("type") in ("integer", "number")]
        if len(numeric) != 1:
            return None
        sub = numeric[0]
    values = _allowed_values(sub)
    if values is None:
        lo = sub.get("minimum", sub.get("exclusiveMinimum"))
        hi = sub.get("maximum", sub.get("exclusiveMaximum"))
        if lo is None or hi is None:
            return None  # the SDK states no bounds (only prose): durations unknown
        lo_i = int(lo) if float(lo).is_integer() else int(lo) + 1
        if "exclusiveMinimum" in sub and "minimum" not in sub and lo_i == lo:
            lo_i += 1
        hi_i = int(hi)
        if "exclusiveMaximum" in sub and "maximum" not in sub and hi_i == hi:
            hi_i -= 1
        values = list(range(lo_i, hi_i + 1))
    return sorted(int(v) if float(v).is_integer() else v for v in values)


def default_duration(schema: dict, durations: list | None):
    if not durations:
        return None
    sub = schema["properties"]["duration"]
    if "default" in sub and isinstance(sub["default"], (int, float)):
        return sub["default"]
    return 5 if 5 in durations else durations[0]


def credits_rule(model: str, output: str, schema: dict) -> dict:
    if model in KNOWN_CREDITS:
        rule = dict(KNOWN_CREDITS[model])
    else:
        rule = dict(ROUGH_CREDITS.get(model) or ROUGH_DEFAULT[output])
        rule["estimate"] = "rough"
        rule["source"] = "guess: no published figure in our sources"
    fmt = schema.get("properties", {}).get("outputFormat", {})
    if "prores" in (fmt.get("enum") or []):
        # spec, outputFormat description: "Non-mp4 formats incur an additional surcharge of
        # 5 credits per second of output."
        rule["non_mp4_surcharge"] = 5
    return rule


MEDIA_WORDS = {"image": "image", "images": "image", "video": "video", "videos": "video", "audio": "audio",
               "speech": "audio", "sound": "audio", "sounds": "audio", "voice": "audio"}
PROMPT_FIELDS = ("promptText", "prompt", "userConcept", "text")
COUNT_FIELDS = ("outputCount", "numVariants", "numberOfImages", "numImages")


def _media_word(text: str) -> str | None:
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in MEDIA_WORDS:
            return MEDIA_WORDS[word]
    return None


def output_kind(operation: str, summary: str, description: str) -> str:
    """What an operation makes: the word after "_to_" in its name (the one before when that is not a
    media word, e.g. video_to_hdr), "generate/<kind>", else the first media word of the summary,
    else of the description."""
    name = operation.rsplit("/", 1)[-1]
    if operation.startswith("generate/"):
        return MEDIA_WORDS[name]
    if "_to_" in name:
        before, after = name.split("_to_", 1)
        found = _media_word(after) or _media_word(before)
        if found:
            return found
    for text in (summary, description):
        if " to " in text:
            found = _media_word(text.split(" to ", 1)[1])
            if found:
                return found
        found = _media_word(text)
        if found:
            return found
    raise ValueError(f"cannot tell what {operation} outputs from its name or description")


def is_task_operation(path: str, post: dict) -> bool:
    """A POST that starts a task: it answers with an ``id`` plus ``estimatedCost`` or ``routing``,
    or says to poll ``/v1/tasks``."""
    if "{" in path or not path.startswith("/v1/"):
        return False
    schema = post.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}) \
        .get("schema", {})
    props = schema.get("properties", {})
    if "id" not in props:
        return False
    return bool({"estimatedCost", "routing"} & set(props)) or "/v1/tasks" in (post.get("description") or "")


def voices_of(schema: dict) -> dict | None:
    """Where a preset voice goes in the body, and the presets: the first object (depth-first) whose
    properties are a ``type`` const and a ``presetId`` enum."""
    def walk(node, path):
        if isinstance(node, dict):
            props = node.get("properties", {})
            if path.rsplit(".", 1)[-1] == "voice" and "presetId" in props and "const" in props.get("type", {}) \
                    and props["presetId"].get("enum"):
                return {"path": path, "type": props["type"]["const"], "presets": list(props["presetId"]["enum"])}
            for key in ("oneOf", "anyOf"):
                for sub in node.get(key, []):
                    found = walk(sub, path)
                    if found:
                        return found
            for name, sub in props.items():
                if name == "model":
                    continue
                found = walk(sub, f"{path}.{name}" if path else name)
                if found:
                    return found
        return None
    return walk(schema, "")


def output_count(schema: dict) -> dict | None:
    props = schema.get("properties", {})
    for name in COUNT_FIELDS:
        if name in props:
            sub = props[name]
            return {"field": name, "max": sub.get("maximum"), "default": sub.get("default", 1)}
    return None


def entry(endpoint: str, model: str, schema: dict, *, output: str, legacy: bool, source: str,
          note: str | None, sends_model: bool = True, retired: dict | None = None) -> dict:
    stored = schema
    props = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    if "oneOf" in schema and not props:  # alternatives (e.g. modes): every field any of them has
        alternatives = schema["oneOf"]
        for alt in alternatives:
            props.update({k: v for k, v in alt.get("properties", {}).items() if k not in props})
        required = [r for r in alternatives[0].get("required", [])
                    if all(r in alt.get("required", []) for alt in alternatives)]
        schema = {**schema, "properties": props}
    ratios = ratios_of(schema)
    durations = durations_of(schema)
    prompt_field = next((name for name in PROMPT_FIELDS if name in props
                         and props[name].get("type") == "string"), None)
    if prompt_field is None and isinstance(props.get("input"), dict) and \
            "promptText" in props["input"].get("properties", {}):
        prompt_field = "input.promptText"
    prompt = props.get(prompt_field) if prompt_field and "." not in prompt_field else \
        (props["input"]["properties"]["promptText"] if prompt_field else None)
    out = {
        "endpoint": endpoint,
        "model": model,
        "output": output,
        "legacy": legacy,
        "source": source,
        "note": note,
        "sends_model": sends_model,
        "retired": retired,
        "ratios": ratios,
        "default_ratio": default_ratio(ratios),
        "durations": durations,
        "default_duration": default_duration(schema, durations),
        "prompt_field": prompt_field,
        "prompt_min": prompt.get("minLength") if prompt else None,
        "prompt_max": prompt.get("maxLength") if prompt else None,
        "required": required,
        "fields": list(props),
        "media_fields": media_fields(schema),
        "voices": voices_of(schema),
        "output_count": output_count(schema),
        "credits": credits_rule(model, output, schema),
        "schema": stored,
    }
    return out


def _agreed_field(branches: list[dict], name: str) -> dict | None:
    """The spec's schema of field ``name`` when every branch that has it agrees on it (so the limit
    belongs to the operation, not to one model); else None."""
    found = [b["properties"][name] for b in branches if name in b.get("properties", {})]
    if not found or any(f != found[0] for f in found[1:]):
        return None
    return found[0]


def complete_sdk_schema(schema: dict, docs: str, spec_branches: list[dict],
                        all_spec_branches: list[dict]) -> tuple[dict, list[str]]:
    """An SDK model's schema with limits taken from the spec where the SDK states none: a field
    without a Literal gets the spec's schema of the same field on the same operation (else on any
    operation); a string documented as a media URI gets the three URI forms. Returns the schema
    and the fields whose schema came from the spec."""
    props = dict(schema.get("properties", {}))
    borrowed: list[str] = []
    for name, sub in props.items():
        if name == "model" or "enum" in sub or "const" in sub:
            continue
        on_operation = any(name in b.get("properties", {}) for b in spec_branches)
        spec_sub = _agreed_field(spec_branches, name) if on_operation else _agreed_field(all_spec_branches, name)
        if spec_sub is not None and _same_shape(sub, spec_sub):
            props[name] = copy.deepcopy(spec_sub)
            borrowed.append(name)
        else:
            kind = sdk_schemas.docstring_media_kind(docs, name)
            if kind:
                props[name] = _with_uris(sub, kind)
    out = dict(schema)
    out["properties"] = props
    return out, borrowed


def _with_uris(node: dict, kind: str) -> dict:
    """``node`` with each plain string that holds a media URI (the field itself, a branch of it, a
    list item, or an item's ``uri``) replaced by the three URI forms of ``kind``."""
    if node == {"type": "string"}:
        return uri_anyof(kind)
    out = dict(node)
    for key in ("anyOf", "oneOf"):
        if key in out:
            out[key] = [_with_uris(sub, kind) for sub in out[key]]
    if isinstance(out.get("items"), dict):
        out["items"] = _with_uris(out["items"], kind)
    if "uri" in out.get("properties", {}):
        out["properties"] = {**out["properties"], "uri": _with_uris(out["properties"]["uri"], kind)}
    return out


def _shape(node: dict) -> str:
    if "anyOf" in node or "oneOf" in node:
        kinds = {_shape(s) for s in node.get("anyOf", node.get("oneOf", []))}
        return "|".join(sorted(kinds))
    t = node.get("type")
    if t == "integer":
        return "number"
    return str(t)


def _same_shape(sdk: dict, spec: dict) -> bool:
    return _shape(sdk) == _shape(spec) or (_shape(sdk) == "string" and "string" in _shape(spec).split("|"))


def operation_name_model(operation: str) -> str:
    """The catalog's name for the one "model" of an operation that takes no ``model`` field."""
    return "router" if operation.startswith("generate/") else operation.rsplit("/", 1)[-1]


def _request_schema(spec: dict, path: str) -> dict:
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return resolve_refs(body["schema"], spec)


def build(spec_path: Path) -> dict:
    raw = spec_path.read_bytes()
    spec = json.loads(raw)
    version = spec.get("info", {}).get("version")
    sdk_version = sdk_schemas.sdk_version()
    operations: dict[str, dict] = {}
    found = [(path, ops["post"]) for path, ops in spec["paths"].items()
             if ops.get("post") and is_task_operation(path, ops["post"])]
    # The spec's declared tag order first ("Start generating"), then other tags as they appear.
    tags = [t["name"] for t in spec.get("tags", [])]
    for _, post in found:
        for tag in post.get("tags") or [""]:
            if tag not in tags:
                tags.append(tag)
    found.sort(key=lambda item: tags.index((item[1].get("tags") or [""])[0]))
    for path, post in found:
        op = path[len("/v1/"):]
        operations[op] = {"output": output_kind(op, post.get("summary") or "", post.get("description") or ""),
                          "source": f"openapi {version}"}
    for op, module in sdk_schemas.sdk_operations().items():
        if op not in operations:
            doc = sdk_schemas.resource_docstring(op)
            operations[op] = {"output": output_kind(op, "", doc), "source": f"runwayml {sdk_version} {module}"}

    spec_branches: dict[str, list[dict]] = {}
    for op in operations:
        if f"/v1/{op}" in spec["paths"]:
            req = _request_schema(spec, f"/v1/{op}")
            spec_branches[op] = [minimise(b) for b in (req.get("oneOf") or [req])]
    all_branches = [b for branches in spec_branches.values() for b in branches]

    entries: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for op, facts in operations.items():
        output = facts["output"]
        branches = spec_branches.get(op, [])
        modelless = bool(branches) and "model" not in branches[0].get("properties", {})
        if modelless:  # one entry holding the whole schema (multi_shot_video is a oneOf of modes)
            name = operation_name_model(op)
            seen.add((op, name))
            whole = minimise(_request_schema(spec, f"/v1/{op}"))
            entries.append(entry(op, name, whole, output=output, legacy=False, sends_model=False,
                                 source=f"openapi {version}", note=None))
            continue
        for schema in branches:
            model = model_name(schema)
            if (op, model) in seen:
                raise ValueError(f"duplicate model {model} on {op}")
            seen.add((op, model))
            entries.append(entry(op, model, schema, output=output, legacy=False,
                                 source=f"openapi {version}", note=None))
        for model, (schema, docs) in sdk_schemas.model_schemas(op).items():
            if (op, model) in seen:
                continue
            seen.add((op, model))
            completed, borrowed = complete_sdk_schema(minimise(schema), docs, branches, all_branches)
            source = f"runwayml {sdk_version} types/{op}_create_params.py (newer than the spec copy)"
            if borrowed:
                source += f"; limits of {', '.join(borrowed)} from the spec's schema of the same field"
            entries.append(entry(op, model, completed, output=output, legacy=False, source=source,
                                 note=f"From runwayml {sdk_version}, not in the {version} OpenAPI copy."))
    for hand in HAND_MODELS:
        key = (hand["endpoint"], hand["model"])
        if key in seen:
            print(f"note: {key[1]} on {key[0]} is already in the spec or SDK; hand entry skipped",
                  file=sys.stderr)
            continue
        seen.add(key)
        entries.append(entry(hand["endpoint"], hand["model"], copy.deepcopy(hand["schema"]),
                             output=operations[hand["endpoint"]]["output"], legacy=True,
                             source=hand["source"], note=hand["note"], retired=hand["retired"]))
    return {
        "format": 2,
        "api_version": version,
        "sdk_version": sdk_version,
        "spec_file": spec_path.name,
        "spec_sha256": hashlib.sha256(raw).hexdigest(),
        "endpoints": list(operations),
        "operations": operations,
        "ratio_sizes": RATIO_SIZES,
        "resolution_short_side": RESOLUTION_SHORT_SIDE,
        "models": entries,
    }


def operations_module(data: dict) -> str:
    """``runway_nb/api/operations.py``: the operation list as Python, so importing it reads no file."""
    ops = data["operations"]
    lines = [
        '"""Runway\'s task operations (generated by tools/build_catalog.py from the spec and the SDK; do not edit).',
        "",
        "Importing this module reads no file; the models and their schemas are in ``catalog.json``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "#: Every task-creating operation, as the path after ``/v1/`` (e.g. ``recipes/product_ad``).",
        "ENDPOINTS: tuple[str, ...] = (",
        *(f"    {json.dumps(op)}," for op in ops),
        ")",
        "",
        "#: What each operation makes: ``image``, ``video`` or ``audio``.",
        "OUTPUT_KINDS: dict[str, str] = {",
        *(f"    {json.dumps(op)}: {json.dumps(facts['output'])}," for op, facts in ops.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


def dumps(data: dict) -> str:
    """Compact JSON, one model per line (readable diffs)."""
    head = {k: v for k, v in data.items() if k != "models"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'), ensure_ascii=False)},")
    lines.append('"models":[')
    rows = [json.dumps(m, separators=(",", ":"), ensure_ascii=False) for m in data["models"]]
    lines.append(",\n".join(rows))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--operations-out", type=Path, default=DEFAULT_OPERATIONS_OUT)
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the output file is out of date")
    args = ap.parse_args(argv)
    data = build(args.spec)
    outputs = {args.out: dumps(data), args.operations_out: operations_module(data)}
    if args.check:
        stale = [str(path) for path, text in outputs.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        if stale:
            print(f"{', '.join(stale)} out of date; run tools/build_catalog.py", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
    text = outputs[args.out]
    counts: dict[str, int] = {}
    for m in data["models"]:
        counts[m["endpoint"]] = counts.get(m["endpoint"], 0) + 1
    print(f"wrote {args.out} ({len(text):,} bytes): " +
          ", ".join(f"{ep} {counts.get(ep, 0)}" for ep in data["endpoints"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

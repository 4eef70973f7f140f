"""Finding models in the catalog: by endpoint, by name, and from the inputs a request carries."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping

from runway_nb.api.catalog_data import ENDPOINTS, ModelInfo, load
from runway_nb.api.schema_text import short_repr
from runway_nb.errors import ValidationError

__all__ = [
    "check_endpoint",
    "endpoints_for_model",
    "field_owner",
    "find",
    "find_for_body",
    "get",
    "infer_endpoint",
    "model_key",
    "modelless_entry",
    "models",
    "prompt_of",
    "retired_error",
    "unknown_model_error",
]

# What each endpoint needs as input media.
_NEEDS: dict[str, frozenset[str]] = {
    "text_to_image": frozenset(),
    "text_to_video": frozenset(),
    "image_to_video": frozenset({"image"}),
    "video_to_video": frozenset({"video"}),
    "video_upscale": frozenset({"video"}),
    "character_performance": frozenset({"character", "video"}),
}


def check_endpoint(endpoint: str) -> None:
    """ValidationError unless ``endpoint`` is one of :data:`ENDPOINTS`."""
    if endpoint not in ENDPOINTS:
        raise ValidationError(
            "endpoint", endpoint, list(ENDPOINTS),
            f"endpoint={short_repr(endpoint)} is not a generation endpoint this catalog knows; "
            f"allowed: {', '.join(ENDPOINTS)}")


def models(endpoint: str | None = None, *, include_legacy: bool = True) -> list[ModelInfo]:
    """Every model of ``endpoint`` (or of all endpoints), in the spec's order."""
    by_endpoint = load().by_endpoint
    if endpoint is None:
        out = [m for ep in ENDPOINTS for m in by_endpoint.get(ep, [])]
    else:
        check_endpoint(endpoint)
        out = list(by_endpoint.get(endpoint, []))
    if not include_legacy:
        out = [m for m in out if not m.legacy]
    return out


def unknown_model_error(endpoint: str, model: object) -> ValidationError:
    """The error for a model that ``endpoint`` does not have, with where it is or a close name."""
    catalog = load()
    on_endpoint = catalog.by_endpoint.get(endpoint, [])
    allowed = [m.model for m in on_endpoint]
    current = [m.model for m in on_endpoint if not m.legacy]
    if model is None:
        return ValidationError("model", None, allowed,
                               f"model is required; models on {endpoint}: {', '.join(current)}")
    msg = f"model={short_repr(model)} is not a {endpoint} model; allowed: {', '.join(current)}"
    if isinstance(model, str):
        elsewhere = catalog.endpoints_by_model.get(model)
        if elsewhere:
            msg += f" ({model} is available on {', '.join(elsewhere)})"
        else:
            close = difflib.get_close_matches(model, allowed, n=1, cutoff=0.6)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
    return ValidationError("model", model, allowed, msg)


def find(endpoint: str, model: object) -> ModelInfo | None:
    """The catalog entry of ``model`` on a known ``endpoint``, or None."""
    return load().by_key.get((endpoint, model)) if isinstance(model, str) else None


def modelless_entry(endpoint: str) -> ModelInfo | None:
    """The one entry of an operation that takes no ``model`` field (recipes, routed generation)."""
    entries = load().by_endpoint.get(endpoint, [])
    return entries[0] if len(entries) == 1 and not entries[0].sends_model else None


def model_key(endpoint: str, body: Mapping[str, object]) -> object:
    """The catalog's model name for a request body: its ``model``, or the operation's own name
    when the operation takes no model."""
    single = modelless_entry(endpoint)
    return single.model if single is not None else body.get("model")


def find_for_body(endpoint: str, body: Mapping[str, object]) -> ModelInfo | None:
    """The catalog entry a request body for ``endpoint`` means, or None."""
    return modelless_entry(endpoint) or find(endpoint, body.get("model"))


def prompt_of(endpoint: str | None, body: Mapping[str, object]) -> str | None:
    """The text a request is about: its model's prompt field (nested for routed generation,
    ``prompt`` for the recipes), the words an avatar speaks, or a web-app ``text_prompt``."""
    info = find_for_body(endpoint, body) if endpoint in ENDPOINTS else None
    node: object = body
    for part in ((info.prompt_field if info is not None else None) or "promptText").split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, str):
        return node
    speech = body.get("speech")
    if isinstance(speech, Mapping) and isinstance(speech.get("text"), str):
        return str(speech["text"])
    for name in ("promptText", "prompt", "text_prompt"):
        value = body.get(name)
        if isinstance(value, str):
            return value
    return None


def retired_error(info: ModelInfo) -> ValidationError:
    """The error for a model Runway retired: when, and what to use instead."""
    retired = info.retired or {"replacement": None, "when": "retired"}
    current = [m.model for m in load().by_endpoint.get(info.endpoint, []) if not m.legacy]
    use = f"; use {retired['replacement']}" if retired["replacement"] else ""
    return ValidationError(
        "model", info.model, current,
        f"model={info.model} was retired by Runway ({retired['when']}){use}. Runway refuses it; pass "
        f"strict=False to send it anyway. Current {info.endpoint} models: {', '.join(current)}")


def get(endpoint: str, model: str) -> ModelInfo:
    """The catalog entry of ``model`` on ``endpoint``; ValidationError if either is unknown."""
    check_endpoint(endpoint)
    info = find(endpoint, model)
    if info is None:
        raise unknown_model_error(endpoint, model)
    return info


def endpoints_for_model(model: str) -> list[str]:
    """Endpoints that accept ``model`` (e.g. "gen4.5" -> ["image_to_video", "text_to_video"])."""
    return list(load().endpoints_by_model.get(model, []))


def _candidates(model: str, endpoints: list[str], *, has_image: bool, has_video: bool,
                has_character: bool) -> list[str]:
    if has_character:
        return [e for e in endpoints if e == "character_performance"]
    if has_video:
        return [e for e in endpoints if e in ("video_to_video", "video_upscale", "character_performance")]
    if has_image:
        return [e for e in endpoints if e == "image_to_video"] or \
            [e for e in endpoints if e == "text_to_image"] or \
            [e for e in endpoints if e == "text_to_video"
             and any(k.startswith("image") for k in get(e, model).media_fields.values())]
    return [e for e in endpoints if not required_media(e, model)]


def required_media(endpoint: str, model: str) -> frozenset[str]:
    """The kinds of input media ``model`` on ``endpoint`` requires (the six classic endpoints by
    their known shape; the others from the model's required media fields)."""
    if endpoint in _NEEDS:
        return _NEEDS[endpoint]
    info = find(endpoint, model)
    if info is None:
        return frozenset()
    kinds = {kind.replace(" list", "").split("|")[0] for name, kind in info.media_fields.items()
             if name in info.required}
    return frozenset(kinds)


def infer_endpoint(model: str, *, has_image: bool, has_video: bool,
                   has_character: bool = False) -> str:
    """Which endpoint ``model`` with these inputs means.

    ``has_image``/``has_video`` say whether the request carries an input image / video;
    ``has_character`` whether it carries an Act-Two character. Raises ValidationError when the
    model is unknown, cannot take these inputs, or the choice is ambiguous.
    """
    endpoints = endpoints_for_model(model)
    if not endpoints:
        names = sorted(load().endpoints_by_model)
        close = difflib.get_close_matches(str(model), names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValidationError("model", model, names, f"model={short_repr(model)} is not in the catalog{hint}")
    candidates = _candidates(model, endpoints, has_image=has_image, has_video=has_video,
                             has_character=has_character)
    if len(candidates) == 1:
        return candidates[0]
    given = [n for n, f in (("an image", has_image), ("a video", has_video),
                            ("a character", has_character)) if f] or ["no input media"]
    if not candidates:
        needs = "; ".join(
            f"{e} needs {' and '.join(sorted(required_media(e, model))) or 'only a prompt'}" for e in endpoints)
        raise ValidationError(
            "model", model, endpoints,
            f"model {model} cannot be used with {' and '.join(given)}; it is available on "
            f"{', '.join(endpoints)} ({needs})")
    raise ValidationError("endpoint", None, candidates,
                          f"model {model} with {' and '.join(given)} is ambiguous; "
                          f"choose one of: {', '.join(candidates)}")


# (endpoint, model, top-level field) -> whether that field differs between the model's endpoints
_differs_cache: dict[tuple[str, str, str], bool] = {}


def _field_differs_across_endpoints(info: ModelInfo, top: str) -> bool:
    key = (info.endpoint, info.model, top)
    if key not in _differs_cache:
        endpoints = endpoints_for_model(info.model)
        shapes = set()
        for ep in endpoints:
            other = get(ep, info.model)
            sub = other.schema.get("properties", {}).get(top)
            shapes.add((json.dumps(sub, sort_keys=True), top in other.required))
        _differs_cache[key] = len(endpoints) > 1 and len(shapes) > 1
    return _differs_cache[key]


def field_owner(endpoint: str, info: ModelInfo | None, path: str) -> str:
    """Who a field belongs to, for messages: "model gen4.5", or "model gen4.5 on image_to_video"
    when the field differs between the model's endpoints; just the endpoint for an unknown model."""
    if info is None:
        return endpoint
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    on = f" on {endpoint}" if _field_differs_across_endpoints(info, top) else ""
    return f"model {info.model}{on}"

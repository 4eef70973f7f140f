"""Minimal valid request bodies, made from a model's JSON Schema (for docs, forms and tests)."""

from __future__ import annotations

from typing import Any

from runway_nb.api.catalog_data import JsonSchema
from runway_nb.api.lookup import get
from runway_nb.api.schema_text import flat_branches, uri_forms

__all__ = ["EXAMPLE_ROUTER", "body_variants", "example_body"]

_EXT = {"image": "jpg", "video": "mp4", "audio": "mp3"}


def _example_media_url(schema: JsonSchema) -> str | None:
    """A placeholder https:// URL of the right kind when ``schema`` is a set of URI forms."""
    forms = uri_forms(schema) if ("anyOf" in schema or "oneOf" in schema) else None
    if not forms:
        return None
    kind = next((f.prefix[5:].rstrip("/") for f in forms if f.prefix.startswith("data:")), "image")
    return f"https://example.com/input.{_EXT.get(kind, 'bin')}"


def _example_string(schema: JsonSchema) -> str:
    if schema.get("pattern", "").startswith("^https"):
        return "https://example.com/input.jpg"
    lo: int = schema.get("minLength", 1)
    return "example"[:max(lo, 1)] if lo <= 7 else "x" * lo


def _example_number(schema: JsonSchema) -> Any:
    if "minimum" in schema:
        return schema["minimum"]
    if "exclusiveMinimum" in schema:
        return schema["exclusiveMinimum"] + 1
    return 0


def _example(schema: object) -> Any:
    """A JSON value ``schema`` accepts: its const, first enum value or default, else a small one."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    url = _example_media_url(schema)
    if url is not None:
        return url
    if "anyOf" in schema or "oneOf" in schema:
        return _example(flat_branches(schema)[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "string":
        return _example_string(schema)
    if kind in ("integer", "number"):
        return _example_number(schema)
    if kind == "boolean":
        return False
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_example(items) for _ in range(schema.get("minItems", 0))]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(props.get(k, {})) for k in schema.get("required", [])}
    return None


EXAMPLE_ROUTER = "default"
"""The router slug example bodies of routed generation name (the simulator starts with one)."""


def body_variants(endpoint: str, model: str) -> int:
    """How many alternative bodies ``model`` takes (multi_shot_video: its auto and custom modes); 1
    for most models."""
    schema = get(endpoint, model).schema
    return len(schema["oneOf"]) if "properties" not in schema and schema.get("oneOf") else 1


def example_body(endpoint: str, model: str, *, prompt: str = "a red fox running through snow",
                 variant: int = 0) -> dict[str, Any]:
    """A minimal valid request body for ``model`` on ``endpoint``: the required fields, plus
    the default ratio, the default duration and a prompt when the model takes them. Media
    fields get placeholder https:// URLs. For a model whose body has alternatives
    (:func:`body_variants`), ``variant`` picks one (by default the first)."""
    info = get(endpoint, model)
    schema = info.schema
    if "properties" not in schema and schema.get("oneOf"):
        schema = schema["oneOf"][variant]  # alternatives (multi_shot_video's modes)
    elif variant != 0:
        raise IndexError(f"{endpoint} {model} has one body shape; variant={variant} does not exist")
    props = schema.get("properties", {})
    body: dict[str, Any] = {"model": model} if info.sends_model else {}
    for name in schema.get("required", []):
        if name != "model":
            body[name] = _example(props.get(name, {}))
    if "configId" in body:
        body["configId"] = EXAMPLE_ROUTER
    if info.prompt_field and info.prompt_field.split(".")[0] in props:
        lo = info.prompt_min or 1
        text = prompt if len(prompt) >= lo else prompt + "." * (lo - len(prompt))
        if info.prompt_max is not None:
            text = text[: info.prompt_max]
        *parents, leaf = info.prompt_field.split(".")
        node = body
        for part in parents:  # e.g. routed generation's input.promptText
            node = node.setdefault(part, {})
        node[leaf] = text
    if info.default_ratio is not None and "ratio" in props:
        body["ratio"] = info.default_ratio
    if info.default_duration is not None and "duration" in props:
        body["duration"] = info.default_duration
    return body

"""The panel's inputs for the required request fields that no dedicated control covers, read
from the model's JSON Schema in the catalog (no per-operation code).

A recipe's ``version``, an avatar (``{type: "runway-preset", presetId}`` or ``{type: "custom",
avatarId}``), an avatar's speech (text or audio), routed audio's ``input.type``: each becomes
one input named by its dotted request path (``avatar.presetId``), which is also the key the
session (``generate(**{"avatar.presetId": ...})``) and ``%%runway -p avatar.presetId=...``
take. The input follows the schema: a string enum a select, a string a text box, an integer or
number a number box with the schema's bounds, a boolean a checkbox, a media URI an upload/URL
slot, an object of alternatives told apart by a constant (``type``, ``mode``) a select of the
alternatives followed by the chosen one's own fields, anything else a JSON text box.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict

from runway_nb.api.catalog_data import JsonSchema, ModelInfo
from runway_nb.api.media_paths import nested_media_fields, object_branches

__all__ = ["FieldSpec", "JsonValue", "generic_fields", "media_value", "reachable", "request_value"]

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]
FieldKind = Literal["select", "text", "number", "checkbox", "json", "media"]

_MAX_DEPTH = 3  # input.voice.audioUri is the deepest Runway has


class FieldSpec(TypedDict):
    """One generic input (synced to the browser as it is)."""

    key: str                   # the dotted request path, e.g. "avatar.presetId"
    label: str
    kind: FieldKind
    options: list[JsonValue]   # select: the allowed values, in the schema's order
    minimum: float | None      # number: the schema's bounds
    maximum: float | None
    integer: bool              # number: whole numbers only
    accept: str                # media: the browser's file filter ("image/*")
    many: bool                 # media: the field is a list (one input gives a list of one)
    uri_object: bool           # media: the value (or each item) is a {uri} object


def _spec(key: str, kind: FieldKind, **extra: Any) -> FieldSpec:
    spec: FieldSpec = {"key": key, "label": key, "kind": kind, "options": [], "minimum": None, "maximum": None,
                       "integer": False, "accept": "", "many": False, "uri_object": False}
    spec.update(extra)  # type: ignore[typeddict-item]  # the keys are FieldSpec's, given by the callers below
    return spec


def _discriminator(branches: list[JsonSchema]) -> str | None:
    """The property that is a constant in every alternative and tells them apart (``type``, ``mode``)."""
    if len(branches) < 2:
        return None
    first = branches[0].get("properties", {})
    for name in first:
        consts = [b.get("properties", {}).get(name, {}).get("const") for b in branches]
        if all(c is not None for c in consts) and len({json.dumps(c) for c in consts}) == len(consts):
            return str(name)
    return None


def _choose(current: Any, options: list[JsonValue], default: Any = None) -> JsonValue:
    """``current`` when it is one of ``options`` (compared as text, as a select sends it), else the default."""
    for option in options:
        if current is not None and str(option) == str(current):
            return option
    if default is not None and default in options:
        return default  # type: ignore[no-any-return]  # one of options
    return options[0] if options else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _accept(kinds: str) -> str:
    return ",".join(f"{kind}/*" for kind in kinds.replace(" list", "").split("|"))


def _is_uri_object(schema: object) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "object" and "uri" in schema.get("properties", {})


class _Walk:
    """One pass over a model's schema with the form's current values."""

    def __init__(self, info: ModelInfo, covered: Iterable[str], values: Mapping[str, Any]):
        self.covered = set(covered)
        self.values = values
        self.media = {**info.media_fields, **nested_media_fields(info)}
        self.specs: list[FieldSpec] = []
        self.chosen: dict[str, JsonValue] = {}

    def object(self, schema: object, prefix: str, depth: int) -> None:
        """The required fields of the object ``schema`` at ``prefix`` (an alternative first, if any)."""
        branches = object_branches(schema)
        if not branches:
            return
        branch = branches[0]
        disc = _discriminator(branches)
        if disc is not None:
            key = _join(prefix, disc)
            options: list[JsonValue] = [b["properties"][disc]["const"] for b in branches]
            value = _choose(self.values.get(key), options)
            self.specs.append(_spec(key, "select", options=options))
            self.chosen[key] = value
            branch = branches[options.index(value)]
        props = branch.get("properties", {})
        for name in branch.get("required", []):
            if name != disc and name in props:
                self.field(_join(prefix, name), props[name], depth)

    def field(self, path: str, schema: JsonSchema, depth: int) -> None:
        if path in self.covered or "const" in schema:
            return
        kinds = self.media.get(path)
        if kinds is not None:
            many = kinds.endswith(" list")
            items = schema.get("items", {}) if many else schema
            self.specs.append(_spec(path, "media", accept=_accept(kinds), many=many,
                                    uri_object=_is_uri_object(items)))
            return
        branches = object_branches(schema)
        if branches and depth < _MAX_DEPTH and (len(branches) == 1 or _discriminator(branches) is not None):
            self.object(schema, path, depth + 1)
            return
        self.leaf(path, schema)

    def leaf(self, path: str, schema: JsonSchema) -> None:
        kind = schema.get("type")
        if isinstance(schema.get("enum"), list):
            options = list(schema["enum"])
            self.specs.append(_spec(path, "select", options=options))
            self.chosen[path] = _choose(self.values.get(path), options, schema.get("default"))
        elif kind == "boolean":
            self.specs.append(_spec(path, "checkbox"))
            current = self.values.get(path)
            self.chosen[path] = bool(current) if current is not None else bool(schema.get("default", False))
        elif kind in ("integer", "number"):
            self.specs.append(_spec(path, "number", minimum=schema.get("minimum"), maximum=schema.get("maximum"),
                                    integer=kind == "integer"))
            self.chosen[path] = self.values.get(path, schema.get("default"))
        elif kind == "string" or _all_strings(schema):
            self.specs.append(_spec(path, "text"))
            self.chosen[path] = self.values.get(path, schema.get("default", ""))
        else:
            self.specs.append(_spec(path, "json"))
            self.chosen[path] = self.values.get(path, "")


def _all_strings(schema: JsonSchema) -> bool:
    subs = schema.get("anyOf") or schema.get("oneOf") or []
    return bool(subs) and all(isinstance(s, dict) and s.get("type") == "string" for s in subs)


def generic_fields(info: ModelInfo, covered: Iterable[str],
                   values: Mapping[str, Any]) -> tuple[list[FieldSpec], dict[str, JsonValue]]:
    """The inputs for ``info``'s required fields outside ``covered`` (dotted paths the dedicated
    controls fill), and the form's values for them: ``values`` where they fit, else the schema's
    default or first choice (a select never shows a value it does not offer). Media inputs have
    no value here (they are the form's upload/URL slots)."""
    walk = _Walk(info, covered, values)
    walk.object(info.schema, "", 0)
    return walk.specs, walk.chosen


def reachable(info: ModelInfo, path: str, values: Mapping[str, Any]) -> bool:
    """Whether the alternatives chosen in ``values`` leave room for ``path`` (an avatar's
    ``speech.voice`` exists only when the speech is text)."""
    schema: object = info.schema
    prefix = ""
    for part in path.split("."):
        branches = object_branches(schema)
        if not branches:
            return True  # not an object described further: nothing says no
        disc = _discriminator(branches)
        if disc is not None:
            chosen = values.get(_join(prefix, disc))
            consts = [b["properties"][disc]["const"] for b in branches]
            branches = [branches[consts.index(_choose(chosen, consts))]]
        found = next((b["properties"][part] for b in branches if part in b.get("properties", {})), None)
        if found is None:
            return False
        schema, prefix = found, _join(prefix, part)
    return True


def request_value(spec: FieldSpec, raw: Any) -> JsonValue:
    """What the browser sent for ``spec`` as the request's value; None leaves the field out.

    Values are converted only as far as the input's kind says (a number box's text to a number,
    a JSON box's text to JSON); anything else goes as given, so the client's validation names
    the field and says what it takes."""
    kind = spec["kind"]
    if kind == "select":
        return _choose(raw, spec["options"]) if raw is not None else None
    if kind == "checkbox":
        return bool(raw) if raw is not None else None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == "number" and isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if spec["integer"] and number.is_integer() else number
    if kind == "number" and isinstance(raw, float) and spec["integer"] and raw.is_integer():
        return int(raw)
    if kind == "json" and isinstance(raw, str):
        try:
            parsed: JsonValue = json.loads(raw)
        except ValueError:
            return raw
        return parsed
    return raw  # type: ignore[no-any-return]  # a JSON value from the browser (or a Python caller)


def media_value(spec: FieldSpec, value: str) -> JsonValue:
    """A path or URL for a media input, in the field's shape (a list of one; a {uri} object)."""
    item: JsonValue = {"uri": value} if spec["uri_object"] else value
    return [item] if spec["many"] else item

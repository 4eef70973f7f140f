"""Media fields inside objects: avatar_videos' ``speech.audio``, routed generation's
``input.referenceImages``, ``input.voice.audioUri``.

The catalog's ``media_fields`` name the media at the top of a body; these are found in the
model's JSON Schema the same way (a string with a ``data:<kind>/`` form, a ``{uri}`` object, or a
list of either) and named by dotted path, so request building and the simulator treat them like
any other input.
"""

from __future__ import annotations

import threading

from runway_nb.api.catalog_data import JsonSchema, ModelInfo

__all__ = ["nested_media_fields", "object_branches"]

_KIND_ORDER = ("image", "video", "audio")
_MAX_DEPTH = 3  # input.voice.audioUri is the deepest Runway has

_cache: dict[tuple[str, str], dict[str, str]] = {}
_lock = threading.Lock()


def nested_media_fields(info: ModelInfo) -> dict[str, str]:
    """Dotted path -> kinds ("audio", "image list", "image|video") of the media below the top
    level of ``info``'s body, in the notation of ``ModelInfo.media_fields``."""
    key = (info.endpoint, info.model)
    found = _cache.get(key)
    if found is None:
        found = {}
        for branch in object_branches(info.schema):
            for name, sub in branch.get("properties", {}).items():
                if name not in info.media_fields and not _media_kinds(sub)[0]:
                    _walk(sub, name, found, 1)
        with _lock:
            _cache[key] = found
    return found


def _walk(schema: JsonSchema, prefix: str, out: dict[str, str], depth: int) -> None:
    for branch in object_branches(schema):
        for name, sub in branch.get("properties", {}).items():
            path = f"{prefix}.{name}"
            kinds, single = _media_kinds(sub)
            if kinds:
                text = "|".join(k for k in _KIND_ORDER if k in kinds) or "|".join(sorted(kinds))
                out.setdefault(path, text if single else f"{text} list")
            elif depth < _MAX_DEPTH:
                _walk(sub, path, out, depth + 1)


def object_branches(schema: object) -> list[JsonSchema]:
    """The object shapes ``schema`` allows (its oneOf/anyOf branches, or itself)."""
    if not isinstance(schema, dict):
        return []
    if "properties" in schema:
        return [schema]
    out: list[JsonSchema] = []
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, []):
            out.extend(object_branches(branch))
    return out


def _media_kinds(schema: object) -> tuple[set[str], bool]:
    """(kinds, whether a single value is allowed) of a media field's schema; no kinds: not media."""
    kinds: set[str] = set()
    single = False
    if not isinstance(schema, dict):
        return kinds, single
    pattern = str(schema.get("pattern", ""))
    if pattern.startswith("^data:"):
        kinds.add(pattern[len("^data:"):].split("\\", 1)[0].split("/", 1)[0])
        single = True
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            sub_kinds, sub_single = _media_kinds(sub)
            kinds |= sub_kinds
            single |= sub_single
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        kinds |= _media_kinds(items)[0]
    uri = schema.get("properties", {}).get("uri") if isinstance(schema.get("properties"), dict) else None
    if uri is not None:
        uri_kinds = _media_kinds(uri)[0]
        if uri_kinds:
            kinds |= uri_kinds
            single = True
    return kinds, single

"""Build a create request from Python arguments: names, defaults, media and validation.

Everything here happens before any request is sent, so bad input costs nothing.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from runway_nb.api.catalog_data import ENDPOINTS, ModelInfo
from runway_nb.api.lookup import find, get, modelless_entry, models, retired_error
from runway_nb.api.media import Prepared, ReadFile, prepare
from runway_nb.api.media_paths import nested_media_fields
from runway_nb.api.validation import validate
from runway_nb.errors import ValidationError

PLACEHOLDER = "runway://pending-upload-{n:04d}"

# Python-friendly spellings accepted for the camelCase body fields.
ALIASES = {"prompt": "promptText", "image": "promptImage", "video": "videoUri", "audio": "audioUri"}
# The input each alias stands for, when the model names its field differently (e.g. the audio of
# speech_to_speech is ``media``, the video of some video_to_video models ``promptVideo``).
_ALIAS_KINDS = {"promptImage": "image", "videoUri": "video", "audioUri": "audio"}

# Fields whose value is media, for models the catalog does not know (strict=False).
GENERIC_MEDIA = {"promptImage": "image", "videoUri": "video", "promptVideo": "video",
                 "imageUri": "image", "character": "image|video", "reference": "video",
                 "referenceImages": "image"}


def camel(name: str) -> str:
    if name in ALIASES:
        return ALIASES[name]
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass
class Draft:
    """A validated body, plus the media still to fetch or upload (keyed by placeholder)."""

    endpoint: str
    body: dict[str, Any]
    pending: dict[str, Prepared] = field(default_factory=dict)
    info: ModelInfo | None = None

    def fill(self, placeholder: str, uri: str) -> None:
        self.body = _replace(self.body, placeholder, uri)


def build(endpoint: str, params: dict[str, Any], *, strict: bool = True, fill_defaults: bool = True,
          random_seed: random.Random | None = None, read_file: ReadFile) -> Draft:
    """Validate ``params`` (Python spellings allowed) for ``endpoint`` into a camelCase body.

    Media given as URLs or data URIs go in as they are; local files (read with ``read_file``),
    bytes and images become data URIs, or placeholders in ``Draft.pending`` when they must be
    uploaded or fetched first.
    """
    if endpoint not in ENDPOINTS:
        raise ValidationError("endpoint", endpoint, list(ENDPOINTS))
    body: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        # Short spellings (prompt, image, video, audio) stay as given until the model is known: a
        # model may have a field of that very name (recipes' ``prompt``, seedance2's ``audio`` flag).
        name = key if key in ALIASES else camel(key)
        if name in body or (key in ALIASES and ALIASES[key] in body):
            raise ValidationError(name, value, "one value (it was given twice, under two spellings)")
        body[name] = value
    single = modelless_entry(endpoint)
    known = single or (get(endpoint, body["model"]) if isinstance(body.get("model"), str)
                       and find(endpoint, body["model"]) else None)
    for short, long in ALIASES.items():
        if short in body and (known is None or short not in known.fields):
            target = long
            if short == "prompt" and known is not None and known.prompt_field and "." not in known.prompt_field:
                target = known.prompt_field
            if target in body:
                raise ValidationError(target, body[short], "one value (it was given twice, under two spellings)")
            body[target] = body.pop(short)
    if single is not None:
        # Recipes and routed generation take no model: the magic and the panel may still pass the
        # operation's own name, which is dropped here.
        if body.get("model") in (None, single.model):
            body.pop("model", None)
        model: object = single.model
    else:
        model = body.get("model")
    if not isinstance(model, str) or not model:
        allowed = sorted({m.model for m in models(endpoint) if not m.legacy})
        raise ValidationError("model", model, allowed, message=f"model is required for {endpoint}; allowed: "
                                                               f"{', '.join(allowed)}")
    info: ModelInfo | None
    try:
        info = single or get(endpoint, model)
    except ValidationError:
        if strict:
            raise
        info = None
    if info is not None and info.retired is not None and strict:
        raise retired_error(info)
    if info is not None:
        _place_aliases(body, info)
    if fill_defaults and info is not None:
        if "ratio" in info.fields and "ratio" not in body and info.default_ratio:
            body["ratio"] = info.default_ratio
        if "duration" in info.fields and "duration" not in body and info.default_duration is not None:
            d = info.default_duration
            body["duration"] = int(d) if float(d).is_integer() else d
        if "seed" in info.fields and "seed" not in body:
            body["seed"] = (random_seed or random).randrange(0, 4_294_967_296)
    media_fields = dict(info.media_fields) if info is not None else dict(GENERIC_MEDIA)
    draft = Draft(endpoint, body, info=info)
    for name, kind in media_fields.items():
        if name in body:
            body[name] = _media_value(draft, name, body[name], kind, read_file)
    for path, kind in (nested_media_fields(info).items() if info is not None else ()):
        value = _get_path(draft.body, path)
        if value is not None:  # e.g. avatar_videos' speech.audio given as a file or bytes
            draft.body = _with_path(draft.body, path, _media_value(draft, path, value, kind, read_file))
    validate(endpoint, draft.body, strict=strict)
    return draft


def _media_value(draft: Draft, name: str, value: object, kind: str, read_file: ReadFile) -> Any:
    """The body value for media field ``name``: URIs or placeholders, in the field's shape."""
    kinds = kind.replace(" list", "")
    if name in ("character", "reference") or _typed_object(draft.info, name):
        return _media_object(draft, name, value, kinds, read_file)
    wrap = name == "referenceImages" or _uri_items(draft.info, name)  # a list of {uri} objects
    if isinstance(value, (list, tuple)):
        out: list[object] = []
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            if isinstance(item, dict):
                item = dict(item)
                if "uri" in item:
                    item["uri"] = _one(draft, f"{where}.uri", item["uri"], kinds, read_file)
                out.append(item)
            else:
                uri = _one(draft, where, item, kinds, read_file)
                # A bare list of images for promptImage means keyframes: first (and last).
                if name == "promptImage":
                    out.append({"uri": uri, "position": "first" if i == 0 else "last"})
                elif wrap:
                    out.append({"uri": uri})
                else:
                    out.append(uri)
        return out
    if wrap:  # one input for a list of them
        if isinstance(value, dict) and "uri" in value:
            return [{**value, "uri": _one(draft, f"{name}[0].uri", value["uri"], kinds, read_file)}]
        return [{"uri": _one(draft, name, value, kinds, read_file)}]
    if isinstance(value, dict) and "uri" in value:  # a {uri} object (the recipes' single inputs)
        return {**value, "uri": _one(draft, f"{name}.uri", value["uri"], kinds, read_file)}
    uri = _one(draft, name, value, kinds, read_file)
    return {"uri": uri} if _uri_object(draft.info, name) else uri


def _media_object(draft: Draft, name: str, value: object, kinds: str, read_file: ReadFile) -> dict[str, object]:
    """A ``{type, uri}`` object (Act-Two's character and reference)."""
    if isinstance(value, dict):
        obj: dict[str, object] = dict(value)
        if "uri" in obj:
            obj["uri"] = _one(draft, f"{name}.uri", obj["uri"], kinds, read_file)
        return obj
    uri = _one(draft, name, value, kinds, read_file)
    media = _guess_kind(value, uri, draft.pending.get(uri))
    if name == "reference":
        media = "video"
    return {"type": media or kinds.split("|")[0], "uri": uri}


def _typed_object(info: ModelInfo | None, name: str) -> bool:
    """Whether field ``name`` is a ``{type, uri}`` object (speech_to_speech's ``media``)."""
    sub = info.schema.get("properties", {}).get(name, {}) if info is not None else {}
    branches = sub.get("oneOf") or sub.get("anyOf") or [sub]
    return all(isinstance(b, dict) and {"type", "uri"} <= set(b.get("properties", {})) for b in branches)


def _uri_items(info: ModelInfo | None, name: str) -> bool:
    """Whether field ``name`` is a list of ``{uri}`` objects (references, a recipe's product images)."""
    sub = info.schema.get("properties", {}).get(name, {}) if info is not None else {}
    items = sub.get("items") if sub.get("type") == "array" else None
    return isinstance(items, dict) and "uri" in items.get("properties", {})


def _uri_object(info: ModelInfo | None, name: str) -> bool:
    """Whether field ``name`` is a ``{uri}`` object rather than a bare URI string."""
    sub = info.schema.get("properties", {}).get(name, {}) if info is not None else {}
    return sub.get("type") == "object" and "uri" in sub.get("properties", {})


def _place_aliases(body: dict[str, Any], info: ModelInfo) -> None:
    """Fit the user's spellings to this model's body: an input given under the usual name of its kind
    (``videoUri``, ``audioUri``, ``promptImage``) moves to the model's field for that kind; a preset
    voice given by name becomes the voice object; a prompt and a voice move into ``input`` for routed
    generation; dotted keys (``input.type``) become nested objects."""
    for alias, kind in _ALIAS_KINDS.items():
        if alias in body and alias not in info.fields:
            targets = [n for n, k in info.media_fields.items() if kind in k.split(" ")[0].split("|")]
            if len(targets) == 1 and targets[0] not in body:
                body[targets[0]] = body.pop(alias)
    if info.prompt_field and "." in info.prompt_field and "promptText" in body:
        _set_path(body, info.prompt_field, body.pop("promptText"))
    voices = info.voices
    if voices is not None:
        leaf = voices["path"].rsplit(".", 1)[-1]
        if voices["path"] != leaf and leaf in body and leaf not in info.fields:
            _set_path(body, voices["path"], body.pop(leaf))
        current = _get_path(body, voices["path"])
        if isinstance(current, str):
            _set_path(body, voices["path"], {"type": voices["type"], "presetId": _preset_name(current, voices)})
    for key in [k for k in body if "." in k]:
        _set_path(body, key, body.pop(key))


def _preset_name(name: str, voices: Any) -> str:
    """The preset as spelled in the catalog (voice names are matched without regard to case)."""
    presets: list[str] = list(voices["presets"])
    for preset in presets:
        if preset.lower() == name.lower():
            return preset
    raise ValidationError("voice", name, presets)


def _get_path(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def _with_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``body`` with ``value`` at dotted ``path``; the objects on the way are copied, so the
    caller's own nested dicts are left as they were."""
    head, _, rest = path.partition(".")
    if not rest:
        return {**body, head: value}
    child = body.get(head)
    return {**body, head: _with_path(child if isinstance(child, dict) else {}, rest, value)}


def _guess_kind(value: object, uri: str, prepared: Prepared | None) -> str | None:
    if prepared is not None and prepared.upload is not None:
        return prepared.upload[2].split("/")[0]
    if uri.startswith("data:"):
        return uri[5:].split("/")[0]
    text = str(value).lower().split("?")[0]
    if re.search(r"\.(mp4|mov|webm|m4v)$", text):
        return "video"
    if re.search(r"\.(png|jpe?g|webp|gif)$", text):
        return "image"
    if re.search(r"\.(mp3|wav|flac|ogg|oga|opus|m4a|aac)$", text):
        return "audio"
    return None


def _one(draft: Draft, where: str, value: object, kinds: str, read_file: ReadFile) -> str:
    prepared = prepare(value, where, kinds, read_file=read_file)
    if prepared.uri is not None:
        return prepared.uri
    placeholder = PLACEHOLDER.format(n=len(draft.pending))
    draft.pending[placeholder] = prepared
    return placeholder


def _replace(obj: Any, old: str, new: str) -> Any:  # a JSON value in, the same shape out
    if isinstance(obj, str):
        return new if obj == old else obj
    if isinstance(obj, list):
        return [_replace(v, old, new) for v in obj]
    if isinstance(obj, dict):
        return {k: _replace(v, old, new) for k, v in obj.items()}
    return obj


def display_params(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body as people want to read it: data URIs shortened to their type and size."""
    def short(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("data:"):
            return f"<{value[5:].split(';')[0]}, {len(value):,} chars>"
        if isinstance(value, list):
            return [short(v) for v in value]
        if isinstance(value, dict):
            return {k: short(v) for k, v in value.items()}
        return value
    return {"endpoint": endpoint, **{k: short(v) for k, v in body.items()}}

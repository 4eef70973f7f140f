"""Build a create request from Python arguments: names, defaults, media and validation.

Everything here happens before any request is sent, so bad input costs nothing.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from runway_nb.api import catalog
from runway_nb.api.media import Prepared, prepare
from runway_nb.errors import ValidationError

PLACEHOLDER = "runway://pending-upload-{n:04d}"

# Python-friendly spellings accepted for the camelCase body fields.
ALIASES = {"prompt": "promptText", "image": "promptImage", "video": "videoUri"}

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
    info: catalog.ModelInfo | None = None

    def fill(self, placeholder: str, uri: str) -> None:
        self.body = _replace(self.body, placeholder, uri)


def build(endpoint: str, params: dict[str, Any], *, strict: bool = True, fill_defaults: bool = True,
          random_seed: random.Random | None = None) -> Draft:
    if endpoint not in catalog.ENDPOINTS:
        raise ValidationError("endpoint", endpoint, list(catalog.ENDPOINTS))
    body: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        name = camel(key)
        if name in body:
            raise ValidationError(name, value, "one value (it was given twice, under two spellings)")
        body[name] = value
    model = body.get("model")
    if not isinstance(model, str) or not model:
        allowed = sorted({m.model for m in catalog.models(endpoint)})
        raise ValidationError("model", model, allowed, message=f"model is required for {endpoint}; allowed: "
                                                               f"{', '.join(allowed)}")
    info: catalog.ModelInfo | None
    try:
        info = catalog.get(endpoint, model)
    except ValidationError:
        if strict:
            raise
        info = None
    if info is not None and endpoint == "video_to_video" and "videoUri" in body and "videoUri" not in info.fields \
            and "promptVideo" in info.fields:
        body["promptVideo"] = body.pop("videoUri")
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
            body[name] = _media_value(draft, name, body[name], kind)
    catalog.validate(endpoint, draft.body, strict=strict)
    return draft


def _media_value(draft: Draft, name: str, value: Any, kind: str) -> Any:
    kinds = kind.replace(" list", "")
    if name in ("character", "reference"):
        return _media_object(draft, name, value, kinds)
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            if isinstance(item, dict):
                item = dict(item)
                if "uri" in item:
                    item["uri"] = _one(draft, f"{where}.uri", item["uri"], kinds)
                out.append(item)
            else:
                uri = _one(draft, where, item, kinds)
                # A bare list of images for promptImage means keyframes: first (and last).
                if name == "promptImage":
                    out.append({"uri": uri, "position": "first" if i == 0 else "last"})
                elif name == "referenceImages":
                    out.append({"uri": uri})
                else:
                    out.append(uri)
        return out
    if name == "referenceImages":
        return [{"uri": _one(draft, name, value, kinds)}]
    return _one(draft, name, value, kinds)


def _media_object(draft: Draft, name: str, value: Any, kinds: str) -> dict:
    if isinstance(value, dict):
        obj = dict(value)
        if "uri" in obj:
            obj["uri"] = _one(draft, f"{name}.uri", obj["uri"], kinds)
        return obj
    uri = _one(draft, name, value, kinds)
    media = _guess_kind(value, uri, draft.pending.get(uri))
    if name == "reference":
        media = "video"
    return {"type": media or kinds.split("|")[0], "uri": uri}


def _guess_kind(value: Any, uri: str, prepared: Prepared | None) -> str | None:
    if prepared is not None and prepared.upload is not None:
        return prepared.upload[2].split("/")[0]
    if uri.startswith("data:"):
        return uri[5:].split("/")[0]
    text = str(value).lower().split("?")[0]
    if re.search(r"\.(mp4|mov|webm|m4v)$", text):
        return "video"
    if re.search(r"\.(png|jpe?g|webp|gif)$", text):
        return "image"
    return None


def _one(draft: Draft, where: str, value: Any, kinds: str) -> str:
    prepared = prepare(value, where, kinds)
    if prepared.uri is not None:
        return prepared.uri
    placeholder = PLACEHOLDER.format(n=len(draft.pending))
    draft.pending[placeholder] = prepared
    return placeholder


def _replace(obj: Any, old: str, new: str) -> Any:
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

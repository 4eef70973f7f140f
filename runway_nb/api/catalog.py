"""Runway's model catalog and request validation (stdlib only).

The data comes from ``catalog.json`` (built by ``tools/build_catalog.py`` from Runway's OpenAPI
spec, plus a few hand-documented legacy models). It is loaded lazily, once, on first use, so
importing this module is cheap.

``validate`` checks a camelCase request body against the chosen model's JSON Schema with a
small built-in validator for the subset of JSON Schema the spec uses (type, enum, const,
numeric bounds, minLength/maxLength counted in UTF-16 code units as Runway does, pattern,
items/prefixItems, minItems/maxItems, required, properties, additionalProperties,
anyOf/oneOf/allOf). It raises :class:`runway_nb.errors.ValidationError` naming the field path,
the bad value and what is allowed; every problem found is also in ``err.errors``.

Output sizes and credit figures are estimates for planning and for the offline simulator;
Runway's own answer (``estimatedCost``, the real output) is authoritative.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from runway_nb.errors import ValidationError

__all__ = [
    "ENDPOINTS",
    "ModelInfo",
    "models",
    "get",
    "endpoints_for_model",
    "validate",
    "estimate_credits",
    "output_size",
    "output_duration",
    "infer_endpoint",
    "ratio_size",
    "ratio_sizes",
    "example_body",
]

ENDPOINTS: tuple[str, ...] = (
    "text_to_image",
    "image_to_video",
    "text_to_video",
    "video_to_video",
    "character_performance",
    "video_upscale",
)

#: Seconds assumed for a video whose length follows its input (video_to_video without a
#: ``duration`` field, act_two, upscalers) when the caller does not pass ``input_duration``.
NOMINAL_INPUT_SECONDS = 5.0

SEED_MAX = 4294967295


@dataclass(frozen=True)
class ModelInfo:
    endpoint: str
    model: str
    output: str
    ratios: tuple[str, ...]
    default_ratio: str | None
    durations: tuple[float, ...] | None
    default_duration: float | None
    prompt_field: str | None
    prompt_min: int | None
    prompt_max: int | None
    required: frozenset[str]
    fields: frozenset[str]
    media_fields: dict[str, str] = field(compare=False, hash=False)
    legacy: bool = False
    schema: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    credits: dict = field(default_factory=dict, compare=False, hash=False)
    source: str = ""          # "openapi 2024-11-06" or where a hand-made entry comes from
    note: str | None = None   # e.g. why a legacy model may be refused


# ---------------------------------------------------------------------------------------------
# Loading

_lock = threading.Lock()
_state: dict | None = None


def _load() -> dict:
    global _state
    if _state is not None:
        return _state
    with _lock:
        if _state is not None:
            return _state
        try:
            from importlib.resources import files

            text = files(__package__ or "runway_nb").joinpath("catalog.json").read_text("utf-8")
        except Exception:  # pragma: no cover - unusual packaging
            from pathlib import Path

            text = (Path(__file__).with_name("catalog.json")).read_text("utf-8")
        raw = json.loads(text)
        by_key: dict[tuple[str, str], ModelInfo] = {}
        by_ep: dict[str, list[ModelInfo]] = {ep: [] for ep in ENDPOINTS}
        by_model: dict[str, list[str]] = {}
        for m in raw["models"]:
            info = ModelInfo(
                endpoint=m["endpoint"],
                model=m["model"],
                output=m["output"],
                ratios=tuple(m["ratios"]),
                default_ratio=m["default_ratio"],
                durations=tuple(m["durations"]) if m["durations"] is not None else None,
                default_duration=m["default_duration"],
                prompt_field=m["prompt_field"],
                prompt_min=m["prompt_min"],
                prompt_max=m["prompt_max"],
                required=frozenset(m["required"]),
                fields=frozenset(m["fields"]),
                media_fields=dict(m["media_fields"]),
                legacy=bool(m["legacy"]),
                schema=m["schema"],
                credits=dict(m["credits"]),
                source=m.get("source") or "",
                note=m.get("note"),
            )
            by_key[(info.endpoint, info.model)] = info
            by_ep.setdefault(info.endpoint, []).append(info)
            by_model.setdefault(info.model, []).append(info.endpoint)
        for name, eps in by_model.items():
            eps.sort(key=lambda e: ENDPOINTS.index(e) if e in ENDPOINTS else 99)
        _state = {
            "by_key": by_key,
            "by_ep": by_ep,
            "by_model": by_model,
            "ratio_sizes": {k: tuple(v) for k, v in raw["ratio_sizes"].items()},
            "short_side": dict(raw["resolution_short_side"]),
            "api_version": raw.get("api_version"),
            "where": {},
        }
        return _state


# ---------------------------------------------------------------------------------------------
# Lookup


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in ENDPOINTS:
        raise ValidationError(
            "endpoint", endpoint, list(ENDPOINTS),
            f"endpoint={_short(endpoint)} is not a generation endpoint this catalog knows; "
            f"allowed: {', '.join(ENDPOINTS)}")


def models(endpoint: str | None = None, *, include_legacy: bool = True) -> list[ModelInfo]:
    """Every model of ``endpoint`` (or of all endpoints), in the spec's order."""
    st = _load()
    if endpoint is None:
        out = [m for ep in ENDPOINTS for m in st["by_ep"].get(ep, [])]
    else:
        _check_endpoint(endpoint)
        out = list(st["by_ep"].get(endpoint, []))
    if not include_legacy:
        out = [m for m in out if not m.legacy]
    return out


def _unknown_model_error(endpoint: str, model: Any) -> ValidationError:
    st = _load()
    allowed = [m.model for m in st["by_ep"].get(endpoint, [])]
    current = [m.model for m in st["by_ep"].get(endpoint, []) if not m.legacy]
    if model is None:
        return ValidationError("model", None, allowed,
                               f"model is required; models on {endpoint}: {', '.join(current)}")
    msg = f"model={_short(model)} is not a {endpoint} model; allowed: {', '.join(current)}"
    if isinstance(model, str):
        elsewhere = st["by_model"].get(model)
        if elsewhere:
            msg += f" ({model} is available on {', '.join(elsewhere)})"
        else:
            import difflib

            close = difflib.get_close_matches(model, allowed, n=1, cutoff=0.6)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
    return ValidationError("model", model, allowed, msg)


def get(endpoint: str, model: str) -> ModelInfo:
    """The catalog entry of ``model`` on ``endpoint``; ValidationError if either is unknown."""
    _check_endpoint(endpoint)
    info = _load()["by_key"].get((endpoint, model)) if isinstance(model, str) else None
    if info is None:
        raise _unknown_model_error(endpoint, model)
    return info


def endpoints_for_model(model: str) -> list[str]:
    """Endpoints that accept ``model`` (e.g. "gen4.5" -> ["image_to_video", "text_to_video"])."""
    return list(_load()["by_model"].get(model, []))


# What each endpoint needs as input media.
_NEEDS = {
    "text_to_image": set(),
    "text_to_video": set(),
    "image_to_video": {"image"},
    "video_to_video": {"video"},
    "video_upscale": {"video"},
    "character_performance": {"character", "video"},
}


def infer_endpoint(model: str, *, has_image: bool, has_video: bool,
                   has_character: bool = False) -> str:
    """Which endpoint ``model`` with these inputs means.

    ``has_image``/``has_video`` say whether the request carries an input image / video;
    ``has_character`` whether it carries an Act-Two character. Raises ValidationError when the
    model is unknown, cannot take these inputs, or the choice is ambiguous.
    """
    eps = endpoints_for_model(model)
    if not eps:
        import difflib

        names = sorted(_load()["by_model"])
        close = difflib.get_close_matches(str(model), names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValidationError("model", model, names,
                              f"model={_short(model)} is not in the catalog{hint}")
    if has_character:
        cands = [e for e in eps if e == "character_performance"]
    elif has_video:
        cands = [e for e in eps if e in ("video_to_video", "video_upscale", "character_performance")]
    elif has_image:
        cands = [e for e in eps if e == "image_to_video"] or \
            [e for e in eps if e == "text_to_image"] or \
            [e for e in eps if e == "text_to_video"
             and any(k.startswith("image") for k in get(e, model).media_fields.values())]
    else:
        cands = [e for e in eps if not _NEEDS.get(e)]
    if len(cands) == 1:
        return cands[0]
    given = [n for n, f in (("an image", has_image), ("a video", has_video),
                            ("a character", has_character)) if f] or ["no input media"]
    if not cands:
        needs = "; ".join(
            f"{e} needs {' and '.join(sorted(_NEEDS[e])) or 'only a prompt'}" for e in eps)
        raise ValidationError(
            "model", model, eps,
            f"model {model} cannot be used with {' and '.join(given)}; it is available on "
            f"{', '.join(eps)} ({needs})")
    raise ValidationError("endpoint", None, cands,
                          f"model {model} with {' and '.join(given)} is ambiguous; "
                          f"choose one of: {', '.join(cands)}")


# ---------------------------------------------------------------------------------------------
# Small JSON-Schema validator


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"...({len(text):,} chars)"


def _utf16_len(s: str) -> int:
    # "surrogatepass": a lone surrogate ("\ud83e", valid in JSON text) is one code unit
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "a boolean (true/false)", "object": "an object", "array": "a list",
    "null": "null",
}

_GOT_NAMES = {**_TYPE_NAMES, "boolean": "a boolean"}


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _type_ok(t: str, v: Any) -> bool:
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        if isinstance(v, bool):
            return False
        return isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, (list, tuple))
    if t == "null":
        return v is None
    return True


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


_PATTERNS: dict[str, re.Pattern] = {}
_PATTERN_HELP = {
    "^[a-z][a-z0-9_]+$": "a lowercase letter, then lowercase letters, digits or _",
}


def _pattern_ok(pattern: str, s: str) -> bool:
    rx = _PATTERNS.get(pattern)
    if rx is None:
        # A trailing ".*" cannot change whether re.search matches; dropping it keeps checks of
        # multi-megabyte data URIs cheap.
        p = pattern[:-2] if pattern.endswith(".*") and not pattern.endswith("\\.*") else pattern
        # JSON Schema patterns are ECMA-262: "$" matches only at the very end, while Python's
        # "$" also matches before a final newline ("abc\n" would pass "^[a-z]+$").
        if p.endswith("$") and not p.endswith("\\$"):
            p = p[:-1] + r"\Z"
        rx = _PATTERNS[pattern] = re.compile(p)
    return rx.search(s) is not None


def _fmt_num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10000 else str(x)


def _range_text(schema: dict) -> str | None:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    kind = "integers" if schema.get("type") == "integer" else "numbers"
    parts = []
    if lo is not None and hi is not None:
        return f"{kind} from {_fmt_num(lo)} to {_fmt_num(hi)}"
    if lo is not None:
        parts.append(f">= {_fmt_num(lo)}")
    if xlo is not None:
        parts.append(f"> {_fmt_num(xlo)}")
    if hi is not None:
        parts.append(f"<= {_fmt_num(hi)}")
    if xhi is not None:
        parts.append(f"< {_fmt_num(xhi)}")
    return f"{kind} {' and '.join(parts)}" if parts else None


def _uri_forms(schema: dict) -> list[tuple[str, int, int]] | None:
    """If ``schema`` is an anyOf of prefixed URI strings: [(prefix, minLength, maxLength)]."""
    branches = _flat_branches(schema)
    forms = []
    for b in branches:
        pat = b.get("pattern", "")
        if b.get("type") != "string" or not pat.startswith("^"):
            return None
        prefix = pat[1:]
        if prefix.endswith(".*"):
            prefix = prefix[:-2]
        prefix = prefix.replace("\\/", "/")
        if not re.fullmatch(r"[a-z]+:[a-z/]*", prefix):
            return None
        forms.append((prefix, b.get("minLength", 0), b.get("maxLength", 10**12)))
    return forms or None


def _flat_branches(schema: dict) -> list[dict]:
    key = "anyOf" if "anyOf" in schema else "oneOf" if "oneOf" in schema else None
    if key is None:
        return [schema]
    out = []
    for b in schema[key]:
        if isinstance(b, dict) and set(b) <= {"anyOf"} | {"oneOf"} and len(b) == 1:
            out.extend(_flat_branches(b))
        else:
            out.append(b)
    return out


def _uri_form_text(forms: list[tuple[str, int, int]]) -> str:
    parts = []
    for prefix, _lo, hi in forms:
        if prefix.startswith("https"):
            parts.append(f"an https:// URL (≤{_fmt_num(hi)} chars)")
        elif prefix.startswith("runway"):
            parts.append(f"a runway:// upload URI (≤{_fmt_num(hi)})")
        elif prefix.startswith("data:"):
            parts.append(f"a {prefix}… URI (≤{hi:,} chars)")
        else:
            parts.append(f"a {prefix}… string (≤{_fmt_num(hi)} chars)")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _describe(schema: dict) -> str:
    """Short human description of what a schema accepts."""
    if not isinstance(schema, dict) or not schema:
        return "any value"
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"][:30]) + \
            (f", ... ({len(schema['enum'])} in all)" if len(schema["enum"]) > 30 else "")
    forms = _uri_forms(schema) if ("anyOf" in schema or "oneOf" in schema) else None
    if forms:
        return _uri_form_text(forms)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_describe(b) for b in schema[key])
    t = schema.get("type")
    if t == "array":
        items = schema.get("items")
        inner = _describe(items) if isinstance(items, dict) and items else "items"
        n = ""
        lo, hi = schema.get("minItems"), schema.get("maxItems")
        if lo is not None and hi is not None:
            n = f" ({lo}-{hi} items)" if lo != hi else f" ({lo} item{'s' if lo != 1 else ''})"
        elif hi is not None:
            n = f" (at most {hi} items)"
        elif lo is not None:
            n = f" (at least {lo} items)"
        return f"a list of {inner}{n}"
    if t == "object" or "properties" in schema:
        props = list(schema.get("properties", {}))
        req = set(schema.get("required", []))
        inner = ", ".join(p if p in req else p + "?" for p in props)
        return "{" + inner + "}"
    if t in ("integer", "number"):
        return _range_text(schema) or _TYPE_NAMES[t]
    if t == "string":
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        if lo is not None and hi is not None:
            return f"a string of {lo} to {_fmt_num(hi)} characters"
        if hi is not None:
            return f"a string of at most {_fmt_num(hi)} characters"
        return "a string"
    return _TYPE_NAMES.get(t, str(t)) if t else "any value"


@dataclass
class _Issue:
    path: str
    value: Any
    allowed: Any
    message: str
    kind: str  # required / type / enum / range / length / pattern / items / unknown / form / rule


class _Ctx:
    """Message context: which model, and whether to name the endpoint for a field."""

    def __init__(self, endpoint: str, info: ModelInfo | None):
        self.endpoint = endpoint
        self.info = info

    def where(self, path: str) -> str:
        if self.info is None:
            return f"{self.endpoint}"
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        return f"model {self.info.model}" + (f" on {self.endpoint}" if self._differs(top) else "")

    def _differs(self, top: str) -> bool:
        info = self.info
        assert info is not None
        cache = _load()["where"]
        key = (info.endpoint, info.model, top)
        if key not in cache:
            eps = endpoints_for_model(info.model)
            sig = set()
            for ep in eps:
                other = get(ep, info.model)
                sub = other.schema.get("properties", {}).get(top)
                sig.add((json.dumps(sub, sort_keys=True), top in other.required))
            cache[key] = len(eps) > 1 and len(sig) > 1
        return cache[key]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _check(schema: Any, v: Any, path: str, ctx: _Ctx) -> list[_Issue]:
    if schema is True or not isinstance(schema, dict):
        return [] if schema is not False else [
            _Issue(path, v, "nothing", f"{path} is not allowed for {ctx.where(path)}", "unknown")]
    issues: list[_Issue] = []
    name = path or "body"

    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_type_ok(x, v) for x in types):
            want = " or ".join(_TYPE_NAMES.get(x, x) for x in types)
            extra = ""
            if "enum" in schema or "const" in schema or "minimum" in schema or \
                    "maximum" in schema:
                extra = f" (allowed: {_describe(schema)})"
            got = _GOT_NAMES.get(_json_type(v), _json_type(v))
            return [_Issue(path, v, _describe(schema),
                           f"{name}={_short(v)} is not allowed for {ctx.where(path)}: expected "
                           f"{want}{extra}, got {got}", "type")]

    if "const" in schema and not _json_equal(v, schema["const"]):
        issues.append(_Issue(path, v, [schema["const"]],
                             f"{name}={_short(v)} is not allowed for {ctx.where(path)}; "
                             f"allowed: {schema['const']}", "enum"))
    if "enum" in schema and not any(_json_equal(v, e) for e in schema["enum"]):
        allowed = list(schema["enum"])
        shown = ", ".join(str(a) for a in allowed[:40])
        if len(allowed) > 40:
            shown += f", ... ({len(allowed)} in all)"
        issues.append(_Issue(path, v, allowed,
                             f"{name}={_short(v)} is not allowed for {ctx.where(path)}; "
                             f"allowed: {shown}", "enum"))

    if isinstance(v, str):
        n = None
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        if lo is not None or hi is not None:
            n = _utf16_len(v)
            if hi is not None and n > hi:
                issues.append(_Issue(path, v, f"at most {hi} characters",
                                     f"{name} is {_fmt_num(n)} characters; {ctx.where(path)} allows at "
                                     f"most {_fmt_num(hi)}", "length"))
            elif lo is not None and n < lo:
                what = "empty" if n == 0 else f"{n} characters"
                issues.append(_Issue(path, v, f"at least {lo} characters",
                                     f"{name} is {what}; {ctx.where(path)} needs at least "
                                     f"{lo} character{'s' if lo != 1 else ''}", "length"))
        pat = schema.get("pattern")
        if pat is not None and not _pattern_ok(pat, v):
            help_ = _PATTERN_HELP.get(pat)
            issues.append(_Issue(path, v, f"a string matching {pat}",
                                 f"{name}={_short(v)} is not allowed for {ctx.where(path)}: it "
                                 f"must match {pat}" + (f" ({help_})" if help_ else ""),
                                 "pattern"))

    if isinstance(v, (int, float)) and not isinstance(v, bool):
        bad = False
        if "minimum" in schema and v < schema["minimum"]:
            bad = True
        if "maximum" in schema and v > schema["maximum"]:
            bad = True
        if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
            bad = True
        if "exclusiveMaximum" in schema and v >= schema["exclusiveMaximum"]:
            bad = True
        mult = schema.get("multipleOf")
        if mult and (v / mult) != int(v / mult):
            bad = True
        if bad:
            allowed = _range_text(schema) or _describe(schema)
            if mult:
                allowed += f" (multiples of {mult})"
            issues.append(_Issue(path, v, allowed,
                                 f"{name}={_short(v)} is not allowed for {ctx.where(path)}; "
                                 f"allowed: {allowed}", "range"))

    if isinstance(v, (list, tuple)):
        lo, hi = schema.get("minItems"), schema.get("maxItems")
        if hi is not None and len(v) > hi:
            issues.append(_Issue(path, v, f"at most {hi} items",
                                 f"{name} has {len(v)} items; {ctx.where(path)} allows at most "
                                 f"{hi}", "items"))
        if lo is not None and len(v) < lo:
            issues.append(_Issue(path, v, f"at least {lo} items",
                                 f"{name} has {len(v)} item{'s' if len(v) != 1 else ''}; "
                                 f"{ctx.where(path)} needs at least {lo}", "items"))
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(items, list):  # pre-2020 tuple form
            prefix, items = items, schema.get("additionalItems")
        prefix = prefix or []
        for i, item in enumerate(v):
            sub = prefix[i] if i < len(prefix) else items
            if sub is not None:
                issues.extend(_check(sub, item, _join(path, i), ctx))
        if schema.get("uniqueItems"):
            for i in range(len(v)):
                if any(_json_equal(v[i], v[j]) for j in range(i)):
                    issues.append(_Issue(path, v, "unique items",
                                         f"{name} has duplicate items", "items"))
                    break

    if isinstance(v, dict):
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in v:
                p = _join(path, req)
                issues.append(_Issue(p, None, _describe(props.get(req, {})),
                                     f"{p} is required for {ctx.where(p)}", "required"))
        for key, sub in props.items():
            if key in v:
                issues.extend(_check(sub, v[key], _join(path, key), ctx))
        extra = schema.get("additionalProperties", True)
        for key in v:
            if key in props:
                continue
            p = _join(path, key)
            if extra is False:
                import difflib

                close = difflib.get_close_matches(str(key), list(props), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                issues.append(_Issue(p, v[key], list(props),
                                     f"unknown field {key!r}{' in ' + path if path else ''} for "
                                     f"{ctx.where(p)}{hint}; allowed fields: "
                                     f"{', '.join(props)}", "unknown"))
            elif isinstance(extra, dict):
                issues.extend(_check(extra, v[key], p, ctx))

    for sub in schema.get("allOf", []):
        issues.extend(_check(sub, v, path, ctx))
    if "anyOf" in schema:
        issues.extend(_check_alternatives(schema, "anyOf", v, path, ctx))
    if "oneOf" in schema:
        issues.extend(_check_alternatives(schema, "oneOf", v, path, ctx))
    if "not" in schema and not _check(schema["not"], v, path, ctx):
        issues.append(_Issue(path, v, f"not {_describe(schema['not'])}",
                             f"{name}={_short(v)} is not allowed for {ctx.where(path)}", "form"))
    return issues


def _branch_type_ok(b: dict, v: Any) -> bool:
    t = b.get("type")
    if t is None:
        subs = b.get("anyOf") or b.get("oneOf")
        if subs:
            return any(_branch_type_ok(s, v) for s in subs)
        return True
    return any(_type_ok(x, v) for x in (t if isinstance(t, list) else [t]))


def _check_alternatives(schema: dict, key: str, v: Any, path: str, ctx: _Ctx) -> list[_Issue]:
    branches = schema[key]
    results = [_check(b, v, path, ctx) for b in branches]
    passing = sum(1 for r in results if not r)
    name = path or "body"
    if key == "oneOf" and passing > 1:
        return [_Issue(path, v, _describe(schema),
                       f"{name} matches more than one allowed form for {ctx.where(path)}", "form")]
    if passing:
        return []
    forms = _uri_forms(schema)
    if forms and isinstance(v, str):
        return [_uri_issue(forms, v, path, ctx)]
    compatible = [(b, r) for b, r in zip(branches, results) if _branch_type_ok(b, v)]
    if not compatible:
        desc = _describe(schema)
        got = _GOT_NAMES.get(_json_type(v), _json_type(v))
        return [_Issue(path, v, desc, f"{name} must be {desc} for {ctx.where(path)}; got {got}"
                       f" {_short(v)}", "type")]
    if len(compatible) == 1:
        return compatible[0][1]

    # Several branches of the right type (e.g. {uri, seconds} vs {uri, at}; CharacterImage vs
    # CharacterVideo): prefer the branch whose constant fields match, then the fewest problems.
    def score(item):
        b, r = item
        const_hits = 0
        if isinstance(v, dict):
            for k, sub in b.get("properties", {}).items():
                if isinstance(sub, dict) and "const" in sub and k in v:
                    const_hits += 1 if _json_equal(v[k], sub["const"]) else -1
        deep = sum(1 for i in r if i.kind != "unknown")
        return (-const_hits, deep, len(r))

    best_b, best_r = min(compatible, key=score)
    if isinstance(v, dict):
        # a discriminator ("type") that matches no branch: say which values are allowed
        for k in ("type", "position"):
            consts = [b.get("properties", {}).get(k, {}).get("const") for b, _ in compatible]
            if all(c is not None for c in consts) and k in v and \
                    not any(_json_equal(v[k], c) for c in consts):
                p = _join(path, k)
                return [_Issue(p, v[k], consts, f"{p}={_short(v[k])} is not allowed for "
                               f"{ctx.where(p)}; allowed: {', '.join(map(str, consts))}", "enum")]
    return best_r


def _uri_issue(forms: list[tuple[str, int, int]], v: str, path: str, ctx: _Ctx) -> _Issue:
    desc = _uri_form_text(forms)
    name = path or "value"
    n = _utf16_len(v)
    for prefix, lo, hi in forms:
        if v.startswith(prefix):
            label = {"https://": "an https:// URL", "runway://": "a runway:// URI"}.get(
                prefix, "a data URI" if prefix.startswith("data:") else f"a {prefix} string")
            if n > hi:
                tip = " Upload the file (runway://) instead." if not prefix.startswith("runway") \
                    else ""
                return _Issue(path, v, desc, f"{name} is {label} of {_fmt_num(n)} characters; "
                              f"{ctx.where(path)} allows at most {_fmt_num(hi)}.{tip}", "length")
            if n < lo:
                return _Issue(path, v, desc, f"{name}={_short(v)} is too short to be {label} "
                              f"(at least {lo} characters)", "length")
    if v.startswith("data:"):
        kinds = [p for p, _, _ in forms if p.startswith("data:")]
        return _Issue(path, v, desc, f"{name} is a data URI of the wrong media type ("
                      f"{_short(v.split(',', 1)[0], 40)}); {ctx.where(path)} accepts "
                      f"{', '.join(k + '…' for k in kinds)}. It must be {desc}", "form")
    return _Issue(path, v, desc, f"{name} must be {desc}; got {_short(v)}", "form")


# ---- extra rules the spec states only in prose (strict mode) --------------------------------


def _rule_issues(endpoint: str, info: ModelInfo, body: dict) -> list[_Issue]:
    out: list[_Issue] = []
    ctx = _Ctx(endpoint, info)
    pi = body.get("promptImage")
    if isinstance(pi, (list, tuple)) and all(isinstance(x, dict) for x in pi):
        positions = [x.get("position") for x in pi]
        have = [p for p in positions if p is not None]
        if have and len(have) != len(positions):
            out.append(_Issue("promptImage", pi, "all items with a position (keyframes) or none "
                              "(references)", "promptImage mixes keyframes (items with a "
                              "position) and references (items without); use one mode",
                              "rule"))
        dup = {p for p in have if have.count(p) > 1}
        if dup:
            out.append(_Issue("promptImage", pi, "each position at most once",
                              f"promptImage gives position {sorted(dup)[0]!r} more than once",
                              "rule"))
        if info.model.startswith("veo") and "last" in have and "first" not in have:
            out.append(_Issue("promptImage", pi, "a first frame, optionally with a last frame",
                              f"promptImage has only a last frame; {ctx.where('promptImage')} "
                              "needs a first frame too", "rule"))
    if info.model == "hailuo3" and body.get("ratio") == "adaptive":
        has_media = any(body.get(f) for f in ("promptImage", "promptVideo", "references",
                                              "referenceVideos"))
        if not has_media:
            out.append(_Issue("ratio", "adaptive", [r for r in info.ratios if r != "adaptive"],
                              "ratio='adaptive' needs image or video references; a text-only "
                              f"request needs a concrete ratio: "
                              f"{', '.join(r for r in info.ratios if r != 'adaptive')}", "rule"))
    if body.get("mode") == "extend" and "mode" in info.fields:
        if not body.get("promptText"):
            out.append(_Issue("promptText", None, "a prompt",
                              f"promptText is required when mode='extend' for "
                              f"{ctx.where('mode')}", "required"))
        if "ratio" in body:
            out.append(_Issue("ratio", body["ratio"], "no ratio (the input's is kept)",
                              "ratio may not be given when mode='extend' (the output keeps the "
                              "input's aspect ratio)", "rule"))
    if "proresProfile" in body and "proresProfile" in info.fields and \
            body.get("outputFormat") != "prores":
        out.append(_Issue("proresProfile", body["proresProfile"], "only with outputFormat='prores'",
                          "proresProfile is only valid when outputFormat is 'prores'", "rule"))
    return out


def _basic_issues(endpoint: str, body: dict) -> list[_Issue]:
    """Checks for a model the catalog does not know (strict=False)."""
    out = []
    ctx = _Ctx(endpoint, None)
    basic = {
        "promptText": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0, "maximum": SEED_MAX},
        "ratio": {"type": "string"},
        "duration": {"type": "number", "exclusiveMinimum": 0},
    }
    for key, sub in basic.items():
        if key in body:
            out.extend(_check(sub, body[key], key, ctx))
    return out


_TOP_RANK = {"ratio": 2, "duration": 2, "promptText": 2}


def _rank(issue: _Issue, order: list[str]) -> tuple[int, int]:
    top = re.split(r"[.\[]", issue.path, maxsplit=1)[0]
    if top == "model":
        r = 0
    elif issue.kind == "required" and "." not in issue.path and "[" not in issue.path:
        r = 1
    elif top in _TOP_RANK:
        r = 2
    else:
        r = 3
    return r, order.index(top) if top in order else len(order)


def _raise(issues: list[_Issue], order: list[str]) -> None:
    issues = sorted(issues, key=lambda i: _rank(i, order))
    errors = [ValidationError(i.path or "body", i.value, i.allowed, i.message) for i in issues]
    first = issues[0]
    msg = first.message
    if len(issues) > 1:
        rest = "; ".join(i.message for i in issues[1:4])
        more = f" (+{len(issues) - 4} more)" if len(issues) > 4 else ""
        msg += f" [{len(issues) - 1} more problem{'s' if len(issues) > 2 else ''}: {rest}{more}]"
    err = ValidationError(first.path or "body", first.value, first.allowed, msg)
    err.errors = errors  # type: ignore[attr-defined]
    raise err


def validate(endpoint: str, body: dict, *, strict: bool = True) -> None:
    """Check a camelCase request body for ``endpoint``; raise ValidationError if invalid.

    The model must be in the catalog for that endpoint. With ``strict=False`` an unknown model
    passes with only basic type checks (promptText a string, seed an integer 0..4294967295,
    ratio a string, duration a positive number), and the prose-only rules are skipped.
    """
    _check_endpoint(endpoint)
    if not isinstance(body, dict):
        raise ValidationError("body", body, "an object",
                              f"the request body must be a dict, got {type(body).__name__}")
    model = body.get("model")
    st = _load()
    info = st["by_key"].get((endpoint, model)) if isinstance(model, str) else None
    if info is None:
        if strict or not isinstance(model, str) or not model:
            raise _unknown_model_error(endpoint, model)
        issues = _basic_issues(endpoint, body)
        if issues:
            _raise(issues, ["promptText", "ratio", "duration", "seed"])
        return
    ctx = _Ctx(endpoint, info)
    issues = _check(info.schema, body, "", ctx)
    if strict and not issues:
        issues = _rule_issues(endpoint, info, body)
    if issues:
        _raise(issues, list(info.schema.get("properties", {})))


# ---------------------------------------------------------------------------------------------
# Sizes, durations, credits


def ratio_sizes() -> dict[str, tuple[int, int]]:
    """The documented mapping of aspect-ratio tokens ("16:9", "adaptive", "auto_1k", ...) to
    pixel sizes. "W:H" pixel strings are not listed: they mean exactly W x H."""
    return dict(_load()["ratio_sizes"])


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def ratio_size(ratio: str, resolution: str | None = None) -> tuple[int, int]:
    """Pixel (width, height) for a ``ratio`` value.

    "W:H" with both numbers >= 100 is a pixel size and is returned as is. Aspect-ratio tokens
    use the catalog's ``ratio_sizes`` table (16:9 -> 1280x720, 9:16 -> 720x1280, 1:1 ->
    960x960, 21:9 -> 1680x720, 4:3 -> 960x720, 3:4 -> 720x960, adaptive/auto* -> 1280x720);
    other small "a:b" ratios get a 720-pixel short side. A ``resolution`` token ("768P", "2K",
    "1080p", ...) rescales an aspect-ratio token so its short side matches. Sizes are even.
    """
    st = _load()
    table = st["ratio_sizes"]
    if not isinstance(ratio, str):
        raise ValidationError("ratio", ratio, "a 'W:H' string",
                              f"ratio={_short(ratio)} is not a 'W:H' string")
    base = table.get(ratio) or table.get(ratio.lower())
    if base is None:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x]\s*(\d+(?:\.\d+)?)\s*", ratio)
        if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
            raise ValidationError("ratio", ratio, "a 'W:H' string or one of " +
                                  ", ".join(table),
                                  f"ratio={_short(ratio)} is neither a 'W:H' size nor a known "
                                  f"aspect-ratio token ({', '.join(table)})")
        w, h = float(m.group(1)), float(m.group(2))
        if min(w, h) >= 100 and w.is_integer() and h.is_integer():
            return int(w), int(h)
        base = (_even(720 * w / h), 720) if w >= h else (720, _even(720 * h / w))
    if resolution and isinstance(resolution, str):
        short = st["short_side"].get(resolution.lower())
        if short:
            w, h = base
            scale = short / min(w, h)
            return _even(w * scale), _even(h * scale)
    return int(base[0]), int(base[1])


def _info_or_none(endpoint: str, body: dict) -> ModelInfo | None:
    _check_endpoint(endpoint)
    model = body.get("model") if isinstance(body, dict) else None
    return _load()["by_key"].get((endpoint, model)) if isinstance(model, str) else None


def output_size(endpoint: str, body: dict) -> tuple[int, int]:
    """Pixel (width, height) the output will have (an estimate when it follows the input).

    Uses the body's ``ratio`` (or ``targetAspectRatio``), else the model's default ratio, with
    ``resolution`` applied to aspect-ratio tokens. Models without a ratio follow their input;
    they are assumed 16:9 at their ``resolution`` (default 720p; video_upscale default 2k).
    """
    info = _info_or_none(endpoint, body)
    body = body if isinstance(body, dict) else {}
    res = body.get("resolution")
    if res is None and info is not None:
        res = info.schema.get("properties", {}).get("resolution", {}).get("default")
        if res is None and endpoint == "video_upscale" and "resolution" in info.fields:
            res = "2k"  # spec: "Defaults to 2k"
    if res is None and info is not None and info.model == "upscale_v1":
        res = "4k"  # upscale_v1 upscaled to 4K (nominal)
    for key in ("ratio", "targetAspectRatio"):
        r = body.get(key)
        if isinstance(r, str) and r:
            try:
                return ratio_size(r, res)
            except ValidationError:
                pass
    if info is not None and info.default_ratio:
        return ratio_size(info.default_ratio, res)
    return ratio_size("16:9", res if isinstance(res, str) else None)


def output_duration(endpoint: str, body: dict, *,
                    input_duration: float | None = None) -> float | None:
    """Seconds of video output: the body's ``duration``, else the model's default; ``None``
    for images. When the length follows the input video (no duration field: aleph2, act_two,
    upscalers), ``input_duration`` if given, else NOMINAL_INPUT_SECONDS (5)."""
    info = _info_or_none(endpoint, body)
    if endpoint == "text_to_image" or (info is not None and info.output == "image"):
        return None
    body = body if isinstance(body, dict) else {}
    d = body.get("duration")
    if isinstance(d, (int, float)) and not isinstance(d, bool) and d > 0:
        return float(d)
    if info is not None and info.default_duration is not None:
        return float(info.default_duration)
    if input_duration is not None:
        return float(input_duration)
    return NOMINAL_INPUT_SECONDS


def estimate_credits(endpoint: str, body: dict, *,
                     input_duration: float | None = None) -> float | None:
    """A rough credit estimate (1 credit = USD 0.01), or ``None`` for an unknown model.

    Video: rate x seconds (veo without audio is cheaper; non-mp4 outputFormat adds a per-second
    surcharge). Images: rate x outputCount (gen4_image is cheaper at 720p). Rules marked
    ``"estimate": "rough"`` in ``ModelInfo.credits`` are guesses.
    """
    info = _info_or_none(endpoint, body)
    if info is None or not info.credits:
        return None
    rule = info.credits
    rate = float(rule.get("rate", 0))
    if rule.get("unit") == "image":
        if "rate_720p" in rule:
            w, h = output_size(endpoint, body)
            if min(w, h) <= 720:
                rate = float(rule["rate_720p"])
        count = body.get("outputCount", 1)
        if not isinstance(count, (int, float)) or isinstance(count, bool) or count < 1:
            count = 1
        return rate * count
    seconds = output_duration(endpoint, body, input_duration=input_duration)
    if seconds is None:
        return None
    if "rate_no_audio" in rule:
        audio = body.get("audio")
        if audio is None:
            audio = info.schema.get("properties", {}).get("audio", {}).get("default", True)
        if audio is False:
            rate = float(rule["rate_no_audio"])
    total = rate * seconds
    fmt = body.get("outputFormat")
    if rule.get("non_mp4_surcharge") and isinstance(fmt, str) and fmt != "mp4":
        total += float(rule["non_mp4_surcharge"]) * seconds
    return total


# ---------------------------------------------------------------------------------------------
# Example bodies

_EXT = {"image": "jpg", "video": "mp4", "audio": "mp3"}


def _example(schema: Any, name: str = "") -> Any:
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    forms = _uri_forms(schema) if ("anyOf" in schema or "oneOf" in schema) else None
    if forms:
        kind = next((p[5:].rstrip("/") for p, _, _ in forms if p.startswith("data:")), "image")
        return f"https://example.com/input.{_EXT.get(kind, 'bin')}"
    if "anyOf" in schema or "oneOf" in schema:
        return _example(_flat_branches(schema)[0], name)
    t = schema.get("type")
    if isinstance(t, list):
        t = t[0]
    if t == "string":
        pat = schema.get("pattern", "")
        if pat.startswith("^https"):
            return "https://example.com/input.jpg"
        lo = schema.get("minLength", 1)
        return "example"[:max(lo, 1)] if lo <= 7 else "x" * lo
    if t in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        if "exclusiveMinimum" in schema:
            return schema["exclusiveMinimum"] + 1
        return 0
    if t == "boolean":
        return False
    if t == "array":
        n = schema.get("minItems", 0)
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_example(items, name) for _ in range(n)]
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(props.get(k, {}), k) for k in schema.get("required", [])}
    return None


def example_body(endpoint: str, model: str, *, prompt: str = "a red fox running through snow"
                 ) -> dict:
    """A minimal valid request body for ``model`` on ``endpoint``: the required fields, plus
    the default ratio, the default duration and a prompt when the model takes them. Media
    fields get placeholder https:// URLs."""
    info = get(endpoint, model)
    props = info.schema.get("properties", {})
    body: dict[str, Any] = {"model": model}
    for req in info.schema.get("required", []):
        if req != "model":
            body[req] = _example(props.get(req, {}), req)
    if info.prompt_field and info.prompt_field in props:
        lo = info.prompt_min or 1
        text = prompt if len(prompt) >= lo else prompt + "." * (lo - len(prompt))
        if info.prompt_max is not None:
            text = text[: info.prompt_max]
        body[info.prompt_field] = text
    if info.default_ratio is not None:
        body["ratio"] = info.default_ratio
    if info.default_duration is not None:
        body["duration"] = info.default_duration
    return body

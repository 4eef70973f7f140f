"""Inputs: our validation accepts a request exactly when Runway's OpenAPI schema does.

For every model of the official spec (``shared/runway/openapi-2024-11-06.json``), hypothesis draws
request bodies from the model's own schema: mostly valid values with near misses mixed in (enum
values of other models, boundary numbers and their neighbours, integral and fractional floats,
strings at their length limits counted in UTF-16 units with astral characters, URIs with the
wrong scheme or media type, wrong types, extra fields, missing required fields, other models'
names). Each body is judged by

- the oracle: jsonschema's Draft 2020-12 validator on the endpoint's whole request schema (the
  ``oneOf`` over models), with two keywords brought to the semantics Runway states: ``minLength``
  / ``maxLength`` count UTF-16 code units (the spec says so in prose; jsonschema counts code
  points) and ``pattern`` is an ECMA-262 regex, where ``$`` matches only at the very end
  (Python's ``$`` also matches before a final newline);
- ``catalog.validate(endpoint, body, strict=False)``: must agree with the oracle exactly;
- ``catalog.validate(endpoint, body, strict=True)``: must agree with the oracle plus the catalog's
  documented prose rules (keyframe positions, veo's last-without-first, hailuo3's text-only
  ``adaptive``, seedance2_5's ``mode='extend'``, ``proresProfile`` only with ``prores``),
  re-stated independently below;
- ``_request.build(endpoint, params, fill_defaults=False)``: what it accepts must be valid for the
  oracle as sent (``draft.body``); what the oracle accepts it must accept, except a ``data:`` URI
  over 5,242,880 characters (the client's documented cap) or a media string with surrounding
  whitespace (stripped); where it accepts what the oracle refuses as given, it must have changed
  the body by a documented convenience (``None`` dropped, ``http://`` fetched and uploaded, bare
  URIs wrapped in ``{"uri": ...}`` objects, ``videoUri`` renamed to ``promptVideo``).

Stock jsonschema (code points, Python ``$``) is also run; where it disagrees with the oracle the
body must hold an astral character or a trailing newline, and those cases are counted.

Models that are not in the spec (legacy and SDK-only entries of the catalog) are excluded: there is
no official schema to compare with. ``MAX_EXAMPLES`` per model is fixed (see docs/hardening.md).
"""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

import pytest
from shared_docs import OPENAPI_SPEC, shared_file, shared_path

from runway_nb.api import catalog
from runway_nb.api import request as _request
from runway_nb.client.local_files import read_local_file
from runway_nb.errors import ValidationError

from . import Tally

hypothesis = pytest.importorskip("hypothesis")
jsonschema = pytest.importorskip("jsonschema")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SPEC_PATH = shared_path(OPENAPI_SPEC)
pytestmark = pytest.mark.needs_shared(OPENAPI_SPEC)

MAX_EXAMPLES = 80  # per model; 58 spec models (was 120 for 38: the same total time)
DATA_URI_CAP = 5_242_880  # runway_nb.api.media.DATA_URI_LIMIT: the client's own cap on data: URIs

TALLY = Tally("inputs")


# ---------------------------------------------------------------------------------------------
# The spec and the oracle


def _resolve(node: Any, root: dict, stack: tuple = ()) -> Any:
    if isinstance(node, list):
        return [_resolve(v, root, stack) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in stack, ref
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = _resolve(target, root, (*stack, ref))
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**merged, **_resolve(rest, root, stack)} if rest else merged
    return {k: _resolve(v, root, stack) for k, v in node.items()}


_SPEC: dict | None = None
_SCHEMAS: dict[str, dict] = {}


def spec() -> dict:
    global _SPEC
    if _SPEC is None:
        _SPEC = json.loads(shared_file(OPENAPI_SPEC).read_text("utf-8"))
    return _SPEC


def request_schema(endpoint: str) -> dict:
    if endpoint not in _SCHEMAS:
        body = spec()["paths"][f"/v1/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]
        _SCHEMAS[endpoint] = _resolve(body["schema"], spec())
    return _SCHEMAS[endpoint]


def _branch_model(branch: dict) -> str | None:
    model = branch.get("properties", {}).get("model", {})
    return model.get("const") or (model.get("enum") or [None])[0]


def spec_models() -> list[tuple[str, str]]:
    if not SPEC_PATH.exists():
        return []
    out = []
    for ep in catalog.ENDPOINTS:
        if f"/v1/{ep}" not in spec()["paths"]:
            continue  # newer than the spec copy
        schema = request_schema(ep)
        branches = schema.get("oneOf") or [schema]
        for branch in branches:
            model = _branch_model(branch)
            if model is not None:  # recipes and routed generation have no model: not a oneOf over models
                out.append((ep, model))
    return out


def branch_schema(endpoint: str, model: str) -> dict:
    schema = request_schema(endpoint)
    return next(b for b in schema.get("oneOf") or [schema] if _branch_model(b) == model)


_UTF16: dict[int, tuple[str, int]] = {}


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units (a lone surrogate counts one). Multi-megabyte strings are
    measured once per body (``check_body`` clears the memo)."""
    if s.isascii():
        return len(s)
    if len(s) < 4096:
        return len(s.encode("utf-16-le", "surrogatepass")) // 2
    hit = _UTF16.get(id(s))
    if hit is None or hit[0] is not s:
        hit = _UTF16[id(s)] = (s, len(s.encode("utf-16-le", "surrogatepass")) // 2)
    return hit[1]


_ECMA: dict[str, re.Pattern] = {}


def ecma_search(pattern: str, s: str) -> bool:
    """re.search with ECMA-262's ``$`` (end of input only; no multiline flag in JSON Schema).
    The spec's patterns use ``^``, ``$``, ``.*``, classes and escaped slashes only; a trailing
    ``.*`` cannot change a search, so ``.``'s line terminators do not matter here."""
    rx = _ECMA.get(pattern)
    if rx is None:
        ecma_end = pattern.endswith("$") and not pattern.endswith("\\$")
        rx = _ECMA[pattern] = re.compile(pattern[:-1] + r"\Z" if ecma_end else pattern)
    return rx.search(s) is not None


def _max_length(validator, limit, instance, schema):
    if validator.is_type(instance, "string") and utf16_len(instance) > limit:
        yield jsonschema.ValidationError(f"longer than {limit} UTF-16 code units")


def _min_length(validator, limit, instance, schema):
    if validator.is_type(instance, "string") and utf16_len(instance) < limit:
        yield jsonschema.ValidationError(f"shorter than {limit} UTF-16 code units")


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_search(pattern, instance):
        yield jsonschema.ValidationError(f"does not match {pattern!r} (ECMA-262)")


RunwayValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {"maxLength": _max_length, "minLength": _min_length, "pattern": _pattern})

_ORACLES: dict[tuple[str, str], Any] = {}
_STOCK: dict[tuple[str, str], Any] = {}


def _branch_of(endpoint: str, body: Any) -> str | None:
    """The oneOf branch a body can match. Every branch requires ``model`` with its own const
    (``test_spec_branches_are_told_apart_by_model``), so the whole oneOf accepts a body exactly
    when the branch of its model does; validating that branch alone is several times faster."""
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model in MODEL_POOL.get(endpoint, ()) else None


def oracle_ok(endpoint: str, body: Any) -> bool:
    model = _branch_of(endpoint, body)
    if model is None:
        return False
    if (endpoint, model) not in _ORACLES:
        _ORACLES[endpoint, model] = RunwayValidator(branch_schema(endpoint, model))
    return _ORACLES[endpoint, model].is_valid(body)


def stock_ok(endpoint: str, body: Any) -> bool:
    model = _branch_of(endpoint, body)
    if model is None:
        return False
    if (endpoint, model) not in _STOCK:
        _STOCK[endpoint, model] = jsonschema.Draft202012Validator(branch_schema(endpoint, model))
    return _STOCK[endpoint, model].is_valid(body)


def prose_violations(endpoint: str, body: dict) -> list[str]:
    """The rules catalog.py applies under strict=True on top of the schema (the spec states them
    only in its descriptions), re-stated here for a schema-valid body."""
    info = catalog.get(endpoint, body["model"])
    out = []
    pi = body.get("promptImage")
    if isinstance(pi, list) and all(isinstance(x, dict) for x in pi):
        positions = [x.get("position") for x in pi]
        given_ = [p for p in positions if p is not None]
        if given_ and len(given_) != len(positions):
            out.append("keyframes and references mixed")
        if len(set(given_)) != len(given_):
            out.append("a position twice")
        if info.model.startswith("veo") and "last" in given_ and "first" not in given_:
            out.append("veo: last frame without a first")
    if info.model == "hailuo3" and body.get("ratio") == "adaptive" and not any(
            body.get(k) for k in ("promptImage", "promptVideo", "references", "referenceVideos")):
        out.append("hailuo3: adaptive without media")
    if "mode" in info.fields and body.get("mode") == "extend":
        if not body.get("promptText"):
            out.append("extend without a prompt")
        if "ratio" in body:
            out.append("extend with a ratio")
    if "proresProfile" in info.fields and "proresProfile" in body and body.get("outputFormat") != "prores":
        out.append("proresProfile without prores")
    return out


def strict_ok(endpoint: str, body: Any) -> tuple[bool, list[str]]:
    if not oracle_ok(endpoint, body):
        return False, []
    rules = prose_violations(endpoint, body)
    return not rules, rules


# ---------------------------------------------------------------------------------------------
# Generation: values near a schema


def _walk(node: Any, fn) -> None:
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            _walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            _walk(v, fn)


def _pools() -> tuple[list, list[str], dict[str, list[str]]]:
    enums: set = set()
    fields: set[str] = set()
    models: dict[str, list[str]] = {}

    def visit(n: dict) -> None:
        for v in n.get("enum", []):
            enums.add(v)
        if "const" in n and not isinstance(n["const"], (dict, list)):
            enums.add(n["const"])
        fields.update(k for k in n.get("properties", {}) if isinstance(k, str))

    for ep, model in spec_models():
        _walk(request_schema(ep), visit)
        models.setdefault(ep, []).append(model)
    fields -= set(_request.ALIASES)  # "prompt"/"image"/"video" are build's own spellings
    return sorted(enums, key=repr), sorted(fields), models


ENUM_POOL, FIELD_POOL, MODEL_POOL = _pools() if SPEC_PATH.exists() else ([], [], {})

ASTRAL = "\U0001F98A"  # 🦊: one code point, two UTF-16 code units
FILLERS = ("ascii", "bmp", "astral", "lone_surrogate", "newline")
URI_PREFIXES = ("https://", "runway://", "data:image/png;base64,", "data:video/mp4;base64,",
                "data:audio/mpeg;base64,", "http://", "HTTPS://", " https://", "https:/", "runway:/",
                "ftp://", "javascript:", "JaVaScRiPt:", "data:text/html,", "data:image/svg+xml,",
                "data:IMAGE/png;base64,", "file:///", "", "data:video/", "data:image/")

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                         st.floats(allow_nan=False, allow_infinity=False, width=64),
                         st.text(max_size=12))
any_json = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def _fill(prefix: str, target: int, filler: str, trail: str = "") -> str:
    """``prefix`` padded to exactly ``target`` UTF-16 code units (if it fits)."""
    room = target - utf16_len(prefix) - utf16_len(trail)
    if room < 0:
        return (prefix + trail)[: max(0, target)]
    if filler == "astral":
        k = min(room // 2, 3)  # a few astral characters near the end: code points < UTF-16 units
        return prefix + "a" * (room - 2 * k) + ASTRAL * k + trail
    if filler == "bmp":
        return prefix + "é" * room + trail
    if filler == "lone_surrogate" and room >= 1:
        return prefix + "a" * (room - 1) + "\ud83e" + trail
    if filler == "newline" and room >= 1:
        return prefix + "a" * (room - 1) + "\n" + trail
    return prefix + "a" * room + trail


def _lengths(lo: int, hi: int | None, *, valid: bool, big: bool = True) -> st.SearchStrategy[int]:
    """Lengths in UTF-16 units: at and around the limits (``valid``: inside them only).
    Multi-megabyte lengths only when ``big`` (not for list items, where they would multiply)."""
    near_lo = [lo, lo + 1] if valid else [max(0, lo - 1), lo, lo + 1]
    top = hi if hi is not None else lo + 200
    typical = sorted({min(top, lo + 3), min(top, lo + 20), min(top, lo + 120)})
    if hi is None:
        return st.sampled_from(near_lo + typical * 2)
    near_hi = [hi - 1, hi] if valid else [hi - 1, hi, hi + 1]
    if hi > 100_000:  # multi-megabyte data: URIs: now and then, they cost time to check
        if not big:
            return st.sampled_from(near_lo + typical)
        return st.sampled_from(near_lo * 4 + typical * 24 + near_hi)
    return st.sampled_from(near_lo + typical + near_hi * 2)


FILLER_WEIGHTS = ("ascii",) * 4 + FILLERS


def _uri_prefix(pattern: str) -> str | None:
    if pattern.startswith("^") and pattern.endswith(".*"):
        return pattern[1:-2].replace("\\/", "/")
    return None


def _valid_string(schema: dict, big: bool) -> st.SearchStrategy[str]:
    lo = schema.get("minLength", 0)
    hi = schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern and _uri_prefix(pattern) is not None:
        return st.builds(_fill, st.just(_uri_prefix(pattern)), _lengths(lo, hi, valid=True, big=big),
                         st.sampled_from(FILLER_WEIGHTS))
    if pattern:
        return st.from_regex(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern, fullmatch=True).filter(
            lambda s: lo <= utf16_len(s) <= (hi if hi is not None else 10**9))
    return st.builds(_fill, st.just(""), _lengths(lo, hi, valid=True, big=big), st.sampled_from(FILLER_WEIGHTS))


def _miss_string(schema: dict, big: bool) -> st.SearchStrategy[str]:
    lo = schema.get("minLength", 0)
    hi = schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern and _uri_prefix(pattern) is not None:
        prefixes = st.one_of(st.just(_uri_prefix(pattern)), st.sampled_from(URI_PREFIXES))
        return st.builds(_fill, prefixes, _lengths(lo, hi, valid=False, big=big), st.sampled_from(FILLER_WEIGHTS))
    if pattern:
        return st.sampled_from(["ab", "abc", "abc\n", "Abc", "1abc", "ab-c", "a" * 16, "a" * 17,
                                "abc_def_ghi_jkl", "x" + ASTRAL, "é" * 4, "abc\ud83e"])
    return st.builds(_fill, st.just(""), _lengths(lo, hi, valid=False, big=big), st.sampled_from(FILLER_WEIGHTS))


def _bounds(schema: dict) -> tuple[Any, Any]:
    return (schema.get("minimum", schema.get("exclusiveMinimum")),
            schema.get("maximum", schema.get("exclusiveMaximum")))


def _valid_number(schema: dict, integer: bool) -> st.SearchStrategy:
    lo, hi = _bounds(schema)
    if "exclusiveMinimum" in schema:
        lo = lo + 1 if integer else lo + 1e-9
    if "exclusiveMaximum" in schema:
        hi = hi - 1 if integer else hi - 1e-9
    lo = lo if lo is not None else -1000
    hi = hi if hi is not None else 1000
    if integer:
        edge = st.sampled_from([lo, hi, min(hi, lo + 1), max(lo, hi - 1)])
        ints = st.one_of(edge, edge, st.integers(lo, hi))
        return st.one_of(ints, ints, ints, ints.map(float))  # 5.0 is an integer in JSON Schema
    return st.one_of(st.sampled_from([lo, hi]), st.floats(lo, hi), st.integers(int(lo) + 1, int(hi)))


def _miss_number(schema: dict, integer: bool) -> st.SearchStrategy:
    lo, hi = _bounds(schema)
    points = [0, -1, 5]
    for b in (lo, hi):
        if b is not None:
            points += [b - 1, b, b + 1]
    base = st.sampled_from(sorted(set(points)))
    out = [base, base.map(lambda x: x + 0.5), base.map(str), st.just(True), st.just(2**64)]
    if lo is None or hi is None:
        out.append(st.integers(-2**33, 2**33))
    return st.one_of(*out)


def _flat(schema: dict) -> list[dict]:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            out = []
            for b in schema[key]:
                out.extend(_flat(b))
            return out
    return [schema]


WRONG = st.one_of(json_scalars, st.lists(json_scalars, max_size=2), st.just({}))
PER_MILLE = st.integers(0, 999)
FIELD_NAMES = st.lists(st.one_of(st.sampled_from(FIELD_POOL) if FIELD_POOL else st.nothing(),
                                 st.from_regex(r"[a-z][a-zA-Z]{2,10}", fullmatch=True)), min_size=1, max_size=2)

# Strategies are built once per (schema node, settings) and reused: building hypothesis
# strategies afresh inside every draw costs far more than the checks themselves.
_MEMO: dict[tuple, st.SearchStrategy] = {}


def _memo(key: tuple, build) -> st.SearchStrategy:
    strat = _MEMO.get(key)
    if strat is None:
        strat = _MEMO[key] = build()
    return strat


def miss(schema: Any, depth: int, big: bool = True) -> st.SearchStrategy:
    """A near miss for ``schema``: a value of the right kind just outside it, or a wrong type."""
    return _memo(("miss", id(schema), depth, big), lambda: _build_miss(schema, depth, big))


def _build_miss(schema: Any, depth: int, big: bool) -> st.SearchStrategy:
    if not isinstance(schema, dict) or not schema:
        return any_json
    if "const" in schema:
        c = schema["const"]
        variants = [c.upper(), c + " ", c[:-1], " " + c] if isinstance(c, str) and c else [None]
        return st.one_of(st.sampled_from(variants), st.sampled_from(ENUM_POOL), WRONG)
    if "enum" in schema:
        vals = schema["enum"]
        mutated = st.sampled_from(vals).map(
            lambda v: (v.upper() if v.upper() != v else v + "x") if isinstance(v, str) else v + 1)
        return st.one_of(st.sampled_from(ENUM_POOL), st.sampled_from(ENUM_POOL), mutated, WRONG)
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of(*[miss(b, depth, big) for b in _flat(schema)])
    t = schema.get("type")
    if t == "string":
        s = _miss_string(schema, big)
        return st.one_of(s, s, s, WRONG)
    if t in ("integer", "number"):
        n = _miss_number(schema, t == "integer")
        return st.one_of(n, n, WRONG)
    if t == "boolean":
        return st.sampled_from([0, 1, "true", None, "false"])
    if t == "array":
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        bad_sizes = [n for n in (lo - 1, (hi or 0) + 1) if 0 <= n <= 31 and (n < lo or (hi is not None and n > hi))]
        sub = value(schema.get("items", {}), depth + 1, 0.0, False)
        out = [value(schema.get("items", {}), depth + 1, 0.0, big), WRONG]  # one item, not a list
        if bad_sizes:
            out.append(st.sampled_from(bad_sizes).flatmap(lambda n: st.lists(sub, min_size=n, max_size=n)))
        return st.one_of(*out)
    if t == "object" or "properties" in schema:
        return st.one_of(_object(schema, depth, 0.0, big, drop_required=True),
                         _object(schema, depth, 0.0, big, extra=True), WRONG)
    return any_json


def value(schema: Any, depth: int, mut: float, big: bool = True) -> st.SearchStrategy:
    """Values for ``schema``: valid, except that each node is a near miss with chance ``mut``."""
    depth = min(depth, 4)
    return _memo(("value", id(schema), depth, mut, big), lambda: _build_value(schema, depth, mut, big))


def _build_value(schema: Any, depth: int, mut: float, big: bool) -> st.SearchStrategy:
    core = _build_valid(schema, depth, mut, big)
    if not mut:
        return core
    threshold = int(mut * 1000)

    @st.composite
    def maybe_miss(draw):
        if draw(PER_MILLE) < threshold:
            return draw(miss(schema, depth, big))
        return draw(core)

    return maybe_miss()


def _build_valid(schema: Any, depth: int, mut: float, big: bool) -> st.SearchStrategy:
    if not isinstance(schema, dict) or not schema:
        return any_json
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of(*[value(b, depth, mut, big) for b in _flat(schema)])
    t = schema.get("type")
    if t == "string":
        return _valid_string(schema, big)
    if t in ("integer", "number"):
        return _valid_number(schema, t == "integer")
    if t == "boolean":
        return st.booleans()
    if t == "array":
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        hi = min(hi if hi is not None else lo + 3, 31)
        small = sorted({lo, min(hi, lo + 1), min(hi, lo + 2)})
        sizes = st.sampled_from(small * 3 + [hi] * (2 if hi - lo <= 3 else 1))  # the full list now and then
        item = value(schema.get("items", {}), depth + 1, mut, False)
        return sizes.flatmap(lambda n: st.lists(item, min_size=n, max_size=n))
    if t == "object" or "properties" in schema:
        return _object(schema, depth, mut, big)
    return any_json


def _object(schema: dict, depth: int, mut: float, big: bool = True, *, model: str | None = None,
            drop_required: bool = False, extra: bool = False) -> st.SearchStrategy:
    key = ("object", id(schema), depth, mut, big, model, drop_required, extra)
    return _memo(key, lambda: _build_object(schema, depth, mut, big, model, drop_required, extra))


def _build_object(schema: dict, depth: int, mut: float, big: bool, model: str | None,
                  drop_required: bool, extra: bool) -> st.SearchStrategy:
    props = schema.get("properties", {})
    required = [k for k in props if k in set(schema.get("required", []))]
    droppable = [k for k in required if k != "model"]
    fields = [(name, name in required, value(sub, depth + 1, mut, big)) for name, sub in props.items()
              if not (name == "model" and model is not None)]
    threshold = int(mut * 1000)

    @st.composite
    def build(draw):
        dropped = None
        if droppable and (drop_required or (threshold and draw(PER_MILLE) < threshold)):
            dropped = draw(st.sampled_from(droppable))
        out: dict[str, Any] = {}
        for name, is_required, strat in fields:
            if name != dropped and (is_required or draw(st.booleans())):
                out[name] = draw(strat)
        if extra or (threshold and draw(PER_MILLE) < threshold):
            for name in draw(FIELD_NAMES):
                if name not in props:
                    out[name] = draw(any_json)
        return out

    return build()


MUT_RATES = st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.03, 0.06, 0.1, 0.2, 0.35, 0.6])


def bodies(endpoint: str, model: str) -> st.SearchStrategy[dict]:
    """Whole request bodies: about 40 % drawn valid, the others with near misses at a low or
    high rate; the model name is sometimes another model's (this body, that model's rules)."""
    schema = branch_schema(endpoint, model)
    all_models = sorted({m for ms in MODEL_POOL.values() for m in ms})

    @st.composite
    def build(draw):
        mut = draw(MUT_RATES)
        body = draw(_object(schema, 0, mut, True, model=model))
        roll = draw(st.integers(0, 99)) if mut else 0
        if roll < 80:
            name: Any = model
        elif roll < 92:
            name = draw(st.sampled_from(MODEL_POOL[endpoint]))
        elif roll < 96:
            name = draw(st.sampled_from(all_models))
        else:
            name = draw(st.sampled_from([None, 42, "", model.upper(), model + " "]))
        if name is not None or draw(st.booleans()):
            body["model"] = name
        order = draw(st.permutations(list(body)))  # field order must not matter
        return {k: body[k] for k in order}

    return build()


# ---------------------------------------------------------------------------------------------
# The checks


def _ours(endpoint: str, body: Any, strict: bool) -> tuple[bool, str]:
    try:
        catalog.validate(endpoint, copy.deepcopy(body), strict=strict)
    except ValidationError as exc:
        return False, str(exc)
    return True, ""


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _media_strings(info: catalog.ModelInfo, body: dict):
    for name in info.media_fields:
        if name in body:
            yield from _strings(body[name])


def _short(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=True, default=repr)
    return text if len(text) < 600 else text[:600] + f"... ({len(text)} chars)"


def check_body(endpoint: str, body: dict) -> None:
    _UTF16.clear()
    TALLY.add("cases")
    expected_loose = oracle_ok(endpoint, body)
    expected_strict, rules = strict_ok(endpoint, body)
    TALLY.add("spec accepts" if expected_loose else "spec rejects")
    if rules:
        TALLY.add("prose rule rejects (strict only)")
    known = isinstance(body.get("model"), str) and body["model"] in MODEL_POOL[endpoint]

    got_strict, msg = _ours(endpoint, body, True)
    assert got_strict == expected_strict, (
        f"strict validate {'accepted' if got_strict else 'rejected'} a body the spec "
        f"{'accepts' if expected_strict else 'rejects'} (prose rules: {rules}); ours: {msg}\n{_short(body)}")
    if known:
        got_loose, msg = _ours(endpoint, body, False)
        assert got_loose == expected_loose, (
            f"validate(strict=False) {'accepted' if got_loose else 'rejected'}; spec "
            f"{'accepts' if expected_loose else 'rejects'}; ours: {msg}\n{_short(body)}")
    else:
        TALLY.add("unknown model (strict=False not compared)")

    stock = stock_ok(endpoint, body)
    if stock != expected_loose:
        strings = list(_strings(body))
        astral = any(utf16_len(s) != len(s) for s in strings)
        newline = any(s.endswith("\n") for s in strings)
        assert astral or newline, f"stock jsonschema differs without an explanation:\n{_short(body)}"
        TALLY.add("stock jsonschema differs: UTF-16 length" if astral else "stock jsonschema differs: $ before \\n")

    if known:
        check_build(endpoint, body)


def _unconstrained_items(endpoint: str, body: dict) -> bool:
    """A spec gap: image_to_video hailuo3's promptImage list has ``items: {}``, so the spec takes
    ``[null]`` or ``[42]`` as images; build refuses anything that is not a URI or a file."""
    props = branch_schema(endpoint, body["model"]).get("properties", {})
    for name, value in body.items():
        if not isinstance(value, list):
            continue
        for b in _flat(props.get(name, {})):
            if b.get("type") == "array" and not b.get("items"):
                return True
    return False


def check_build(endpoint: str, body: dict) -> None:
    info = catalog.get(endpoint, body["model"])
    given_ = {k: v for k, v in body.items() if v is not None}
    TALLY.add("build cases")
    try:
        draft = _request.build(endpoint, copy.deepcopy(body), strict=True, fill_defaults=False,
                                   read_file=read_local_file)
    except ValidationError as exc:
        ok_raw, _ = strict_ok(endpoint, given_)
        if ok_raw:
            media = list(_media_strings(info, given_))
            capped = any(s.startswith("data:") and len(s) > DATA_URI_CAP for s in media)
            stripped = any(s != s.strip() for s in media)
            gap = _unconstrained_items(endpoint, given_)
            assert capped or stripped or gap, f"build refused a body the spec accepts: {exc}\n{_short(body)}"
            TALLY.add("build refuses, documented: data: URI over 5,242,880 chars" if capped
                      else "build refuses, documented: media string stripped of whitespace" if stripped
                      else "build refuses, spec gap: list items the spec leaves unconstrained (items: {})")
        TALLY.add("build rejects")
        return
    TALLY.add("build accepts")
    ok_sent, rules = strict_ok(endpoint, draft.body)
    assert ok_sent, f"build accepted a body the spec rejects as sent (rules {rules}):\n{_short(draft.body)}"
    if not strict_ok(endpoint, given_)[0]:
        assert draft.body != given_ or len(given_) != len(body), \
            f"build accepted, unchanged, a body the spec rejects:\n{_short(body)}"
        TALLY.add("build accepts after a documented conversion")


# Without the spec, one placeholder case stands for the models (an empty parameter set would skip);
# it fails on the module's needs_shared mark, naming the missing file.
SPEC_MODELS = spec_models() if SPEC_PATH.exists() else [("spec", "missing")]
_TIMES: dict[str, float] = {}


@pytest.mark.parametrize("endpoint,model", SPEC_MODELS, ids=[f"{e}:{m}" for e, m in SPEC_MODELS])
def test_validation_matches_the_spec(endpoint: str, model: str) -> None:
    start = time.perf_counter()

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies(endpoint, model))
    def run(body: dict) -> None:
        check_body(endpoint, body)

    run()
    _TIMES[f"{endpoint}:{model}"] = time.perf_counter() - start
    TALLY.add("models")
    TALLY.note("max_examples per model", MAX_EXAMPLES)
    TALLY.note("seconds", round(sum(_TIMES.values()), 1))
    TALLY.write()


def test_spec_branches_are_told_apart_by_model() -> None:
    """What ``_branch_of`` relies on; also: a body without a branch's model fails the whole oneOf."""
    for ep in sorted({ep for ep, _ in spec_models()}):
        schema = request_schema(ep)
        consts = []
        for b in schema.get("oneOf") or [schema]:
            assert "model" in b.get("required", []), (ep, b.get("title"))
            consts.append(b["properties"]["model"]["const"])
        assert len(set(consts)) == len(consts), ep
        full = RunwayValidator(schema)
        for model in consts:
            body = catalog.example_body(ep, model)
            assert full.is_valid(body) == oracle_ok(ep, body) is True
            for other in (None, 42, model.upper(), "gen4"):
                bad = {**body, "model": other}
                assert full.is_valid(bad) is False and oracle_ok(ep, bad) is False


def test_legacy_models_are_excluded_and_named() -> None:
    """The catalog's entries that are not in the spec: documented, never compared."""
    in_spec = set(SPEC_MODELS)
    excluded = sorted(f"{m.endpoint}:{m.model}" for m in catalog.models() if (m.endpoint, m.model) not in in_spec)
    assert excluded, "expected a few hand-made catalog entries"
    for m in catalog.models():
        if (m.endpoint, m.model) not in in_spec and m.sends_model:  # model-less operations: no oneOf to compare
            assert not m.source.startswith("openapi"), m
    TALLY.note("excluded (not in the spec)", excluded)
    TALLY.note("spec models", len(SPEC_MODELS))
    TALLY.write()


def test_targeted_cases() -> None:
    """The near misses that found bugs, pinned (fast, no hypothesis)."""
    long_prompt = "a" * 998 + ASTRAL  # 1,000 UTF-16 units, 999 code points
    over = "a" * 999 + ASTRAL  # 1,001 units: Runway refuses, stock jsonschema would accept
    base = {"model": "gen4.5", "ratio": "1280:720", "duration": 5}
    check_body("text_to_video", {**base, "promptText": long_prompt})
    check_body("text_to_video", {**base, "promptText": over})
    assert not oracle_ok("text_to_video", {**base, "promptText": over})
    assert stock_ok("text_to_video", {**base, "promptText": over})
    # a lone surrogate (valid in JSON text, "\ud83e") counts one unit and must not crash
    check_body("text_to_video", {**base, "promptText": "fox \ud83e"})
    # ECMA-262 "$": a reference tag with a final newline is refused
    tagged = {"model": "gen4_image", "promptText": "@abc fox", "ratio": "1024:1024",
              "referenceImages": [{"uri": "https://example.com/a.png", "tag": "abc\n"}]}
    check_body("text_to_image", tagged)
    assert not oracle_ok("text_to_image", tagged)
    # a long string that is neither a URI nor a file: a ValidationError, not OSError
    body = {"model": "gen4_turbo", "promptImage": "a" * 3000, "ratio": "1280:720"}
    with pytest.raises(ValidationError):
        _request.build("image_to_video", body, fill_defaults=False, read_file=read_local_file)
    check_body("image_to_video", body)
    TALLY.write()

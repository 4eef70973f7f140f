"""A small validator for the subset of JSON Schema that Runway's request schemas use.

Keywords: type, const, enum, minLength/maxLength (counted in UTF-16 code units, as Runway does),
pattern (ECMA-262 anchors), minimum/maximum and their exclusive forms, multipleOf,
minItems/maxItems, items/prefixItems (and the older tuple form), uniqueItems, required,
properties, additionalProperties, allOf/anyOf/oneOf and not.

:func:`check` returns every :class:`Issue` found, each with a message for people. Messages name
who the field belongs to through the ``where`` callable ("model gen4.5 on image_to_video"), so
this module knows nothing of the catalog.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from runway_nb.api.catalog_data import JsonSchema
from runway_nb.api.schema_text import (
    GOT_NAMES,
    TYPE_NAMES,
    UriForm,
    describe,
    format_number,
    range_text,
    short_repr,
    uri_form_text,
    uri_forms,
)

__all__ = [
    "Issue",
    "IssueKind",
    "Where",
    "check",
    "join_path",
    "json_equal",
    "json_type",
    "type_ok",
    "utf16_len",
]

IssueKind = Literal["required", "type", "enum", "range", "length", "pattern", "items", "unknown", "form", "rule"]

#: Who a field path belongs to, for messages: path -> "model gen4.5 on image_to_video".
Where = Callable[[str], str]


@dataclass
class Issue:
    """One problem found: the field path, the bad value, what is allowed, and a message."""

    path: str
    value: object
    allowed: object
    message: str
    kind: IssueKind


@dataclass(frozen=True)
class _At:
    """Where in the body a check is: the path, and who the path belongs to."""

    path: str
    where: Where

    @property
    def name(self) -> str:
        return self.path or "body"

    def owner(self) -> str:
        return self.where(self.path)

    def child(self, key: str | int) -> _At:
        return _At(join_path(self.path, key), self.where)

    def not_allowed(self, value: object) -> str:
        return f"{self.name}={short_repr(value)} is not allowed for {self.owner()}"


def join_path(path: str, key: str | int) -> str:
    """"promptImage" + 0 -> "promptImage[0]"; "promptImage[0]" + "uri" -> "promptImage[0].uri"."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------------------------
# JSON values


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units, as Runway counts minLength/maxLength."""
    # "surrogatepass": a lone surrogate ("\ud83e", valid in JSON text) is one code unit
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def json_type(v: object) -> str:
    """The JSON type name of a Python value (the type's own name for anything else)."""
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


def type_ok(t: str, v: object) -> bool:
    """Whether ``v`` is of JSON Schema type ``t`` (2.0 is an integer; True is not a number)."""
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


def json_equal(a: object, b: object) -> bool:
    """Equality as JSON sees it: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


_PATTERNS: dict[str, re.Pattern[str]] = {}
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


# ---------------------------------------------------------------------------------------------
# The checks, one per keyword (or group of keywords that share a message)


def check(schema: object, value: object, path: str, where: Where) -> list[Issue]:
    """Every problem of ``value`` against ``schema``; ``path`` is where ``value`` sits ("" for the body)."""
    return _check(schema, value, _At(path, where))


def _check(schema: object, v: object, at: _At) -> list[Issue]:
    if not isinstance(schema, dict):
        if schema is False:
            return [Issue(at.path, v, "nothing", f"{at.path} is not allowed for {at.owner()}", "unknown")]
        return []
    mismatch = _check_type(schema, v, at)
    if mismatch:
        return mismatch  # nothing else is worth saying about a value of the wrong type
    issues: list[Issue] = []
    for keyword_check in _KEYWORD_CHECKS:
        issues.extend(keyword_check(schema, v, at))
    return issues


def _check_type(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    t = schema.get("type")
    if t is None:
        return []
    types: list[str] = t if isinstance(t, list) else [t]
    if any(type_ok(x, v) for x in types):
        return []
    want = " or ".join(TYPE_NAMES.get(x, x) for x in types)
    extra = ""
    if any(k in schema for k in ("enum", "const", "minimum", "maximum")):
        extra = f" (allowed: {describe(schema)})"
    got = GOT_NAMES.get(json_type(v), json_type(v))
    return [Issue(at.path, v, describe(schema),
                  f"{at.not_allowed(v)}: expected {want}{extra}, got {got}", "type")]


def _check_const(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if "const" not in schema or json_equal(v, schema["const"]):
        return []
    return [Issue(at.path, v, [schema["const"]], f"{at.not_allowed(v)}; allowed: {schema['const']}", "enum")]


def _check_enum(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if "enum" not in schema or any(json_equal(v, e) for e in schema["enum"]):
        return []
    allowed = list(schema["enum"])
    shown = ", ".join(str(a) for a in allowed[:40])
    if len(allowed) > 40:
        shown += f", ... ({len(allowed)} in all)"
    return [Issue(at.path, v, allowed, f"{at.not_allowed(v)}; allowed: {shown}", "enum")]


def _check_length(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    if not isinstance(v, str) or (lo is None and hi is None):
        return []
    n = utf16_len(v)
    if hi is not None and n > hi:
        return [Issue(at.path, v, f"at most {hi} characters",
                      f"{at.name} is {format_number(n)} characters; {at.owner()} allows at most "
                      f"{format_number(hi)}", "length")]
    if lo is not None and n < lo:
        what = "empty" if n == 0 else f"{n} characters"
        return [Issue(at.path, v, f"at least {lo} characters",
                      f"{at.name} is {what}; {at.owner()} needs at least {lo} character{'s' if lo != 1 else ''}",
                      "length")]
    return []


def _check_pattern(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    pattern = schema.get("pattern")
    if not isinstance(v, str) or pattern is None or _pattern_ok(pattern, v):
        return []
    help_text = _PATTERN_HELP.get(pattern)
    return [Issue(at.path, v, f"a string matching {pattern}",
                  f"{at.not_allowed(v)}: it must match {pattern}" + (f" ({help_text})" if help_text else ""),
                  "pattern")]


def _out_of_range(schema: JsonSchema, v: float) -> bool:
    if "minimum" in schema and v < schema["minimum"]:
        return True
    if "maximum" in schema and v > schema["maximum"]:
        return True
    if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
        return True
    if "exclusiveMaximum" in schema and v >= schema["exclusiveMaximum"]:
        return True
    step = schema.get("multipleOf")
    if not step:
        return False
    return bool((v / step) != int(v / step))


def _check_range(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not _out_of_range(schema, v):
        return []
    allowed = range_text(schema) or describe(schema)
    step = schema.get("multipleOf")
    if step:
        allowed += f" (multiples of {step})"
    return [Issue(at.path, v, allowed, f"{at.not_allowed(v)}; allowed: {allowed}", "range")]


def _check_item_count(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, (list, tuple)):
        return []
    issues = []
    lo, hi = schema.get("minItems"), schema.get("maxItems")
    if hi is not None and len(v) > hi:
        issues.append(Issue(at.path, v, f"at most {hi} items",
                            f"{at.name} has {len(v)} items; {at.owner()} allows at most {hi}", "items"))
    if lo is not None and len(v) < lo:
        issues.append(Issue(at.path, v, f"at least {lo} items",
                            f"{at.name} has {len(v)} item{'s' if len(v) != 1 else ''}; {at.owner()} needs at "
                            f"least {lo}", "items"))
    return issues


def _check_items(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, (list, tuple)):
        return []
    prefix = schema.get("prefixItems")
    items = schema.get("items")
    if isinstance(items, list):  # pre-2020 tuple form
        prefix, items = items, schema.get("additionalItems")
    prefix = prefix or []
    issues = []
    for i, item in enumerate(v):
        sub = prefix[i] if i < len(prefix) else items
        if sub is not None:
            issues.extend(_check(sub, item, at.child(i)))
    return issues


def _check_unique(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, (list, tuple)) or not schema.get("uniqueItems"):
        return []
    for i in range(len(v)):
        if any(json_equal(v[i], v[j]) for j in range(i)):
            return [Issue(at.path, v, "unique items", f"{at.name} has duplicate items", "items")]
    return []


def _check_required(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, dict):
        return []
    props = schema.get("properties", {})
    issues = []
    for name in schema.get("required", []):
        if name not in v:
            field = at.child(name)
            allowed = describe(props.get(name, {}))
            issues.append(Issue(field.path, None, allowed,
                                f"{field.path} is required for {field.owner()} ({allowed})", "required"))
    return issues


def _check_properties(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, dict):
        return []
    issues = []
    for name, sub in schema.get("properties", {}).items():
        if name in v:
            issues.extend(_check(sub, v[name], at.child(name)))
    return issues


def _check_additional(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if not isinstance(v, dict):
        return []
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    issues = []
    for name in v:
        if name in props:
            continue
        field = at.child(name)
        if extra is False:
            close = difflib.get_close_matches(str(name), list(props), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            inside = f" in {at.path}" if at.path else ""
            issues.append(Issue(field.path, v[name], list(props),
                                f"unknown field {name!r}{inside} for {field.owner()}{hint}; allowed fields: "
                                f"{', '.join(props)}", "unknown"))
        elif isinstance(extra, dict):
            issues.extend(_check(extra, v[name], field))
    return issues


def _check_all_of(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    issues = []
    for sub in schema.get("allOf", []):
        issues.extend(_check(sub, v, at))
    return issues


def _check_any_of(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    return _check_alternatives(schema, "anyOf", v, at) if "anyOf" in schema else []


def _check_one_of(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    return _check_alternatives(schema, "oneOf", v, at) if "oneOf" in schema else []


def _check_not(schema: JsonSchema, v: object, at: _At) -> list[Issue]:
    if "not" not in schema or _check(schema["not"], v, at):
        return []
    return [Issue(at.path, v, f"not {describe(schema['not'])}", at.not_allowed(v), "form")]


_KEYWORD_CHECKS: tuple[Callable[[JsonSchema, object, _At], list[Issue]], ...] = (
    _check_const,
    _check_enum,
    _check_length,
    _check_pattern,
    _check_range,
    _check_item_count,
    _check_items,
    _check_unique,
    _check_required,
    _check_properties,
    _check_additional,
    _check_all_of,
    _check_any_of,
    _check_one_of,
    _check_not,
)


# ---------------------------------------------------------------------------------------------
# anyOf / oneOf: which branch to blame


def _branch_type_ok(branch: JsonSchema, v: object) -> bool:
    t = branch.get("type")
    if t is None:
        subs = branch.get("anyOf") or branch.get("oneOf")
        if subs:
            return any(_branch_type_ok(s, v) for s in subs)
        return True
    return any(type_ok(x, v) for x in (t if isinstance(t, list) else [t]))


def _check_alternatives(schema: JsonSchema, key: str, v: object, at: _At) -> list[Issue]:
    branches: list[JsonSchema] = schema[key]
    results = [_check(b, v, at) for b in branches]
    passing = sum(1 for r in results if not r)
    if key == "oneOf" and passing > 1:
        return [Issue(at.path, v, describe(schema),
                      f"{at.name} matches more than one allowed form for {at.owner()}", "form")]
    if passing:
        return []
    forms = uri_forms(schema)
    if forms and isinstance(v, str):
        return [_uri_issue(forms, v, at)]
    compatible = [(b, r) for b, r in zip(branches, results, strict=True) if _branch_type_ok(b, v)]
    if not compatible:
        desc = describe(schema)
        got = GOT_NAMES.get(json_type(v), json_type(v))
        return [Issue(at.path, v, desc, f"{at.name} must be {desc} for {at.owner()}; got {got} {short_repr(v)}",
                      "type")]
    if len(compatible) == 1:
        return compatible[0][1]
    if isinstance(v, dict):
        unmatched = _unmatched_discriminator([b for b, _ in compatible], v, at)
        if unmatched:
            return unmatched
    return min(compatible, key=lambda item: _blame_score(item[0], item[1], v))[1]


def _blame_score(branch: JsonSchema, issues: list[Issue], v: object) -> tuple[int, int, int]:
    # Several branches of the right type (e.g. {uri, seconds} vs {uri, at}; CharacterImage vs
    # CharacterVideo): prefer the branch whose constant fields match, then the fewest problems.
    const_hits = 0
    if isinstance(v, dict):
        for k, sub in branch.get("properties", {}).items():
            if isinstance(sub, dict) and "const" in sub and k in v:
                const_hits += 1 if json_equal(v[k], sub["const"]) else -1
    deep = sum(1 for i in issues if i.kind != "unknown")
    return -const_hits, deep, len(issues)


def _unmatched_discriminator(branches: Sequence[JsonSchema], v: dict[str, object], at: _At) -> list[Issue]:
    """A discriminator ("type", "position") that matches no branch: say which values are allowed."""
    for k in ("type", "position"):
        consts = [b.get("properties", {}).get(k, {}).get("const") for b in branches]
        if all(c is not None for c in consts) and k in v and not any(json_equal(v[k], c) for c in consts):
            field = at.child(k)
            return [Issue(field.path, v[k], consts, f"{field.not_allowed(v[k])}; allowed: "
                          f"{', '.join(map(str, consts))}", "enum")]
    return []


def _uri_issue(forms: list[UriForm], v: str, at: _At) -> Issue:
    desc = uri_form_text(forms)
    name = at.path or "value"
    n = utf16_len(v)
    for prefix, lo, hi in forms:
        if v.startswith(prefix):
            label = {"https://": "an https:// URL", "runway://": "a runway:// URI"}.get(
                prefix, "a data URI" if prefix.startswith("data:") else f"a {prefix} string")
            if n > hi:
                tip = " Upload the file (runway://) instead." if not prefix.startswith("runway") else ""
                return Issue(at.path, v, desc, f"{name} is {label} of {format_number(n)} characters; "
                             f"{at.owner()} allows at most {format_number(hi)}.{tip}", "length")
            if n < lo:
                return Issue(at.path, v, desc, f"{name}={short_repr(v)} is too short to be {label} "
                             f"(at least {lo} characters)", "length")
    if v.startswith("data:"):
        kinds = [f.prefix for f in forms if f.prefix.startswith("data:")]
        return Issue(at.path, v, desc, f"{name} is a data URI of the wrong media type ("
                     f"{short_repr(v.split(',', 1)[0], 40)}); {at.owner()} accepts "
                     f"{', '.join(k + '…' for k in kinds)}. It must be {desc}", "form")
    return Issue(at.path, v, desc, f"{name} must be {desc}; got {short_repr(v)}", "form")

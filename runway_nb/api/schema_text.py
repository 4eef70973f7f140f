"""What a JSON Schema accepts, in words, for error messages ("one of 16:9, 9:16", "a list of ...")."""

from __future__ import annotations

import re
from typing import NamedTuple

from runway_nb.api.catalog_data import JsonSchema

__all__ = [
    "GOT_NAMES",
    "TYPE_NAMES",
    "UriForm",
    "describe",
    "flat_branches",
    "format_number",
    "range_text",
    "short_repr",
    "uri_form_text",
    "uri_forms",
]

TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "a boolean (true/false)", "object": "an object", "array": "a list",
    "null": "null",
}

#: Names for what was given (no "(true/false)" hint there).
GOT_NAMES = {**TYPE_NAMES, "boolean": "a boolean"}

_ENUM_SHOWN = 30


class UriForm(NamedTuple):
    """One accepted URI form of a media field: its prefix and length bounds."""

    prefix: str
    min_length: int
    max_length: int


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut with a length note when longer than ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"...({len(text):,} chars)"


def format_number(x: object) -> str:
    """2.0 -> "2"; 5242880 -> "5,242,880"."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10000 else str(x)


def range_text(schema: JsonSchema) -> str | None:
    """"integers from 0 to 4,294,967,295", "numbers > 0", or None without bounds."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    kind = "integers" if schema.get("type") == "integer" else "numbers"
    if lo is not None and hi is not None:
        return f"{kind} from {format_number(lo)} to {format_number(hi)}"
    parts = []
    if lo is not None:
        parts.append(f">= {format_number(lo)}")
    if xlo is not None:
        parts.append(f"> {format_number(xlo)}")
    if hi is not None:
        parts.append(f"<= {format_number(hi)}")
    if xhi is not None:
        parts.append(f"< {format_number(xhi)}")
    return f"{kind} {' and '.join(parts)}" if parts else None


def flat_branches(schema: JsonSchema) -> list[JsonSchema]:
    """The branches of an anyOf/oneOf, with nested single-key anyOf/oneOf flattened."""
    key = "anyOf" if "anyOf" in schema else "oneOf" if "oneOf" in schema else None
    if key is None:
        return [schema]
    out: list[JsonSchema] = []
    for branch in schema[key]:
        if isinstance(branch, dict) and len(branch) == 1 and set(branch) <= {"anyOf", "oneOf"}:
            out.extend(flat_branches(branch))
        else:
            out.append(branch)
    return out


def uri_forms(schema: JsonSchema) -> list[UriForm] | None:
    """If ``schema`` is an anyOf of prefixed URI strings, those forms; else None."""
    forms = []
    for branch in flat_branches(schema):
        pattern = branch.get("pattern", "")
        if branch.get("type") != "string" or not pattern.startswith("^"):
            return None
        prefix = pattern[1:]
        if prefix.endswith(".*"):
            prefix = prefix[:-2]
        prefix = prefix.replace("\\/", "/")
        if not re.fullmatch(r"[a-z]+:[a-z/]*", prefix):
            return None
        forms.append(UriForm(prefix, branch.get("minLength", 0), branch.get("maxLength", 10**12)))
    return forms or None


def uri_form_text(forms: list[UriForm]) -> str:
    """"an https:// URL (≤2048 chars), a runway:// upload URI (≤5000) or a data:image/… URI (...)"."""
    parts = []
    for prefix, _lo, hi in forms:
        if prefix.startswith("https"):
            parts.append(f"an https:// URL (≤{format_number(hi)} chars)")
        elif prefix.startswith("runway"):
            parts.append(f"a runway:// upload URI (≤{format_number(hi)})")
        elif prefix.startswith("data:"):
            parts.append(f"a {prefix}… URI (≤{hi:,} chars)")
        else:
            parts.append(f"a {prefix}… string (≤{format_number(hi)} chars)")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _enum_text(values: list[object]) -> str:
    more = f", ... ({len(values)} in all)" if len(values) > _ENUM_SHOWN else ""
    return "one of " + ", ".join(str(v) for v in values[:_ENUM_SHOWN]) + more


def _array_text(schema: JsonSchema) -> str:
    items = schema.get("items")
    inner = describe(items) if isinstance(items, dict) and items else "items"
    count = ""
    lo, hi = schema.get("minItems"), schema.get("maxItems")
    if lo is not None and hi is not None:
        count = f" ({lo}-{hi} items)" if lo != hi else f" ({lo} item{'s' if lo != 1 else ''})"
    elif hi is not None:
        count = f" (at most {hi} items)"
    elif lo is not None:
        count = f" (at least {lo} items)"
    return f"a list of {inner}{count}"


def _object_text(schema: JsonSchema) -> str:
    required = set(schema.get("required", []))
    return "{" + ", ".join(p if p in required else p + "?" for p in schema.get("properties", {})) + "}"


def _string_text(schema: JsonSchema) -> str:
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    if lo is not None and hi is not None:
        return f"a string of {lo} to {format_number(hi)} characters"
    if hi is not None:
        return f"a string of at most {format_number(hi)} characters"
    return "a string"


def describe(schema: object) -> str:
    """Short human description of what a schema accepts."""
    if not isinstance(schema, dict) or not schema:
        return "any value"
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return _enum_text(list(schema["enum"]))
    forms = uri_forms(schema) if ("anyOf" in schema or "oneOf" in schema) else None
    if forms:
        return uri_form_text(forms)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(describe(b) for b in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return _array_text(schema)
    if kind == "object" or "properties" in schema:
        return _object_text(schema)
    if kind in ("integer", "number"):
        return range_text(schema) or TYPE_NAMES[kind]
    if kind == "string":
        return _string_text(schema)
    return TYPE_NAMES.get(kind, str(kind)) if kind else "any value"

"""Fill ``{name}`` and ``{name.attr}`` in a prompt from a namespace, and nothing else.

``str.format`` (what jupyter-ai uses) fails on JSON, a lone ``{`` and ``{0}``. Here only a
brace pair around a dotted Python name that resolves in the namespace is replaced; every
other brace stays exactly as typed. ``{{name}}`` is the escape: it gives a literal ``{name}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FIELD", "Interpolated", "interpolate", "is_missing", "render", "resolve", "whole_field"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# {{name}} (escape), or {name} / {name.attr.attr}
FIELD = re.compile(r"\{\{(" + _NAME + r"(?:\." + _NAME + r")*)\}\}|\{(" + _NAME + r"(?:\." + _NAME + r")*)\}")
_WHOLE = re.compile(r"^\{(" + _NAME + r"(?:\." + _NAME + r")*)\}$")

_MISSING = object()


@dataclass
class Interpolated:
    """The filled text, plus the names that looked like fields but were left as typed."""

    text: str
    filled: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


def resolve(path: str, namespace: Mapping[str, Any]) -> Any:
    """``a.b.c`` looked up in ``namespace``: attributes, or keys of a mapping. ``_MISSING`` if not found."""
    root, *attrs = path.split(".")
    if root not in namespace:
        return _MISSING
    value = namespace[root]
    for attr in attrs:
        try:
            value = getattr(value, attr)
            continue
        except AttributeError:
            pass
        except Exception:  # a property that raises: treat as not resolvable
            return _MISSING
        if isinstance(value, Mapping) and attr in value:
            value = value[attr]
            continue
        return _MISSING
    return value


def interpolate(text: str, namespace: Mapping[str, Any]) -> Interpolated:
    """Replace resolvable ``{name}`` / ``{name.attr}``; report the others; leave all other braces."""
    result = Interpolated(text)
    if "{" not in text:
        return result

    def sub(match: re.Match[str]) -> str:
        escaped, path = match.group(1), match.group(2)
        if escaped is not None:
            return "{" + escaped + "}"
        value = resolve(path, namespace)
        if value is _MISSING:
            result.unresolved.append(path)
            return match.group(0)
        result.filled.append(path)
        return str(value)

    result.text = FIELD.sub(sub, text)
    return result


def render(text: str, namespace: Mapping[str, Any]) -> str:
    """:func:`interpolate`, text only."""
    return interpolate(text, namespace).text


def whole_field(text: str, namespace: Mapping[str, Any]) -> Any:
    """If ``text`` is exactly ``{name}`` (or ``{name.attr}``) and resolves, the object itself; else ``_MISSING``."""
    match = _WHOLE.match(text.strip())
    if not match:
        return _MISSING
    return resolve(match.group(1), namespace)


def is_missing(value: Any) -> bool:
    return value is _MISSING

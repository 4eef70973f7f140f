"""Checking a request body before it is sent: the model's JSON Schema, then the prose rules.

:func:`validate` raises :class:`runway_nb.errors.ValidationError` naming the field path, the bad
value and what is allowed; every problem found is also in ``err.errors``, most useful first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

from runway_nb.api.catalog_data import SEED_MAX, JsonSchema
from runway_nb.api.lookup import (
    check_endpoint,
    field_owner,
    find_for_body,
    model_key,
    retired_error,
    unknown_model_error,
)
from runway_nb.api.rules import rule_issues
from runway_nb.api.schema_validator import Issue, check
from runway_nb.errors import ValidationError

__all__ = ["validate"]

# What a model the catalog does not know is still checked for (strict=False).
_BASIC_SCHEMAS: dict[str, JsonSchema] = {
    "promptText": {"type": "string"},
    "seed": {"type": "integer", "minimum": 0, "maximum": SEED_MAX},
    "ratio": {"type": "string"},
    "duration": {"type": "number", "exclusiveMinimum": 0},
}

# Fields whose problems are told before the others (after the model and missing fields).
_FIRST_FIELDS = frozenset({"ratio", "duration", "promptText"})


def _basic_issues(endpoint: str, body: Mapping[str, object]) -> list[Issue]:
    where = partial(field_owner, endpoint, None)
    out = []
    for key, schema in _BASIC_SCHEMAS.items():
        if key in body:
            out.extend(check(schema, body[key], key, where))
    return out


def _rank(issue: Issue, order: list[str]) -> tuple[int, int]:
    top = re.split(r"[.\[]", issue.path, maxsplit=1)[0]
    if top == "model":
        rank = 0
    elif issue.kind == "required" and "." not in issue.path and "[" not in issue.path:
        rank = 1
    elif top in _FIRST_FIELDS:
        rank = 2
    else:
        rank = 3
    return rank, order.index(top) if top in order else len(order)


def _error(issues: list[Issue], order: list[str]) -> ValidationError:
    """One error for all ``issues``: the most useful one's message, with a count and the next few."""
    issues = sorted(issues, key=lambda i: _rank(i, order))
    first = issues[0]
    msg = first.message
    if len(issues) > 1:
        rest = "; ".join(i.message for i in issues[1:4])
        more = f" (+{len(issues) - 4} more)" if len(issues) > 4 else ""
        msg += f" [{len(issues) - 1} more problem{'s' if len(issues) > 2 else ''}: {rest}{more}]"
    err = ValidationError(first.path or "body", first.value, first.allowed, msg)
    err.errors = [ValidationError(i.path or "body", i.value, i.allowed, i.message) for i in issues]
    return err


def validate(endpoint: str, body: Mapping[str, object], *, strict: bool = True) -> None:
    """Check a camelCase request body for ``endpoint``; raise ValidationError if invalid.

    The model must be in the catalog for that endpoint. With ``strict=False`` an unknown model
    passes with only basic type checks (promptText a string, seed an integer 0..4294967295,
    ratio a string, duration a positive number), and the prose-only rules are skipped.
    """
    check_endpoint(endpoint)
    if not isinstance(body, dict):
        raise ValidationError("body", body, "an object",
                              f"the request body must be a dict, got {type(body).__name__}")
    model = model_key(endpoint, body)
    info = find_for_body(endpoint, body)
    if info is not None and info.retired is not None and strict:
        raise retired_error(info)
    if info is None:
        if strict or not isinstance(model, str) or not model:
            raise unknown_model_error(endpoint, model)
        issues = _basic_issues(endpoint, body)
        if issues:
            raise _error(issues, ["promptText", "ratio", "duration", "seed"])
        return
    where = partial(field_owner, endpoint, info)
    issues = check(info.schema, body, "", where)
    if strict and not issues:
        issues = rule_issues(info, body, where)
    if issues:
        raise _error(issues, list(info.schema.get("properties", {})))

"""Tolerant ``{name}`` / ``{name.attr}`` interpolation: every other brace stays as typed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from runway_nb.notebook.interpolate import interpolate, is_missing, render, whole_field

NS = {"subject": SimpleNamespace(name="a red fox", size=3), "style": "noir", "n": 5,
      "cfg": {"camera": "dolly"}}


@pytest.mark.parametrize("text, expected", [
    ("{style} film", "noir film"),
    ("{subject.name} at dusk", "a red fox at dusk"),
    ("{subject.size}x", "3x"),
    ("{cfg.camera}", "dolly"),  # mapping keys work like attributes
    ('{"camera": "dolly", "speed": 2}', '{"camera": "dolly", "speed": 2}'),  # JSON survives
    ('{"shots": [{"len": 2}, {"len": 3}]}', '{"shots": [{"len": 2}, {"len": 3}]}'),
    ('{"who": {style}}', '{"who": noir}'),  # a field inside JSON is still a field
    ("{0} and {} and {1:>3}", "{0} and {} and {1:>3}"),
    ("a lone { brace", "a lone { brace"),
    ("a lone } brace", "a lone } brace"),
    ("{unknown} stays", "{unknown} stays"),
    ("{subject.missing} stays", "{subject.missing} stays"),
    ("{{style}} is literal", "{style} is literal"),
    ("{{ not a field }}", "{{ not a field }}"),
    ("{ style }", "{ style }"),  # spaces: not a field
    ("{style}{n}", "noir5"),
    ("", ""),
])
def test_render(text: str, expected: str) -> None:
    assert render(text, NS) == expected


def test_reports_filled_and_unresolved() -> None:
    result = interpolate("{style} {nope} {subject.nope} {{style}}", NS)
    assert result.text == "noir {nope} {subject.nope} {style}"
    assert result.filled == ["style"]
    assert result.unresolved == ["nope", "subject.nope"]
    assert str(result) == result.text


def test_property_that_raises_is_left_alone() -> None:
    class Bad:
        @property
        def boom(self):
            raise RuntimeError("no")

    assert render("{b.boom}", {"b": Bad()}) == "{b.boom}"


def test_whole_field_returns_the_object() -> None:
    seeds = [1, 2, 3]
    assert whole_field("{seeds}", {"seeds": seeds}) is seeds
    assert whole_field(" {subject.size} ", NS) == 3
    assert is_missing(whole_field("{nope}", NS))
    assert is_missing(whole_field("x{style}", NS))

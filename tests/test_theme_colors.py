"""Static outputs take every colour from JupyterLab's theme variables (issue 16, item 2), so they
are readable in the light, dark and high-contrast themes; the contrast itself is measured in
the browser (tests/browser/test_theme_browser.py)."""

from __future__ import annotations

import re

import pytest

from runway_nb.api.task import Task
from runway_nb.notebook.widgets import _theme as theme
from runway_nb.notebook.widgets import static_html

# A colour declaration and its value, in inline styles.
COLOR_DECL = re.compile(r"(?<![-\w])(color|background|background-color|border(?:-left)?|box-shadow)\s*:\s*([^;\"]+)")


def _bare_colors(html: str) -> list[str]:
    """Colour declarations with a fixed colour left once the var(--jp-…, fallback)s are removed."""
    found = []
    for prop, value in COLOR_DECL.findall(html):
        stripped = re.sub(r"var\(--jp-[\w-]+,\s*#[0-9a-fA-F]{3,8}\)", "", value)
        if re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(", stripped):
            found.append(f"{prop}:{value}")
    return found


@pytest.mark.parametrize("status", ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"])
def test_static_card_colours_come_from_theme_variables(status: str) -> None:
    task = Task(id="t-1", status=status, failure="It broke." if status == "FAILED" else None,
                failure_code="SAFETY.INPUT.TEXT" if status == "FAILED" else None,
                outputs=["https://example.com/a.mp4"] if status == "SUCCEEDED" else [])
    html = static_html(task, {"promptText": "A kite", "model": "gen4.5", "ratio": "1280:720"})
    assert "var(--jp-ui-font-color1" in html  # the card's own text colour follows the theme
    # Only a video's letterbox keeps a fixed colour (black bars around a picture in every theme).
    assert _bare_colors(html.replace("background:#000", "")) == []
    assert "#555" not in html and "#999" not in html


def test_badges_and_notes_mix_theme_colours() -> None:
    assert theme.badge_style("FAILED").count("--jp-error-color1") == 2
    assert "--jp-warn-color1" in theme.badge_style("THROTTLED")
    assert theme.WARN_TEXT.startswith("color-mix(in srgb,var(--jp-warn-color1")
    assert theme.MUTED.startswith("color-mix(") and "--jp-ui-font-color2" in theme.MUTED

"""Colours of the static HTML outputs, as CSS values built from JupyterLab's theme variables.

The live widgets' stylesheets (js/src/shared.css) use the same recipe, so a static card and a
live view look alike in the light, dark and high-contrast themes. Each value is a
``var(--jp-…, fallback)``: where JupyterLab's variables are absent (nbconvert's classic template,
other front ends) the fallbacks give the light theme. Text colours are chosen for WCAG AA
contrast (4.5:1) on JupyterLab's light and dark backgrounds:

- muted text is pulled a third of the way from ``--jp-ui-font-color2`` (4.6:1 on white, too
  close to the limit on a tinted row) towards ``--jp-ui-font-color1``;
- coloured text (notes, failures) is a semantic colour mixed half and half with the body text
  colour: darker than the colour in the light theme, lighter in the dark one;
- tinted backgrounds (badges, failure boxes) are the semantic colour over transparent, so the
  body text on them keeps its contrast whatever the page's background.

A sanitizer that drops these declarations (an untrusted notebook) leaves text in the page's own
colour, which is readable too.
"""

from __future__ import annotations

from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, THROTTLED

__all__ = ["BORDER", "BORDER_FAINT", "ERROR", "ERROR_BOX", "ERROR_TEXT", "FONT", "MUTED", "TEXT", "WARN",
           "WARN_BOX", "WARN_TEXT", "badge_style", "tint", "tone"]

TEXT = "var(--jp-ui-font-color1,#1f1f1f)"
MUTED = "color-mix(in srgb,var(--jp-ui-font-color1,#1f1f1f) 35%,var(--jp-ui-font-color2,#616161))"
BORDER = "var(--jp-border-color2,#e0e0e0)"
BORDER_FAINT = "var(--jp-border-color3,#eeeeee)"
FONT = "var(--jp-ui-font-family,system-ui,-apple-system,Segoe UI,sans-serif)"

ERROR = "var(--jp-error-color1,#d32f2f)"
WARN = "var(--jp-warn-color1,#f57c00)"
SUCCESS = "var(--jp-success-color1,#388e3c)"
BRAND = "var(--jp-brand-color1,#1976d2)"
NEUTRAL = "var(--jp-ui-font-color2,#616161)"


def tone(color: str) -> str:
    """Text in ``color`` that stays readable: mixed half and half with the body text colour."""
    return f"color-mix(in srgb,{color} 50%,{TEXT})"


def tint(color: str, percent: int = 14) -> str:
    """A background washed with ``color`` (``percent`` of it over transparent)."""
    return f"color-mix(in srgb,{color} {percent}%,transparent)"


ERROR_TEXT = tone(ERROR)
WARN_TEXT = tone(WARN)
#: A box of body text marked with a coloured bar: a failure, a partial run.
ERROR_BOX = f"background:{tint(ERROR)};border-left:3px solid {ERROR}"
WARN_BOX = f"background:{tint(WARN)};border-left:3px solid {WARN}"

_BADGE_COLOR = {PENDING: NEUTRAL, THROTTLED: WARN, RUNNING: BRAND, SUCCEEDED: SUCCESS, FAILED: ERROR,
                CANCELLED: NEUTRAL}


def badge_style(status: str) -> str:
    """``background`` and ``color`` declarations of a status badge: the body text on a wash of the
    status's colour, with a border of it so the badge's shape shows in every theme."""
    color = _BADGE_COLOR.get(status, NEUTRAL)
    return f"background:{tint(color, 18)};color:{TEXT};box-shadow:inset 0 0 0 1px {tint(color, 45)}"

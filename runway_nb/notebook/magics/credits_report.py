"""What ``%runway credits`` shows: balance and limits, prices by group of models, usage by day.

``text/plain`` and ``text/html`` (inline styles, every value escaped, no script): a compact
left-aligned table that overrides the notebook's table styling, as ``%runway list`` does.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from runway_nb.notebook.magics.credit_prices import PriceGroup
from runway_nb.notebook.magics.usage_chart import UsageChart

__all__ = ["CreditsReport"]

#: How many model names a price row shows before "and N more" (the HTML tooltip lists them all).
NAMES_SHOWN = 6

_TABLE_STYLE = "border-collapse:collapse;font-size:12px;line-height:1.35;margin:4px 0 8px"
_CELL_STYLE = ("text-align:left;vertical-align:top;padding:2px 12px 2px 0;background:transparent;border:none;"
               "border-bottom:1px solid var(--jp-border-color2, #e0e0e0)")


class _Printer(Protocol):
    def text(self, obj: str) -> None: ...


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _names(models: Sequence[str]) -> str:
    shown = ", ".join(models[:NAMES_SHOWN])
    more = len(models) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass
class CreditsReport:
    """``facts``: (label, value) rows (balance, limits, use today); ``prices``: groups of models
    with one price; ``usage``: the chart of the last days, or None with ``usage_note`` saying why."""

    facts: list[tuple[str, str]]
    prices: list[PriceGroup] = field(default_factory=list)
    usage: UsageChart | None = None
    usage_note: str = ""
    title: str = "Runway credits"

    def fact(self, label: str) -> str | None:
        return next((v for k, v in self.facts if k == label), None)

    # -- text/plain ------------------------------------------------------------------------

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.facts), default=0)
        lines = [self.title] + [f"  {k.ljust(width)}  {v}" for k, v in self.facts]
        if self.prices:
            price_w = max(len(g.price) for g in self.prices)
            kind_w = max(len("output"), *(len(g.output) for g in self.prices))
            lines.append("")
            lines.append(f"  {'price (credits)'.ljust(price_w)}  {'output'.ljust(kind_w)}  models")
            lines += [f"  {g.price.ljust(price_w)}  {g.output.ljust(kind_w)}  {_names(g.models)}"
                      for g in self.prices]
        lines.append("")
        if self.usage is not None:
            lines += ["  " + line for line in self.usage.text().splitlines()]
        elif self.usage_note:
            lines.append(f"  {self.usage_note}")
        return "\n".join(lines).rstrip()

    def _repr_pretty_(self, p: _Printer, cycle: bool) -> None:
        p.text(repr(self))

    # -- text/html -------------------------------------------------------------------------

    def _row(self, cells: Sequence[str], tag: str = "td", titles: Sequence[str | None] = (),
             nowrap: Sequence[int] = (0,)) -> str:
        """A table row; the columns in ``nowrap`` keep to one line, the others wrap (so the table
        fits a narrow notebook: at 800 px the output area is under 400 px wide)."""
        out = []
        for i, cell in enumerate(cells):
            title = titles[i] if i < len(titles) else None
            attr = f' title="{_e(title)}"' if title else ""
            weight = ";font-weight:600" if tag == "th" else ""
            wrap = ";white-space:nowrap" if i in nowrap else ";overflow-wrap:anywhere"
            out.append(f'<{tag} style="{_CELL_STYLE}{weight}{wrap}"{attr}>{_e(cell)}</{tag}>')
        return '<tr style="background:transparent">' + "".join(out) + "</tr>"

    def _repr_html_(self) -> str:
        facts = "".join(self._row([k, v]) for k, v in self.facts)
        parts = ['<div class="rnb-credits" style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;'
                 'font-size:13px">', f"<strong>{_e(self.title)}</strong>",
                 f'<table style="{_TABLE_STYLE}"><tbody>{facts}</tbody></table>']
        if self.prices:
            head = self._row(["price (credits)", "output", "models"], "th", nowrap=(1,))
            body = "".join(self._row([g.price, g.output, _names(g.models)],
                                     titles=[None, None, ", ".join(g.models)], nowrap=(1,)) for g in self.prices)
            parts.append(f'<table class="rnb-prices" style="{_TABLE_STYLE}"><thead>{head}</thead>'
                         f"<tbody>{body}</tbody></table>")
        if self.usage is not None:
            parts.append(self.usage.html())
        elif self.usage_note:
            parts.append(f"<div>{_e(self.usage_note)}</div>")
        parts.append("</div>")
        return "".join(parts)

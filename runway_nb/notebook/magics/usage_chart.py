"""Credits spent per day and model (``POST /v1/organization/usage``) as an inline SVG bar chart.

Drawn here, in the kernel: no script, no CDN, nothing fetched, so it shows the same live, in a
saved notebook, on GitHub and in nbconvert's HTML. Every label is escaped. Text uses
``currentColor`` so it follows the notebook's light or dark theme; the bars use a colour-blind
safe palette. ``text()`` is the plain-text form of the same figures.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypedDict

from runway_nb.notebook.magics.credit_prices import credits_text

__all__ = ["UsageChart", "UsageDay", "usage_window"]

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies; its yellow and
#: black are left out: too faint on white, invisible on a dark theme), then a wine red.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#882255")
OTHER_COLOR = "#999999"
#: At most this many models get their own colour; the rest are drawn together as "other models".
MAX_SERIES = 7

WIDTH, HEIGHT = 600, 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 8, 10, 26


class UsedCredits(TypedDict):
    model: str
    amount: float


class UsageDay(TypedDict):
    """One ``results`` entry of ``POST /v1/organization/usage``."""

    date: str
    usedCredits: list[UsedCredits]


def usage_window(today: date, days: int = 30) -> dict[str, str]:
    """The request body for the last ``days`` days, today included (``beforeDate`` is exclusive)."""
    return {"startDate": (today - timedelta(days=days - 1)).isoformat(),
            "beforeDate": (today + timedelta(days=1)).isoformat()}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (the top of the y axis)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    return next(m * step for m in (1, 2, 2.5, 5, 10) if m * step >= value)


@dataclass
class UsageChart:
    """Credits per day and model over ``days`` (every day of the window, in order)."""

    days: list[date]
    amounts: dict[date, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_response(cls, answer: Mapping[str, object], start: date, before: date) -> UsageChart:
        """From the endpoint's JSON answer; rows outside [start, before) or malformed are left out."""
        days = [start + timedelta(days=i) for i in range((before - start).days)]
        amounts: dict[date, dict[str, float]] = {}
        results = answer.get("results")
        for row in results if isinstance(results, list) else []:
            if not isinstance(row, dict):
                continue
            try:
                day = date.fromisoformat(str(row.get("date")))
            except ValueError:
                continue
            if not start <= day < before:
                continue
            used = row.get("usedCredits")
            for item in used if isinstance(used, list) else []:
                amount = item.get("amount") if isinstance(item, dict) else None
                if isinstance(amount, (int, float)) and not isinstance(amount, bool):
                    per_model = amounts.setdefault(day, {})
                    model = str(item.get("model") or "unknown model")
                    per_model[model] = per_model.get(model, 0) + float(amount)
        return cls(days, amounts)

    # -- figures ---------------------------------------------------------------------------

    def totals(self) -> dict[str, float]:
        """Credits per model over the window, largest first."""
        out: dict[str, float] = {}
        for per_model in self.amounts.values():
            for model, amount in per_model.items():
                out[model] = out.get(model, 0) + amount
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def total(self) -> float:
        return sum(self.totals().values())

    def series(self) -> list[tuple[str, str]]:
        """``(label, colour)`` of each drawn series: the largest models, then "other models"."""
        models = list(self.totals())
        shown = [(m, PALETTE[i]) for i, m in enumerate(models[:MAX_SERIES])]
        if len(models) > MAX_SERIES:
            shown.append(("other models", OTHER_COLOR))
        return shown

    def _stack(self, day: date) -> list[tuple[str, float]]:
        """The day's positive amounts per drawn series (a refund larger than the day's charges draws nothing)."""
        per_model = self.amounts.get(day, {})
        named = {m for m, _ in self.series()}
        out = [(m, max(0.0, per_model.get(m, 0))) for m, _ in self.series() if m != "other models"]
        if "other models" in named:
            out.append(("other models", max(0.0, sum(a for m, a in per_model.items() if m not in named))))
        return out

    def period(self) -> str:
        if not self.days:
            return "no days"
        return f"{self.days[0].isoformat()} to {self.days[-1].isoformat()}"

    # -- drawing ---------------------------------------------------------------------------

    def summary(self) -> str:
        """One sentence: the window, the total and the models (the chart's accessible name)."""
        if not self.amounts:
            return f"Credits used per day, {self.period()}: none."
        models = ", ".join(f"{m} {credits_text(a)}" for m, a in self.totals().items())
        return f"Credits used per day, {self.period()}: {credits_text(self.total())} in all ({models})."

    def svg(self) -> str:
        """The stacked bar chart: one bar per day, one colour per model, y axis in credits."""
        plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
        top = _nice_ceiling(max((sum(a for _, a in self._stack(d)) for d in self.days), default=0))
        slot = plot_w / max(1, len(self.days))
        bar = max(1.0, slot * 0.72)
        colors = dict(self.series())
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="rnb-usage-chart" role="img" '
                 f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
                 f'style="max-width:100%;height:auto;font:11px system-ui,-apple-system,Segoe UI,sans-serif" '
                 f'aria-label="{_e(self.summary())}"><title>{_e(self.summary())}</title>']
        for fraction in (0, 0.5, 1):
            y = _TOP + plot_h * (1 - fraction)
            parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="currentColor" stroke-opacity="{0.45 if fraction == 0 else 0.15}"/>')
            parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="currentColor">'
                         f'{_e(credits_text(top * fraction))}</text>')
        for i, day in enumerate(self.days):
            x = _LEFT + slot * i + (slot - bar) / 2
            base = float(_TOP + plot_h)
            for model, amount in self._stack(day):
                if amount <= 0:
                    continue
                height = plot_h * amount / top
                base -= height
                parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                             f'fill="{colors[model]}"><title>{_e(f"{day.isoformat()} {model}: ")}'
                             f'{_e(credits_text(amount))} credits</title></rect>')
        for i in self._labelled_days():
            x = _LEFT + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="currentColor">'
                         f'{_e(self.days[i].strftime("%b %d").replace(" 0", " "))}</text>')
        parts.append("</svg>")
        return "".join(parts)

    def _labelled_days(self) -> Sequence[int]:
        """Every 7th day back from the last, so today is labelled and labels never overlap."""
        n = len(self.days)
        return sorted(range(n - 1, -1, -7)) if n else []

    def legend_html(self) -> str:
        """A swatch, the model and its credits over the window, for each drawn series."""
        totals = self.totals()
        named = {m for m, _ in self.series()}
        other = sum(a for m, a in totals.items() if m not in named)
        items = []
        for model, color in self.series():
            amount = other if model == "other models" else totals[model]
            items.append(f'<span style="display:inline-flex;align-items:center;gap:4px;margin-right:12px">'
                         f'<span aria-hidden="true" style="display:inline-block;width:10px;height:10px;'
                         f'border-radius:2px;background:{color}"></span>{_e(model)} '
                         f'{_e(credits_text(amount))}</span>')
        return f'<div class="rnb-usage-legend" style="font-size:12px">{"".join(items)}</div>'

    def html(self) -> str:
        if not self.amounts:
            return f'<div class="rnb-usage">{_e(self.summary())}</div>'
        heading = f'<div style="font-weight:600;margin-top:4px">Credits used per day, {_e(self.period())}</div>'
        return f'<div class="rnb-usage">{heading}{self.svg()}{self.legend_html()}</div>'

    def text(self) -> str:
        """The same figures as lines: totals per model, then each day with use."""
        if not self.amounts:
            return self.summary()
        width = max(len(m) for m in self.totals())
        lines = [f"Credits used, {self.period()}: {credits_text(self.total())}"]
        lines += [f"  {m.ljust(width)}  {credits_text(a):>8}" for m, a in self.totals().items()]
        lines.append("  per day:")
        for day in self.days:
            per_model = self.amounts.get(day)
            if per_model:
                used = ", ".join(f"{m} {credits_text(a)}" for m, a in sorted(per_model.items()))
                lines.append(f"    {day.isoformat()}  {used}")
        return "\n".join(lines)

"""``%runway credits``: the balance, the limits, prices by group of models, and usage by day and model."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from IPython.core.error import UsageError

from runway_nb.errors import RunwayError
from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.credit_prices import credits_text, price_groups
from runway_nb.notebook.magics.credits_report import CreditsReport
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.magics.usage_chart import UsageChart, usage_window
from runway_nb.notebook.session import get_session

__all__ = ["USAGE_DAYS", "credit_balance", "limits_text"]

#: The usage chart's window: Runway's default for ``POST /v1/organization/usage``.
USAGE_DAYS = 30
#: What GET /v1/organization reports as the daily limit of an account without one (the simulator's).
NO_DAILY_LIMIT = 1_000_000


def limits_text(limits: Mapping[str, Any]) -> str:
    """``2 at a time, 50 a day`` (or ``no daily limit``)."""
    concurrent = limits.get("maxConcurrentGenerations")
    daily = limits.get("maxDailyGenerations")
    bits = [f"{credits_text(concurrent)} at a time" if isinstance(concurrent, (int, float)) else "no concurrency limit"]
    if isinstance(daily, (int, float)) and daily < NO_DAILY_LIMIT:
        bits.append(f"{credits_text(daily)} a day")
    else:
        bits.append("no daily limit")
    return ", ".join(bits)


def _limit_rows(tier_models: Mapping[str, Any], generation_models: set[str]) -> list[tuple[str, str]]:
    """One row per distinct limit among the models runway-nb submits ("every model" when all share it)."""
    by_limit: dict[str, list[str]] = {}
    for model, limits in tier_models.items():
        if model in generation_models and isinstance(limits, dict):
            by_limit.setdefault(limits_text(limits), []).append(model)
    if len(by_limit) == 1:
        return [("limits", f"{next(iter(by_limit))} (each model)")]
    return [("limits", f"{text}: {', '.join(models)}") for text, models in by_limit.items()]


def _used_today(usage: Mapping[str, Any]) -> str:
    counts = {m: u.get("dailyGenerations", 0) for m, u in usage.items() if isinstance(u, dict)}
    counts = {m: n for m, n in counts.items() if isinstance(n, (int, float)) and n}
    if not counts:
        return "no tasks"
    return ", ".join(f"{m} {credits_text(n)} task{'s' if n != 1 else ''}" for m, n in sorted(counts.items()))


def _usage(session: Any, today: date) -> tuple[UsageChart | None, str]:
    """The chart of the last USAGE_DAYS days, or None and why it could not be read."""
    body = usage_window(today, USAGE_DAYS)
    try:
        answer = session.client.request_json("POST", "/v1/organization/usage", body)
    except RunwayError as exc:
        return None, f"Usage by day is not available: {exc}"
    if not isinstance(answer, dict):
        return None, "Usage by day is not available: the answer was not a JSON object."
    return UsageChart.from_response(answer, date.fromisoformat(body["startDate"]),
                                    date.fromisoformat(body["beforeDate"])), ""


@magic_arguments("runway credits")
@argument("extra", nargs="*", help=argparse.SUPPRESS)
def credit_balance(words: list[str], host: MagicsHost) -> CreditsReport:
    """The balance and limits, the prices of the models runway-nb submits (grouped by price), and
    the credits used per day and model over the last 30 days, as a chart."""
    if parse_words(credit_balance, words).extra:
        raise UsageError("%runway credits takes no arguments")
    session = get_session()
    org = session.client.organization()
    tier = org.get("tier") or {}
    balance = org.credit_balance
    facts = [("provider", str(session.client.provider)),
             ("balance", "unknown" if balance is None
              else f"{credits_text(balance)} credits (USD {balance / 100:,.2f})")]
    if tier.get("maxMonthlyCreditSpend") is not None:
        facts.append(("monthly spend cap", f"{credits_text(tier['maxMonthlyCreditSpend'])} credits"))
    from runway_nb.api import catalog  # the catalog loads when asked for, not at %load_ext

    generation = catalog.models(include_legacy=False)
    facts += _limit_rows(tier.get("models") or {}, {m.model for m in generation})
    facts.append(("used today", _used_today(((org.get("usage") or {}).get("models")) or {})))
    chart, note = _usage(session, datetime.now(timezone.utc).date())
    return CreditsReport(facts, price_groups(generation), chart, note)

"""``%runway credits``: the account's credit balance and its per-model limits."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError

from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.facts import Facts
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.session import get_session

__all__ = ["credit_balance"]


@magic_arguments("runway credits")
@argument("extra", nargs="*", help=argparse.SUPPRESS)
def credit_balance(words: list[str], host: MagicsHost) -> Facts:
    """The account's credit balance and per-model limits (generation models, and any with use today)."""
    if parse_words(credit_balance, words).extra:
        raise UsageError("%runway credits takes no arguments")
    session = get_session()
    org = session.client.organization()
    tier = org.get("tier") or {}
    usage = ((org.get("usage") or {}).get("models")) or {}
    rows = [("provider", session.client.provider),
            ("credit balance", "unknown" if org.credit_balance is None else f"{org.credit_balance:,.0f}")]
    if tier.get("maxMonthlyCreditSpend") is not None:
        rows.append(("max monthly spend", f"{tier['maxMonthlyCreditSpend']:,.0f} credits"))
    from runway_nb.api import catalog  # the catalog loads when asked for, not at %load_ext

    generation_models = {m.model for m in catalog.models()}
    table: list[dict[str, object]] = []
    others = 0
    for model, limits in (tier.get("models") or {}).items():
        used = (usage.get(model) or {}).get("dailyGenerations", 0)
        if model not in generation_models and not used:
            others += 1  # audio, avatar and workflow models runway-nb does not submit
            continue
        table.append({"model": model,
                      "concurrent": limits.get("maxConcurrentGenerations", ""),
                      "daily limit": limits.get("maxDailyGenerations", ""),
                      "used today": used})
    if others:
        rows.append(("other models", f"{others} more in the account's tier (not generation models "
                                     f"runway-nb submits)"))
    return Facts("Runway organization", rows, table, ("model", "concurrent", "daily limit", "used today"))

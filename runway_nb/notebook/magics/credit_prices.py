"""Model prices for ``%runway credits``: one row per price, naming the models that share it.

The catalog prices about a hundred models with a dozen rules (most partner models share a rough
10 credits per second), so a row per model repeats itself; a row per price does not. Prices are
the catalog's estimates (1 credit = USD 0.01); the charge Runway reports for a task is what counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runway_nb.api.catalog_data import CreditRule, ModelInfo
from runway_nb.notebook.charges import credits_text

__all__ = ["PriceGroup", "credits_text", "price_groups", "price_text"]

_UNITS = {"second": "second", "image": "image", "task": "output"}
_OUTPUT_ORDER = {"video": 0, "image": 1, "audio": 2}


def price_text(rule: CreditRule) -> str:
    """``12 per second, +5 per second for non-mp4``, ``8 per image, 5 at 720p``, ``≈ 2 per output``."""
    unit = _UNITS.get(str(rule.get("unit", "")), str(rule.get("unit", "")))
    text = f"{credits_text(float(rule.get('rate', 0)))} per {unit}"
    if "rate_no_audio" in rule:
        text += f", {credits_text(float(rule['rate_no_audio']))} without audio"
    if "rate_720p" in rule:
        text += f", {credits_text(float(rule['rate_720p']))} at 720p"
    if rule.get("non_mp4_surcharge"):
        text += f", +{credits_text(float(rule['non_mp4_surcharge']))} per {unit} for non-mp4"
    return ("≈ " + text) if rule.get("estimate") == "rough" else text


@dataclass(frozen=True)
class PriceGroup:
    """Models (in catalog order, each once) that cost the same for the same kind of output."""

    output: str
    price: str
    models: tuple[str, ...]
    rough: bool
    rate: float


def price_groups(models: Iterable[ModelInfo]) -> list[PriceGroup]:
    """The models grouped by output kind and price: Runway's published prices first, then the
    rough estimates, each by output kind (video, image, audio) and rate."""
    found: dict[tuple[str, str], list[str]] = {}
    rules: dict[tuple[str, str], CreditRule] = {}
    for info in models:
        if not info.credits or info.retired is not None or not info.sends_model:
            continue
        key = (info.output, price_text(info.credits))
        names = found.setdefault(key, [])
        rules.setdefault(key, info.credits)
        if info.model not in names:
            names.append(info.model)
    groups = [PriceGroup(output, price, tuple(names), rules[(output, price)].get("estimate") == "rough",
                         float(rules[(output, price)].get("rate", 0)))
              for (output, price), names in found.items()]
    groups.sort(key=lambda g: (g.rough, _OUTPUT_ORDER.get(g.output, 3), g.rate, g.price))
    return groups

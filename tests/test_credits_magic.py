"""``%runway credits``: a compact table (prices grouped, thousands separators, the balance) and a
chart of usage by model and day from ``POST /v1/organization/usage``, drawn in the kernel."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from runway_nb.api import catalog
from runway_nb.notebook.magics.credit_prices import credits_text, price_groups, price_text
from runway_nb.notebook.magics.usage_chart import UsageChart, usage_window


def _cell(ip, options: str, prompt: str = "a red fox in the snow"):
    return ip.run_cell_magic("runway", options, prompt)


def test_credits_is_compact_with_the_balance_and_usage(ip, runway_session, fast_sim) -> None:
    _cell(ip, "-m gen4_image --wait")
    _cell(ip, "-m gen4.5 -d 5 --wait")
    report = ip.run_cell("%runway credits").result
    text, page = repr(report), report._repr_html_()
    balance = runway_session.client.organization().credit_balance
    assert report.fact("balance") == f"{balance:,.0f} credits (USD {balance / 100:,.2f})"
    assert report.fact("monthly spend cap") == "2,000,000 credits"  # thousands separators
    # one row per price, not one per model: far fewer rows than models, every model still named
    models = {m.model for m in catalog.models(include_legacy=False) if m.credits and m.sends_model}
    assert len(report.prices) <= 15 < len(models)
    assert {name for g in report.prices for name in g.models} <= models
    gen45 = next(g for g in report.prices if "gen4.5" in g.models)
    assert gen45.price.startswith("12 per second") and gen45.output == "video"
    # the chart: inline SVG, no script, no URL to fetch; both models in it with what they cost
    assert page.count("<svg") == 1 and "<script" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert report.usage is not None
    # 5 s of gen4.5 at 12 a second; one gen4_image at its default ratio (720p: 5 credits)
    assert report.usage.totals() == {"gen4.5": 60.0, "gen4_image": 5.0}
    assert "gen4.5 60" in page and "gen4_image 5" in page and 'role="img"' in page
    # plain text: the same figures
    assert "Credits used" in text and re.search(r"\d{4}-\d{2}-\d{2}  gen4.5 60, gen4_image 5", text)
    # left-aligned cells overriding the notebook's table style
    assert page.count("text-align:left") == page.count("<td ") + page.count("<th ")


def test_credits_without_a_usage_route(ip, runway_session, monkeypatch) -> None:
    from runway_nb.errors import ValidationError

    def refuse(*args, **kwargs):
        raise ValidationError("provider", "comet", "runway or sim", message="provider 'comet' has no usage route")

    monkeypatch.setattr(runway_session.client, "request_json", refuse)
    report = ip.run_cell("%runway credits").result
    assert report.usage is None and "no usage route" in repr(report) and "<svg" not in report._repr_html_()


def test_the_chart_escapes_labels_and_draws_every_day() -> None:
    answer = {"results": [
        {"date": "2026-12-05", "usedCredits": [{"model": "<b>x</b>&y", "amount": 1200},
                                               {"model": "gen4.5", "amount": 60}]},
        {"date": "2026-12-06", "usedCredits": [{"model": "gen4.5", "amount": -10}]},  # a refund day
        {"date": "2025-01-01", "usedCredits": [{"model": "gen4.5", "amount": 99}]},   # outside the window
        {"date": "not a date", "usedCredits": []},
    ]}
    window = usage_window(date(2026, 12, 6), 30)
    chart = UsageChart.from_response(answer, date.fromisoformat(window["startDate"]),
                                     date.fromisoformat(window["beforeDate"]))
    assert len(chart.days) == 30 and chart.days[-1] == date(2026, 12, 6)
    assert chart.totals() == {"<b>x</b>&y": 1200.0, "gen4.5": 50.0}
    svg, page = chart.svg(), chart.html()
    assert "<b>" not in page and "&lt;b&gt;x&lt;/b&gt;&amp;y" in page
    assert svg.count("<rect") == 2  # the refund day draws no bar; the day outside the window none
    assert "1,200" in page and "1,250" in chart.text()
    assert chart.text().splitlines()[0] == "Credits used, 2026-11-07 to 2026-12-06: 1,250"


def test_an_empty_window_says_so() -> None:
    chart = UsageChart.from_response({"results": []}, date(2026, 12, 1), date(2026, 12, 3))
    assert chart.text() == "Credits used per day, 2026-12-01 to 2026-12-02: none." and "<svg" not in chart.html()


@pytest.mark.parametrize("value, shown", [(1250, "1,250"), (2_000_000, "2,000,000"), (12.5, "12.5"), (0, "0")])
def test_credits_text(value, shown) -> None:
    assert credits_text(value) == shown


def test_price_text_and_groups() -> None:
    assert price_text({"unit": "second", "rate": 40, "rate_no_audio": 20}) == "40 per second, 20 without audio"
    assert price_text({"unit": "image", "rate": 8, "rate_720p": 5}) == "8 per image, 5 at 720p"
    assert price_text({"unit": "task", "rate": 2, "estimate": "rough"}) == "≈ 2 per output"
    groups = price_groups(catalog.models(include_legacy=False))
    assert [g.rough for g in groups] == sorted(g.rough for g in groups)  # Runway's own prices first
    assert all(len(g.models) == len(set(g.models)) for g in groups)  # a model on two endpoints: named once
    assert next(g for g in groups if "veo3.1" in g.models).price == "40 per second, 20 without audio"


def test_usage_window_is_the_last_30_days() -> None:
    today = datetime(2026, 12, 6, tzinfo=timezone.utc).date()
    assert usage_window(today) == {"startDate": "2026-11-07", "beforeDate": "2026-12-07"}

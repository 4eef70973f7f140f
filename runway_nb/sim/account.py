"""The organization routes: ``GET /v1/organization`` (balance, tier, usage today) and
``POST /v1/organization/usage`` (credits spent per day and model)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from runway_nb.sim.context import SimContext
from runway_nb.sim.messages import ApiError, JsonObject, SimRequest, SimResponse, json_response, read_json_body

__all__ = ["MAX_MONTHLY_SPEND", "ORG_MODELS", "UNLIMITED_DAILY", "AccountApi"]

# Runway's ModelVariant enum (spec 2024-11-06 snapshot): the models GET /v1/organization reports.
ORG_MODELS = (
    "gen4.5", "gen3a_turbo", "gen4_turbo", "gen4_image", "gen4_image_turbo", "gpt_image_2", "act_two",
    "gen4_aleph", "veo3", "veo3.1", "veo3.1_fast", "gemini_2.5_flash", "gemini_image3_pro",
    "gemini_image3.1_flash", "seedream5_pro", "seedream5_lite", "gemini_omni_flash",
    "eleven_multilingual_v2", "seed_audio", "eleven_v3", "eleven_text_to_sound_v2",
    "eleven_voice_isolation", "eleven_voice_dubbing", "eleven_multilingual_sts_v2", "eleven_scribe_v2",
    "gwm1_avatars", "gwm1_avatar_async_audio_to_video", "gwm1_avatar_async_text_to_video",
    "voice_processing", "seedance2", "seedance2_5", "seedance2_fast", "seedance2_mini", "hailuo3",
    "magnific_precision_upscaler_v2", "magnific_video_upscaler_creative", "kling2.5_turbo_pro",
    "kling3.0_pro", "kling3.0_4k", "kling3.0_standard", "klingO3_pro", "klingO3_standard",
    "klingO3_4k", "happyhorse_1_0", "aleph2", "product_swap", "product_ad", "multi_shot_video",
    "product_ugc", "marketing_stock_image", "product_campaign_image", "ad_localization",
)
UNLIMITED_DAILY = 1_000_000  # what GET /v1/organization reports when daily_limit is None
MAX_MONTHLY_SPEND = 2_000_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DEFAULT_DAYS = 30
_MAX_DAYS = 90


class AccountApi:
    def __init__(self, ctx: SimContext):
        self._ctx = ctx

    def organization(self, req: SimRequest) -> SimResponse:
        store, config = self._ctx.store, self._ctx.config
        # The spec names the models this answer may list (propertyNames): a task of another
        # (a retired model, a routed pick outside the list) counts in the ledger, not here.
        counts = {m: n for m, n in store.daily_counts().items() if m in ORG_MODELS}
        daily = config.daily_limit
        tier = {m: {"maxConcurrentGenerations": int(config.concurrency),
                    "maxDailyGenerations": int(daily) if daily is not None else UNLIMITED_DAILY}
                for m in ORG_MODELS}
        usage = {m: {"dailyGenerations": n} for m, n in counts.items()}
        return json_response(200, {"creditBalance": max(0, store.balance),
                                   "tier": {"maxMonthlyCreditSpend": MAX_MONTHLY_SPEND, "models": tier},
                                   "usage": {"models": usage}})

    def usage(self, req: SimRequest) -> SimResponse:
        start, before = _usage_window(read_json_body(req))
        per_day: dict[str, dict[str, int]] = {}
        for wall, model, credits in self._ctx.store.ledger():
            d = datetime.fromtimestamp(wall, tz=timezone.utc).date()
            if start <= d < before:
                per_day.setdefault(d.isoformat(), {}).setdefault(model, 0)
                per_day[d.isoformat()][model] += credits
        results = [{"date": d, "usedCredits": [{"model": m, "amount": a} for m, a in sorted(per_day[d].items())]}
                   for d in sorted(per_day)]
        models = sorted({m for d in per_day.values() for m in d})
        return json_response(200, {"results": results, "models": models})


def _usage_window(body: JsonObject) -> tuple[date, date]:
    """[startDate, beforeDate) from the body: the last 30 days (today included) by default,
    30 days from the one date given, at most 90 days."""
    today = datetime.now(timezone.utc).date()
    try:
        start = _parse_date(body, "startDate")
        before = _parse_date(body, "beforeDate")
    except ValueError as exc:
        raise ApiError(400, str(exc), [{"code": "invalid_string", "path": [str(exc).split(":")[0]],
                                        "message": "Invalid date"}]) from None
    if start is None:
        if before is None:
            start, before = today - timedelta(days=_DEFAULT_DAYS - 1), today + timedelta(days=1)
        else:
            start = before - timedelta(days=_DEFAULT_DAYS)
    elif before is None:
        before = start + timedelta(days=_DEFAULT_DAYS)
    # before == start is an empty window (beforeDate is exclusive): answered with no rows
    if before < start:
        raise ApiError(400, "beforeDate must not be before startDate.")
    if (before - start).days > _MAX_DAYS:
        raise ApiError(400, "beforeDate must be at most 90 days after startDate.")
    return start, before


def _parse_date(body: JsonObject, key: str) -> date | None:
    if key not in body:  # absent: the default; null is not a date (the spec's type is string)
        return None
    value = body[key]
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"{key}: expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)

"""Rules that Runway's spec states only in prose, across fields, with messages for people.

They run in strict mode, after the body passed its model's JSON Schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runway_nb.api.catalog_data import ModelInfo
from runway_nb.api.schema_validator import Issue, Where

__all__ = ["RULES", "rule_issues"]

Body = Mapping[str, object]
Rule = Callable[[ModelInfo, Body, Where], list[Issue]]


def _keyframes_or_references(info: ModelInfo, body: Body, where: Where) -> list[Issue]:
    """promptImage items all have a position (keyframes) or none do (references); each position once;
    veo needs a first frame whenever it has a last one."""
    images = body.get("promptImage")
    if not isinstance(images, (list, tuple)) or not all(isinstance(x, dict) for x in images):
        return []
    positions = [x.get("position") for x in images]
    have = [p for p in positions if p is not None]
    out = []
    if have and len(have) != len(positions):
        out.append(Issue("promptImage", images, "all items with a position (keyframes) or none (references)",
                         "promptImage mixes keyframes (items with a position) and references (items "
                         "without); use one mode", "rule"))
    repeated = {p for p in have if have.count(p) > 1}
    if repeated:
        out.append(Issue("promptImage", images, "each position at most once",
                         f"promptImage gives position {sorted(repeated)[0]!r} more than once", "rule"))
    if info.model.startswith("veo") and "last" in have and "first" not in have:
        out.append(Issue("promptImage", images, "a first frame, optionally with a last frame",
                         f"promptImage has only a last frame; {where('promptImage')} needs a first frame too",
                         "rule"))
    return out


def _adaptive_ratio_needs_media(info: ModelInfo, body: Body, where: Where) -> list[Issue]:
    """hailuo3's ratio 'adaptive' follows the input media, so a text-only request cannot use it."""
    if info.model != "hailuo3" or body.get("ratio") != "adaptive":
        return []
    if any(body.get(f) for f in ("promptImage", "promptVideo", "references", "referenceVideos")):
        return []
    concrete = [r for r in info.ratios if r != "adaptive"]
    return [Issue("ratio", "adaptive", concrete,
                  "ratio='adaptive' needs image or video references; a text-only request needs a concrete "
                  f"ratio: {', '.join(concrete)}", "rule")]


def _extend_mode(info: ModelInfo, body: Body, where: Where) -> list[Issue]:
    """mode='extend' needs a prompt, and keeps the input's aspect ratio (no ratio field)."""
    if body.get("mode") != "extend" or "mode" not in info.fields:
        return []
    out = []
    if not body.get("promptText"):
        out.append(Issue("promptText", None, "a prompt",
                         f"promptText is required when mode='extend' for {where('mode')}", "required"))
    if "ratio" in body:
        out.append(Issue("ratio", body["ratio"], "no ratio (the input's is kept)",
                         "ratio may not be given when mode='extend' (the output keeps the input's aspect "
                         "ratio)", "rule"))
    return out


def _prores_profile_needs_prores(info: ModelInfo, body: Body, where: Where) -> list[Issue]:
    if "proresProfile" not in body or "proresProfile" not in info.fields:
        return []
    # the model's ProRes format(s): "prores" for generation and upscaling, "hdr_prores" for video_to_hdr
    formats = info.schema.get("properties", {}).get("outputFormat", {}).get("enum") or ["prores"]
    prores = [str(f) for f in formats if "prores" in str(f)] or ["prores"]
    if body.get("outputFormat") in prores:
        return []
    named = " or ".join(repr(f) for f in prores)
    return [Issue("proresProfile", body["proresProfile"], f"only with outputFormat={named}",
                  f"proresProfile is only valid when outputFormat is {named}", "rule")]


RULES: tuple[Rule, ...] = (
    _keyframes_or_references,
    _adaptive_ratio_needs_media,
    _extend_mode,
    _prores_profile_needs_prores,
)


def rule_issues(info: ModelInfo, body: Body, where: Where) -> list[Issue]:
    """Every prose rule ``body`` breaks for ``info``'s model."""
    out: list[Issue] = []
    for rule in RULES:
        out.extend(rule(info, body, where))
    return out

"""Output sizes, durations and credit figures, estimated from a request body.

These are estimates for planning and for the offline simulator; Runway's own answer
(``estimatedCost``, the real output) is authoritative.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runway_nb.api.catalog_data import ModelInfo, load
from runway_nb.api.lookup import check_endpoint, find_for_body
from runway_nb.api.schema_text import short_repr
from runway_nb.errors import ValidationError

__all__ = [
    "NOMINAL_INPUT_SECONDS",
    "SPEECH_CHARS_PER_SECOND",
    "estimate_credits",
    "output_duration",
    "output_size",
    "ratio_size",
    "ratio_sizes",
    "speech_seconds",
]

#: Seconds assumed for a video whose length follows its input (video_to_video without a
#: ``duration`` field, act_two, upscalers) when the caller does not pass ``input_duration``.
NOMINAL_INPUT_SECONDS = 5.0
# A speaking rate for lengths that follow a text (speech, an avatar saying it): about 14
# characters a second (~170 words a minute), at least a second. The simulator speaks at it too.
SPEECH_CHARS_PER_SECOND = 14.0
MIN_SPEECH_SECONDS = 1.0

_EMPTY: Mapping[str, object] = {}


def ratio_sizes() -> dict[str, tuple[int, int]]:
    """The documented mapping of aspect-ratio tokens ("16:9", "adaptive", "auto_1k", ...) to
    pixel sizes. "W:H" pixel strings are not listed: they mean exactly W x H."""
    return dict(load().ratio_sizes)


def _even(x: float) -> int:
    return max(2, round(x / 2.0) * 2)


def _parse_ratio(ratio: str, tokens: Mapping[str, object]) -> tuple[float, float]:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x]\s*(\d+(?:\.\d+)?)\s*", ratio)
    if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
        raise ValidationError("ratio", ratio, "a 'W:H' string or one of " + ", ".join(tokens),
                              f"ratio={short_repr(ratio)} is neither a 'W:H' size nor a known "
                              f"aspect-ratio token ({', '.join(tokens)})")
    return float(m.group(1)), float(m.group(2))


def ratio_size(ratio: str, resolution: str | None = None) -> tuple[int, int]:
    """Pixel (width, height) for a ``ratio`` value.

    "W:H" with both numbers >= 100 is a pixel size and is returned as is. Aspect-ratio tokens
    use the catalog's ``ratio_sizes`` table (16:9 -> 1280x720, 9:16 -> 720x1280, 1:1 ->
    960x960, 21:9 -> 1680x720, 4:3 -> 960x720, 3:4 -> 720x960, adaptive/auto* -> 1280x720);
    other small "a:b" ratios get a 720-pixel short side. A ``resolution`` token ("768P", "2K",
    "1080p", ...) rescales an aspect-ratio token so its short side matches. Sizes are even.
    """
    catalog = load()
    table = catalog.ratio_sizes
    if not isinstance(ratio, str):
        raise ValidationError("ratio", ratio, "a 'W:H' string", f"ratio={short_repr(ratio)} is not a 'W:H' string")
    base = table.get(ratio) or table.get(ratio.lower())
    auto = re.fullmatch(r"auto_(\w+)", ratio.lower())
    if base is None and auto and auto.group(1) in catalog.short_side:
        # "auto_480p", "auto_1080p": the model keeps the input's framing at that resolution
        base, resolution = table["auto"], resolution or auto.group(1)
    if base is None:
        w, h = _parse_ratio(ratio, table)
        if min(w, h) >= 100 and w.is_integer() and h.is_integer():
            return int(w), int(h)  # a pixel size: exactly that, whatever the resolution
        base = (_even(720 * w / h), 720) if w >= h else (720, _even(720 * h / w))
    if resolution and isinstance(resolution, str):
        short = catalog.short_side.get(resolution.lower())
        if short:
            scale = short / min(base)
            return _even(base[0] * scale), _even(base[1] * scale)
    return int(base[0]), int(base[1])


def _info_or_none(endpoint: str, body: object) -> ModelInfo | None:
    check_endpoint(endpoint)
    return find_for_body(endpoint, body) if isinstance(body, dict) else None


def _default_resolution(endpoint: str, info: ModelInfo | None) -> object:
    if info is None:
        return None
    res = info.schema.get("properties", {}).get("resolution", {}).get("default")
    if res is None and endpoint == "video_upscale" and "resolution" in info.fields:
        res = "2k"  # spec: "Defaults to 2k"
    if res is None and info.model == "upscale_v1":
        res = "4k"  # upscale_v1 upscaled to 4K (nominal)
    return res


def output_size(endpoint: str, body: Mapping[str, object]) -> tuple[int, int]:
    """Pixel (width, height) the output will have (an estimate when it follows the input).

    Uses the body's ``ratio`` (or ``targetAspectRatio``), else the model's default ratio, with
    ``resolution`` applied to aspect-ratio tokens. Models without a ratio follow their input;
    they are assumed 16:9 at their ``resolution`` (default 720p; video_upscale default 2k).
    """
    info = _info_or_none(endpoint, body)
    body = body if isinstance(body, dict) else _EMPTY
    res = body.get("resolution")
    if res is None:
        res = _default_resolution(endpoint, info)
    res_token = res if isinstance(res, str) else None
    for key in ("ratio", "targetAspectRatio"):
        r = body.get(key)
        if isinstance(r, str) and r:
            try:
                return ratio_size(r, res_token)
            except ValidationError:
                pass
    if info is not None and info.default_ratio:
        return ratio_size(info.default_ratio, res_token)
    return ratio_size("16:9", res_token)


def speech_seconds(text: str) -> float:
    """How long saying ``text`` takes at :data:`SPEECH_CHARS_PER_SECOND`, at least a second."""
    return max(MIN_SPEECH_SECONDS, len(text.strip()) / SPEECH_CHARS_PER_SECOND)


def _spoken_text(body: Mapping[str, object]) -> str | None:
    """The words an avatar video speaks (``speech: {type: "text", text}``), when it speaks text."""
    speech = body.get("speech")
    if isinstance(speech, Mapping) and speech.get("type") == "text" and isinstance(speech.get("text"), str):
        return str(speech["text"])
    return None


def output_duration(endpoint: str, body: Mapping[str, object], *,
                    input_duration: float | None = None) -> float | None:
    """Seconds of video output: the body's ``duration``, else the model's default; ``None``
    for images. When the length follows the input video (no duration field: aleph2, act_two,
    upscalers), ``input_duration`` if given, else NOMINAL_INPUT_SECONDS (5)."""
    info = _info_or_none(endpoint, body)
    if endpoint == "text_to_image" or (info is not None and info.output == "image"):
        return None
    if info is not None and info.output == "audio":  # speech follows its text, dubbing its input
        d = body.get("duration") if isinstance(body, dict) else None
        return float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) and d > 0 else None
    body = body if isinstance(body, dict) else _EMPTY
    spoken = _spoken_text(body)
    if spoken is not None:  # an avatar lasts as long as what it says
        return speech_seconds(spoken)
    d = body.get("duration")
    if isinstance(d, (int, float)) and not isinstance(d, bool) and d > 0:
        return float(d)
    if info is not None and info.default_duration is not None:
        return float(info.default_duration)
    if input_duration is not None:
        return float(input_duration)
    return NOMINAL_INPUT_SECONDS


def output_count(info: ModelInfo, body: Mapping[str, object]) -> int:
    """How many outputs the request asks for (``outputCount``, ``numVariants``; 1 by default)."""
    rule = info.output_count
    value = body.get(rule["field"]) if rule else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return int(rule["default"]) if rule and isinstance(rule.get("default"), int) else 1


def _image_credits(endpoint: str, info: ModelInfo, body: Mapping[str, object]) -> float:
    rule = info.credits
    rate = float(rule.get("rate", 0))
    if "rate_720p" in rule:
        w, h = output_size(endpoint, body)
        if min(w, h) <= 720:
            rate = float(rule["rate_720p"])
    count = body.get("outputCount", 1)
    if not isinstance(count, (int, float)) or isinstance(count, bool) or count < 1:
        count = 1
    return rate * count


def _video_credits(info: ModelInfo, body: Mapping[str, object], seconds: float) -> float:
    rule = info.credits
    rate = float(rule.get("rate", 0))
    if "rate_no_audio" in rule:
        audio = body.get("audio")
        if audio is None:
            audio = info.schema.get("properties", {}).get("audio", {}).get("default", True)
        if audio is False:
            rate = float(rule["rate_no_audio"])
    total = rate * seconds
    fmt = body.get("outputFormat")
    surcharge = rule.get("non_mp4_surcharge")
    if surcharge and isinstance(fmt, str) and fmt != "mp4":
        total += float(surcharge) * seconds
    return total


def estimate_credits(endpoint: str, body: Mapping[str, object], *,
                     input_duration: float | None = None) -> float | None:
    """A rough credit estimate (1 credit = USD 0.01), or ``None`` for an unknown model.

    Video: rate x seconds (veo without audio is cheaper; non-mp4 outputFormat adds a per-second
    surcharge). Images: rate x outputCount (gen4_image is cheaper at 720p). Rules marked
    ``"estimate": "rough"`` in ``ModelInfo.credits`` are guesses.
    """
    info = _info_or_none(endpoint, body)
    if info is None or not info.credits:
        return None
    if info.credits.get("unit") == "image":
        return _image_credits(endpoint, info, body)
    if info.credits.get("unit") == "task":  # audio: a flat rate per output
        return float(info.credits.get("rate", 0)) * output_count(info, body)
    seconds = output_duration(endpoint, body, input_duration=input_duration)
    if seconds is None:
        return None
    return _video_credits(info, body, seconds)

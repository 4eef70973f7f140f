"""The options of a generation that are not request fields as typed: voice, input audio, target
language and router.

``%%runway --voice Maya --audio take.wav --target-language es --router default`` (and
``generate(voice=..., audio=..., target_language=..., router=...)``) are checked here against the
model the combination will run, with messages that name the value and what is allowed, and then
given to the client under the names its request builder reads (``voice``, ``audioUri``,
``targetLang``, ``configId``). Where a preset voice goes in the body, and which field takes the
input audio, is the client's business (:func:`runway_nb.api.request.build`); this module only
decides whether the option makes sense for the model, and which model to use for a voice when
none was given. Nothing here sends a request.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from runway_nb.api.catalog import ENDPOINTS, ModelInfo, find_for_body, models
from runway_nb.errors import ValidationError

__all__ = [
    "ROUTED_OPERATIONS",
    "SHOWN_ALLOWED",
    "apply_options",
    "audio_inputs",
    "audio_operations",
    "infer_type",
    "is_input_audio",
    "model_for_voice",
    "voice_names",
]

#: How many allowed values a message lists before "…".
SHOWN_ALLOWED = 10

#: Routed generation: a router (``configId``) picks the model.
ROUTED_OPERATIONS = tuple(ep for ep in ENDPOINTS if ep.startswith("generate/"))


def _listing(values: Sequence[str], what: str) -> str:
    shown = ", ".join(values[:SHOWN_ALLOWED])
    return f"{shown}, … ({len(values)} {what} in all)" if len(values) > SHOWN_ALLOWED else shown


def is_input_audio(value: Any) -> bool:
    """Whether an ``audio`` option value is input audio rather than the ``audio`` on/off flag of the
    video models that make sound (``-p audio=false``)."""
    return value is not None and not isinstance(value, bool)


def audio_inputs(info: ModelInfo) -> list[str]:
    """The model's fields that take one input recording (``audioUri``, speech_to_speech's ``media``)."""
    return [name for name, kind in info.media_fields.items()
            if not kind.endswith(" list") and "audio" in kind.split("|")]


@functools.cache
def audio_operations() -> tuple[str, ...]:
    """The operations that take an input recording (speech_to_speech, voice_dubbing, voice_isolation)."""
    return tuple(dict.fromkeys(m.endpoint for m in models(include_legacy=False) if audio_inputs(m)))


def voice_names(endpoint: str) -> list[str]:
    """Every preset voice of the current models of ``endpoint``, in catalog order (no repeats)."""
    names: dict[str, None] = {}
    for info in models(endpoint, include_legacy=False):
        for preset in info.voices["presets"] if info.voices is not None else []:
            names.setdefault(preset)
    return list(names)


def _matching(name: str, presets: Sequence[str]) -> str | None:
    return next((p for p in presets if p.lower() == name.strip().lower()), None)


def model_for_voice(endpoint: str, voice: str) -> str | None:
    """The first current model of ``endpoint`` (catalog order) offering the preset ``voice``; None when
    the operation has no models with preset voices. A voice no model offers is a ValidationError."""
    with_voices = [m for m in models(endpoint, include_legacy=False) if m.voices is not None and m.sends_model]
    if not with_voices:
        return None
    for info in with_voices:
        if info.voices is not None and _matching(voice, info.voices["presets"]) is not None:
            return info.model
    names = voice_names(endpoint)
    raise ValidationError("voice", voice, names,
                          message=f"{voice!r} is not a voice of any {endpoint} model; allowed: "
                                  f"{_listing(names, 'voices')}")


def infer_type(combo: Mapping[str, Any]) -> str | None:
    """The operation the speech options mean when neither a type nor a model was given: a target
    language is dubbing, input audio with a voice is speech_to_speech, a voice alone text_to_speech."""
    has_audio = is_input_audio(combo.get("audio"))
    if combo.get("target_language") is not None:
        return "voice_dubbing"
    if combo.get("voice") is not None:
        return "speech_to_speech" if has_audio else "text_to_speech"
    if has_audio:
        raise ValidationError("audio", "<given>", list(audio_operations()),
                              message=f"which operation should take the input audio? Give the type: "
                                      f"{', '.join(audio_operations())}")
    if combo.get("router") is not None:
        raise ValidationError("router", combo["router"], list(ROUTED_OPERATIONS),
                              message=f"a router picks the model of routed generation: give the type, "
                                      f"one of {', '.join(ROUTED_OPERATIONS)}")
    return None


def _owner(info: ModelInfo) -> str:
    return info.endpoint if not info.sends_model else f"{info.model} on {info.endpoint}"


def _check_voice(info: ModelInfo, voice: Any) -> Any:
    """The voice as the client takes it (a preset name in the catalog's spelling, or an object as given)."""
    if isinstance(voice, dict):
        return voice  # a voice object from a variable: the request's validation checks it
    name = str(voice)
    if info.voices is None:
        if "voice" in info.fields:
            others = [m.model for m in models(info.endpoint, include_legacy=False) if m.voices is not None]
            message = f"{_owner(info)} has no preset voices (its voice is a reference recording: pass a " \
                      f"{{'type': 'reference-audio', 'audioUri': ...}} object)"
            if others:
                message += f"; models with preset voices: {', '.join(others)}"
            raise ValidationError("voice", name, others, message=f"{name!r}: {message}")
        raise ValidationError("voice", name, [], message=f"{name!r}: {_owner(info)} takes no voice")
    presets = info.voices["presets"]
    preset = _matching(name, presets)
    if preset is None:
        raise ValidationError("voice", name, presets,
                              message=f"{name!r} is not a voice of {_owner(info)}; allowed: "
                                      f"{_listing(presets, 'voices')}")
    return preset


def _check_audio(info: ModelInfo) -> None:
    if not audio_inputs(info):
        raise ValidationError("audio", "<given>", list(audio_operations()),
                              message=f"{_owner(info)} takes no input audio; the operations that do: "
                                      f"{', '.join(audio_operations())}")


def _check_language(info: ModelInfo, language: Any) -> str:
    text = str(language)
    if "targetLang" not in info.fields:
        raise ValidationError("targetLang", text, [],
                              message=f"{text!r}: {_owner(info)} takes no target language (voice_dubbing does)")
    allowed = info.schema.get("properties", {}).get("targetLang", {}).get("enum")
    if not allowed:
        return text
    codes = [str(code) for code in allowed]
    match = _matching(text, codes)
    if match is None:
        raise ValidationError("targetLang", text, codes,
                              message=f"{text!r} is not a target language of {_owner(info)}; allowed: "
                                      f"{_listing(codes, 'languages')}")
    return match


def _check_router(info: ModelInfo, router: Any) -> str:
    text = str(router)
    if "configId" not in info.fields:
        raise ValidationError("configId", text, list(ROUTED_OPERATIONS),
                              message=f"{text!r}: {_owner(info)} is not routed generation; a router is for "
                                      f"{', '.join(ROUTED_OPERATIONS)}")
    return text


def apply_options(endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (a combination's create arguments, ``model`` chosen) with ``voice``, ``audio``,
    ``target_language`` and ``router`` checked against the model and renamed for the client."""
    out = dict(params)
    info = find_for_body(endpoint, out)
    voice = out.get("voice")
    audio = out.pop("audio", None)
    language = out.pop("target_language", None)
    router = out.pop("router", None)
    if isinstance(audio, bool):
        out["audio"] = audio  # the on/off flag of a video model, as -p audio=false gives it
        audio = None
    if info is None:  # a model the catalog does not know: the request's own validation speaks
        out.update({k: v for k, v in (("audioUri", audio), ("targetLang", language), ("configId", router))
                    if v is not None})
        return out
    if voice is not None:
        out["voice"] = _check_voice(info, voice)
    elif info.voices is not None and "voice" in info.required:
        presets = info.voices["presets"]
        raise ValidationError("voice", None, presets,
                              message=f"{_owner(info)} needs a voice; allowed: {_listing(presets, 'voices')}")
    if audio is not None:
        _check_audio(info)
        out["audioUri"] = audio  # the client moves it to the model's field (speech_to_speech's media)
    if language is not None:
        out["targetLang"] = _check_language(info, language)
    if router is not None:
        out["configId"] = _check_router(info, router)
    if endpoint == "generate/audio" and "input.type" not in out and not isinstance(out.get("input"), dict):
        out["input.type"] = "speech"  # the cell's text is spoken; -p input.type=audio asks for a sound
    return out

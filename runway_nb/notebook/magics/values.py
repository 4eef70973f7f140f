"""Option values of ``%%runway`` into request values, and request errors back into option errors.

Every option takes a comma list or a ``{variable}`` (several values make a sweep). Media options
also take a variable holding a path, bytes or a PIL image, a file path, or a URL. Values from the
notebook's namespace are whatever the person put there, hence ``Any``.
"""

from __future__ import annotations

import difflib
import json
import keyword
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from runway_nb.errors import ValidationError
from runway_nb.notebook.interpolate import interpolate, is_missing, resolve, whole_field
from runway_nb.notebook.sweep import SweepError, describe, split_list

__all__ = ["OPTION_NAMES", "check_variable_name", "layout_option", "media_values", "option_for", "param_values",
           "scalar_values", "sweep_usage_error", "to_language", "to_number", "to_provider", "to_seed", "to_text",
           "to_type", "to_voice", "usage_error"]

# Request fields -> the option (or place) a person typed them in.
_FIELD_OPTION = {
    "promptText": "prompt (the cell body)", "prompt": "prompt (the cell body)",
    "promptImage": "--image", "image": "--image", "referenceImages": "--image", "references": "--image",
    "videoUri": "--video", "promptVideo": "--video", "video": "--video",
    "character": "--character", "reference": "--reference",
    "voice": "--voice", "audio": "--audio", "audioUri": "--audio", "media": "--audio",
    "targetLang": "--target-language", "target_language": "--target-language",
    "configId": "--router", "router": "--router",
    "endpoint": "--type", "type": "--type",
    "model": "--model", "ratio": "--ratio", "duration": "--duration", "seed": "--seed",
    "provider": "--provider", "api_key": "--provider", "out": "--out",
}

# The options a sweep varies (and --rows/--cols may name); --param cannot set them.
OPTION_NAMES = ("prompt", "model", "ratio", "duration", "seed", "image", "video", "character", "reference", "voice",
                "audio", "target_language", "router", "type", "provider")
# Other spellings --rows/--cols accept for an option name.
_LAYOUT_ALIASES = {"targetLang": "target_language", "target-language": "target_language", "configId": "router"}
# --param keys that an option gives, and that option. ``audio`` is not one: -p audio=false is the
# flag of the video models that make sound (--audio is the input audio of the speech operations).
_PARAM_TAKEN = {**{name: name for name in OPTION_NAMES if name != "audio"}, "promptText": "prompt",
                "targetLang": "target-language", "target_language": "target-language", "configId": "router"}

_SEED_MAX = 4294967295
_LOOKS_LIKE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def option_for(field: str | None) -> str:
    """The option a request field came from: ``promptImage`` -> ``--image``, ``fps`` -> ``--param fps``."""
    root = re.split(r"[.\[]", field or "")[0]
    return _FIELD_OPTION.get(root) or f"--param {root}"


def usage_error(exc: ValidationError) -> UsageError:
    """A :class:`ValidationError` as a ``UsageError`` naming the option it came from."""
    return UsageError(f"{option_for(exc.field)}: {exc}")


def sweep_usage_error(exc: SweepError) -> UsageError:
    """Every refused combination of a sweep, each naming its option (the first 20)."""
    lines = [f"{len(exc.problems)} of {exc.total} combination(s) are not allowed; nothing was submitted "
             f"(add --skip-invalid to submit only the allowed ones):"]
    for combo, err in exc.problems[:20]:
        lines.append(f"  - {describe(combo)}: {option_for(err.field)}: {err}")
    if len(exc.problems) > 20:
        lines.append(f"  ... and {len(exc.problems) - 20} more")
    return UsageError("\n".join(lines))


def layout_option(option: str, name: str | None) -> str | None:
    """``--rows``/``--cols``: the option name (``targetLang`` reads ``target_language``); a ``UsageError``
    for a name that is not an option."""
    if not name:
        return None
    text = name.strip()
    text = _LAYOUT_ALIASES.get(text, text)
    if text not in OPTION_NAMES:
        raise UsageError(f"{option}: {name!r} is not an option name; allowed: {', '.join(OPTION_NAMES)}")
    return text


def check_variable_name(option: str, name: str | None) -> str | None:
    """``name`` stripped (None when empty); a ``UsageError`` unless it can be assigned to."""
    out = (name or "").strip() or None
    if out is not None and (not out.isidentifier() or keyword.iskeyword(out)):
        raise UsageError(f"{option}: {name!r} is not a valid Python variable name")
    return out


# ----------------------------------------------------------------------------------------
# one item -> a typed value
# ----------------------------------------------------------------------------------------

def _listify(value: Any) -> list[Any]:
    if isinstance(value, (list, range)):
        return list(value)
    return [value]


def to_number(option: str, item: Any) -> int | float:
    """Seconds: ``5``, ``"5s"``, ``2.5`` (> 0); whole numbers come back as ``int``."""
    if isinstance(item, bool):
        raise UsageError(f"{option}: {item!r} is not a number")
    if isinstance(item, (int, float)):
        number = float(item)
    else:
        try:
            number = float(str(item).strip().rstrip("s"))
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not a number of seconds") from None
    if number != number or number <= 0:
        raise UsageError(f"{option}: {item!r} must be a number of seconds > 0")
    return int(number) if number.is_integer() else number


def to_seed(option: str, item: Any) -> int:
    try:
        seed = int(str(item).strip()) if not isinstance(item, int) or isinstance(item, bool) else item
    except ValueError:
        raise UsageError(f"{option}: {item!r} is not an integer (seeds are 0..{_SEED_MAX})") from None
    if not 0 <= seed <= _SEED_MAX:
        raise UsageError(f"{option}: {seed} is out of range (seeds are 0..{_SEED_MAX})")
    return seed


def to_type(option: str, item: Any) -> str:
    from runway_nb.api import catalog  # the catalog loads when a cell names a type, not at %load_ext

    text = str(item).strip().lower().replace("-", "_").strip("/")
    if text.startswith("v1/"):  # the path as Runway's reference writes it
        text = text[3:]
    if text in catalog.ENDPOINTS:
        return text
    # a recipe by its own name (product_ad for recipes/product_ad)
    recipes = [ep for ep in catalog.ENDPOINTS if ep == f"recipes/{text}"]
    if recipes:
        return recipes[0]
    close = difflib.get_close_matches(text, catalog.ENDPOINTS, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UsageError(f"{option}: {item!r} is not a task type{hint}; allowed: {', '.join(catalog.ENDPOINTS)}")


def to_voice(option: str, item: Any) -> Any:
    """A preset voice's name (matched to the model's presets later, without regard to case), or a voice
    object from a variable (``{"type": "reference-audio", "audioUri": ...}``) as it is."""
    if isinstance(item, dict):
        return item
    return to_text(option, item)


def to_language(option: str, item: Any) -> str:
    """A language code (``es``, ``pt``): checked against the model's list when the plan is made."""
    text = to_text(option, item)
    if not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?", text):
        raise UsageError(f"{option}: {item!r} is not a language code (e.g. es, fr, pt)")
    return text


def to_provider(option: str, item: Any) -> str:
    from runway_nb.client.settings import PROVIDERS

    text = str(item).strip().lower()
    if text not in PROVIDERS:
        raise UsageError(f"{option}: {item!r} is not a provider; allowed: {', '.join(PROVIDERS)}")
    return text


def to_text(option: str, item: Any) -> str:
    text = str(item).strip()
    if not text:
        raise UsageError(f"{option}: empty value")
    return text


# ----------------------------------------------------------------------------------------
# one option -> its list of values
# ----------------------------------------------------------------------------------------

def _split(text: str, option: str) -> list[str]:
    try:
        return split_list(text, option=option)
    except ValidationError as exc:
        raise UsageError(f"{option}: {exc}") from None


def scalar_values(raw: str | None, ns: Mapping[str, Any], option: str,
                  convert: Callable[[str, Any], Any]) -> list[Any] | None:
    """``--seed 1,2`` / ``--seed {seeds}`` -> typed values (several values make a sweep)."""
    if raw is None:
        return None
    whole = whole_field(raw, ns)
    items = _listify(whole) if not is_missing(whole) else _split(interpolate(raw, ns).text, option)
    if not items:
        raise UsageError(f"{option}: empty list")
    return [convert(option, item) for item in items]


def media_values(raw: str | None, ns: Mapping[str, Any], option: str) -> list[Any] | None:
    """``--image`` etc.: a variable (path, bytes, PIL image; a list of them sweeps), a path or a URL."""
    if raw is None:
        return None
    whole = whole_field(raw, ns)
    if not is_missing(whole):
        return _listify(whole)
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]  # IPython keeps the quotes of `-i "my photo.png"` in the value
    if _LOOKS_LIKE_NAME.match(text):
        value = resolve(text, ns)
        if not is_missing(value):
            return _listify(value)
    text = interpolate(text, ns).text
    if text.lower().startswith("data:") or Path(os.path.expanduser(text)).exists():
        return [text]
    out = []
    for item in _split(text, option):
        value = resolve(item, ns) if _LOOKS_LIKE_NAME.match(item) else None
        if value is not None and not is_missing(value):
            out.append(value)
        elif "://" in item or item.lower().startswith("data:") or Path(os.path.expanduser(item)).exists():
            out.append(item)
        elif item.isidentifier():
            raise UsageError(f"{option}: {item!r} is not defined: give a variable holding a path, bytes or a "
                             f"PIL image, a file path, or an https:// URL")
        else:
            raise UsageError(f"{option}: file not found: {item!r} (give a file path, an https:// URL, or the "
                             f"name of a variable holding a path, bytes or a PIL image)")
    return out


def unquote(text: str) -> str:
    """IPython keeps the quotes of ``-p "speech.text=Hello there"`` (or ``--workflow "Image to video"``)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def param_values(items: list[str] | None, ns: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``-p audio=false -p resolution=720p,1080p`` -> ``{"audio": [False], "resolution": [...]}``;
    ``-p "negativePrompt=blur, noise"`` (the whole item quoted) is one text with its spaces and commas."""
    out: dict[str, list[Any]] = {}
    for given in items or []:
        item = unquote(given)
        quoted = item != given.strip()
        key, sep, raw = item.partition("=")
        key = key.strip()
        # a dotted key (input.type) sets a field inside an object of the request
        if not sep or not all(part.isidentifier() for part in key.split(".")):
            raise UsageError(f"--param: {item!r} is not KEY=VALUE (e.g. --param audio=false)")
        if key in _PARAM_TAKEN:
            raise UsageError(f"--param: use the --{_PARAM_TAKEN[key]} option for {key}")
        whole = whole_field(raw, ns)
        if not is_missing(whole):
            out[key] = [whole]  # the object itself (a list stays one value); sweep with commas
            continue
        text = interpolate(raw, ns).text.strip()
        try:
            out[key] = [json.loads(text)]
            continue
        except ValueError:
            pass
        if quoted:  # quoted: the text as typed, commas included
            out[key] = [text]
            continue
        values: list[Any] = []
        for part in split_list(text, option=f"--param {key}") if text else [""]:
            try:
                values.append(json.loads(part))
            except ValueError:
                values.append(part)
        out[key] = values
    return out

"""``%runway config [KEY=VALUE ...]``: show, or set, the session's defaults and the magic's own settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from runway_nb.client.keep import Keeper
from runway_nb.client.settings import SIM_KEY
from runway_nb.errors import ValidationError
from runway_nb.notebook.magics.arguments import argument, magic_arguments, parse_words
from runway_nb.notebook.magics.facts import Facts
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.session import DEFAULT_SAVE_DIR, SETTINGS, get_session

__all__ = ["MAGIC_SETTINGS", "config", "config_facts"]

# Settings of the magic itself (sweep confirmation), next to the session's SETTINGS.
MAGIC_SETTINGS = ("confirm_above", "confirm_credits")


@magic_arguments("runway config")
@argument("settings", nargs="*", metavar="KEY=VALUE",
          help="model, ratio, duration, poll_floor, provider, save, save_dir, reuse, confirm_above, confirm_credits "
               "(VALUE none resets)")
def config(words: list[str], host: MagicsHost) -> Facts:
    """Provider, base URL, masked key and the session defaults; with KEY=VALUE, set defaults first."""
    pairs = parse_words(config, words).settings
    if pairs:
        _set(pairs, host)
    return config_facts(host)


def _set(pairs: list[str], host: MagicsHost) -> None:
    """Check every pair first; then set the session's defaults and the host's settings together."""
    settings: dict[str, str] = {}
    magic_settings: dict[str, str] = {}
    for word in pairs:
        key, sep, value = word.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise UsageError(f"%runway config: {word!r} is not KEY=VALUE")
        if key in ("api_key", "key", "base_url"):
            raise UsageError("%runway config does not take keys or URLs (they would end up in the "
                             "notebook): set RUNWAYML_API_SECRET / RUNWAYML_BASE_URL in the environment, "
                             "or pass them to runway_nb.Runway(...) and get_session().use_client(...)")
        if key in MAGIC_SETTINGS:
            magic_settings[key] = value
        elif key in SETTINGS:
            settings[key] = value
        else:
            raise UsageError(f"%runway config: unknown setting {key!r}; known: "
                             f"{', '.join(list(SETTINGS) + list(MAGIC_SETTINGS))}")
    parsed_magic: dict[str, float] = {}
    for key, value in magic_settings.items():
        try:
            parsed_magic[key] = int(value) if key == "confirm_above" else float(value)
        except ValueError:
            raise UsageError(f"%runway config: {key}={value!r} is not a number") from None
    try:
        new = get_session().configure(**settings)
    except ValidationError as exc:
        raise UsageError(f"%runway config: {exc}") from None
    host.apply_config(new, parsed_magic)


def _key_text(client: Any) -> str:
    """The key, masked; the simulator takes none, so it shows none (never its placeholder)."""
    if client.provider == "sim" and client.settings.api_key == SIM_KEY:
        return "none needed (simulator)"
    return str(client.masked_key)


def _outputs_text(defaults: dict[str, Any]) -> str:
    if not defaults.get("save"):
        return "not archived (save=false): output links expire; %runway fetch archives them later"
    folder = Path(str(defaults.get("save_dir") or DEFAULT_SAVE_DIR))
    keeper = Keeper(None)
    cap = f"up to {keeper.max_bytes / 1e6:g} MB" if keeper.max_bytes else "no size cap"
    return f"archived into {folder.absolute()} when each task succeeds ({cap}; --no-save per cell)"


def config_facts(host: MagicsHost) -> Facts:
    """What ``%runway config`` shows: the client (never the key itself) and every default."""
    session = get_session()
    rows: list[tuple[str, str]] = []
    try:
        client = session.client
    except ValidationError as exc:
        rows.append(("provider", str(session.defaults.get("provider") or "(auto)")))
        rows.append(("client", f"not ready: {exc}"))
    else:
        sim = " (built-in simulator, in-process)" if client.settings.in_process_sim else ""
        rows.append(("provider", f"{client.provider}{sim}"))
        rows.append(("base URL", client.settings.base_url))
        rows.append(("API key", _key_text(client)))
        rows.append(("poll floor", f"{client.poll_floor:g} s"))
    for key in SETTINGS:
        value = session.defaults.get(key)
        if key == "poll_floor":
            continue
        shown = "(model's default)" if value is None and key in ("ratio", "duration") else (
            "(chosen from the inputs)" if value is None and key == "model" else (
                "(auto)" if value is None else str(value)))
        rows.append((f"default {key}", shown))
    rows.append(("outputs", _outputs_text(session.defaults)))
    rows.append(("confirm sweeps above", f"{host.confirm_above} tasks or {host.confirm_credits:g} credits"))
    return Facts("runway-nb configuration", rows)

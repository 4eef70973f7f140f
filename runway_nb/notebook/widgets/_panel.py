"""``Panel``: a form for one generation, its submitted tasks below it, and a history.

``runway_nb.Panel()`` (or ``%runway panel``) is an ipywidgets ``VBox`` of two parts:

- :class:`PanelForm` (one anywidget, front end ``js/panel.js``): task type (every operation of
  the catalog), model (filtered by type), voice (the model's preset voices, for models that
  have them), target language (dubbing), router (routed generation: the slugs of
  ``client.routers.list()``, fetched on the kernel's event loop when a routed operation is
  chosen), an input for each other required field of the model read from its JSON Schema
  (:mod:`._panel_fields`: a recipe's ``version``, an avatar, its speech; named by request path,
  ``-p path=value`` in the copied cell), ratio picker drawn as shapes (the model's ratios
  only), duration (the model's values), seed (random or fixed), prompt with a live character
  count against the model's limit, image/video/audio inputs by upload or URL, Generate (the
  primary action), and the history (a thumbnail, the prompt, status and model of each
  submission; re-run, edit, copy as a ``%%runway`` cell: :mod:`._panel_history`). Every change
  is validated in Python with the catalog, exactly as a submission would be (``sweep.plan``);
  ``valid``/``reason`` tell the browser whether Generate is enabled and
  why not. A submission is validated again before anything is sent.
- a ``VBox`` of :class:`TaskView` s, newest first: each submission's live task view.

Shown, the panel is one output: the widget, plus its static HTML (every submission's static
result, newest first) marked final once every submission's result is (``_live.final_mark``).
The output is updated in place (a display id) when a submission's result becomes final, as a
reply to the cell that showed it and to the cell running then (for nbclient), so a saved
notebook keeps the results and reopens without "model not found" (``runway_nb.jupyter_server_ext``
drops the widget view of a final output when saving). Updating re-renders the panel in the page;
it happens only when a result becomes final, never while the form is being used otherwise.

Uploads arrive as bytes over the comm (never in a trait) and are written to ``upload_dir``
(``./runway_inputs`` by default), so the equivalent ``%%runway`` cell can name them by path.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets
import traitlets as t

from runway_nb.errors import RunwayError, ValidationError
from runway_nb.notebook import marimo_support
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets import _theme as theme
from runway_nb.notebook.widgets._live import ChannelWidget, Command, Reply
from runway_nb.notebook.widgets._panel_fields import FieldSpec, generic_fields, media_value, reachable, request_value
from runway_nb.notebook.widgets._panel_history import HistoryLine, history_line, thumbnail
from runway_nb.notebook.widgets._task_view import TaskView

__all__ = ["Panel", "PanelForm", "escape_braces", "magic_text"]

#: Largest upload accepted over the comm (Jupyter's websocket limit is near this; use a path or URL above).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_OPTION = {"image": "-i", "video": "--video", "character": "--character", "reference": "--reference",
           "audio": "--audio"}
# Form choices that are written as options of their own in the %%runway cell.
_CHOICE_OPTION = {"voice": "--voice", "target_language": "--target-language", "router": "--router"}
# The combination's keys that are written as options of their own; every other key is a request
# field (dotted for nested ones), written as -p KEY=VALUE.
_NAMED = {"type", "prompt", "model", "ratio", "duration", "seed", *_CHOICE_OPTION, *_OPTION}
_LABELS = {"promptText": "Prompt", "prompt": "Prompt", "promptImage": "Image", "image": "Image",
           "referenceImages": "Image", "references": "Image", "videoUri": "Video", "promptVideo": "Video",
           "video": "Video", "character": "Character", "reference": "Reference", "ratio": "Ratio",
           "audio": "Audio", "audioUri": "Audio", "media": "Audio", "voice": "Voice",
           "targetLang": "Target language", "configId": "Router",
           "duration": "Duration", "seed": "Seed", "model": "Model", "endpoint": "Type", "type": "Type"}
_TYPE_LABELS = {"text_to_video": "Text to video", "image_to_video": "Image to video",
                "text_to_image": "Text to image", "video_to_video": "Video to video",
                "character_performance": "Character performance (Act-Two)", "video_upscale": "Video upscale",
                "text_to_speech": "Text to speech", "sound_effect": "Sound effect",
                "speech_to_speech": "Speech to speech (voice change)", "voice_dubbing": "Voice dubbing",
                "voice_isolation": "Voice isolation", "video_to_audio": "Video to audio",
                "image_upscale": "Image upscale", "video_to_hdr": "Video to HDR",
                "avatar_videos": "Avatar video", "generate/video": "Routed: video",
                "generate/image": "Routed: image", "generate/audio": "Routed: audio"}
_FIELD = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}\}"
                    r"|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_SEPARATOR_LINE = re.compile(r"^[ \t]*---[ \t]*$", re.M)


# ---------------------------------------------------------------------- %%runway text
def escape_braces(text: str) -> str:
    """``text`` written so that ``%%runway``'s ``{name}`` filling gives it back exactly.

    Every ``{name}`` becomes ``{{name}}`` (filled as the literal ``{name}``) and every
    ``{{name}}`` becomes ``{{{name}}}``; other braces are never touched by the magic.
    """
    return _FIELD.sub(lambda m: "{" + m.group(0) + "}", text)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def magic_text(combo: dict[str, Any], endpoint: str) -> str:
    """The ``%%runway`` cell that submits ``combo`` on ``endpoint`` (``%runway`` line form without a prompt).

    ``combo`` holds ``prompt``, ``model``, ``ratio``, ``duration``, ``seed`` and media options
    (paths or URLs). ``-t`` is written only when the magic would infer another type.
    """
    from runway_nb.notebook.sweep import endpoint_for

    args: list[str] = []
    try:
        inferred = endpoint_for({k: v for k, v in combo.items() if k != "type"})
    except ValidationError:
        inferred = None
    if inferred != endpoint:
        args += ["-t", endpoint]
    if combo.get("model"):
        args += ["-m", str(combo["model"])]
    if combo.get("ratio"):
        args += ["-r", str(combo["ratio"])]
    if combo.get("duration") is not None:
        args += ["-d", _number(combo["duration"])]
    if combo.get("seed") is not None:
        args += ["--seed", str(int(combo["seed"]))]
    for name, flag in {**_CHOICE_OPTION, **_OPTION}.items():
        value = combo.get(name)
        if value is not None:
            args += [flag, str(value)]
    line = " ".join(_quote(a) for a in args)
    params = [_param_word(key, value) for key, value in combo.items() if key not in _NAMED and value is not None]
    line = " ".join([line, *params]) if params else line
    prompt = combo.get("prompt")
    if prompt:
        return f"%%runway {line}\n{escape_braces(str(prompt))}"
    return f"%runway {line}"


_PLAIN = re.compile(r"^[\w@%+=:,./~-]+$")
_PLAIN_PARAM = re.compile(r"^[\w@%+=:./~-]+$")  # no comma: -p reads a comma as a list


def _param_word(key: str, value: Any) -> str:
    """``-p key=value`` as one word that ``%%runway`` reads back as ``value``.

    -p reads its value as JSON when it can, else as text: text that JSON would read as something
    else (``true``, ``12``), or with commas, spaces or quotes, is written as a JSON string, with
    spaces as ``\\u0020`` because IPython splits the line at spaces even inside quotes."""
    if isinstance(value, str) and _PLAIN_PARAM.match(value) and not _reads_as_json(value):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace(" ", "\\u0020")
    return f"-p {key}={escape_braces(text)}"


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _quote(value: str) -> str:
    """A value as one argument of IPython's argument split (which is not POSIX: quotes stay part
    of the value, so ``%%runway`` cannot read a path with spaces; :func:`_roundtrip_note` says so)."""
    return value if _PLAIN.match(value) else f'"{value}"'


def _roundtrip_note(combo: dict[str, Any]) -> str:
    prompt = str(combo.get("prompt") or "")
    if _SEPARATOR_LINE.search(prompt):
        return "This prompt has a line holding only ---, which %%runway reads as a prompt separator."
    for name in _OPTION:
        value = combo.get(name)
        if isinstance(value, str) and "," in value and not value.lower().startswith("data:"):
            return f"The {name} contains a comma, which %%runway reads as a list: put it in a variable."
        if isinstance(value, str) and not _PLAIN.match(value):
            return (f"The {name} path has spaces or quotes, which %%runway does not read: put it in a variable "
                    f"(img = r'...') and write {_OPTION[name]} img.")
    return ""


def _utf16_len(text: str) -> int:
    # "surrogatepass": a lone surrogate (a half emoji pasted in the browser) counts one unit
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _safe_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return base[-80:]


# ---------------------------------------------------------------------- the form
class PanelForm(ChannelWidget):
    """The form of :class:`Panel` (see the module docstring). Python validates; the browser renders."""

    _esm = live.asset("panel.js").read_text(encoding="utf-8")
    _css = live.asset("panel.css").read_text(encoding="utf-8")

    # catalog facts for the current choices (kernel -> browser)
    endpoints: t.List[Any] = t.List().tag(sync=True)       # [[value, label], ...]
    models: t.List[Any] = t.List().tag(sync=True)          # [[model, label], ...]
    ratios: t.List[Any] = t.List().tag(sync=True)          # [{"ratio", "width", "height"}, ...]
    durations: t.List[Any] = t.List().tag(sync=True)       # [seconds, ...]
    slots: t.List[Any] = t.List().tag(sync=True)           # [{"name", "label", "accept", "required"}, ...]
    voices: t.List[Any] = t.List().tag(sync=True)          # the model's preset voices ([] when it has none)
    languages: t.List[Any] = t.List().tag(sync=True)       # the model's target languages ([] when none)
    routers: t.List[Any] = t.List().tag(sync=True)         # [[slug, label], ...] of routed generation
    routers_note = t.Unicode("").tag(sync=True)            # "loading routers…", or why there are none
    takes_router = t.Bool(False).tag(sync=True)
    fields: t.List[Any] = t.List().tag(sync=True)          # the generic inputs ([FieldSpec], media ones are slots)
    prompt_max = t.Int(None, allow_none=True).tag(sync=True)
    takes_prompt = t.Bool(True).tag(sync=True)
    takes_seed = t.Bool(True).tag(sync=True)
    # the form (both ways)
    endpoint = t.Unicode("text_to_video").tag(sync=True)
    model = t.Unicode("").tag(sync=True)
    ratio = t.Unicode("").tag(sync=True)
    duration = t.Float(None, allow_none=True).tag(sync=True)
    seed_mode = t.Unicode("random").tag(sync=True)  # "random" or "fixed"
    seed = t.Int(None, allow_none=True).tag(sync=True)
    voice = t.Unicode("").tag(sync=True)
    target_language = t.Unicode("").tag(sync=True)
    router = t.Unicode("").tag(sync=True)
    values = t.Dict().tag(sync=True)          # generic input key -> value (the browser sends text, numbers, bools)
    prompt = t.Unicode("").tag(sync=True)
    urls = t.Dict().tag(sync=True)            # slot -> URL or path typed
    client_rev = t.Int(0).tag(sync=True)      # the browser counts its changes ...
    checked_rev = t.Int(0).tag(sync=True)     # ... and the verdict says which one it is about
    uploads = t.Dict().tag(sync=True)         # slot -> {"name", "size"} (kernel -> browser)
    # the verdict (kernel -> browser)
    valid = t.Bool(False).tag(sync=True)
    reason = t.Unicode("").tag(sync=True)
    prompt_count = t.Int(0).tag(sync=True)
    estimate = t.Float(None, allow_none=True).tag(sync=True)
    magic = t.Unicode("").tag(sync=True)      # the form as a %%runway cell
    history: t.List[Any] = t.List().tag(sync=True)         # [HistoryLine, ...] (_panel_history)

    def __init__(self, panel: Panel, **kwargs: Any):
        super().__init__(**kwargs)
        from runway_nb.api import catalog

        self._panel = panel
        self._busy = False
        self._upload_paths: dict[str, Path] = {}
        self._specs: dict[str, FieldSpec] = {}      # every generic input by key, the media ones too
        self._routers_for: str | None = None        # the routed operation the router list was asked for
        self.endpoints = [[ep, _TYPE_LABELS.get(ep, ep)] for ep in catalog.ENDPOINTS]
        self.refresh()

    @t.observe("endpoint", "model", "ratio", "duration", "seed_mode", "seed", "voice", "target_language", "router",
               "values", "prompt", "urls", "client_rev")
    def _changed(self, _change: Any) -> None:
        self.refresh()

    # ------------------------------------------------------------------ catalog facts
    def _preferred_model(self, endpoint: str, names: list[str]) -> str:
        from runway_nb.notebook.sweep import DEFAULT_MODELS

        default = self._panel.session.defaults.get("model")
        for name in (default, DEFAULT_MODELS.get(endpoint)):
            if name in names:
                return name
        return names[0] if names else ""

    def refresh(self) -> None:
        """Fit the choices to the catalog (model of the type, ratio/duration of the model), then validate."""
        if self._busy:
            return
        from runway_nb.api import catalog

        self._busy = True
        try:
            with self.hold_sync():
                if self.endpoint not in catalog.ENDPOINTS:
                    self.endpoint = "text_to_video"
                infos = [m for m in catalog.models(self.endpoint) if not m.legacy or m.model == self.model]
                names = [m.model for m in infos]
                self.models = [[m.model, m.model + (" (legacy)" if m.legacy else "")] for m in infos]
                if self.model not in names:
                    self.model = self._preferred_model(self.endpoint, names)
                info = catalog.get(self.endpoint, self.model)
                ratios = []
                for r in info.ratios:
                    w, h = catalog.output_size(self.endpoint, {"model": info.model, "ratio": r})
                    ratios.append({"ratio": r, "width": w, "height": h})
                self.ratios = ratios
                if info.ratios and self.ratio not in info.ratios:
                    self.ratio = info.default_ratio if info.default_ratio in info.ratios else info.ratios[0]
                elif not info.ratios:
                    self.ratio = ""
                durations = [int(d) if float(d).is_integer() else d for d in (info.durations or ())]
                self.durations = durations
                if durations and self.duration not in durations:
                    default = info.default_duration
                    self.duration = float(default if default in durations else durations[0])
                elif not durations:
                    self.duration = None
                self.languages = _languages(info)
                self.target_language = _pick(self.target_language, self.languages)
                slots = _slots(info)
                self.takes_router = "configId" in info.fields
                specs, values = generic_fields(info, _covered(info, slots, bool(self.durations)), self.values)
                self._specs = {spec["key"]: spec for spec in specs}
                self.fields = [spec for spec in specs if spec["kind"] != "media"]
                self.values = values
                slots = [{k: v for k, v in slot.items() if k != "field"} for slot in slots]
                slots += [{"name": spec["key"], "label": spec["label"], "accept": spec["accept"], "required": True}
                          for spec in specs if spec["kind"] == "media"]
                self.slots = slots
                voiced = info.voices is not None and reachable(info, info.voices["path"], values)
                self.voices = list(info.voices["presets"]) if info.voices is not None and voiced else []
                self.voice = _pick(self.voice, self.voices)
                self._follow_routers()
                self.prompt_max = info.prompt_max
                self.takes_prompt = info.prompt_field is not None
                self.takes_seed = "seed" in info.fields
                self.prompt_count = _utf16_len(self.prompt.strip())
                self._validate()
                self.checked_rev = self.client_rev
        finally:
            self._busy = False

    # ------------------------------------------------------------------ validation
    def combo(self) -> dict[str, Any]:
        """The form as the options of one submission (``type``, ``prompt``, ``model``, ...)."""
        combo: dict[str, Any] = {"type": self.endpoint, "model": self.model}
        prompt = self.prompt.strip()
        if self.takes_prompt and prompt:
            combo["prompt"] = prompt
        if self.ratio:
            combo["ratio"] = self.ratio
        if self.duration is not None and self.durations:
            combo["duration"] = int(self.duration) if float(self.duration).is_integer() else self.duration
        if self.takes_seed and self.seed_mode == "fixed" and self.seed is not None:
            combo["seed"] = int(self.seed)
        if self.voices and self.voice:
            combo["voice"] = self.voice
        if self.languages and self.target_language:
            combo["target_language"] = self.target_language
        if self.takes_router and self.router:
            combo["router"] = self.router
        for spec in self.fields:
            value = request_value(spec, (self.values or {}).get(spec["key"]))
            if value is not None:
                combo[spec["key"]] = value
        for slot in self.slots:
            value = self._slot_value(slot["name"])
            spec = self._specs.get(slot["name"])
            if value and spec is not None:
                combo[slot["name"]] = media_value(spec, value)  # a generic input: in the field's shape
            elif value:
                combo[slot["name"]] = value
        return combo

    def slot_texts(self) -> dict[str, str]:
        """Each media input's path or URL as the form holds it (uploads as their saved paths)."""
        texts = {slot["name"]: self._slot_value(slot["name"]) for slot in self.slots}
        return {name: text for name, text in texts.items() if text}

    def _slot_value(self, name: str) -> str | None:
        path = self._upload_paths.get(name)
        if path is not None:
            return str(path)
        text = str((self.urls or {}).get(name) or "").strip()
        return text or None

    def check(self) -> tuple[bool, str, Any]:
        """``(valid, reason, planned)`` for the form as it is now."""
        from runway_nb.notebook.sweep import plan

        if self.takes_seed and self.seed_mode == "fixed" and self.seed is None:
            return False, "Seed: give a whole number from 0 to 4294967295, or choose random.", None
        if self.seed_mode not in ("random", "fixed"):
            return False, "Seed: choose random or fixed.", None
        if self.takes_router and not self.router:
            return False, f"Router: {self.routers_note or 'choose a router'}", None
        combo = self._panel.session.with_defaults(self.combo())
        combo.pop("_defaulted", None)
        planned, problems = plan([combo])
        if problems:
            exc = problems[0][1]
            root = re.split(r"[.\[]", exc.field or "")[0]
            label = _LABELS.get(root) or root or "Form"
            if root in ("promptText", "prompt") and "required" in str(exc):
                return False, "Prompt: write a prompt (this model needs one).", None
            return False, f"{label}: {exc}", None
        return True, "", planned[0]

    def _validate(self) -> None:
        valid, reason, planned = self.check()
        self.valid = valid
        self.reason = reason
        self.estimate = planned.estimated_credits if planned is not None else None
        combo = self.combo()
        self.magic = magic_text(combo, self.endpoint) if valid else ""

    # ------------------------------------------------------------------ requests from the view
    def _commands(self) -> Mapping[str, Command]:
        return {"submit": self._guarded(lambda a, b: self._panel.submit()),
                "rerun": self._guarded(lambda a, b: self._panel.rerun(_entry_number(a))),
                "load": self._guarded(lambda a, b: self._panel.load(_entry_number(a))),
                "upload": self._guarded(self._upload),
                "routers": self._guarded(lambda a, b: self.load_routers()),
                "clear_upload": self._guarded(lambda a, b: self._clear_upload(str(a.get("slot") or "")))}

    def _guarded(self, action: Callable[[dict[str, Any], list[bytes]], Any]) -> Command:
        """``action`` as a command whose errors are shown in the form (never lost in a comm handler)."""
        def command(args: dict[str, Any], buffers: list[bytes]) -> Reply:
            try:
                action(args, buffers)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"[:2000]
            return None
        return command

    def _upload(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        slot = str(content.get("slot") or "")
        if slot not in {s["name"] for s in self.slots}:
            self.error = f"upload for an input this model does not take: {slot!r}"
            return
        if not buffers:
            self.error = "the upload arrived without its bytes"
            return
        data = bytes(buffers[0])
        if len(data) > MAX_UPLOAD_BYTES:
            self.error = (f"{content.get('name')!s} is {len(data) / 1e6:.0f} MB: uploads through the panel are "
                          f"limited to {MAX_UPLOAD_BYTES // 1_000_000} MB; give a path or an https:// URL instead")
            return
        name = _safe_name(str(content.get("name") or "upload"))
        folder = Path(self._panel.upload_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:10]}_{name}"
        if not path.exists():
            path.write_bytes(data)
        self._upload_paths[slot] = path
        self.error = ""
        self.uploads = {**self.uploads, slot: {"name": name, "size": len(data), "path": str(path)}}
        self.refresh()

    # ------------------------------------------------------------------ routers
    def _follow_routers(self) -> None:
        """Ask for the routers when the operation becomes a routed one (once per change of operation)."""
        if not self.takes_router:
            self._routers_for = None
        elif self._routers_for != self.endpoint:
            self.load_routers()

    def load_routers(self) -> None:
        """Fetch the router slugs with the session's client: on the kernel's event loop when one
        runs (a kernel; the cell or the comm message is not held up), else at once."""
        self._routers_for = self.endpoint
        self.routers_note = "loading routers…"
        client = self._panel.session.client
        if live.running_loop() is None:
            try:
                self._routers_loaded(client.routers.list())
            except RunwayError as exc:
                self._routers_failed(exc)
            return
        self._spawn(self._load_routers_async(client))

    async def _load_routers_async(self, client: Any) -> None:
        try:
            routers = await live.async_twin(client).routers.list()
        except RunwayError as exc:
            self._routers_failed(exc)
            return
        self._routers_loaded(routers)

    def _routers_loaded(self, routers: list[Any]) -> None:
        slugs = [str(r.slug) for r in routers]
        with self.hold_trait_notifications():
            self.routers = [[str(r.slug), f"{r.slug} ({r.name})" if r.name and r.name != r.slug else str(r.slug)]
                            for r in routers]
            if self.router not in slugs:
                self.router = "default" if "default" in slugs else (slugs[0] if slugs else "")
            self.routers_note = "" if slugs else "no routers yet: make one with client.routers.create(...)"
        self.refresh()

    def _routers_failed(self, exc: RunwayError) -> None:
        self.routers_note = f"the routers could not be listed ({type(exc).__name__}: {exc})"[:500]
        self.refresh()

    def clear_uploads(self) -> None:
        """Forget every uploaded input (the form is being refilled)."""
        self._upload_paths.clear()
        self.uploads = {}

    def _clear_upload(self, slot: str) -> None:
        self._upload_paths.pop(slot, None)
        self.uploads = {k: v for k, v in self.uploads.items() if k != slot}
        self.refresh()


def _entry_number(args: dict[str, Any]) -> int:
    n = args.get("n")
    if not isinstance(n, int) or isinstance(n, bool):
        raise ValueError(f"no history entry {n!r}")
    return n


def _pick(current: str, choices: list[str]) -> str:
    """The current choice when the model offers it (any case), else the model's first; "" without choices."""
    match = next((c for c in choices if c.lower() == current.lower()), None)
    return match if match is not None else (choices[0] if choices else "")


def _languages(info: Any) -> list[str]:
    """The languages a dubbing model translates into, from the catalog's enum."""
    if "targetLang" not in info.fields:
        return []
    return [str(code) for code in info.schema.get("properties", {}).get("targetLang", {}).get("enum", [])]


def _slots(info: Any) -> list[dict[str, Any]]:
    """The media inputs a model takes, as the options ``%%runway`` names them; ``field`` is the
    request field each one fills."""
    fields = info.media_fields
    required = info.required
    slots = []
    if info.endpoint == "character_performance":
        return [{"name": "character", "label": "Character (image or video)", "accept": "image/*,video/*",
                 "required": True, "field": "character"},
                {"name": "reference", "label": "Reference performance (video)", "accept": "video/*",
                 "required": True, "field": "reference"}]
    if "promptImage" in fields:
        slots.append({"name": "image", "label": "Image", "accept": "image/*", "required": "promptImage" in required,
                      "field": "promptImage"})
    else:
        image_list = next((f for f, kind in fields.items() if kind.startswith("image")), None)
        if image_list is not None and _image_option_fits(info, image_list):
            slots.append({"name": "image", "label": "Reference image", "accept": "image/*",
                          "required": image_list in required, "field": image_list})
    for field in ("videoUri", "promptVideo"):
        if field in fields:
            slots.append({"name": "video", "label": "Video", "accept": "video/*", "required": field in required,
                          "field": field})
            break
    from runway_nb.notebook.option_fields import audio_inputs

    for field in audio_inputs(info)[:1]:  # the recording to change, dub or clean up
        video_too = "video" in fields[field].split("|")
        slots.append({"name": "audio", "label": "Audio (or video)" if video_too else "Audio",
                      "accept": "audio/*,video/*" if video_too else "audio/*", "required": field in required,
                      "field": field})
    return slots


def _image_option_fits(info: Any, field: str) -> bool:
    """Whether ``-i`` gives ``field`` a value of its shape: the client makes a path or URL into a
    list of {uri} objects for ``referenceImages`` only, so another list of {uri} objects (a
    recipe's ``productImages``) is a generic input, which the panel fills in the field's shape."""
    schema = info.schema.get("properties", {}).get(field, {})
    items = schema.get("items", {}) if schema.get("type") == "array" else {}
    return field == "referenceImages" or "uri" not in items.get("properties", {})


def _covered(info: Any, slots: list[dict[str, Any]], has_durations: bool) -> set[str]:
    """The request fields (dotted paths) the form's own controls fill."""
    covered = {"model", "seed", *(str(slot["field"]) for slot in slots)}
    named = ((info.prompt_field, info.prompt_field), ("ratio", bool(info.ratios)), ("duration", has_durations),
             ("targetLang", bool(_languages(info))), ("configId", "configId" in info.fields),
             (info.voices["path"] if info.voices is not None else None, info.voices is not None))
    covered.update(str(name) for name, shown in named if name and shown)
    return covered


# ---------------------------------------------------------------------- the panel
class Panel(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type annotations
    """A form for one Runway generation, with each submission's live task view below it.

    ``Panel(session=None, upload_dir="runway_inputs")``. Submissions go through the session
    (``runway_nb.generate``), so they show in ``%runway list``. ``panel.form`` is the form
    widget (its traits are the form's state); ``panel.handles`` the submitted task handles,
    oldest first; ``panel.views`` their task views, newest first.
    """

    def __init__(self, session: Any = None, *, upload_dir: str | Path = "runway_inputs", **kwargs: Any):
        from runway_nb.notebook.session import get_session

        self.session = session or get_session()
        self.upload_dir = Path(upload_dir)
        self.handles: list[Any] = []
        self._history: list[dict[str, Any]] = []
        self.form = PanelForm(self)
        self.tasks = ipywidgets.VBox()
        super().__init__(children=[self.form, self.tasks], **kwargs)
        self.add_class("rnb-panel-box")
        self._displays: list[tuple[str, dict[str, Any] | None]] = []  # (display id, the cell that showed it)
        self._published: tuple[str, bool] | None = None  # (static HTML, final) last published
        self._needs_cell_publish = False

    # ------------------------------------------------------------------ state
    @property
    def valid(self) -> bool:
        return self.form.valid

    @property
    def reason(self) -> str:
        return self.form.reason

    @property
    def views(self) -> list[TaskView]:
        return list(self.tasks.children)

    def set(self, fields: Mapping[str, Any] | None = None, **values: Any) -> Panel:
        """Set form fields (``endpoint``/``type``, ``model``, ``ratio``, ``duration``, ``seed``, ``voice``,
        ``target_language``, ``router``, ``prompt``, ``image``/``video``/``character``/``reference``/``audio``
        as a URL or path) like a user would. ``fields`` sets the model's generic inputs by request
        path (``{"avatar.type": "custom", "avatar.avatarId": ...}``; a media input takes a path or
        URL), in order: an input that a choice before it brings in is there to set."""
        form = self.form
        urls = dict(form.urls)
        with form.hold_trait_notifications():
            for name, value in values.items():
                if name in ("type", "endpoint"):
                    form.endpoint = value
                elif name == "seed":
                    form.seed_mode = "random" if value is None else "fixed"
                    form.seed = value
                elif name in _OPTION:
                    urls[name] = value or ""
                elif name in ("model", "ratio", "duration", "prompt", "seed_mode", "voice", "target_language",
                              "router"):
                    setattr(form, name, value)
                else:
                    raise TypeError(f"Panel.set() got an unknown field {name!r}")
            form.urls = urls
        form.refresh()
        for key, value in (fields or {}).items():
            if key in {slot["name"] for slot in form.slots} and key not in _OPTION:
                form.urls = {**form.urls, key: "" if value is None else str(value)}
            elif key in {spec["key"] for spec in form.fields}:
                form.values = {**form.values, key: value}
            else:
                raise TypeError(f"Panel.set(): {key!r} is not an input of {form.model} on {form.endpoint} "
                                f"(its inputs: {', '.join(spec['key'] for spec in form.fields) or 'none'})")
            form.refresh()
        return self

    # ------------------------------------------------------------------ submitting
    def submit(self) -> Any | None:
        """Submit the form (what the Generate button does): the new task handle, or None when the
        form is not valid (``reason`` says why; nothing is sent)."""
        form = self.form
        form.refresh()
        if not form.valid:
            return None
        combo = form.combo()
        return self._submit(combo, "fixed" if "seed" in combo else "random", dict(form.values), form.slot_texts())

    def rerun(self, n: int) -> Any | None:
        """Submit history entry ``n`` again (a random seed is drawn again; a fixed one is kept)."""
        entry = self._entry(n)
        combo = dict(entry["combo"])
        if entry["seed_mode"] == "random":
            combo.pop("seed", None)
        return self._submit(combo, entry["seed_mode"], entry["values"], entry["urls"])

    def load(self, n: int) -> None:
        """Put history entry ``n`` back into the form."""
        entry = self._entry(n)
        combo = entry["combo"]
        form = self.form
        with form.hold_trait_notifications():
            form.endpoint = entry["endpoint"]
            form.model = combo.get("model", "")
            form.ratio = combo.get("ratio") or ""
            form.duration = float(combo["duration"]) if combo.get("duration") is not None else None
            form.prompt = combo.get("prompt") or ""
            form.seed_mode = entry["seed_mode"]
            form.seed = combo.get("seed")
            form.voice = combo.get("voice") or ""
            form.target_language = combo.get("target_language") or ""
            form.router = combo.get("router") or ""
            form.values = dict(entry["values"])
            form.urls = dict(entry["urls"])
        form.clear_uploads()
        form.refresh()

    def magic(self, n: int = -1) -> str:
        """History entry ``n`` (default: the latest) as the equivalent ``%%runway`` cell, with the seed it ran with."""
        return str(self._entry(n)["magic"])

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per submission: ``n``, ``id``, ``endpoint``, ``combo`` (the options it ran with), ``magic``."""
        return [dict(e) for e in self._history]

    def _entry(self, n: int) -> dict[str, Any]:
        if not self._history:
            raise IndexError("nothing has been submitted from this panel yet")
        if n < 0:
            return self._history[n]
        for entry in self._history:
            if entry["n"] == n:
                return entry
        raise IndexError(f"no history entry {n}")

    def _submit(self, combo: dict[str, Any], seed_mode: str, values: dict[str, Any],
                urls: dict[str, str]) -> Any | None:
        form = self.form
        options = dict(combo)
        endpoint = options.pop("type")
        prompt = options.pop("prompt", None)
        try:
            handle = self.session.generate(prompt, type=endpoint, **options)
        except ValidationError as exc:
            form.valid, form.reason = False, str(exc)
            return None
        except RunwayError as exc:
            form.error = f"{type(exc).__name__}: {exc}"[:2000]
            return None
        form.error = ""
        self.handles.append(handle)
        ran = dict(combo)
        if handle.params.get("seed") is not None and form.takes_seed:
            ran["seed"] = handle.params["seed"]
        n = len(self._history) + 1
        bits = [endpoint.replace("_", " "), ran.get("model"), ran.get("router"), ran.get("voice"),
                ran.get("target_language"), ran.get("ratio"),
                f"{_number(ran['duration'])} s" if ran.get("duration") is not None else None,
                f"seed {ran['seed']}" if ran.get("seed") is not None else None]
        entry = {"n": n, "id": handle.id, "endpoint": endpoint, "combo": ran, "seed_mode": seed_mode,
                 "values": dict(values), "urls": dict(urls),
                 "magic": magic_text(ran, endpoint), "note": _roundtrip_note(ran),
                 "title": " · ".join(str(b) for b in bits if b),
                 "options": " · ".join(str(b) for b in bits[1:] if b)}
        self._history.append(entry)
        view = TaskView.for_handle(handle)
        self.tasks.children = (view, *tuple(self.tasks.children))
        self._sync_history()
        view.observe(lambda _change: self._sync_history(), names=["status", "files"])
        view.when_final(self._result_final)
        return handle

    def history_lines(self) -> list[HistoryLine]:
        """The history as the form shows it, oldest first: each submission's prompt, model, status
        now and thumbnail (its result's poster, once made)."""
        views = {view.handle.id: view for view in self.views}
        lines = []
        for entry in self._history:
            view = views.get(entry["id"])
            if view is None:
                lines.append(history_line(entry, "PENDING"))
                continue
            thumb = ""
            if view.status == "SUCCEEDED":
                shown = view.shown_outputs()
                thumb = thumbnail([kind for kind, _, _ in shown], [file for _, _, file in shown],
                                  [url for _, url, _ in shown], read_file=view.final_ready)
            lines.append(history_line(entry, view.status, thumb))
        return lines

    def _sync_history(self) -> None:
        self.form.history = list(self.history_lines())

    # ------------------------------------------------------------------ display
    def static_html(self) -> str:
        """The panel without a kernel: what was submitted, each result's static HTML (newest first)."""
        views = self.views
        count = f"{len(views)} submission{'s' if len(views) != 1 else ''}"
        parts = [f'<div class="rnb-static rnb-panel-static" style="font-family:{theme.FONT};color:{theme.TEXT};'
                 'font-size:13px;line-height:1.4;max-width:100%;box-sizing:border-box">',
                 f'<div style="font-weight:600">Runway panel · {html.escape(count)}</div>',
                 f'<div style="color:{theme.MUTED};margin:2px 0 6px">The form needs a running kernel: run this cell to '
                 'use it again.</div>']
        parts += [f'<div style="margin:6px 0">{view.static_html()}</div>' for view in views]
        parts.append("</div>")
        return "".join(parts)

    @property
    def final_ready(self) -> bool:
        """Whether every submission's result is final (a panel with none is: nothing will change)."""
        return all(view.final_ready for view in self.views)

    def _display_(self) -> object:
        """In marimo, which refuses ipywidgets, a note saying what to use there instead."""
        return marimo_support.panel_display()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget, its static HTML beside it, marked final once every result is."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data: dict[str, Any] = dict(bundle[0] if isinstance(bundle, tuple) else bundle or {})
        metadata: dict[str, Any] = dict(bundle[1]) if isinstance(bundle, tuple) else {}
        data["text/plain"] = repr(self)
        data["text/html"] = self.static_html()
        return data, {**metadata, **live.final_mark(self.final_ready)}

    def _ipython_display_(self) -> None:
        ip = live.get_ipython()
        if not live.in_kernel(ip):
            print(repr(self))
            return
        live.install_hooks(ip)
        live.follow_cells(self)
        parent = live.parent_now(ip) or live.current_cell["parent"]
        display_id = live.new_display_id()
        self._displays.append((display_id, parent))
        data, metadata = self._repr_mimebundle_()
        self._published = (data["text/html"], self.final_ready)
        live.publish(ip, data, metadata, display_id, parent, update=False)

    def _result_final(self, _view: Any) -> None:
        self._sync_history()  # the result's poster is made by now: the line shows it
        self._publish_displays()

    def _publish_displays(self, *, origins: bool = True) -> None:
        """Update every display of the panel if its static output changed: as a reply to the cell
        that showed it (JupyterLab applies it there) and to the cell running now (nbclient)."""
        ip = live.get_ipython()
        if not self._displays or not live.in_kernel(ip):
            return
        data, metadata = self._repr_mimebundle_()
        published = (data["text/html"], self.final_ready)
        if published == self._published and origins:
            return
        self._published = published
        current = live.current_cell["parent"]
        for display_id, origin in self._displays:
            same = current is not None and origin is not None and current.get("msg_id") == origin.get("msg_id")
            if origins or same:
                live.publish(ip, data, metadata, display_id, origin, update=True)
            if current is not None and not same:
                live.publish(ip, data, metadata, display_id, current, update=True)
        self._needs_cell_publish = current is None

    def after_cell(self) -> None:
        """After each cell: an update published while no cell ran is said again as a reply to
        this one (nbclient records only the running cell's messages)."""
        if self._needs_cell_publish and live.current_cell["parent"] is not None:
            self._publish_displays(origins=False)

    def __repr__(self) -> str:
        return f"<runway_nb Panel: {len(self.handles)} submission(s); form {'valid' if self.valid else self.reason}>"

"""Sweeps: several prompts x comma lists of options -> one task per combination.

The pure part (:func:`split_prompts`, :func:`split_list`, :func:`expand`, :func:`check`,
:func:`plan`) sends nothing. :class:`Sweep` is the handle of a submitted sweep: ``.tasks``
in submission order, ``.wait()`` / ``await sweep.wait_async()``, ``.cancel()``, ``.save()``,
``.to_records()``.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from runway_nb.errors import APITimeoutError, RunwayError, ValidationError
from runway_nb.notebook import marimo_support, viewers

if TYPE_CHECKING:
    from runway_nb.api.task import Task
    from runway_nb.client.watch import Clock, Watch

# The client (pydantic, httpx) loads when a sweep is planned or waited on, not with the magic.

__all__ = [
    "DEFAULT_MODELS",
    "OPTION_FIELDS",
    "Finished",
    "Planned",
    "Sweep",
    "SweepDeclined",
    "SweepError",
    "body_params",
    "check",
    "default_model",
    "endpoint_for",
    "expand",
    "fixed",
    "plan",
    "split_list",
    "split_prompts",
    "varying",
]

# Option names as people type them -> the request fields they end up in (for messages).
OPTION_FIELDS = {
    "prompt": ("promptText",),
    "model": ("model",),
    "ratio": ("ratio",),
    "duration": ("duration",),
    "seed": ("seed",),
    "image": ("promptImage",),
    "video": ("videoUri", "promptVideo"),
    "character": ("character",),
    "reference": ("reference",),
    "voice": ("voice",),
    "audio": ("audioUri", "media"),
    "target_language": ("targetLang",),
    "router": ("configId",),
    "type": ("endpoint",),
}

# Keys of a combination that are not request fields.
NOT_BODY = ("type", "provider")

# The model used when none is given (neither in the cell nor in the session defaults).
DEFAULT_MODELS = {
    "text_to_video": "gen4.5",
    "image_to_video": "gen4.5",
    "text_to_image": "gen4_image",
    "video_to_video": "aleph2",
    "character_performance": "act_two",
    "video_upscale": "magnific_video_upscaler_creative",
}

_SEPARATOR = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)


class SweepError(RunwayError, ValueError):
    """Some combinations of a sweep are not allowed; nothing was submitted.

    ``problems`` is a list of ``(combo, ValidationError)``.
    """

    def __init__(self, problems: list[tuple[dict[str, Any], ValidationError]], total: int):
        self.problems = problems
        self.total = total
        lines = [f"{len(problems)} of {total} combination(s) are not allowed; nothing was submitted:"]
        for combo, exc in problems[:20]:
            lines.append(f"  - {describe(combo)}: {exc}")
        if len(problems) > 20:
            lines.append(f"  ... and {len(problems) - 20} more")
        super().__init__("\n".join(lines))


class SweepDeclined(RunwayError):
    """The sweep was not submitted because the confirmation was declined."""


# ----------------------------------------------------------------------------------------
# parsing helpers
# ----------------------------------------------------------------------------------------

def split_prompts(body: str | None) -> list[str | None]:
    """A cell body split at lines holding only ``---``; blank parts dropped. ``[None]`` if empty."""
    if body is None:
        return [None]
    parts = [p.strip() for p in _SEPARATOR.split(body)]
    parts = [p for p in parts if p]
    return parts or [None]


def split_list(value: str, *, option: str = "value") -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``. ``data:`` URIs are never split (they hold a comma)."""
    text = value.strip()
    if text.lower().startswith("data:"):
        return [text]
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ValidationError(option, value, "a value or a comma list of values (no empty items)")
    return items


def _dedupe(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v is o or (_hashable(v) and _hashable(o) and v == o and type(v) is type(o)) for o in out):
            out.append(v)
    return out


def _hashable(v: Any) -> bool:
    try:
        hash(v)
        return True
    except TypeError:
        return False


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


# ----------------------------------------------------------------------------------------
# expansion
# ----------------------------------------------------------------------------------------

def expand(prompts: str | Sequence[str | None] | None, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cartesian product of prompts and option values, in a stable order.

    Prompts vary slowest, then the options in the order given, each in the order its values
    were given (repeats dropped). An option whose value is a list or tuple varies; any other
    value is fixed; ``None`` leaves the option out. Every combination is a dict[str, Any] with
    ``prompt`` first, then the options.
    """
    prompt_list = [prompts] if prompts is None or isinstance(prompts, str) else list(prompts)
    if not prompt_list:
        prompt_list = [None]
    names: list[str] = ["prompt"]
    axes: list[list[Any]] = [_dedupe(prompt_list)]
    for name, value in options.items():
        if name == "prompt":
            raise ValueError("pass prompts as the first argument, not as an option")
        if value is None:
            continue
        values = _dedupe(v for v in _as_list(value) if v is not None)
        if not values:
            continue
        names.append(name)
        axes.append(values)
    combos = []
    for product in itertools.product(*axes):
        combo = dict(zip(names, product, strict=True))
        if combo.get("prompt") is None:
            combo.pop("prompt")
        combos.append(combo)
    return combos


def varying(combos: Sequence[Mapping[str, Any]]) -> list[str]:
    """Option names that take more than one value across ``combos`` (in first-seen order)."""
    names: list[str] = []
    for combo in combos:
        for name in combo:
            if name not in names:
                names.append(name)
    out = []
    for name in names:
        values = _dedupe(c.get(name) for c in combos)
        if len(values) > 1:
            out.append(name)
    return out


def fixed(combos: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Options with the same value in every combination."""
    if not combos:
        return {}
    vary = set(varying(combos))
    return {k: v for k, v in combos[0].items() if k not in vary}


def describe(combo: Mapping[str, Any], limit: int = 40) -> str:
    """``model=gen4.5 ratio=1280:720 prompt='a cat'`` for messages."""
    bits = []
    for key, value in combo.items():
        if key == "prompt":
            text = str(value)
            text = text if len(text) <= limit else text[: limit - 1] + "…"
            bits.append(f"prompt={text!r}")
        elif isinstance(value, (str, int, float)):
            bits.append(f"{key}={value}")
        else:
            bits.append(f"{key}=<{type(value).__name__}>")
    return " ".join(bits)


# ----------------------------------------------------------------------------------------
# validation before anything is sent
# ----------------------------------------------------------------------------------------

def default_model(endpoint: str | None = None, *, has_image: bool = False, has_video: bool = False,
                  has_character: bool = False) -> str:
    """The model used when none was chosen."""
    if endpoint is None:
        if has_character:
            endpoint = "character_performance"
        elif has_video:
            endpoint = "video_to_video"
        elif has_image:
            endpoint = "image_to_video"
        else:
            endpoint = "text_to_video"
    if endpoint in DEFAULT_MODELS:
        return DEFAULT_MODELS[endpoint]
    from runway_nb.api import catalog

    models = [m for m in catalog.models(endpoint) if not getattr(m, "legacy", False)]
    if not models:
        raise ValidationError("type", endpoint, list(DEFAULT_MODELS))
    return models[0].model


def endpoint_for(combo: Mapping[str, Any]) -> str:
    """The endpoint of one combination: its ``type``, else inferred from the model and inputs."""
    from runway_nb.api import catalog

    endpoint = combo.get("type")
    if endpoint:
        endpoint = str(endpoint).strip().replace("-", "_")
        if endpoint not in catalog.ENDPOINTS:
            raise ValidationError("type", endpoint, list(catalog.ENDPOINTS))
        return endpoint
    from runway_nb.notebook.option_fields import audio_inputs, infer_type, is_input_audio

    model = combo.get("model")
    has_image = combo.get("image") is not None
    has_video = combo.get("video") is not None
    has_character = combo.get("character") is not None or combo.get("reference") is not None
    if not model:
        speech = infer_type(combo)  # --voice, --audio, --target-language without a type
        if speech is not None:
            return speech
        model = default_model(has_image=has_image, has_video=has_video, has_character=has_character)
    elif is_input_audio(combo.get("audio")) and not has_image and not has_video:
        # a model with input audio: the one operation where that model takes a recording
        taking = [ep for ep in catalog.endpoints_for_model(model) if audio_inputs(catalog.get(ep, model))]
        if len(taking) == 1:
            return taking[0]
    return catalog.infer_endpoint(model, has_image=has_image, has_video=has_video, has_character=has_character)


def body_params(combo: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """The keyword arguments for ``client.create(endpoint, **params)`` from one combination.

    ``image`` goes where the model takes an input image: ``promptImage`` for image_to_video,
    else the model's first image-list field (``referenceImages`` for text_to_image models,
    ``references`` for text_to_video ones). A preset ``voice`` with no model picks the first
    current model offering it; ``voice``, ``audio``, ``target_language`` and ``router`` are
    checked against the model (see :mod:`runway_nb.notebook.option_fields`).
    """
    from runway_nb.api import catalog
    from runway_nb.notebook.option_fields import apply_options, model_for_voice

    params = {k: v for k, v in combo.items() if k not in NOT_BODY and v is not None}
    voice = params.get("voice")
    if not params.get("model") and isinstance(voice, str):
        params["model"] = model_for_voice(endpoint, voice) or default_model(endpoint)
    if not params.get("model"):
        params["model"] = default_model(endpoint)
    params = apply_options(endpoint, params)
    if "image" in params:
        try:
            info = catalog.get(endpoint, params["model"])
        except ValidationError:
            info = None
        if info is not None and "promptImage" not in info.fields:
            target = next((name for name, kind in info.media_fields.items() if kind.startswith("image")), None)
            if target is not None and target not in params:
                params[target] = params.pop("image")
    return params


def combo_from_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The combination a task was made from, read back from its body params (a task attached by
    id or resumed from the journal): what a grid labels its rows and columns with."""
    p = params or {}
    combo: dict[str, Any] = {}
    if p.get("promptText") is not None:
        combo["prompt"] = p["promptText"]
    for key in ("model", "ratio", "duration", "seed"):
        if p.get(key) is not None:
            combo[key] = p[key]
    voice = _voice_name(p.get("voice"))
    if voice is not None:
        combo["voice"] = voice
    return combo


def _voice_name(voice: Any) -> str | None:
    """A speech task's voice as a label: a name, or a preset's id (``{"type": "runway-preset", "presetId": ...}``)."""
    if isinstance(voice, dict):
        voice = voice.get("presetId") or voice.get("id") or voice.get("name")
    return voice if isinstance(voice, str) and voice else None


@dataclass
class Planned:
    """One combination, ready to submit: its endpoint, the create kwargs and a credit estimate."""

    combo: dict[str, Any]
    endpoint: str
    params: dict[str, Any]
    estimated_credits: float | None = None
    provider: str | None = None


def plan(combos: Sequence[Mapping[str, Any]], *,
         strict: bool = True) -> tuple[list[Planned], list[tuple[dict[str, Any], ValidationError]]]:
    """Validate every combination exactly as ``client.create`` would (catalog rules, media), sending nothing.

    Returns ``(planned, problems)``; ``problems`` lists ``(combo, ValidationError)`` in order.
    """
    from runway_nb.api import catalog
    from runway_nb.api import request as _request
    from runway_nb.client.local_files import read_local_file

    planned: list[Planned] = []
    problems: list[tuple[dict[str, Any], ValidationError]] = []
    for combo in combos:
        combo = dict(combo)
        try:
            endpoint = endpoint_for(combo)
            params = body_params(combo, endpoint)
            draft = _request.build(endpoint, dict(params), strict=strict, read_file=read_local_file)
            _refuse_ignored_fields(draft)
            try:
                credits = catalog.estimate_credits(endpoint, draft.body) if draft.info is not None else None
            except Exception:  # an estimate is a nicety, never a blocker
                credits = None
        except ValidationError as exc:
            problems.append((combo, exc))
            continue
        planned.append(Planned(combo, endpoint, params, credits, combo.get("provider")))
    return planned, problems


_WHAT = {"promptText": "a prompt", "promptImage": "an input image", "videoUri": "an input video",
         "promptVideo": "an input video", "character": "a character", "reference": "a reference video"}


def _refuse_ignored_fields(draft: Any) -> None:
    """A field the model does not take would be dropped by the server without a word: refuse it."""
    info = draft.info
    if info is None:
        return
    for name in draft.body:
        if name not in info.fields:
            what = f"{_WHAT[name]} ({name})" if name in _WHAT else f"the field {name!r}"
            takes = ", ".join(sorted(f for f in info.fields if f != "model"))
            raise ValidationError(name, "<given>", sorted(info.fields),
                                  message=f"{info.model} on {info.endpoint} does not take {what}; "
                                          f"the server would ignore it. It takes: {takes}")


def check(combos: Sequence[Mapping[str, Any]], *, strict: bool = True) -> list[tuple[dict[str, Any], ValidationError]]:
    """Every combination the catalog refuses, as ``(combo, ValidationError)``; empty when all are fine."""
    return plan(combos, strict=strict)[1]


# ----------------------------------------------------------------------------------------
# the handle of a submitted sweep
# ----------------------------------------------------------------------------------------

class Finished(list[Any]):
    """The final ``Task``s returned by :meth:`Sweep.wait`; ``await`` on it returns it at once.

    So ``await sweep.wait()`` works too, but it waits blocking: ``await sweep`` (or
    ``await sweep.wait_async()``) is the form that keeps the event loop free.
    """

    def __await__(self) -> Generator[Any, None, Finished]:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self


def _progress_printer(stream: Any = None) -> Callable[..., None]:
    """``show(text, final=False)``: rewritten in place on a terminal or in a notebook, one line
    per update when piped."""
    from runway_nb.notebook.status_line import StatusLine

    return StatusLine(stream or sys.stdout).show


@dataclass(eq=False)
class Sweep:
    """The tasks of one sweep, in submission order.

    ``tasks[i]`` ran ``combos[i]`` (the options as given, e.g. ``{"prompt": ..., "model": ...,
    "seed": 1}``); each task's ``.params`` is the request it sent. ``varying`` names the options
    that differ between tasks and ``fixed`` holds the ones that do not; ``layout`` carries
    ``rows``/``cols`` hints for the grid.
    """

    tasks: list[Any] = field(default_factory=list[Any])
    combos: list[dict[str, Any]] = field(default_factory=list[Any])
    skipped: list[tuple[dict[str, Any], ValidationError]] = field(default_factory=list[Any])
    layout: dict[str, Any] = field(default_factory=dict[str, Any])
    save_to: str | None = None

    # -- what varies
    @property
    def varying(self) -> list[str]:
        return varying(self.combos)

    @property
    def fixed(self) -> dict[str, Any]:
        return fixed(self.combos)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    @property
    def estimated_cost(self) -> float | None:
        costs = [getattr(t, "estimated_cost", None) for t in self.tasks]
        known = [c for c in costs if c is not None]
        return sum(known) if known else None

    @property
    def finished(self) -> bool:
        return all(t.finished for t in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tasks)

    def __getitem__(self, index: int) -> Any:
        return self.tasks[index]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tasks:
            out[t.status] = out.get(t.status, 0) + 1
        return out

    def summary(self) -> str:
        """``4 tasks: 2 SUCCEEDED, 1 RUNNING, 1 FAILED · ~40 credits``."""
        counts = self.counts()
        # THROTTLED: waiting for a free slot in the account's concurrency limit, not an error
        parts = ", ".join(f"{n} {'queued' if s == 'THROTTLED' else s}" for s, n in counts.items())
        text = f"{len(self.tasks)} task(s): {parts}" if self.tasks else "0 tasks"
        cost = self.estimated_cost
        if cost is not None:
            text += f" · ~{cost:g} credits"
        if self.skipped:
            text += f" · {len(self.skipped)} combination(s) skipped"
        return text

    # -- actions
    def refresh(self) -> Sweep:
        for t in self.tasks:
            if not t.finished:
                t.refresh()
        return self

    def _watch(self) -> tuple[Watch, Clock]:
        """The unfinished tasks, each due on its own schedule (never more often than the poll floor)."""
        from runway_nb.client.watch import SYSTEM_CLOCK, Watch

        clock = self.tasks[0].client.clock if self.tasks else SYSTEM_CLOCK
        watch = Watch(floor=min((h.schedule.floor for h in self.tasks), default=5.0))
        now = clock.now()
        for i, h in enumerate(self.tasks):
            if not h.finished:
                h.add_to(watch, now, key=i)
        return watch, clock

    def _timeout(self, timeout: float | None) -> APITimeoutError:
        return APITimeoutError(f"the sweep did not finish within {timeout:g} s ({self.summary()})")

    def wait(self, timeout: float | None = None, *, raise_on_failure: bool = False,
             progress: bool = True) -> list[Any]:
        """Block until every task has finished; returns their final ``Task``s in order.

        Each task is polled on its own schedule (never more often than the client's poll
        floor). Failed tasks do not raise unless ``raise_on_failure``; ``timeout`` (seconds)
        is for the whole sweep and raises :class:`runway_nb.errors.APITimeoutError`.
        """
        from runway_nb.client.watch import WatchTimeout, drive

        show = _progress_printer() if progress else (lambda *a, **k: None)
        watch, clock = self._watch()
        watch.subscribe(lambda _event: show(f"runway: {self.summary()}"))
        show(f"runway: {self.summary()}")
        try:
            drive(watch, lambda i: self.tasks[cast(int, i)].refresh(), clock=clock,
                  deadline=None if timeout is None else clock.now() + timeout)
        except WatchTimeout:
            raise self._timeout(timeout) from None
        finally:
            show(f"runway: {self.summary()}", final=True)
        self._after_wait(raise_on_failure)
        return Finished(t.task for t in self.tasks)

    async def wait_async(self, timeout: float | None = None, *, raise_on_failure: bool = False) -> list[Any]:
        """``await sweep.wait_async()`` (or ``await sweep``): the same, without blocking the event loop."""
        from runway_nb.client.watch import WatchTimeout, drive_async

        watch, clock = self._watch()

        async def poll(i: Hashable) -> Task:
            task: Task = await self.tasks[cast(int, i)].to_async().refresh()
            return task

        try:
            await drive_async(watch, poll, clock=clock, deadline=None if timeout is None else clock.now() + timeout)
        except WatchTimeout:
            raise self._timeout(timeout) from None
        self._after_wait(raise_on_failure)
        return [t.task for t in self.tasks]

    await_all = wait_async

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self.wait_async().__await__()

    def _after_wait(self, raise_on_failure: bool) -> None:
        # Outputs were archived by the GETs that saw each task succeed (client/keep.py).
        if raise_on_failure:
            from runway_nb.errors import TaskFailedError

            for t in self.tasks:
                if t.task is not None and t.task.failed:
                    raise TaskFailedError(t.task)

    def cancel(self) -> list[str]:
        """Cancel every task that has not finished; returns their ids."""
        cancelled = []
        for t in self.tasks:
            if not t.finished:
                t.cancel()
                cancelled.append(t.id)
        return cancelled

    def save(self, folder: str | Path = "runway_outputs") -> dict[str, list[Path]]:
        """Download the outputs of every SUCCEEDED task into ``folder``: ``{task id: [paths]}``."""
        out: dict[str, list[Path]] = {}
        for t in self.tasks:
            if t.task is None or not t.task.finished:
                t.refresh()
            if t.task is not None and t.task.succeeded:
                out[t.id] = t.save(folder)
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One dict[str, Any] per task: index, id, status, the options it ran with, outputs, credits, failure
        (:meth:`to_dataframe` gives the same rows as a pandas DataFrame)."""
        rows = []
        for i, (t, combo) in enumerate(zip(self.tasks, self.combos, strict=False)):
            task = t.task
            row: dict[str, Any] = {"index": i, "id": t.id, "status": t.status, "endpoint": t.endpoint}
            for key, value in combo.items():
                if key in ("image", "video", "character", "reference", "audio") and not isinstance(value, (str, bool)):
                    value = f"<{type(value).__name__}>"
                row[key] = value
            for key in ("model", "ratio", "duration", "seed"):
                if key in t.params:
                    row[key] = t.params[key]
            row["outputs"] = list(task.outputs) if task else []
            row["files"] = [str(p) for p in t.files]
            row["estimated_credits"] = t.estimated_cost
            row["failure"] = task.failure if task else None
            row["failure_code"] = task.failure_code if task else None
            rows.append(row)
        return rows

    def to_dataframe(self) -> Any:
        """:meth:`to_records` as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe() needs pandas (pip install pandas); "
                              "to_records() gives the same rows as dicts") from None
        return pd.DataFrame(self.to_records())

    # -- display
    def __repr__(self) -> str:
        lines = [f"<Sweep {self.summary()}>"]
        vary = self.varying
        for t, combo in zip(self.tasks, self.combos, strict=False):
            label = " ".join(f"{k}={combo[k]!s:.30}" for k in vary if k in combo)
            lines.append(f"  {t.id} {t.status}" + (f"  {label}" if label else ""))
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _display_(self) -> object:
        """What marimo shows for a sweep as a cell's last value: its live grid (marimo never
        calls ``_ipython_display_``)."""
        return marimo_support.sweep_display(self)

    def _ipython_display_(self) -> None:
        from IPython.core.getipython import get_ipython
        from IPython.display import display

        if getattr(get_ipython(), "kernel", None) is None:  # terminal IPython: text
            display({"text/plain": repr(self)}, raw=True)
            return
        show_grid = viewers.view(viewers.SWEEP)
        if show_grid is not None:
            display(show_grid(self))  # one grid (one poller) per sweep, however often it is shown
            return
        display({"text/plain": f"<Sweep {self.summary()}>"}, raw=True)
        for t in self.tasks:
            display(t)

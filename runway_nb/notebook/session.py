"""The process-wide session: a default client, this session's tasks, ``generate`` and ``compare``.

``%%runway`` and ``runway_nb.generate(...)`` go through the same :class:`Session`, so a task
submitted either way shows up in ``%runway list`` and comes back as the same kind of handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runway_nb.errors import RunwayError, ValidationError
from runway_nb.notebook import reuse, viewers
from runway_nb.notebook.charges import credits_text, handle_credits
from runway_nb.notebook.reuse import Origin
from runway_nb.notebook.sweep import Sweep, SweepDeclined, SweepError, default_model, endpoint_for, expand, plan

__all__ = [
    "DEFAULT_SAVE_DIR",
    "SETTINGS",
    "Session",
    "Sweep",
    "SweepDeclined",
    "SweepError",
    "TaskTable",
    "compare",
    "generate",
    "get_session",
]

DEFAULT_SAVE_DIR = "runway_outputs"

# Session settings: name -> (description, built-in default)
SETTINGS: dict[str, tuple[str, Any]] = {
    "model": ("model used when a cell does not give --model", None),
    "ratio": ("ratio used when a cell does not give --ratio (where the model takes a ratio)", None),
    "duration": ("seconds, used when a cell does not give --duration (where the model takes one)", None),
    "poll_floor": ("shortest wait between two status polls, in seconds (default: 5, Runway's update interval)", None),
    "provider": ("runway, sim or comet (default: runway with a key, else the simulator)", None),
    "save": ("archive every output when its task succeeds (true/false, or a folder such as ./outputs)", True),
    "save_dir": ("folder outputs are archived into, beside the notebook", DEFAULT_SAVE_DIR),
    "reuse": ("show the task an identical request of this notebook already made instead of sending it again "
              "(true/false; RUNWAY_NB_REUSE=off turns it off too)", True),
}

_MEDIA_OPTIONS = ("image", "video", "character", "reference", "audio")


def builtin_default(name: str) -> Any:
    """A setting's built-in default; ``save``/``save_dir`` follow ``RUNWAY_NB_OUTPUTS`` (folder or off)."""
    if name in ("save", "save_dir"):
        from runway_nb.client.keep import folder_setting

        folder = folder_setting(None)
        return folder is not None if name == "save" else str(folder or DEFAULT_SAVE_DIR)
    return SETTINGS[name][1]


def builtin_defaults() -> dict[str, Any]:
    return {name: builtin_default(name) for name in SETTINGS}


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _number(value: Any, name: str) -> float | int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, value, "a number of seconds") from None
    if number != number or number < 0:
        raise ValidationError(name, value, "a number of seconds >= 0")
    return int(number) if number.is_integer() else number


def _is_folder(value: Any) -> bool:
    if isinstance(value, Path):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    return bool(text) and text not in ("1", "true", "yes", "on", "y", "0", "false", "no", "off", "n", "none",
                                       "default") and ("/" in text or "\\" in text or text.startswith("."))


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n", "", "none"):
        return False
    raise ValidationError(name, value, "true or false")


class Session:
    """Default client(s), settings and the tasks submitted in this process."""

    def __init__(self) -> None:
        self.defaults: dict[str, Any] = builtin_defaults()
        self._clients: dict[str, Any] = {}
        self._tasks: dict[str, Any] = {}
        self.sweeps: list[Sweep] = []
        self._lock = threading.RLock()
        self._sent: dict[str, tuple[Any, str, str]] = {}  # task id -> (planned request, notebook, cell)
        self.reshown: set[str] = set()  # ids of tasks shown again for an identical request

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.defaults.items() if v != builtin_default(k)}
        return f"<runway_nb Session: {len(self._tasks)} task(s), defaults={shown}>"

    # ------------------------------------------------------------------ clients
    def _provider_key(self, provider: str | None) -> str:
        return provider or self.defaults.get("provider") or ""

    def client_for(self, provider: str | None = None) -> Any:
        """The session's client for ``provider`` (default: the session's provider), made on first use."""
        key = self._provider_key(provider)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                from runway_nb.client.factory import connect

                client = connect(key or None, poll_floor=self.defaults.get("poll_floor"))
                self._clients[key] = client
            return client

    @property
    def client(self) -> Any:
        """The default client (``Runway()``: the simulator when no key is set)."""
        return self.client_for(None)

    def add_sweep(self, sweep: Sweep) -> Sweep:
        """Keep ``sweep`` with this session's sweeps (``%runway list``, cancel all)."""
        with self._lock:
            self.sweeps.append(sweep)
        return sweep

    def use_client(self, client: Any, provider: str | None = None) -> Any:
        """Make ``client`` the session's client (for ``provider``, default: the session's provider)."""
        with self._lock:
            self._clients[self._provider_key(provider)] = client
        if self.defaults.get("poll_floor") is not None:
            client.poll_floor = self.defaults["poll_floor"]
        return client

    # ------------------------------------------------------------------ settings
    def configure(self, **settings: Any) -> dict[str, Any]:
        """Set session defaults (see ``SETTINGS``); ``None`` restores the built-in default.

        Values are checked; a bad one raises :class:`ValidationError` and changes nothing.
        """
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValidationError(unknown[0], settings[unknown[0]], list(SETTINGS))
        new = dict(self.defaults)
        for name, value in settings.items():
            if name == "save" and _is_folder(value):  # save=some/folder: on, into that folder
                new["save"], new["save_dir"] = True, str(value).strip()
                continue
            new[name] = self._check_setting(name, value)
        with self._lock:
            self.defaults = new
            if "poll_floor" in settings:
                floor = new["poll_floor"]
                for client in self._clients.values():
                    speed = float(getattr(getattr(client.simulator, "config", None), "speed", 1.0) or 1.0)
                    client.poll_floor = floor if floor is not None else 5.0 / speed
        return dict(self.defaults)

    def _check_setting(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "default"):
            value = None
        if value is None:
            return builtin_default(name)
        if name == "model":
            from runway_nb.api import catalog

            model = str(value).strip()
            if not catalog.endpoints_for_model(model):
                known = sorted({m.model for m in catalog.models()})
                raise ValidationError("model", model, known)
            return model
        if name == "ratio":
            return str(value).strip()
        if name == "duration":
            return _number(value, "duration")
        if name == "poll_floor":
            floor = _number(value, "poll_floor")
            if floor is not None and floor <= 0:
                raise ValidationError("poll_floor", value, "a number of seconds > 0")
            return floor
        if name == "provider":
            from runway_nb.client.settings import PROVIDERS

            provider = str(value).strip().lower()
            if provider not in PROVIDERS:
                raise ValidationError("provider", value, list(PROVIDERS))
            return provider
        if name == "save":
            try:
                return _bool(value, "save")
            except ValidationError:
                raise ValidationError("save", value, "true, false, or a folder such as ./outputs") from None
        if name == "save_dir":
            return str(value)
        if name == "reuse":
            return _bool(value, "reuse")
        return value

    def save_folder(self, save: Any) -> str | None:
        """``save`` as given (None: session default; True; False; a folder) -> folder or None."""
        if save is None:
            save = self.defaults.get("save")
        if save is None or save is False:
            return None
        if save is True:
            return self.defaults.get("save_dir") or DEFAULT_SAVE_DIR
        text = str(save).strip()
        return text or self.defaults.get("save_dir") or DEFAULT_SAVE_DIR

    # ------------------------------------------------------------------ registry
    def register(self, handle: Any) -> Any:
        with self._lock:
            self._tasks[handle.id] = handle
        return handle

    @property
    def tasks(self) -> list[Any]:
        """This session's task handles, oldest first."""
        with self._lock:
            return list(self._tasks.values())

    def get(self, task_id: str) -> Any | None:
        return self._tasks.get(task_id)

    def last(self) -> Any | None:
        with self._lock:
            return next(reversed(self._tasks.values()), None) if self._tasks else None

    def attach(self, task_id: str, provider: str | None = None, *, save: Any = None, entry: Any = None) -> Any:
        """A handle for an existing task (registered in this session and recorded in the journal).

        Its request parameters (for the caption and ``%runway list``) come from the journal when
        the task is there. ``save`` as in :meth:`generate`; None: the folder chosen when the task
        was submitted (journalled), else the session's default.
        """
        existing = self._tasks.get(task_id)
        if existing is not None:
            return existing
        client = self.client_for(provider)
        journal = getattr(client, "journal", None)
        base_url = client.settings.base_url
        if entry is None and journal is not None:
            entry = journal.get(task_id, base_url)
        known = {}
        if entry is not None:
            known = dict(endpoint=entry.endpoint, params=dict(entry.params or {}), estimated_cost=entry.estimated_cost)
        handle = client.tasks.handle(task_id, **known)
        handle.refresh()  # fails here, clearly, if there is no such task
        if journal is not None:
            journal.attach(task_id, provider=client.provider, base_url=base_url, params=handle.params)
            journal.update(handle.task, base_url)
        if save is False:
            folder = None
        elif save is None:
            recorded = entry.save_to if entry is not None else None  # "": not kept; None: never decided
            folder = (recorded or None) if recorded is not None else self.save_folder(None)
        else:
            folder = self.save_folder(save)
        if entry is not None and entry.files and all(Path(f).exists() for f in entry.files):
            handle.files = [Path(f) for f in entry.files]  # archived already
        handle.save_to = folder  # journalled; archived when a GET sees it succeed (now, if it has)
        handle.keep()
        if folder:
            _view_saving_to(handle, folder)
        return self.register(handle)

    def refresh(self, handle: Any) -> Any:
        """Refresh a handle if it has not finished (a GET that sees it succeed archives its outputs)."""
        if not handle.finished:
            handle.refresh()
        return handle

    def cancel(self, task_id: str | None = None) -> list[str]:
        """Cancel one task by id, or (``None``) every unfinished task of this session."""
        if task_id is not None:
            handle = self._tasks.get(task_id)
            if handle is None:
                self.client.tasks.cancel(task_id)
            else:
                handle.cancel()
            return [task_id]
        done = []
        for handle in self.tasks:
            if not handle.finished:
                handle.cancel()
                done.append(handle.id)
        return done

    def table(self, refresh: bool = True) -> TaskTable:
        """This session's tasks as a table (refreshing the unfinished ones first)."""
        notes: dict[str, str] = {}
        if refresh:
            for handle in self.tasks:
                try:
                    self.refresh(handle)
                except RunwayError as exc:
                    notes[handle.id] = f"could not refresh: {type(exc).__name__}"
        return TaskTable(self.tasks, notes)

    def reset(self) -> None:
        """Forget tasks, sweeps, clients and settings (tests; a fresh start)."""
        with self._lock:
            for client in self._clients.values():
                with contextlib.suppress(Exception):
                    client.close()
            self._clients.clear()
            self._tasks.clear()
            self._sent.clear()
            self.reshown.clear()
            self.sweeps.clear()
            self.defaults = builtin_defaults()

    # ------------------------------------------------------------------ submitting
    def with_defaults(self, combo: dict[str, Any], given: Iterable[str] = ()) -> dict[str, Any]:
        """Fill the session's model, ratio and duration into ``combo`` where it has none.

        Ratio and duration are filled only where the model takes them. The names filled are
        recorded in ``combo["_defaulted"]`` (removed before submitting) for error messages.
        """
        combo = dict(combo)
        filled = []
        endpoint = combo.get("type") or _speech_type(combo)
        if not combo.get("model") and self.defaults.get("model") and endpoint is None:
            combo["model"] = self.defaults["model"]
            filled.append("model")
        elif not combo.get("model") and self.defaults.get("model"):
            from runway_nb.api import catalog

            if endpoint in catalog.endpoints_for_model(self.defaults["model"]):
                combo["model"] = self.defaults["model"]
                filled.append("model")
        for name in ("ratio", "duration"):
            if combo.get(name) is None and self.defaults.get(name) is not None:
                fields = self._fields_of(combo)
                if fields is not None and name in fields:
                    combo[name] = self.defaults[name]
                    filled.append(name)
        if filled:
            combo["_defaulted"] = filled
        return combo

    @staticmethod
    def _fields_of(combo: Mapping[str, Any]) -> set[str] | None:
        from runway_nb.api import catalog

        try:
            endpoint = endpoint_for(combo)
            model = combo.get("model") or default_model(endpoint)
            return set(catalog.get(endpoint, model).fields)
        except ValidationError:
            return None

    def _prepare(self, combos: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
        """Plan every combination; refused ones say when the refused value was a session default."""
        planned: list[Any] = []
        problems: list[Any] = []
        for combo in combos:
            defaulted = combo.get("_defaulted") or []
            clean = {k: v for k, v in combo.items() if k != "_defaulted"}
            ok, bad = plan([clean])
            planned.extend(ok)
            problems.extend((c, _note_default(e, c, defaulted)) for c, e in bad)
        return planned, problems

    def generate(self, prompt: str | None = None, *, model: str | None = None, ratio: str | None = None,
                 duration: float | None = None, seed: int | None = None, image: Any = None, video: Any = None,
                 character: Any = None, reference: Any = None, voice: Any = None, audio: Any = None,
                 target_language: str | None = None, router: str | None = None, type: str | None = None,
                 provider: str | None = None, wait: bool = False, save: Any = None,
                 timeout: float | None = None, raise_on_failure: bool = True, progress: bool = True,
                 key: str | None = None, new: bool = False, **extra: Any) -> Any:
        """Submit one generation and return its :class:`~runway_nb.TaskHandle` at once.

        The endpoint (``type``: any operation, e.g. ``"text_to_speech"``, ``"generate/audio"``)
        is inferred from the model and the inputs when not given; the session's defaults fill
        ``model``, ``ratio`` and ``duration`` when not given. ``voice`` is a preset voice's name
        (with no ``model``, the first model offering it), ``audio`` the input audio of
        speech_to_speech, voice_dubbing and voice_isolation (a path, URL or bytes),
        ``target_language`` dubbing's language code and ``router`` the router of routed
        generation (``type="generate/audio", router="default"``). Bad input raises
        :class:`~runway_nb.errors.ValidationError` before anything is sent.
        ``wait=True`` blocks until the task ends (with a one-line progress), raising
        :class:`~runway_nb.errors.TaskFailedError` on failure unless ``raise_on_failure=False``.
        ``save=True`` (or a folder) downloads the outputs once the task succeeds.

        The same request from the same place (``key``, else the call site) in this notebook
        returns the task it made before when that task is running or succeeded, instead of
        sending it again; ``new=True`` makes another (see ``docs/journal.md``).
        """
        origin = self._origin(key, new)
        combo = {"prompt": prompt, "model": model, "ratio": ratio, "duration": duration, "seed": seed,
                 "image": image, "video": video, "character": character, "reference": reference,
                 "voice": voice, "audio": audio, "target_language": target_language, "router": router,
                 "type": type, "provider": provider, **extra}
        combo = {k: v for k, v in combo.items() if v is not None}
        combo = self.with_defaults(combo)
        planned, problems = self._prepare([combo])
        if problems:
            raise problems[0][1]
        item = planned[0]
        folder = self.save_folder(save)
        handle = self._submit(item, folder, origin, one_of_cell=True)
        _say_reused(origin, 1)
        if wait:
            wait_with_progress(handle, timeout=timeout, raise_on_failure=raise_on_failure, progress=progress)
            self.refresh(handle)
        return handle

    def compare(self, prompts: str | Sequence[str] | None = None, *, model: Any = None, ratio: Any = None,
                duration: Any = None, seed: Any = None, image: Any = None, video: Any = None,
                character: Any = None, reference: Any = None, voice: Any = None, audio: Any = None,
                target_language: Any = None, router: Any = None, type: Any = None,
                provider: Any = None, wait: bool = False, save: Any = None, skip_invalid: bool = False,
                rows: str | None = None, cols: str | None = None,
                confirm: Callable[[list[Any], float | None], bool] | None = None, key: str | None = None,
                new: bool = False, **extra: Any) -> Sweep:
        """Submit the cartesian product of ``prompts`` and every option given as a list.

        ``compare(["a cat", "a dog"], model=["gen4.5", "veo3.1"], seed=[1, 2])`` submits 8 tasks;
        ``compare("Hello.", type="text_to_speech", voice=["Maya", "Arjun"])`` is a voice sweep.
        Every combination is checked first; if any is refused a :class:`SweepError` lists them
        all and nothing is submitted (``skip_invalid=True`` submits the valid ones instead).
        ``confirm(planned, credits)`` may veto the submission (the magic asks the user).
        Returns a :class:`~runway_nb.notebook.sweep.Sweep`. As in :meth:`generate`, combinations
        this notebook already sent from the same place (``key``, else the call site) show their
        earlier tasks; the sweep's drawn seed is one for all its combinations; ``new=True``
        sends them all again.
        """
        origin = self._origin(key, new)
        options = {"model": model, "ratio": ratio, "duration": duration, "seed": seed, "image": image,
                   "video": video, "character": character, "reference": reference, "voice": voice,
                   "audio": audio, "target_language": target_language, "router": router, "type": type,
                   "provider": provider, **extra}
        combos = [self.with_defaults(c) for c in expand(prompts, options)]
        planned, problems = self._prepare(combos)
        if problems and (not skip_invalid or not planned):
            raise SweepError(problems, len(combos))
        if confirm is not None:
            credits = [p.estimated_credits for p in planned if p.estimated_credits is not None]
            if not confirm(planned, sum(credits) if credits else None):
                raise SweepDeclined(f"sweep of {len(planned)} task(s) not submitted")
        folder = self.save_folder(save)
        sweep = Sweep(combos=[p.combo for p in planned], skipped=problems,
                      layout={k: v for k, v in (("rows", rows), ("cols", cols)) if v}, save_to=folder)
        with self._lock:
            self.sweeps.append(sweep)
        # One seed for every cell that does not set its own: a model comparison must not mix in seed
        # differences (with reuse on, the cell's journalled seed plays this part).
        sweep_seed = random.randrange(0, 4_294_967_296)
        for _i, item in enumerate(planned):
            try:
                sweep.tasks.append(self._submit(item, folder, origin, alone=False, seed=sweep_seed))
            except BaseException as exc:
                del sweep.combos[len(sweep.tasks):]
                if hasattr(exc, "add_note"):
                    ids = ", ".join(sweep.ids) or "none"
                    exc.add_note(f"runway-nb: {len(sweep.tasks)} of {len(planned)} sweep task(s) were submitted "
                                 f"before this error ({ids}); the rest were not. They are listed by "
                                 f"%runway list and in runway_nb.notebook.session.get_session().sweeps[-1].")
                raise
        _say_reused(origin, len(planned))
        if wait:
            sweep.wait(progress=True)
        return sweep

    def is_reshown(self, handle: Any) -> bool:
        """Whether ``handle`` was shown again for an identical request instead of a new task."""
        return handle.id in self.reshown

    def can_send_again(self, handle: Any) -> bool:
        """Whether :meth:`send_again` knows the request that made ``handle`` (one task of a cell)."""
        return handle.id in self._sent

    def send_again(self, handle: Any) -> Any:
        """One more task for the request that made ``handle`` ("Generate again"): a new seed for its
        cell when the seed was drawn, and the new task is the cell's from then on."""
        sent = self._sent.get(handle.id)
        if sent is None:
            raise RunwayError(f"task {handle.id} was not sent by one call of this session: run its cell with --new")
        item, scope, cell = sent
        origin = Origin(scope=scope, cell=cell, new=True)
        return self._submit(item, getattr(handle, "save_to", None), origin, one_of_cell=True)

    def _origin(self, key: str | None, new: bool) -> Origin | None:
        """Where a request comes from, for reuse; None when reuse is off."""
        if not self.defaults.get("reuse", True) or not reuse.env_allows():
            return None
        if key is None and reuse.outside_cells():
            return None  # a widget's button (the panel's Generate): no cell, and a press asks for a task
        return Origin(scope=reuse.notebook_scope(), cell=reuse.call_site_key(key), new=bool(new))

    def _submit(self, item: Any, folder: str | None, origin: Origin | None = None, *,
                one_of_cell: bool = False, alone: bool = True, seed: int | None = None) -> Any:
        """Create the task (or show the cell's earlier one); ``one_of_cell``: the cell's only task, which
        "Generate again" may send once more (a sweep's tasks share their cell's seed: ``--new`` resends all).
        ``alone``: not one of a sweep's tasks (the sweep's grid watches those, one widget for all).
        ``seed``: the sweep's seed, for a model with a seed field when the request sets none and no
        journalled cell seed applies."""
        client = self.client_for(item.provider)
        journal = getattr(client, "journal", None)
        if origin is None or journal is None:
            handle = client.create(item.endpoint, **_with_seed(client, item, seed))
        else:
            earlier, handle = self._earlier_or_create(client, journal, item, origin)
            if one_of_cell:  # before any view of it is made: the view offers "Generate again"
                self._sent[handle.id] = (item, origin.scope, origin.cell)
            if earlier:
                handle.combo = item.combo
                self.reshown.add(handle.id)
                return handle
        handle.save_to = folder  # journalled: archived when any GET sees it succeed, here or in a later kernel
        handle.combo = item.combo
        if folder and alone:
            _view_saving_to(handle, folder)
        return self.register(handle)

    def _earlier_or_create(self, client: Any, journal: Any, item: Any, origin: Origin) -> tuple[bool, Any]:
        """The task this notebook's identical request made before (True, handle), else a new one (False, handle).

        A drawn seed is the cell's (kept in the journal), so the same cell sends the same request.
        """
        params = dict(item.params)
        draft = client.prepare(item.endpoint, **params)
        if "seed" not in params and draft.info is not None and "seed" in draft.info.fields and "seed" in draft.body:
            params["seed"] = draft.body["seed"] = origin.cell_seed(journal)
        request = reuse.fingerprint(draft)
        if not origin.new:
            found = reuse.find_earlier(self, client, journal, origin, request, item.provider)
            if found is not None:
                origin.reused.append(found)
                return True, found[0]
        with journal.tagging(origin.tag(request)):
            return False, client.create(item.endpoint, **params)


def _with_seed(client: Any, item: Any, seed: int | None) -> dict[str, Any]:
    """``item``'s parameters, with ``seed`` when given, the request sets none and its model takes one."""
    params = dict(item.params)
    if seed is None or "seed" in params:
        return params
    draft = client.prepare(item.endpoint, **params)
    if draft.info is not None and "seed" in draft.info.fields and "seed" in draft.body:
        params["seed"] = seed
    return params


def _speech_type(combo: Mapping[str, Any]) -> str | None:
    """The operation a voice, input audio or target language means when no type is given (a
    session's default video model must not take over a speech cell); "" when they leave it open."""
    if all(combo.get(name) is None for name in ("voice", "audio", "target_language", "router")):
        return None
    from runway_nb.notebook.option_fields import infer_type

    try:
        return infer_type(combo)
    except ValidationError:
        return ""  # no type to fill a model for: planning reports what is missing


def _say_reused(origin: Origin | None, total: int) -> None:
    """One line when earlier tasks are shown instead of new ones."""
    if origin is not None and origin.reused:
        print(reuse.reuse_line(origin.reused, total), file=sys.stderr)


def _view_saving_to(handle: Any, folder: str) -> None:
    """In a Jupyter kernel, create the handle's task view now: its poller sees the task end and so
    archives the outputs even when the handle is never shown or waited on."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    ip = get_ipython()
    if ip is None or getattr(ip, "kernel", None) is None:
        return
    make_view = viewers.view(viewers.SAVING_TASK)
    if make_view is not None:  # else the outputs are saved when a view or a wait sees the task end
        make_view(handle, folder)


def _note_default(exc: ValidationError, combo: dict[str, Any], defaulted: Sequence[str]) -> ValidationError:
    """Mention it when a refused value was a session default rather than typed in the cell."""
    name = {"promptText": "prompt"}.get(exc.field, exc.field)
    if name in defaulted:
        note = (f" ({name}={combo.get(name)!r} is this session's default: change it with "
                f"%runway config {name}=... or runway_nb.configure({name}=...))")
        return ValidationError(exc.field, exc.value, exc.allowed, message=str(exc) + note)
    return exc


# ----------------------------------------------------------------------------------------
# waiting with a one-line text progress
# ----------------------------------------------------------------------------------------

def progress_line(handle: Any, started: float) -> str:
    task = handle.task
    bits = [f"runway: {handle.id}", handle.status]
    if task is not None and task.progress is not None and not task.finished:
        bits.append(f"{task.progress:.0%}")
    if handle.status == "THROTTLED":
        bits.append("(waiting for a free slot in the account's concurrency limit)")
    bits.append(f"{time.monotonic() - started:.0f}s")
    if task is not None and task.finished and task.outputs:
        bits.append(f"{len(task.outputs)} output(s)")
    if task is not None and task.failed:
        bits.append(f"failed [{task.failure_code or '?'}]: {task.failure or 'no reason given'}")
    return " · ".join(bits)


def wait_with_progress(handle: Any, *, timeout: float | None = None, raise_on_failure: bool = True,
                       progress: bool = True, stream: Any = None) -> Any:
    """``handle.wait()`` showing its progress on ``stream`` (stdout): one line rewritten in place
    on a terminal or in a notebook, one line per update when piped to a file."""
    from runway_nb.notebook.status_line import StatusLine

    line = StatusLine(stream or sys.stdout)
    started = time.monotonic()

    def show(_task: Any = None, final: bool = False) -> None:
        if progress:
            line.show(progress_line(handle, started), final=final)

    show()
    try:
        task = handle.wait(timeout, raise_on_failure=raise_on_failure, on_update=show)
    finally:
        show(final=True)
    return task


# ----------------------------------------------------------------------------------------
# the task table (%runway list[Any])
# ----------------------------------------------------------------------------------------

_COLUMNS = ("#", "id", "status", "type", "model", "ratio", "duration", "seed", "credits", "prompt")
#: How many characters of a task id the HTML table shows (the full id is its tooltip).
SHORT_ID = 8
#: How many characters of a prompt the table shows.
PROMPT_CHARS = 48


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _row(i: int, handle: Any, note: str | None) -> dict[str, str]:
    p = handle.params or {}
    status = str(handle.status)
    task = handle.task
    if task is not None and task.progress is not None and not task.finished:
        status += f" {task.progress:.0%}"
    if task is not None and task.failed and task.failure_code:
        status += f" [{task.failure_code}]"
    if note:
        status += f" ({note})"
    cost = handle_credits(handle)
    duration = p.get("duration")
    return {"#": str(i), "id": str(handle.id), "status": status,
            "type": str(handle.endpoint or "").replace("_", " "),
            "model": str(p.get("model") or ""), "ratio": str(p.get("ratio") or ""),
            "duration": "" if duration is None else f"{duration:g} s" if isinstance(duration, (int, float))
            else str(duration),
            "seed": "" if p.get("seed") is None else str(p.get("seed")),
            "credits": "" if cost is None else credits_text(cost),
            "prompt": _clip(" ".join(str(p.get("promptText") or "").split()), PROMPT_CHARS)}


# Inline styles: they override the notebook's table styling (right-aligned cells, striped rows)
# and need no stylesheet, so the table reads the same in JupyterLab, Notebook 7, VS Code and nbconvert.
_TABLE_STYLE = ("border-collapse:collapse;font-size:12px;line-height:1.35;margin:0;"
                "font-family:system-ui,-apple-system,Segoe UI,sans-serif")
_CELL_STYLE = ("text-align:left;vertical-align:top;padding:2px 10px 2px 0;background:transparent;"
               "border:none;border-bottom:1px solid var(--jp-border-color2, #e0e0e0)")
_NO_WRAP = ("#", "id", "status", "type", "model", "ratio", "duration", "seed", "credits")


class TaskTable:
    """Tasks as a compact left-aligned table: ``text/plain`` and ``text/html`` (everything escaped).

    The HTML shows each id's first ``SHORT_ID`` characters (the full id is its tooltip) so a row
    stays one line; the plain text keeps the full id, to copy into ``%runway status ID``."""

    def __init__(self, handles: Sequence[Any], notes: Mapping[str, str] | None = None):
        self.handles = list(handles)
        self.rows = [_row(i, h, (notes or {}).get(h.id)) for i, h in enumerate(self.handles)]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        if not self.rows:
            return "No tasks in this session yet."
        columns = self._columns()
        widths = {c: max(len(c), *(len(r[c]) for r in self.rows)) for c in columns}
        lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
        lines.append("  ".join("-" * widths[c] for c in columns))
        for r in self.rows:
            lines.append("  ".join(r[c].ljust(widths[c]) for c in columns).rstrip())
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _columns(self) -> tuple[str, ...]:
        """The columns with something in them (an image-only session has no duration column)."""
        return tuple(c for c in _COLUMNS if any(r[c] for r in self.rows))

    def _cell(self, column: str, value: str, tag: str = "td") -> str:
        esc = html.escape
        style = _CELL_STYLE + (";white-space:nowrap" if column in _NO_WRAP else ";min-width:12em")
        if column == "id" and tag == "td" and len(value) > SHORT_ID:
            shown = f'<code title="{esc(value, quote=True)}">{esc(value[:SHORT_ID])}</code>'
        else:
            shown = esc(value)
        weight = ";font-weight:600" if tag == "th" else ""
        return f'<{tag} style="{style}{weight}">{shown}</{tag}>'

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<p>No tasks in this session yet.</p>"
        columns = self._columns()
        head = "".join(self._cell(c, c, "th") for c in columns)
        body = "".join('<tr style="background:transparent">' + "".join(self._cell(c, r[c]) for c in columns)
                       + "</tr>" for r in self.rows)
        # A narrow notebook scrolls the table sideways rather than cutting it off at the right.
        return (f'<div style="overflow-x:auto;max-width:100%"><table class="rnb-task-table" style="{_TABLE_STYLE}">'
                f'<thead><tr style="background:transparent">{head}</tr></thead><tbody>{body}</tbody></table></div>')


# ----------------------------------------------------------------------------------------
# the process-wide session and the module-level API
# ----------------------------------------------------------------------------------------

_session: Session | None = None
_session_lock = threading.Lock()


def get_session() -> Session:
    """The process-wide :class:`Session` (made on first use)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = Session()
        return _session


def generate(prompt: str | None = None, **options: Any) -> Any:
    """Submit one generation with the session's client; see :meth:`Session.generate`."""
    return get_session().generate(prompt, **options)


def compare(prompts: str | Sequence[str] | None = None, **options: Any) -> Sweep:
    """Submit a sweep (every combination of the list-valued options); see :meth:`Session.compare`."""
    return get_session().compare(prompts, **options)


def tasks() -> list[Any]:
    """This session's task handles, oldest first."""
    return get_session().tasks


def configure(**settings: Any) -> dict[str, Any]:
    """Set session defaults: ``configure(model="gen4.5", ratio="720:1280", save=True)``."""
    return get_session().configure(**settings)

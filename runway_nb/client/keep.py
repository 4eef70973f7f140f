"""Kept by default: every output is archived locally when its task succeeds.

A task's output URLs die with the simulator's kernel, and Runway's expire 24-48 hours after the
task. So a client archives each task's outputs (files plus the task's facts, see
:mod:`runway_nb.client.archive`) the first time one of its GETs sees the task SUCCEEDED, however
the task was waited on: ``handle.wait()``, ``await handle``, a sweep, a widget, ``serve``.

:class:`Keeper` is the one place that decides *whether* and *where*: it is shared by a client and
its sync/async twins, and the clients do the downloading in their own driver. Which folder a task
keeps into is written to the journal when the task is created, so a kernel that reattaches later
(or ``serve``, or another process) keeps it there too.

Settings (the client's ``outputs=`` argument overrides the first):

- ``RUNWAY_NB_OUTPUTS``: the folder (default ``runway_outputs``, relative to the working directory,
  which is the notebook's folder in Jupyter), or ``off``;
- ``RUNWAY_NB_OUTPUTS_MAX_MB``: the most the folder may hold (default 5000 MB); a task whose outputs
  would go beyond it is not archived, and says so (``%runway fetch`` archives it later).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_nb.api.status import SUCCEEDED

if TYPE_CHECKING:  # annotations only: the task model loads with the first task
    from runway_nb.api.task import Task

__all__ = ["DEFAULT_FOLDER", "DEFAULT_MAX_MB", "FOLDER_ENV_VAR", "MAX_MB_ENV_VAR", "Keeper", "OutputsNotKept",
           "folder_setting"]

DEFAULT_FOLDER = "runway_outputs"
DEFAULT_MAX_MB = 5000
FOLDER_ENV_VAR = "RUNWAY_NB_OUTPUTS"
MAX_MB_ENV_VAR = "RUNWAY_NB_OUTPUTS_MAX_MB"
_OFF = ("", "0", "off", "false", "no", "none")


class OutputsNotKept(UserWarning):
    """A succeeded task's outputs could not be archived (the folder is full, a download failed)."""


def folder_setting(value: str | os.PathLike[str] | bool | None) -> Path | None:
    """The archive folder for a client's ``outputs=`` argument: None reads ``RUNWAY_NB_OUTPUTS``
    (default ``runway_outputs``); False or ``"off"`` turns keeping off; True is the default folder."""
    if value is None:
        value = os.environ.get(FOLDER_ENV_VAR, DEFAULT_FOLDER)
    if value is True:
        value = DEFAULT_FOLDER
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    return Path(value).expanduser()


def _max_bytes() -> int | None:
    text = os.environ.get(MAX_MB_ENV_VAR, "").strip().lower()
    if text in _OFF[1:]:
        return None
    try:
        mb = float(text) if text else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(mb * 1_000_000) if mb > 0 else None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop returns


@dataclass
class _Plan:
    folder: Path | None  # None: this task's outputs are not to be kept
    params: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    state: str = "planned"  # planned -> keeping -> kept | failed (or back to planned: released)
    keepers: int = 0  # callers archiving it now (a blocking reader may retake it from an async one)
    problem: str = ""


class Keeper:
    """Where each task's outputs go, and whether they are archived yet (shared by twin clients)."""

    def __init__(self, folder: Path | None, *, journal: Any = None, base_url: str | None = None,
                 max_bytes: int | bool | None = True) -> None:
        self.folder = folder
        self.max_bytes = _max_bytes() if max_bytes is True else (max_bytes or None)
        self._journal = journal
        self._base_url = base_url
        self._plans: dict[str, _Plan] = {}
        self._sizes: dict[Path, int] = {}  # bytes in each folder, counted once, then kept up to date
        # the archivings in flight, each done when it ends (kept, failed or released): a future
        # any thread can wait on, or an event loop through asyncio.wrap_future (no worker thread)
        self._settled: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keeper(folder={str(self.folder) if self.folder else None!r}, tasks={len(self._plans)})"

    # ------------------------------------------------------------------ plans
    def plan(self, task_id: str, folder: str | os.PathLike[str] | None, params: dict[str, Any] | None = None,
             *, remember: bool = True) -> None:
        """Keep ``task_id``'s outputs in ``folder`` (None: do not keep them). With ``remember`` the
        folder is written to the journal, so a later kernel that reattaches keeps them there too."""
        # Resolved: a kernel started elsewhere that reattaches archives into the same folder.
        path = Path(folder).expanduser().resolve() if folder else None
        with self._lock:
            known = self._plans.get(task_id)
            if known is not None and known.state in ("keeping", "kept") and known.folder == path:
                return
            self._plans[task_id] = _Plan(path, dict(params or (known.params if known else {})),
                                         list(known.files) if known else [])
        if remember and self._journal is not None:
            # the journal is a convenience here: keeping goes on without it
            with contextlib.suppress(Exception):  # "" records "not kept", NULL "not decided" (older rows)
                self._journal.set_save_to(task_id, str(path) if path else "", self._base_url)

    def folder_of(self, task_id: str) -> Path | None:
        """Where ``task_id``'s outputs are kept (None: not kept, or not known to this client)."""
        plan = self._plan_for(task_id)
        return plan.folder if plan is not None else None

    def files(self, task_id: str) -> list[Path]:
        plan = self._plans.get(task_id)
        return list(plan.files) if plan is not None else []

    def problem(self, task_id: str) -> str:
        """Why ``task_id``'s outputs were not kept ("" when they were, or are still to be)."""
        plan = self._plans.get(task_id)
        return plan.problem if plan is not None else ""

    def _plan_for(self, task_id: str) -> _Plan | None:
        plan = self._plans.get(task_id)
        if plan is not None or self._journal is None:
            return plan
        # A task created by another kernel or process: the journal says where it is to be kept.
        try:
            entry = self._journal.get(task_id, self._base_url)
        except Exception:
            return None
        if entry is None or entry.save_to is None:
            # Not decided here: whoever attaches to it decides (``plan``). Remembered, so that the
            # polls of a task nobody planned do not ask the journal again each time.
            with self._lock:
                return self._plans.setdefault(task_id, _Plan(None))
        with self._lock:
            plan = self._plans.setdefault(task_id, _Plan(Path(entry.save_to) if entry.save_to else None,
                                                         dict(entry.params or {})))
            if entry.files and all(Path(f).exists() for f in entry.files) and plan.state == "planned":
                plan.files, plan.state = [Path(f) for f in entry.files], "kept"
        return plan

    # ------------------------------------------------------------------ keeping
    def due(self, task: Task, *, retake: bool = False) -> tuple[Path, dict[str, Any]] | None:
        """The folder and request parameters to archive ``task`` with, when it is time to (once).

        Claims the task: the caller must then call :meth:`kept` or :meth:`failed`. ``retake``
        claims it also while another caller is archiving it: a blocking caller on the thread of
        the event loop that downloads it cannot wait for that download (files are written under
        temporary names, so two writers never clash)."""
        if task.status != SUCCEEDED or not task.outputs:
            return None
        plan = self._plan_for(task.id)
        if plan is None or plan.folder is None:
            return None
        with self._lock:
            if plan.state != "planned" and not (retake and plan.state == "keeping"):
                return None
            room = self._room_problem(plan.folder)
            if room:
                plan.state, plan.problem = "failed", room.format(id=task.id)
                warnings.warn(plan.problem, OutputsNotKept, stacklevel=4)
                return None
            plan.state = "keeping"
            plan.keepers += 1
            self._settled.setdefault(task.id, Future())
        return plan.folder, plan.params

    def in_flight(self, task_id: str) -> Future[None] | None:
        """What ends when the archiving of ``task_id`` under way does (None when none is)."""
        plan = self._plans.get(task_id)
        return self._settled.get(task_id) if plan is not None and plan.state == "keeping" else None

    def kept(self, task_id: str, paths: list[Path]) -> None:
        with self._lock:
            plan = self._plans.setdefault(task_id, _Plan(None))
            plan.files, plan.state, plan.problem, plan.keepers = list(paths), "kept", "", 0
            settled = self._settled.pop(task_id, None)
            if plan.folder is not None and plan.folder in self._sizes:
                self._sizes[plan.folder] += sum(_file_bytes(p) for p in paths)
        if settled is not None:
            settled.set_result(None)

    def released(self, task_id: str) -> None:
        """The archiving under way stopped before its end (cancelled, or an error that is not about
        the files): the task is to be kept still, by whoever reads it next (or waits for this one)."""
        with self._lock:
            plan = self._plans.get(task_id)
            if plan is None or plan.state != "keeping":
                return
            plan.keepers = max(plan.keepers - 1, 0)
            if plan.keepers:
                return  # another caller is archiving it still: its end settles it
            plan.state = "planned"
            settled = self._settled.pop(task_id, None)
        if settled is not None:
            settled.set_result(None)

    def failed(self, task_id: str, exc: BaseException) -> None:
        with self._lock:
            plan = self._plans.setdefault(task_id, _Plan(None))
            plan.state, plan.keepers = "failed", 0
            plan.problem = (f"runway-nb: task {task_id}'s outputs were not saved ({type(exc).__name__}: {exc}); "
                            f"archive them later with %runway fetch {task_id}")
            settled = self._settled.pop(task_id, None)
        if settled is not None:
            settled.set_result(None)
        warnings.warn(plan.problem, OutputsNotKept, stacklevel=4)

    def _room_problem(self, folder: Path) -> str:
        if self.max_bytes is None:
            return ""
        used = self._sizes.get(folder)
        if used is None:
            used = _folder_bytes(folder)
            self._sizes[folder] = used
        if used < self.max_bytes:
            return ""
        return (f"runway-nb: task {{id}}'s outputs were not saved: {folder} holds {_size(used)}, at its cap of "
                f"{_size(self.max_bytes)}. Make room, or raise the cap ({MAX_MB_ENV_VAR}=N, in MB), then "
                f"archive them with %runway fetch {{id}} (output links expire 24-48 h after the task).")


def _file_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed since it was written: it holds nothing
        return 0


def _folder_bytes(folder: Path) -> int:
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total

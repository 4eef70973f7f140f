"""The local output archive: the files of finished tasks, with the task's facts beside them.

Runway's output URLs expire 24-48 hours after a task ends. The archive keeps the outputs:

- ``<folder>/<task id>_<n>.<ext>``: output ``n`` of the task (the names ``handle.save`` and
  the task view's autosave use too, so every way of saving fills the same archive);
- ``<folder>/<task id>.json``: the task's facts: id, status, provider, base URL, task type,
  model, prompt, the request parameters, credits, times, status history, the output URLs as
  fetched and the local file names. Never the API key.

Files are recorded in the journal (``Journal.set_files``), so ``%runway history`` and a later
kernel know what is archived where.

- :func:`archive` downloads one task's outputs (GETting the task again first, for fresh URLs).
- :func:`fetch` archives the outputs of journalled tasks that were not saved yet, and says per
  task what happened (:class:`FetchReport`).
- :func:`remember_save` records that the user opted into saving a task's outputs, so that a
  new kernel that reattaches (``%runway attach --pending``) saves them too.
"""

from __future__ import annotations

import contextlib
import html
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runway_nb.api.lookup import prompt_of
from runway_nb.api.task import CANCELLED, FAILED, SUCCEEDED, TERMINAL, Task
from runway_nb.client.outputs import filename_for
from runway_nb.errors import NotFoundError, RunwayError

__all__ = [
    "DEFAULT_DIR",
    "FetchReport",
    "FetchResult",
    "archive",
    "archive_handle",
    "facts",
    "facts_path",
    "fetch",
    "is_archived",
    "remember_save",
    "write_facts",
]

DEFAULT_DIR = "runway_outputs"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def facts_path(folder: str | Path, task_id: str) -> Path:
    """Where the facts JSON of ``task_id`` goes (``<folder>/<safe id>.json``, as ``handle.save`` writes it)."""

    return Path(folder) / f"{filename_for(task_id, 0, 'x.json', None).rsplit('_', 1)[0]}.json"


def _journal_of(client: Any) -> Any:
    return getattr(client, "journal", None)


def facts(task: Task, params: dict[str, Any] | None = None, *, files: Iterable[str | Path] = (), client: Any = None,
          entry: Any = None, journal: Any = None) -> dict[str, Any]:
    """The task's facts as a JSON-ready dict (what goes beside its files)."""
    params = dict(params or (entry.params if entry is not None else {}) or {})
    settings = getattr(client, "settings", None)
    journal = journal if journal is not None else _journal_of(client)
    history: list[dict[str, Any]] = []
    if journal is not None:
        try:
            history = [{"status": s, "progress": p, "at": _iso(at)} for s, p, at in journal.history(task.id)]
        except Exception:
            history = []
    finished_at = next((h["at"] for h in reversed(history) if h["status"] in TERMINAL), None)
    return {
        "id": task.id,
        "status": task.status,
        "provider": getattr(client, "provider", None) or (entry.provider if entry is not None else None),
        "base_url": getattr(settings, "base_url", None) or (entry.base_url if entry is not None else None),
        "endpoint": params.get("endpoint") or (entry.endpoint if entry is not None else None),
        "model": params.get("model") or task.model or (entry.model if entry is not None else None),
        "prompt": prompt_of(_endpoint_of(params, entry), params) or (entry.prompt if entry is not None else None),
        "params": params,
        "outputs": list(task.outputs),
        "outputs_note": "output URLs expire 24-48 hours after the task; the files are the archive",
        "files": [Path(f).name for f in files],
        "cost": task.cost,
        "estimated_cost": task.estimated_cost if task.estimated_cost is not None else (
            entry.estimated_cost if entry is not None else None),
        "failure": task.failure,
        "failure_code": task.failure_code,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "submitted_at": _iso(entry.submitted_at) if entry is not None else None,
        "finished_at": finished_at,
        "status_history": history,
        "archived_at": _iso(time.time()),
        "journal_row": entry.rowid if entry is not None else None,
    }


def _endpoint_of(params: dict[str, Any], entry: Any) -> str | None:
    endpoint = params.get("endpoint") or (entry.endpoint if entry is not None else None)
    return endpoint if isinstance(endpoint, str) else None


def write_facts(folder: str | Path, task: Task, params: dict[str, Any] | None = None, *,
                files: Iterable[str | Path] = (), client: Any = None, entry: Any = None) -> Path:
    """Write the facts JSON of ``task`` into ``folder`` (atomically) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    journal = _journal_of(client)
    if entry is None and journal is not None:
        try:
            entry = journal.get(task.id, getattr(getattr(client, "settings", None), "base_url", None))
        except Exception:
            entry = None
    path = facts_path(folder, task.id)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.part")  # one per writer: no rename race
    tmp.write_text(json.dumps(facts(task, params, files=files, client=client, entry=entry), indent=2,
                              default=str))
    tmp.replace(path)
    return path


def archive(client: Any, task: Task | str, folder: str | Path = DEFAULT_DIR, *, params: dict[str, Any] | None = None,
            refetch: bool = True, entry: Any = None) -> list[Path]:
    """Download the outputs of a SUCCEEDED task into ``folder``, with its facts JSON beside them.

    ``task`` is a :class:`Task` or a task id. With ``refetch`` (default) the task is first GET
    again, for output URLs that have not expired. Returns the output paths (recorded in the
    journal). Raises :class:`RunwayError` when the task did not succeed. ``client`` is a sync
    :class:`runway_nb.Runway`.
    """
    task_id = task if isinstance(task, str) else task.id
    if refetch or isinstance(task, str):
        task = client.get_task(task_id)
    assert isinstance(task, Task)
    if task.status != SUCCEEDED:
        raise RunwayError(f"task {task_id} is {task.status}; only a SUCCEEDED task has outputs to archive")
    journal = _journal_of(client)
    if journal is not None:  # the fresh output URLs, even when the client had seen this state before
        with contextlib.suppress(Exception):
            journal.update(task, client.settings.base_url)
    if params is None:
        if entry is None and journal is not None:
            entry = journal.get(task_id, client.settings.base_url)
        params = entry.params if entry is not None else {}
    kept = [Path(p) for p in client.keeper.files(task_id)]  # the GET above may have archived them there
    where = Path(folder).expanduser().absolute()
    if kept and all(p.exists() and p.absolute().parent == where for p in kept):
        paths = kept
    else:
        paths = client.save_outputs(task, folder, params)  # downloads; records the files in the journal
    write_facts(folder, task, params, files=paths, client=client, entry=entry)
    return paths


def archive_handle(handle: Any, folder: str | Path = DEFAULT_DIR) -> list[Path]:
    """Archive a finished handle's outputs (``handle.files`` is set), reusing its last task when it
    succeeded (its URLs are fresh), else GETting it again."""
    task = handle.task
    fresh = task is not None and task.status == SUCCEEDED
    paths = archive(handle.client, task if fresh else handle.id, folder, params=handle.params, refetch=not fresh)
    handle.files = list(paths)
    return paths


def remember_save(client: Any, task_id: str, folder: str | Path | None) -> None:
    """Record that ``task_id``'s outputs are to be archived in ``folder`` (the client's keeper
    journals it, so that a new kernel that reattaches archives them there too)."""
    if folder:
        client.keeper.plan(task_id, folder)


def is_archived(entry: Any) -> bool:
    """Whether the journal lists files for ``entry`` and all of them exist."""
    files = list(getattr(entry, "files", None) or [])
    return bool(files) and all(Path(f).exists() for f in files)


# ----------------------------------------------------------------------------------------
# fetching what was not saved
# ----------------------------------------------------------------------------------------

ARCHIVED = "archived"
ALREADY = "already archived"
NOT_FINISHED = "not finished"
NOTHING = "nothing to fetch"
GONE = "gone"
ERROR = "error"
SKIPPED = "skipped"


@dataclass
class FetchResult:
    task_id: str
    outcome: str
    files: list[Path] = field(default_factory=list)
    note: str = ""


class FetchReport:
    """What ``%runway fetch`` did, per task: ``text/plain`` and escaped ``text/html``."""

    def __init__(self, results: Sequence[FetchResult], folder: str | Path | None = None, title: str = ""):
        self.results = list(results)
        self.folder = folder
        self.title = title

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[FetchResult]:
        return iter(self.results)

    def by_outcome(self, outcome: str) -> list[FetchResult]:
        return [r for r in self.results if r.outcome == outcome]

    @property
    def archived(self) -> list[FetchResult]:
        return self.by_outcome(ARCHIVED)

    def _summary(self) -> str:
        if not self.results:
            return "Nothing to fetch: every finished task's outputs are archived."
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        head = ", ".join(f"{n} {k}" for k, n in counts.items())
        where = f" into {self.folder}" if self.folder and counts.get(ARCHIVED) else ""
        return f"{self.title or 'Fetched'}{where}: {head}"

    def _rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for r in self.results:
            detail = ", ".join(str(p) for p in r.files) if r.files else ""
            text = "; ".join(x for x in (detail, r.note) if x)
            rows.append((r.task_id, r.outcome, text))
        return rows

    def __repr__(self) -> str:
        lines = [self._summary()]
        rows = self._rows()
        if rows:
            w0 = max(len(r[0]) for r in rows)
            w1 = max(len(r[1]) for r in rows)
            lines += [f"  {a.ljust(w0)}  {b.ljust(w1)}  {c}".rstrip() for a, b, c in rows]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        out = f"<div class='rnb-fetch'><strong>{esc(self._summary())}</strong>"
        rows = self._rows()
        if rows:
            body = "".join(f"<tr><td><code>{esc(a)}</code></td><td>{esc(b)}</td><td>{esc(c)}</td></tr>"
                           for a, b, c in rows)
            out += ("<table><thead><tr><th>id</th><th>outcome</th><th>files / note</th></tr></thead>"
                    f"<tbody>{body}</tbody></table>")
        return out + "</div>"


def fetch(client: Any, entries: Sequence[Any], folder: str | Path | None = None, *,
          force: bool = False, default_folder: str | Path | None = None) -> FetchReport:
    """Archive the outputs of journalled tasks (``entries``) that are not archived yet.

    Each task is GET again (fresh output URLs; the journal is updated) and, if it SUCCEEDED,
    its outputs are downloaded into ``folder`` (default: the folder the user chose for it when
    submitting, else ``default_folder``, else ``./runway_outputs``). Already archived tasks (files recorded and present)
    are left alone unless ``force``. Errors are reported per task, never raised.
    """
    results: list[FetchResult] = []
    for entry in entries:
        task_id = entry.task_id
        if not task_id:
            continue
        if not force and is_archived(entry):
            results.append(FetchResult(task_id, ALREADY, [Path(f) for f in entry.files]))
            continue
        if entry.status in (FAILED, CANCELLED):
            results.append(FetchResult(task_id, NOTHING, note=f"the task {entry.status}"))
            continue
        target = Path(folder or entry.save_to or default_folder or DEFAULT_DIR)
        try:
            task = client.get_task(task_id)
        except NotFoundError:
            results.append(FetchResult(task_id, GONE, note="the server no longer has this task (deleted, or "
                                                           "its outputs expired)"))
            continue
        except RunwayError as exc:
            results.append(FetchResult(task_id, ERROR, note=f"{type(exc).__name__}: {exc}"))
            continue
        if task.status != SUCCEEDED:
            if task.finished:
                results.append(FetchResult(task_id, NOTHING, note=f"the task {task.status}"))
            else:
                results.append(FetchResult(task_id, NOT_FINISHED,
                                           note=f"{task.status}: watch it with %runway attach {task_id}"))
            continue
        try:
            paths = archive(client, task, target, params=entry.params, refetch=False, entry=entry)
        except (RunwayError, OSError) as exc:
            results.append(FetchResult(task_id, ERROR, note=f"{type(exc).__name__}: {exc}"))
            continue
        results.append(FetchResult(task_id, ARCHIVED, list(paths)))
    folders = {str(Path(folder or e.save_to or default_folder or DEFAULT_DIR)) for e in entries if e.task_id}
    return FetchReport(results, next(iter(folders)) if len(folders) == 1 else None)

"""The task journal, from a notebook: past tasks, watching them again, archiving their outputs.

These read the task journal (``runway_nb.client.journal``), so they work in a new kernel, after a
crash, or in another notebook: every task submitted on this machine is there, with its request
parameters, last known status and archived files. Each takes parsed values; ``%runway history``,
``%runway attach`` and ``%runway fetch`` are parsed in :mod:`runway_nb.notebook.magics.journal`.

- :func:`history` lists past tasks (default: the current provider and base URL; ``all_`` every
  provider) and marks creates whose outcome is unknown with how to settle them; :func:`resolve`
  settles one.
- :func:`attach` resumes watching one task by id, or every unfinished task (``pending``), as the
  usual task views (a Grid when there are several and it is installed).
- :func:`fetch_outputs` GETs finished tasks again (fresh output URLs) and archives their outputs.

Tasks of the *in-process* simulator live only in the kernel that made them: from any other
process they are listed as "ended with its kernel" and never polled.
"""

from __future__ import annotations

import html
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from runway_nb.api.task import TERMINAL
from runway_nb.client.journal import REFUSED, SUBMITTING, UNKNOWN

if TYPE_CHECKING:
    from runway_nb.client.archive import FetchReport
    from runway_nb.client.handles import AnyTaskHandle
    from runway_nb.notebook.sweep import Sweep

__all__ = [
    "Assign",
    "HistoryTable",
    "SaveChoice",
    "attach",
    "attach_pending",
    "fetch_outputs",
    "history",
    "pending_entries",
    "reachability",
    "resolve",
]

# ``save`` of a task: None (the folder chosen at submit time, else the session's default), True
# (the session's save folder), False (do not save) or a folder.
SaveChoice = bool | str | None
# Puts a result into the notebook's namespace under a name (the magic's ``-o NAME``).
Assign = Callable[[str, object], None]

ENDED_WITH_KERNEL = "ended with its kernel"
DEFAULT_LIMIT = 50


# ----------------------------------------------------------------------------------------
# where we are, and whether a journalled task can still be reached from here
# ----------------------------------------------------------------------------------------

def _journal(session: Any = None) -> Any:
    """The journal the session's client writes to (normally the default journal)."""
    from runway_nb.client.journal import default_journal

    journal = None
    if session is not None:
        clients = list(getattr(session, "_clients", {}).values())
        journal = next((c.journal for c in clients if getattr(c, "journal", None) is not None), None)
    journal = journal or default_journal()
    if journal is None:
        raise UsageError("the task journal is turned off (RUNWAY_NB_JOURNAL=off): there is no history to read")
    return journal


def _current_client(session: Any) -> Any:
    """The session's client, or None when it cannot be made (e.g. provider runway without a key)."""
    from runway_nb.errors import ValidationError

    try:
        return session.client
    except ValidationError:
        return None


def _in_process_base_url() -> str:
    from runway_nb.client.settings import PROVIDERS

    return PROVIDERS["sim"].base_url


def _pid_alive(pid: int | None) -> bool | None:
    """True/False when it can tell, None when it cannot (no pid, or no way to ask)."""
    if not pid:
        return None
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate the process on Windows
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


def reachability(entry: Any) -> str | None:
    """Why a journalled task cannot be polled from this process, or None if it can be.

    Only tasks of the in-process simulator are unreachable: they live in the process (kernel)
    that made them and end with it.
    """
    if entry.provider != "sim" or entry.base_url.rstrip("/") != _in_process_base_url():
        return None
    if entry.pid == os.getpid():
        return None
    alive = _pid_alive(entry.pid)
    if alive is False or alive is None:
        return (f"{ENDED_WITH_KERNEL}: it ran in the built-in simulator of a kernel that has stopped "
                f"(pid {entry.pid}); the in-process simulator's tasks end with their kernel")
    return (f"it runs in the built-in simulator of another live kernel (pid {entry.pid}); only that kernel "
            f"can watch it")


def _lost(entry: Any) -> bool:
    return not entry.finished and reachability(entry) is not None and (
        entry.pid != os.getpid() and _pid_alive(entry.pid) is not True)


def _state(entry: Any) -> str:
    """The status shown for an entry (a task status, or what became of its create)."""
    if entry.task_id is None:
        if entry.submit_state == SUBMITTING:
            alive = _pid_alive(entry.pid)
            return "submitting" if alive else "outcome unknown"
        if entry.submit_state == UNKNOWN:
            return "outcome unknown"
        if entry.submit_state == REFUSED:
            return "not created"
        return str(entry.submit_state)
    status = entry.status or "PENDING"
    if status not in TERMINAL and _lost(entry):
        return ENDED_WITH_KERNEL
    return status


def _needs_resolving(entry: Any) -> bool:
    return _state(entry) == "outcome unknown"


# ----------------------------------------------------------------------------------------
# %runway history
# ----------------------------------------------------------------------------------------

_COLUMNS = ("row", "id", "status", "model", "submitted", "files", "prompt")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _files_cell(entry: Any) -> str:
    if not entry.files:
        return ""
    present = sum(1 for f in entry.files if Path(f).exists())
    return f"{present}" if present == len(entry.files) else f"{present}/{len(entry.files)} present"


def _row(entry: Any, with_provider: bool) -> dict[str, str]:
    prompt = (entry.prompt or "").replace("\n", " ")
    if len(prompt) > 60:
        prompt = prompt[:59] + "…"
    status = _state(entry)
    if status == "RUNNING" and entry.progress is not None:
        status += f" {entry.progress:.0%}"
    if entry.status == "FAILED" and entry.failure_code:
        status += f" [{entry.failure_code}]"
    if status == ENDED_WITH_KERNEL and entry.status:
        status += f" (last seen {entry.status})"
    row = {"row": str(entry.rowid), "id": entry.task_id or "(none)", "status": status,
           "model": entry.model or "", "submitted": _when(entry.submitted_at), "files": _files_cell(entry),
           "prompt": prompt}
    if with_provider:
        row["provider"] = entry.provider if entry.base_url.rstrip("/") == _in_process_base_url() or \
            entry.provider != "sim" else f"sim {entry.base_url}"
    return row


def _resolve_note(entry: Any) -> str:
    why = f" ({entry.error})" if entry.error else (" (the process stopped while the create request was in flight)"
                                                    if entry.submit_state == SUBMITTING else "")
    what = f"{entry.endpoint or 'task'} {entry.model or ''}".strip()
    prompt = f" {entry.prompt[:40]!r}" if entry.prompt else ""
    return (f"row {entry.rowid}: the create of {what}{prompt} at {_when(entry.submitted_at)} got no answer{why}; "
            f"it may have made a task (and spent credits). Look for it in your task list (Runway's dashboard, "
            f"or %runway history --all), then settle it: %runway history --resolve {entry.rowid} TASK_ID if it "
            f"made that task, or %runway history --resolve {entry.rowid} none if it made nothing. Do not "
            f"submit it again before you know.")


class HistoryTable:
    """Past tasks from the journal: ``text/plain`` and escaped ``text/html``.

    ``.entries`` holds the journal entries shown (newest first); ``.ids`` their task ids.
    """

    def __init__(self, entries: Sequence[Any], *, scope: str, total: int | None = None,
                 with_provider: bool = False, notes: Sequence[str] = ()):
        self.entries = list(entries)
        self.scope = scope
        self.total = len(self.entries) if total is None else total
        self.with_provider = with_provider
        self.columns = _COLUMNS[:2] + (("provider",) if with_provider else ()) + _COLUMNS[2:]
        self.rows = [_row(e, with_provider) for e in self.entries]
        self.notes = [_resolve_note(e) for e in self.entries if _needs_resolving(e)] + list(notes)

    @property
    def ids(self) -> list[str]:
        return [e.task_id for e in self.entries if e.task_id]

    def __len__(self) -> int:
        return len(self.entries)

    def _title(self) -> str:
        if not self.entries:
            return f"No tasks in the journal for {self.scope}."
        more = f" (the newest {len(self.entries)} of {self.total}; --limit N shows more)" \
            if self.total > len(self.entries) else ""
        return f"Task history for {self.scope}: {len(self.entries)} task(s), newest first{more}"

    def __repr__(self) -> str:
        lines = [self._title()]
        if self.rows:
            widths = {c: max(len(c), *(len(r[c]) for r in self.rows)) for c in self.columns}
            lines.append("  ".join(c.ljust(widths[c]) for c in self.columns).rstrip())
            lines.append("  ".join("-" * widths[c] for c in self.columns))
            for r in self.rows:
                lines.append("  ".join(r[c].ljust(widths[c]) for c in self.columns).rstrip())
        if self.notes:
            lines.append("")
            lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        out = f"<div class='rnb-history'><strong>{esc(self._title())}</strong>"
        if self.rows:
            head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
            body = "".join("<tr>" + "".join(f"<td>{esc(r[c])}</td>" for c in self.columns) + "</tr>"
                           for r in self.rows)
            out += (f'<div style="overflow-x:auto;max-width:100%"><table class="rnb-task-table"><thead><tr>{head}</tr>'
                    f"</thead><tbody>{body}</tbody></table></div>")
        if self.notes:
            out += "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>"
        return out + "</div>"


_STATUS_WORDS = {"PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}
_STATE_WORDS = {"UNKNOWN": "outcome unknown", "OUTCOME-UNKNOWN": "outcome unknown",
                "OUTCOME_UNKNOWN": "outcome unknown", "SUBMITTING": "submitting",
                "NOT-CREATED": "not created", "REFUSED": "not created", "ENDED": ENDED_WITH_KERNEL,
                "LOST": ENDED_WITH_KERNEL}


def _status_filter(words: Sequence[str]) -> tuple[set[str], bool]:
    wanted: set[str] = set()
    unfinished = False
    for word in words:
        for part in str(word).split(","):
            key = part.strip().upper()
            if not key:
                continue
            if key in ("UNFINISHED", "ACTIVE"):
                unfinished = True
            elif key in _STATUS_WORDS:
                wanted.add(key)
            elif key in _STATE_WORDS:
                wanted.add(_STATE_WORDS[key])
            else:
                raise UsageError(f"%runway history --status: {part!r} is not a status; use "
                                 f"{', '.join(sorted(_STATUS_WORDS))}, unfinished, unknown, submitting, "
                                 f"not-created or ended")
    return wanted, unfinished


def _matches(entry: Any, wanted: set[str], unfinished: bool) -> bool:
    if not wanted and not unfinished:
        return True
    state = _state(entry)
    if unfinished and entry.task_id is not None and state not in TERMINAL and state != ENDED_WITH_KERNEL:
        return True
    return state in wanted


def _scope(client: Any, all_: bool) -> tuple[dict[str, Any], str]:
    if all_ or client is None:
        return {}, "every provider" + ("" if all_ else " (no client could be made for the session's provider)")
    base = client.settings.base_url
    where = "built-in simulator, in-process" if client.settings.in_process_sim else base
    return {"provider": client.provider, "base_url": base}, f"{client.provider} ({where})"


def history(session: Any = None, *, all_: bool = False, status: Sequence[str] = (),
            limit: int | None = DEFAULT_LIMIT) -> HistoryTable:
    """Past tasks from the journal as a :class:`HistoryTable` (the Python side of ``%runway history``)."""
    from runway_nb.notebook.session import get_session

    session = session or get_session()
    client = _current_client(session)
    journal = _journal(session)
    where, scope = _scope(client, all_)
    wanted, unfinished = _status_filter(status)
    found = [e for e in journal.entries(**where) if _matches(e, wanted, unfinished)]
    shown = found[:limit] if limit else found
    return HistoryTable(shown, scope=scope, total=len(found), with_provider=all_ or client is None)


def resolve(rowid: Any, task_id: str, session: Any = None) -> str:
    """Settle an outcome-unknown create (``%runway history --resolve ROWID TASK_ID|none``).

    With a task id, the task is looked up on the server first when the session's client talks
    to the same provider and base URL (so a typo cannot settle it wrongly). Prints and returns
    what was recorded.
    """
    from runway_nb.errors import NotFoundError, RunwayError
    from runway_nb.notebook.session import get_session

    session = session or get_session()
    journal = _journal(session)
    try:
        row = int(str(rowid).lstrip("#"))
    except ValueError:
        raise UsageError(f"%runway history --resolve: {rowid!r} is not a row number (the 'row' column of "
                         f"%runway history)") from None
    entry = journal.row(row)
    if entry is None:
        raise UsageError(f"%runway history --resolve: there is no row {row} in the journal")
    if entry.task_id is not None:
        raise UsageError(f"%runway history --resolve: row {row} is settled already: it is task {entry.task_id}")
    if entry.submit_state == REFUSED:
        raise UsageError(f"%runway history --resolve: row {row} is settled already: it made no task")
    if entry.submit_state == SUBMITTING and _pid_alive(entry.pid):
        raise UsageError(f"%runway history --resolve: row {row} is being submitted right now by process "
                         f"{entry.pid}; wait for its answer")
    if task_id.strip().lower() in ("none", "nothing", "-"):
        journal.resolve_unknown(row, None)
        message = f"Row {row} settled: its create made no task."
        print(message)
        return message
    task_id = task_id.strip()
    client = _current_client(session)
    checked = ""
    task = None
    if client is not None and client.provider == entry.provider and \
            client.settings.base_url.rstrip("/") == entry.base_url.rstrip("/"):
        try:
            task = client.get_task(task_id)
        except NotFoundError:
            raise UsageError(f"%runway history --resolve: there is no task {task_id} on {client.provider} "
                             f"({client.settings.base_url}); row {row} is left unsettled") from None
        except RunwayError as exc:
            raise UsageError(f"%runway history --resolve: could not check task {task_id} ({type(exc).__name__}: "
                             f"{exc}); row {row} is left unsettled") from None
        checked = f" ({task.status} on {client.provider})"
    other = journal.get(task_id, entry.base_url)
    journal.resolve_unknown(row, task_id)
    if task is not None:
        journal.update(task, entry.base_url)
    if other is not None and other.rowid != row:
        checked += f"; merged with row {other.rowid}, which already listed it"
    message = f"Row {row} settled: its create made task {task_id}{checked}."
    print(message)
    return message


# ----------------------------------------------------------------------------------------
# %runway attach --pending / ID
# ----------------------------------------------------------------------------------------

def pending_entries(session: Any = None) -> tuple[list[Any], list[tuple[Any, str]]]:
    """Unfinished journalled tasks of the session's provider and base URL: (reachable, [(entry, why)])."""
    from runway_nb.notebook.session import get_session

    session = session or get_session()
    client = session.client
    entries = _journal(session).entries(unfinished=True, provider=client.provider, base_url=client.settings.base_url)
    ok, skipped = [], []
    for entry in reversed(entries):  # oldest first, as submitted
        why = reachability(entry)
        if why is None:
            ok.append(entry)
        else:
            skipped.append((entry, why))
    return ok, skipped


def attach_pending(session: Any = None, *, save: SaveChoice = None) -> tuple[AnyTaskHandle | Sweep | None, list[str]]:
    """Resume watching every unfinished task of the journal (this provider and base URL).

    Returns ``(result, notes)``: ``result`` is None (nothing to watch), one handle, or a
    :class:`~runway_nb.notebook.sweep.Sweep` of handles.
    """
    from runway_nb.client.archive import fetch, is_archived
    from runway_nb.errors import NotFoundError
    from runway_nb.notebook.session import get_session
    from runway_nb.notebook.sweep import Sweep, combo_from_params

    session = session or get_session()
    entries, skipped = pending_entries(session)
    notes = [f"task {e.task_id}: not watched: {why}" for e, why in skipped[:3]]
    if len(skipped) > 3:
        notes.append(f"... and {len(skipped) - 3} more task(s) not watched for the same kind of reason "
                     f"(%runway history --status ended lists them)")
    handles, combos = [], []
    for entry in entries:
        try:
            handle = session.attach(entry.task_id, entry=entry, save=save)
        except NotFoundError:
            notes.append(f"task {entry.task_id}: the server no longer has it (deleted or cancelled elsewhere)")
            continue
        handles.append(handle)
        combos.append(combo_from_params(entry.params))
    client = session.client
    journal = _journal(session)
    unknown = [e for e in journal.entries(provider=client.provider, base_url=client.settings.base_url)
               if _needs_resolving(e)]
    if unknown:
        notes.append(f"{len(unknown)} create(s) with an unknown outcome (rows "
                     f"{', '.join(str(e.rowid) for e in unknown[:10])}): see %runway history --status unknown")
    unsaved = [e for e in journal.entries(status=["SUCCEEDED"], provider=client.provider,
                                          base_url=client.settings.base_url)
               if e.save_to and not is_archived(e) and reachability(e) is None]
    if unsaved:  # they finished while no kernel watched: archive them now, before their links expire
        report = fetch(client, unsaved)
        notes.append(f"{len(report.archived)} of {len(unsaved)} task(s) that finished while no kernel watched "
                     f"were archived now" + ("" if len(report.archived) == len(unsaved) else
                                             ": %runway fetch --all says why the others were not"))
    if not handles:
        return None, notes
    if len(handles) == 1:
        return handles[0], notes
    folders = {getattr(h, "save_to", None) for h in handles}
    sweep = Sweep(tasks=handles, combos=combos, save_to=folders.pop() if len(folders) == 1 else None)
    return session.add_sweep(sweep), notes


def attach(task_id: str | None, *, pending: bool = False, out: str | None = None, wait: bool = False,
           save: SaveChoice = None, assign: Assign | None = None) -> AnyTaskHandle | Sweep | None:
    """Watch one task again by id, or (``pending``) every unfinished task of the journal.

    The Python side of ``%runway attach ID [-o NAME] [--wait] [--save [DIR]|--no-save]`` and
    ``%runway attach --pending [...]``. ``save`` as in :meth:`Session.attach` (False: do not
    save). With ``out`` and ``assign``, ``assign(out, result)`` runs before any wait, so the
    variable is there while the task runs. Returns None when ``pending`` finds nothing to watch.
    """
    from runway_nb.notebook.session import get_session
    from runway_nb.notebook.sweep import Sweep

    session = get_session()
    result: AnyTaskHandle | Sweep | None
    if pending:
        if task_id:
            raise UsageError("%runway attach: give a task id or --pending, not both")
        result, notes = attach_pending(session, save=save)
        for note in notes:
            print(f"runway-nb: {note}", file=sys.stderr)
        if result is None:
            client = session.client
            print(f"No unfinished tasks in the journal for {_scope(client, False)[1]}.")
            return None
        count = len(result) if isinstance(result, Sweep) else 1
        print(f"runway-nb: watching {count} unfinished task(s) again.", file=sys.stderr)
    else:
        if not task_id:
            raise UsageError("%runway attach needs a task id (or --pending for every unfinished task), and "
                             "optionally -o NAME")
        client = session.client
        journal = client.journal
        entry = journal.get(task_id, client.settings.base_url) if journal is not None else None
        known = entry if entry is not None else (journal.get(task_id) if journal is not None else None)
        why = reachability(known) if known is not None else None
        if why is not None:
            raise UsageError(f"%runway attach: task {task_id} cannot be watched from here: {why}")
        result = session.attach(task_id, entry=entry, save=save)
    if out and assign is not None:
        assign(out, result)
    if wait:
        _wait(session, result)
    return result


def _wait(session: Any, result: Any) -> None:
    from runway_nb.notebook.session import wait_with_progress
    from runway_nb.notebook.sweep import Sweep

    try:
        if isinstance(result, Sweep):
            result.wait(progress=True)
            for handle in result.tasks:
                session.refresh(handle)
        else:
            wait_with_progress(result, raise_on_failure=False)
            session.refresh(result)
    except KeyboardInterrupt:
        print("\nrunway-nb: stopped waiting; the task(s) keep running on the server.", file=sys.stderr)


# ----------------------------------------------------------------------------------------
# %runway fetch
# ----------------------------------------------------------------------------------------

def fetch_outputs(ids: Sequence[str], *, all_: bool = False, folder: str | None = None,
                  force: bool = False) -> FetchReport:
    """Archive the outputs of finished tasks not saved yet: ``ids``, or (``all_``) every finished task
    of the session's provider and base URL (the Python side of ``%runway fetch``).

    Each task is GET again for fresh output URLs. ``folder`` is where the files go (default: the
    folder chosen when the task was submitted, else the session's save folder when saving is on,
    else ``./runway_outputs``); ``force`` archives again what is archived already.
    """
    from runway_nb.client.archive import SKIPPED, FetchReport, FetchResult, fetch
    from runway_nb.notebook.session import get_session

    if bool(ids) == bool(all_):
        raise UsageError("%runway fetch needs task id(s) or --all (every finished task of this provider "
                         "whose outputs are not archived yet)")
    session = get_session()
    client = session.client
    journal = _journal(session)
    base = client.settings.base_url
    skipped: list[FetchResult] = []
    if all_:
        entries = [e for e in journal.entries(provider=client.provider, base_url=base)
                   if e.task_id and e.status not in ("FAILED", "CANCELLED")]
    else:
        entries = []
        for task_id in ids:
            entry = journal.get(task_id, base)
            if entry is None:
                elsewhere = journal.get(task_id)
                if elsewhere is not None:
                    raise UsageError(f"%runway fetch: task {task_id} was made on {elsewhere.provider} "
                                     f"({elsewhere.base_url}), not on this session's {client.provider} ({base})")
                # Not journalled (made elsewhere): record it, then fetch it.
                session.attach(task_id)
                entry = journal.get(task_id, base)
            if entry is not None:
                entries.append(entry)
    reachable = []
    for entry in entries:
        why = reachability(entry)
        if why is None:
            reachable.append(entry)
        else:
            skipped.append(FetchResult(entry.task_id, SKIPPED, note=why))
    default = session.save_folder(True) if session.defaults.get("save") else None
    report = fetch(client, reachable, folder, force=force, default_folder=default)
    results = list(report.results) + skipped
    if all_:  # --all lists only what it did something about, plus skips
        results = [r for r in results if r.outcome != "already archived"]
        title = f"Fetched for {_scope(client, False)[1]}"
    else:
        title = "Fetched"
    for handle in session.tasks:  # handles in this session learn their files
        match = next((r for r in results if r.task_id == handle.id and r.files), None)
        if match is not None and not handle.files:
            handle.files = list(match.files)
    return FetchReport(results, report.folder, title=title)


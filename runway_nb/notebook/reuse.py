"""No second bill by accident: a re-run cell shows the task its identical request already made.

- **Where a request comes from** (:class:`Origin`): the notebook (its path when the kernel
  knows it, else the working folder) and the cell (its id when the front end sends one, else
  the cell's text; from Python, the call site, or an explicit ``key=``).
- **Seeds**: a model with a ``seed`` field and no seed given gets the cell's seed, drawn once
  and kept in the journal, so re-running the cell sends the identical request. ``new`` draws
  another.
- **Identical** (:func:`fingerprint`): endpoint and every field of the body as built by
  ``client.prepare``; media by content (data URIs and files to upload are hashed), URLs as given.
- **Reused** (:func:`find_earlier`): the newest task of this cell of this notebook with that
  fingerprint on the same server (two cells sending one request are two deliberate tasks),
  when it is running or it succeeded and its outputs are still reachable (the server has it,
  or its archived files exist). A create whose outcome is unknown blocks the request
  (:class:`UnsettledRequest`) until it is settled or ``new`` is asked for. A widget's button
  (the panel's Generate) runs in no cell and always sends.

Off with the session setting ``reuse=false`` or ``RUNWAY_NB_REUSE=off``; see ``docs/journal.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import inspect
import json
import linecache
import os
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_nb.errors import OutcomeUnknownError, RunwayError

if TYPE_CHECKING:
    from runway_nb.api.media import Prepared
    from runway_nb.api.request import Draft
    from runway_nb.client.journal import Entry, Journal, RequestTag

# Task states, as in runway_nb.api.task (not imported: the magic loads this module, and pydantic must wait).
SUCCEEDED, FAILED, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLED"

__all__ = ["ENV", "Origin", "UnsettledRequest", "another_hint", "asking_from_magic",
           "call_site_key", "env_allows", "find_earlier", "fingerprint", "install_cell_hook", "magic_cell_key",
           "notebook_scope", "outside_cells", "reuse_line", "running_cell_id"]

ENV = "RUNWAY_NB_REUSE"  # "off" turns reuse off for the process
_PACKAGE = str(Path(__file__).resolve().parents[1])  # frames in here are not the caller's

# The cell IPython is running, as its pre_run_cell hook saw it (``info.cell_id``).
_running: dict[str, str | None] = {"cell_id": None}
_hooked: set[int] = set()
_from_magic: contextvars.ContextVar[bool] = contextvars.ContextVar("runway_nb_from_magic", default=False)


def env_allows() -> bool:
    """False when ``RUNWAY_NB_REUSE`` is off (off, 0, false, no)."""
    return os.environ.get(ENV, "").strip().lower() not in ("off", "0", "false", "no", "none")


# ----------------------------------------------------------------------------------------
# where a request comes from
# ----------------------------------------------------------------------------------------

@dataclass
class Origin:
    """The notebook and cell a request comes from; ``new`` asks for another task."""

    scope: str
    cell: str
    new: bool = False
    seed: int | None = None  # the cell's seed, once read or drawn
    reused: list[tuple[Any, Entry]] = field(default_factory=list)  # (handle, journal row) shown again

    def cell_seed(self, journal: Journal) -> int:
        """The cell's seed: the one kept in the journal, or (none yet, or ``new``) a fresh one, kept."""
        if self.seed is None:
            kept = None if self.new else journal.cell_seed(self.scope, self.cell)
            if kept is None:
                kept = random.randrange(0, 4_294_967_296)
                journal.set_cell_seed(self.scope, self.cell, kept)
            self.seed = kept
        return self.seed

    def tag(self, request: str) -> RequestTag:
        from runway_nb.client.journal import RequestTag

        return RequestTag(fingerprint=request, scope=self.scope, cell=self.cell)


def _ipython() -> Any:
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def notebook_scope(ip: Any = None) -> str:
    """This notebook: its path when the kernel knows it (``JPY_SESSION_NAME``, set by
    jupyter_server, or ``__session__``), else the working folder (nbclient, papermill, scripts)."""
    ip = ip if ip is not None else _ipython()
    name = os.environ.get("JPY_SESSION_NAME") or (ip.user_ns.get("__session__") if ip is not None else None)
    if isinstance(name, str) and name.strip():
        return "notebook:" + name.strip()
    return "folder:" + os.getcwd()


def _pre_run_cell(info: Any) -> None:
    cell_id = getattr(info, "cell_id", None)
    _running["cell_id"] = cell_id if isinstance(cell_id, str) and cell_id else None


def _post_run_cell(*_: Any) -> None:
    _running["cell_id"] = None


def install_cell_hook(ip: Any = None) -> None:
    """Keep the running cell's id (``info.cell_id`` of IPython's ``pre_run_cell``); once per shell."""
    ip = ip if ip is not None else _ipython()
    if ip is None or id(ip) in _hooked:
        return
    ip.events.register("pre_run_cell", _pre_run_cell)
    ip.events.register("post_run_cell", _post_run_cell)
    _hooked.add(id(ip))


def running_cell_id(ip: Any = None) -> str | None:
    """The running cell's id: from the execute request (nbformat 4.5 cell ids, sent by JupyterLab
    and Notebook 7 as ``metadata.cellId``), else as IPython's hook saw it; None without one."""
    ip = ip if ip is not None else _ipython()
    kernel = getattr(ip, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if callable(get_parent):
        with contextlib.suppress(Exception):  # an older kernel: no parent per channel
            parent = get_parent("shell")
            cell_id = (parent.get("metadata") or {}).get("cellId") if isinstance(parent, dict) else None
            if isinstance(cell_id, str) and cell_id:
                return cell_id
    return _running["cell_id"]


def outside_cells(ip: Any = None) -> bool:
    """Whether a kernel is handling a widget's message (a button press) rather than running a cell:
    there is no cell to key on, and a press asks for a task."""
    kernel = getattr(ip if ip is not None else _ipython(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if not callable(get_parent):
        return False
    with contextlib.suppress(Exception):
        parent = get_parent("shell")
        kind = (parent.get("header") or {}).get("msg_type") if isinstance(parent, dict) else None
        return kind == "comm_msg"
    return False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def magic_cell_key(options: Mapping[str, Any], body: str | None, ip: Any = None) -> str:
    """A ``%%runway`` cell: its id, else its text (the options but ``--new``, and the body)."""
    cell_id = running_cell_id(ip)
    if cell_id:
        return f"cell:{cell_id}"
    shown = {k: v for k, v in sorted(options.items()) if k != "new"}
    return "text:" + _digest(json.dumps([shown, body], sort_keys=True, default=str))


def call_site_key(key: str | None = None, ip: Any = None) -> str:
    """``generate()``/``compare()`` from Python: ``key`` when given, else where they were called
    from (the cell id and line in a notebook cell, else the cell's text and line, else file and line)."""
    if key:
        return str(key)
    frame = inspect.currentframe()
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "site:?"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    if filename.startswith("<") or Path(filename).parent.name.startswith("ipykernel_"):
        cell_id = running_cell_id(ip)
        if cell_id:
            return f"cell:{cell_id}:{line}"
        return f"text:{_digest(''.join(linecache.getlines(filename)))}:{line}"
    return f"site:{os.path.abspath(filename)}:{line}"


@contextlib.contextmanager
def asking_from_magic() -> Iterator[None]:
    """Messages inside this block say ``--new`` (the magic) rather than ``new=True`` (Python)."""
    token = _from_magic.set(True)
    try:
        yield
    finally:
        _from_magic.reset(token)


def another_hint() -> str:
    if _from_magic.get():
        return "run with --new or press “Generate again” to make another"
    return "pass new=True to make another"


# ----------------------------------------------------------------------------------------
# identical requests
# ----------------------------------------------------------------------------------------

def fingerprint(draft: Draft) -> str:
    """A stable hash of what a create sends: endpoint and body; media by content, not by name."""
    canonical = {"endpoint": draft.endpoint, "body": _canonical(draft.body, draft.pending)}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def _canonical(value: Any, pending: Mapping[str, Prepared]) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v, pending) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, pending) for v in value]
    if isinstance(value, str):
        prepared = pending.get(value)
        if prepared is not None:  # a file or bytes to upload, or a URL to fetch first
            if prepared.upload is not None:
                return "sha256:" + hashlib.sha256(prepared.upload[1]).hexdigest()
            return prepared.fetch or prepared.uri or value
        if value.startswith("data:"):
            return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


# ----------------------------------------------------------------------------------------
# the earlier task
# ----------------------------------------------------------------------------------------

class UnsettledRequest(OutcomeUnknownError):
    """The same request was sent before and its outcome is unknown: it may have made a task."""


def find_earlier(session: Any, client: Any, journal: Journal, origin: Origin, request: str,
                 provider: str | None) -> tuple[Any, Entry] | None:
    """The newest task of this notebook that sent ``request`` and can be shown again, with its row.

    Raises :class:`UnsettledRequest` when a newer identical create's outcome is unknown.
    """
    for entry in journal.same_requests(origin.scope, origin.cell, request, client.settings.base_url):
        if entry.outcome_unknown:
            raise UnsettledRequest(
                f"runway-nb: this request may already have made a task (journal row {entry.rowid}: "
                f"{entry.error or 'no answer came'}): settle it with %runway history --resolve {entry.rowid} "
                f"TASK_ID (or none), or {'run the cell with --new' if _from_magic.get() else 'pass new=True'} "
                f"to send it anyway",
                endpoint=entry.endpoint or "")
        if entry.task_id is None or entry.status in (FAILED, CANCELLED):
            continue
        handle = session.get(entry.task_id)
        if handle is None:
            try:
                handle = session.attach(entry.task_id, provider, entry=entry)
            except RunwayError:
                from runway_nb.notebook.archived import archived_handle

                handle = archived_handle(client, entry)
                if handle is None:
                    continue  # gone from the server, and not archived
                session.register(handle)
        task = handle.task
        if task is not None and task.status in (FAILED, CANCELLED):
            continue
        return handle, entry
    return None


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "just now" if seconds < 5 else f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _state(handle: Any, entry: Entry) -> str:
    task = handle.task
    if task is not None and task.status == SUCCEEDED:
        return f"succeeded {_ago(time.time() - entry.updated_at)}"
    status = (task.status if task is not None else entry.status or "PENDING").lower()
    return f"{status}, sent {_ago(time.time() - entry.submitted_at)}"


def _short(task_id: str) -> str:
    return task_id[:8] + "…" if len(task_id) > 9 else task_id


def reuse_line(reused: list[tuple[Any, Entry]], total: int) -> str:
    """The one line that says a request was not sent again, and how to make another."""
    if total == 1 and len(reused) == 1:
        handle, entry = reused[0]
        return (f"runway-nb: same request as task {_short(handle.id)} ({_state(handle, entry)}) — showing it; "
                f"{another_hint()}")
    ids = ", ".join(_short(h.id) for h, _ in reused[:4]) + (", …" if len(reused) > 4 else "")
    return (f"runway-nb: {len(reused)} of {total} tasks are the same requests as earlier tasks ({ids}) — showing "
            f"them; {another_hint().replace('make another', 'make others')}")

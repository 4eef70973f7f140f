"""A local SQLite record of every task, so no kernel restart loses one.

A create is written as ``submitting`` before the request and completed with the task id after,
so a create whose outcome is unknown stays visible and can be resolved. WAL mode and a busy
timeout let several kernels write at once. The key is never stored.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_nb.api.status import TERMINAL

if TYPE_CHECKING:  # annotations only: the task model loads with the first task
    from runway_nb.api.task import Task

ENV_PATH = "RUNWAY_NB_JOURNAL"  # a path, or "off"

SUBMITTING = "submitting"
SUBMITTED = "submitted"
UNKNOWN = "outcome-unknown"
REFUSED = "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    rowid_ INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT,
    submit_state TEXT NOT NULL,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    endpoint TEXT,
    model TEXT,
    prompt TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT,
    progress REAL,
    outputs TEXT NOT NULL DEFAULT '[]',
    files TEXT NOT NULL DEFAULT '[]',
    failure TEXT,
    failure_code TEXT,
    error TEXT,
    estimated_cost REAL,
    cost REAL,
    submitted_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_remote ON tasks(base_url, task_id);
CREATE TABLE IF NOT EXISTS status_history (
    task_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_task ON status_history(task_id);
CREATE TABLE IF NOT EXISTS cell_seeds (
    scope TEXT NOT NULL,
    cell TEXT NOT NULL,
    seed INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, cell)
);
"""

# Columns added after the first release: (name, SQL type). Added to older journals on open.
_ADDED_COLUMNS = (
    ("save_to", "TEXT"),  # the folder the user asked the outputs saved into (None: not opted in)
    ("fingerprint", "TEXT"),  # a stable hash of the request (endpoint + body, media by content)
    ("scope", "TEXT"),  # the notebook (or folder) that sent it
    ("cell", "TEXT"),  # the cell (or call site, or key) that sent it
)
# Made once the added columns exist (an old journal gets them first).
_ADDED_INDEXES = "CREATE INDEX IF NOT EXISTS tasks_request ON tasks(scope, fingerprint);"


@dataclass(frozen=True)
class RequestTag:
    """Who sent a create and what it was: written into the row the create begins."""

    fingerprint: str
    scope: str
    cell: str


_tag: contextvars.ContextVar[RequestTag | None] = contextvars.ContextVar("runway_nb_request_tag", default=None)


def default_path() -> Path | None:
    env = os.environ.get(ENV_PATH, "").strip()
    if env.lower() in ("off", "0", "false", "none"):
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "runway-nb" / "journal.sqlite3"


@dataclass(frozen=True)
class Entry:
    """One journalled task, as a row."""

    task_id: str | None
    submit_state: str
    provider: str
    base_url: str
    endpoint: str | None
    model: str | None
    prompt: str | None
    params: dict[str, Any]
    status: str | None
    progress: float | None
    outputs: list[str]
    files: list[str]
    failure: str | None
    failure_code: str | None
    error: str | None
    estimated_cost: float | None
    cost: float | None
    submitted_at: float
    updated_at: float
    rowid: int
    pid: int | None = None  # the process that wrote the row (the kernel that submitted it)
    save_to: str | None = None  # the folder the user asked the outputs saved into, if any
    fingerprint: str | None = None  # the request's fingerprint, when a notebook sent it
    scope: str | None = None  # the notebook (or folder) that sent it
    cell: str | None = None  # the cell (or call site, or key) that sent it

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def outcome_unknown(self) -> bool:
        """A create whose answer never came: it may or may not have made a task."""
        return self.task_id is None and self.submit_state in (UNKNOWN, SUBMITTING)

    def line(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.submitted_at))
        prompt = (self.prompt or "").replace("\n", " ")
        prompt = prompt if len(prompt) <= 50 else prompt[:49] + "…"
        status = self.status or self.submit_state
        ident = self.task_id or f"(no id: {self.submit_state})"
        return f"{ident}  {status:<10} {self.model or '?':<14} {when}  {prompt}"


class Journal:
    def __init__(self, path: str | Path | None = None):
        where = Path(path) if path is not None else default_path()
        if where is None:
            raise ValueError("the journal is turned off (RUNWAY_NB_JOURNAL=off)")
        self.path: Path = where
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._raw()
        conn.executescript(_SCHEMA)
        have = {r["name"] for r in conn.execute("PRAGMA table_info(tasks)").fetchall()}
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                try:
                    conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc).lower():
                        raise
        conn.executescript(_ADDED_INDEXES)

    def _conn(self) -> _Tx:
        return _Tx(self._raw())

    def _raw(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    # -- writes ----------------------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def tagging(tag: RequestTag) -> Iterator[None]:
        """Creates begun inside this block (this thread or task) are recorded with ``tag``."""
        token = _tag.set(tag)
        try:
            yield
        finally:
            _tag.reset(token)

    def begin(self, *, provider: str, base_url: str, endpoint: str, params: dict[str, Any]) -> int:
        now = time.time()
        tag = _tag.get()
        with self._conn() as conn:
            cur = conn.execute(
                "INSERT INTO tasks (submit_state, provider, base_url, endpoint, model, prompt, params, "
                "submitted_at, updated_at, pid, fingerprint, scope, cell) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (SUBMITTING, provider, base_url, endpoint, params.get("model"), _prompt_of(endpoint, params),
                 json.dumps(params, default=str), now, now, os.getpid(),
                 tag.fingerprint if tag else None, tag.scope if tag else None, tag.cell if tag else None))
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid

    def created(self, rowid: int, task_id: str, estimated_cost: float | None) -> None:
        with self._conn() as conn:
            # The same remote task seen before (attached, or a test server reusing ids): keep the newest.
            conn.execute("DELETE FROM tasks WHERE task_id=? AND rowid_<>? AND base_url=(SELECT base_url FROM tasks "
                         "WHERE rowid_=?)", (task_id, rowid, rowid))
            conn.execute("UPDATE tasks SET task_id=?, submit_state=?, status=COALESCE(status, 'PENDING'), "
                         "estimated_cost=?, updated_at=? WHERE rowid_=?",
                         (task_id, SUBMITTED, estimated_cost, time.time(), rowid))

    def create_failed(self, rowid: int, error: BaseException, *, outcome_unknown: bool) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE tasks SET submit_state=?, error=?, updated_at=? WHERE rowid_=?",
                         (UNKNOWN if outcome_unknown else REFUSED, f"{type(error).__name__}: {str(error)[:500]}",
                          time.time(), rowid))

    def attach(self, task_id: str, *, provider: str, base_url: str, params: dict[str, Any] | None = None) -> None:
        """Record a task created elsewhere (``%runway attach ID``), once."""
        now = time.time()
        params = params or {}
        with self._conn() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO tasks (task_id, submit_state, provider, base_url, endpoint, model, prompt, "
                "params, submitted_at, updated_at, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (task_id, SUBMITTED, provider, base_url, params.get("endpoint"), params.get("model"),
                 _prompt_of(_text(params.get("endpoint")), params), json.dumps(params, default=str), now, now,
                 os.getpid()))

    def update(self, task: Task, base_url: str | None = None) -> None:
        """Record what a poll saw; history gets a row only when the status changes."""
        now = time.time()
        with self._conn() as conn:
            row = conn.execute("SELECT rowid_, status FROM tasks WHERE task_id=? AND (? IS NULL OR base_url=?) "
                               "ORDER BY rowid_ DESC", (task.id, base_url, base_url)).fetchone()
            if row is None:
                return
            conn.execute("UPDATE tasks SET status=?, progress=?, outputs=?, failure=?, failure_code=?, "
                         "cost=COALESCE(?, cost), updated_at=? WHERE rowid_=?",
                         (task.status, task.progress, json.dumps(task.outputs), task.failure, task.failure_code,
                          task.cost, now, row["rowid_"]))
            if row["status"] != task.status:
                conn.execute("INSERT INTO status_history (task_id, status, progress, at) VALUES (?,?,?,?)",
                             (task.id, task.status, task.progress, now))

    def set_files(self, task_id: str, files: Iterable[str | Path]) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE tasks SET files=?, updated_at=? WHERE task_id=?",
                         (json.dumps([str(f) for f in files]), time.time(), task_id))

    def resolve_unknown(self, rowid: int, task_id: str | None) -> None:
        """Settle an outcome-unknown create: it made ``task_id``, or (None) nothing."""
        with self._conn() as conn:
            if task_id:
                # The task may be journalled already (e.g. attached by id): take over what that row
                # saw, and keep this row, which holds the request parameters.
                other = conn.execute("SELECT * FROM tasks WHERE task_id=? AND rowid_<>? AND base_url=(SELECT "
                                     "base_url FROM tasks WHERE rowid_=?)", (task_id, rowid, rowid)).fetchone()
                if other is not None:
                    conn.execute("DELETE FROM tasks WHERE rowid_=?", (other["rowid_"],))
                    conn.execute("UPDATE tasks SET status=?, progress=?, outputs=?, files=?, failure=?, "
                                 "failure_code=?, cost=?, save_to=COALESCE(save_to, ?) WHERE rowid_=?",
                                 (other["status"], other["progress"], other["outputs"], other["files"],
                                  other["failure"], other["failure_code"], other["cost"], other["save_to"], rowid))
                conn.execute("UPDATE tasks SET task_id=?, submit_state=?, status=COALESCE(status, 'PENDING'), "
                             "updated_at=? WHERE rowid_=?", (task_id, SUBMITTED, time.time(), rowid))
            else:
                conn.execute("UPDATE tasks SET submit_state=?, updated_at=? WHERE rowid_=?",
                             (REFUSED, time.time(), rowid))

    def set_save_to(self, task_id: str, folder: str | Path | None, base_url: str | None = None) -> None:
        """Record that the outputs of ``task_id`` are to be saved into ``folder`` (the user opted in),
        so that a later kernel (``%runway attach --pending``) saves them there too."""
        with self._conn() as conn:
            conn.execute("UPDATE tasks SET save_to=? WHERE task_id=? AND (? IS NULL OR base_url=?)",
                         (None if folder is None else str(folder), task_id, base_url, base_url))

    def cell_seed(self, scope: str, cell: str) -> int | None:
        """The seed drawn for this cell of this notebook, if one was."""
        with self._conn() as conn:
            row = conn.execute("SELECT seed FROM cell_seeds WHERE scope=? AND cell=?", (scope, cell)).fetchone()
        return None if row is None else int(row["seed"])

    def set_cell_seed(self, scope: str, cell: str, seed: int) -> None:
        with self._conn() as conn:
            conn.execute("INSERT INTO cell_seeds (scope, cell, seed, updated_at) VALUES (?,?,?,?) "
                         "ON CONFLICT(scope, cell) DO UPDATE SET seed=excluded.seed, updated_at=excluded.updated_at",
                         (scope, cell, int(seed), time.time()))

    # -- reads -----------------------------------------------------------------------------
    def same_requests(self, scope: str, cell: str, fingerprint: str, base_url: str) -> list[Entry]:
        """Rows of this cell of this notebook that sent this very request to this server, newest first."""
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM tasks WHERE scope=? AND fingerprint=? AND cell=? AND base_url=? "
                                "ORDER BY rowid_ DESC",
                                (scope, fingerprint, cell, base_url.rstrip("/"))).fetchall()
        return [_entry(r) for r in rows]

    def entries(self, *, status: Iterable[str] | None = None, unfinished: bool = False,
                limit: int | None = None, provider: str | None = None,
                base_url: str | None = None) -> list[Entry]:
        sql = "SELECT * FROM tasks"
        where, args = [], []
        if status:
            wanted = [s.upper() for s in status]
            where.append(f"UPPER(COALESCE(status, submit_state)) IN ({','.join('?' * len(wanted))})")
            args += wanted
        if unfinished:
            where.append("task_id IS NOT NULL AND (status IS NULL OR status NOT IN ('SUCCEEDED','FAILED','CANCELLED'))")
        if provider:
            where.append("provider=?")
            args.append(provider)
        if base_url:
            where.append("base_url=?")
            args.append(base_url.rstrip("/"))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY rowid_ DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._conn() as conn:
            return [_entry(r) for r in conn.execute(sql, args).fetchall()]

    def get(self, task_id: str, base_url: str | None = None) -> Entry | None:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM tasks WHERE task_id=? AND (? IS NULL OR base_url=?) "
                               "ORDER BY rowid_ DESC", (task_id, base_url, base_url)).fetchone()
        return _entry(row) if row else None

    def row(self, rowid: int) -> Entry | None:
        """The entry with journal row number ``rowid`` (also for creates that have no task id)."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM tasks WHERE rowid_=?", (int(rowid),)).fetchone()
        return _entry(row) if row else None

    def history(self, task_id: str) -> list[tuple[str, float | None, float]]:
        with self._conn() as conn:
            rows = conn.execute("SELECT status, progress, at FROM status_history WHERE task_id=? ORDER BY at",
                                (task_id,)).fetchall()
        return [(r["status"], r["progress"], r["at"]) for r in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _Tx:
    """``with journal._conn() as conn``: one IMMEDIATE transaction, so concurrent writers queue."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _entry(row: sqlite3.Row) -> Entry:
    names = row.keys()
    return Entry(task_id=row["task_id"], submit_state=row["submit_state"], provider=row["provider"],
                 base_url=row["base_url"], endpoint=row["endpoint"], model=row["model"], prompt=row["prompt"],
                 params=json.loads(row["params"] or "{}"), status=row["status"], progress=row["progress"],
                 outputs=json.loads(row["outputs"] or "[]"), files=json.loads(row["files"] or "[]"),
                 failure=row["failure"], failure_code=row["failure_code"], error=row["error"],
                 estimated_cost=row["estimated_cost"], cost=row["cost"], submitted_at=row["submitted_at"],
                 updated_at=row["updated_at"], rowid=row["rowid_"], pid=row["pid"],
                 save_to=_column(row, names, "save_to"), fingerprint=_column(row, names, "fingerprint"),
                 scope=_column(row, names, "scope"), cell=_column(row, names, "cell"))


def _column(row: sqlite3.Row, names: list[str], name: str) -> Any:
    """A column added after the first release (None when the row predates it)."""
    return row[name] if name in names else None


_default: Journal | None = None
_default_lock = threading.Lock()


def default_journal() -> Journal | None:
    """The process-wide journal at :func:`default_path`, or None when turned off."""
    global _default
    path = default_path()
    if path is None:
        return None
    with _default_lock:
        if _default is None or _default.path != path:
            _default = Journal(path)
        return _default


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _prompt_of(endpoint: str | None, params: dict[str, Any]) -> str | None:
    from runway_nb.api.lookup import prompt_of  # the catalog loads with the first request, not with the client

    return prompt_of(endpoint, params)

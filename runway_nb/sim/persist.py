"""Optional SQLite persistence for the simulator server: ``python -m runway_nb.sim --db PATH``.

Without it the simulator's tasks live in its process: a client (or a kernel) may restart as
often as it likes, but a restart of the *server* forgets every task. With ``--db`` every task,
its status history, its rendered outputs, the credit balance and the usage ledger are written
to ``PATH``, and a server started again with the same ``PATH`` carries on:

- tasks keep their ids; a GET answers as if the server had never stopped;
- **time goes on while it is down**, as on Runway: a task that would have finished meanwhile
  has finished (its status is replayed from wall-clock times at the current ``--speed``);
- output URLs carry the server's address: start it on the same ``--port`` and the old URLs
  work again; otherwise GET the task again for fresh ones (what ``%runway fetch`` does);
- a render that was cut off is started again; uploads (``runway://``, 24 h) are not kept, so a
  task whose input was an upload and whose render was cut off fails with ``INTERNAL``.
- request counts (``/_sim/stats``) start again from zero; ``/_sim/tasks`` lists every task.

How: :class:`~runway_nb.sim.state.TaskStore` tells :class:`SimDB` which tasks changed (under its
lock); ``SimDB`` only snapshots them there, and a writer thread writes the snapshots (WAL,
batched), so no disk I/O happens under the store's lock. :meth:`SimDB.close` flushes.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

from runway_nb.sim.app import SimApp
from runway_nb.sim.state import ACTIVE, Task, TaskStore

__all__ = ["SimDB", "open_db"]

log = logging.getLogger("runway_nb.sim")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media (task_id TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,
                                  PRIMARY KEY (task_id, idx));
CREATE TABLE IF NOT EXISTS ledger (n INTEGER PRIMARY KEY, wall REAL NOT NULL, model TEXT NOT NULL,
                                   credits INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_TaskRow = tuple[str, int, str, bool]  # id, seq, JSON data, gone


class _Change(NamedTuple):
    """One change as the writer stores it."""

    rows: list[_TaskRow]
    media: tuple[str, list[bytes]] | None  # (task id, its outputs) when they just arrived
    ledger: list[tuple[float, str, int]]  # charges since the last change
    balance: int


class _Marker:
    """Set once everything queued before it is written."""

    def __init__(self, event: threading.Event):
        self.event = event


class _Stop:
    """Write what is queued, then end the writer."""


_STOP = _Stop()


class SimDB:
    """A SQLite file holding a simulator's tasks (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.executescript(_SCHEMA)
        conn.close()
        self._queue: queue.Queue[_Change | _Marker | _Stop] = queue.Queue()
        self._ledger_saved = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.errors = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    # ------------------------------------------------------------------ loading
    def load(self, app: SimApp) -> int:
        """Put the saved tasks, balance and ledger into ``app``'s store; restart cut-off renders.

        Returns how many tasks were loaded. Call before the server answers any request.
        """
        store, clock = app.store, app.clock
        conn = self._connect()
        try:
            rows = conn.execute("SELECT id, seq, data FROM tasks ORDER BY seq").fetchall()
            media: dict[str, list[bytes]] = {}
            for task_id, _idx, data in conn.execute("SELECT task_id, idx, data FROM media ORDER BY task_id, idx"):
                media.setdefault(task_id, []).append(bytes(data))
            ledger = conn.execute("SELECT wall, model, credits FROM ledger ORDER BY n").fetchall()
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
        now_sim, now_wall, speed = clock.now(), time.time(), clock.speed

        def to_sim(wall: float) -> float:
            return now_sim - (now_wall - wall) * speed

        def to_sim_or_none(wall: float | None) -> float | None:
            return None if wall is None else to_sim(wall)

        tasks: list[Task] = []
        for task_id, seq, data in rows:
            d = json.loads(data)
            task = Task(
                id=task_id, endpoint=d["endpoint"], model=d["model"], body=d["body"],
                created_wall=d["created_wall"], created_sim=to_sim(d["created_wall"]),
                pending_seconds=d["pending_seconds"], run_seconds=d["run_seconds"],
                estimated_cost=d["estimated_cost"], seed=d["seed"], out_kind=d["out_kind"],
                out_size=tuple(d["out_size"]), out_duration=d["out_duration"], out_count=d["out_count"],
                out_format=d.get("out_format"),
                preset_failure=tuple(d["preset_failure"]) if d.get("preset_failure") else None,
                dialect=d.get("dialect", "official"), seq=seq, status=d["status"],
                history=[(to_sim(w), s) for w, s in d.get("history", [])],
                started_sim=to_sim_or_none(d.get("started_wall")), finished_sim=to_sim_or_none(d.get("finished_wall")),
                gone=bool(d.get("gone")), cost=d.get("cost"), failure=d.get("failure"),
                failure_code=d.get("failure_code"), media=media.get(task_id) or None,
                media_error=d.get("media_error"),
            )
            if task.media_error == "render cancelled" and task.status in ACTIVE:
                task.media_error = None  # cut off by a shutdown: render it again
            if task.media is not None or task.media_error is not None:
                ready = to_sim_or_none(d.get("media_ready_wall"))
                task.media_ready_sim = task.created_sim if ready is None else ready
            tasks.append(task)
        balance = int(float(meta["balance"])) if "balance" in meta else None
        store.restore(tasks, balance=balance, ledger=[(w, m, c) for w, m, c in ledger], observer=self)
        self._ledger_saved = len(store.ledger())
        self._start()
        for task in tasks:
            if (task.status in ACTIVE and not task.gone and task.media is None and task.media_error is None
                    and task.preset_failure is None):
                app.restart_render(task)
        store.tick()  # what happened while the server was down
        return len(rows)

    # ------------------------------------------------------------------ recording (under the store lock)
    def changed(self, store: TaskStore, tasks: list[Task], media_for: Task | None = None) -> None:
        """Snapshot ``tasks`` (and ``media_for``'s outputs) for the writer. Called under the store's lock."""
        if self._closed:
            return
        rows: list[_TaskRow] = []
        for task in tasks:
            def to_wall(sim: float | None, task: Task = task) -> float | None:
                return store.sim_to_wall(task, sim)

            data = {
                "endpoint": task.endpoint, "model": task.model, "body": task.body, "created_wall": task.created_wall,
                "pending_seconds": task.pending_seconds, "run_seconds": task.run_seconds,
                "estimated_cost": task.estimated_cost, "seed": task.seed, "out_kind": task.out_kind,
                "out_size": list(task.out_size), "out_duration": task.out_duration, "out_count": task.out_count,
                "out_format": task.out_format,
                "preset_failure": list(task.preset_failure) if task.preset_failure else None,
                "dialect": task.dialect, "status": task.status,
                "history": [(to_wall(at), status) for at, status in task.history],
                "started_wall": to_wall(task.started_sim), "finished_wall": to_wall(task.finished_sim),
                "gone": task.gone, "cost": task.cost, "failure": task.failure, "failure_code": task.failure_code,
                "media_error": task.media_error, "media_ready_wall": to_wall(task.media_ready_sim),
            }
            rows.append((task.id, task.seq, json.dumps(data, default=str), task.gone))
        media = None
        if media_for is not None and media_for.media:
            media = (media_for.id, list(media_for.media))
        ledger = store.ledger(self._ledger_saved)
        self._ledger_saved += len(ledger)
        self._queue.put(_Change(rows, media, ledger, store.balance))

    # ------------------------------------------------------------------ the writer
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_loop, name="runway-sim-db", daemon=True)
            self._thread.start()

    def _write_loop(self) -> None:
        conn = self._connect()
        try:
            while True:
                item = self._queue.get()
                batch = [item]
                while True:  # everything queued meanwhile, in one transaction
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(isinstance(b, _Stop) for b in batch)
                markers = [b for b in batch if isinstance(b, _Marker)]
                try:
                    self._write(conn, [b for b in batch if isinstance(b, _Change)])
                except Exception:  # a disk error is counted and logged; the simulator goes on
                    self.errors += 1
                    log.exception("sim: could not write to %s", self.path)
                for marker in markers:
                    marker.event.set()
                if stop:
                    return
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, batch: list[_Change]) -> None:
        if not batch:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rows, media, ledger, balance in batch:
                for task_id, seq, data, gone in rows:
                    conn.execute("INSERT INTO tasks (id, seq, data) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
                                 "seq=excluded.seq, data=excluded.data", (task_id, seq, data))
                    if gone:
                        conn.execute("DELETE FROM media WHERE task_id=?", (task_id,))
                if media is not None:
                    task_id, blobs = media
                    conn.execute("DELETE FROM media WHERE task_id=?", (task_id,))
                    conn.executemany("INSERT INTO media (task_id, idx, data) VALUES (?,?,?)",
                                     [(task_id, i, sqlite3.Binary(b)) for i, b in enumerate(blobs)])
                conn.executemany("INSERT INTO ledger (wall, model, credits) VALUES (?,?,?)", ledger)
                conn.execute("INSERT INTO meta (key, value) VALUES ('balance', ?) ON CONFLICT(key) DO UPDATE SET "
                             "value=excluded.value", (str(balance),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything recorded so far is written."""
        if self._thread is None or not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(_Marker(done))
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, then stop recording."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)


def open_db(app: SimApp, path: str | Path) -> tuple[SimDB, int]:
    """Load the tasks saved in ``path`` into ``app`` and record every change there from now on.

    Returns ``(db, number of tasks loaded)``; call ``db.close()`` when the server stops.
    """
    db = SimDB(path)
    return db, db.load(app)

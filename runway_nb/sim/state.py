"""The simulator's state: tasks and their schedule, uploads, credits, usage and request counts.

Task status is *derived from the clock*: :meth:`TaskStore.tick` replays every event up to "now"
(pending ends, tasks finishing, throttled tasks promoted in submission order) at the exact sim
time it happened, so what a client sees never depends on how often it polls. One lock guards
all of it; nothing slow (media rendering, I/O) runs under the lock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any, Protocol, TypedDict

from runway_nb.sim.clock import SimClock
from runway_nb.sim.config import SimConfig
from runway_nb.sim.formats import AUDIO_EXTENSIONS, extension

__all__ = ["ACTIVE", "AUDIO_EXTENSIONS", "PROGRESS_STEP", "TERMINAL", "SimStats", "StatsSnapshot", "StoreObserver",
           "Task", "TaskStore", "TaskView", "Upload", "UploadStore", "iso_z", "progress_curve"]

ACTIVE = ("PENDING", "THROTTLED", "RUNNING")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
log = logging.getLogger("runway_nb.sim")

PROGRESS_STEP = 5.0  # sim seconds between progress updates (Runway: "not more often than every 5 s")
DAY = 86400.0


def iso_z(wall: float) -> str:
    """``2026-03-13T09:52:46.123Z`` (millisecond precision, UTC, ``Z``)."""
    dt = datetime.fromtimestamp(wall, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def progress_curve(elapsed: float, run_seconds: float) -> float:
    """Progress of a RUNNING task: an ease-in/out curve over ``run_seconds``, advanced in
    ``PROGRESS_STEP`` sim-second steps, always < 1 (0.99 at most)."""
    if run_seconds <= 0:
        return 0.99
    stepped = math.floor(max(0.0, elapsed) / PROGRESS_STEP + 1e-9) * PROGRESS_STEP
    f = min(1.0, stepped / run_seconds)
    eased = f * f * (3.0 - 2.0 * f)
    return min(round(eased, 4), 0.99)



@dataclass
class Task:
    id: str
    endpoint: str
    model: str
    body: dict[str, Any]
    created_wall: float
    created_sim: float
    pending_seconds: float
    run_seconds: float
    estimated_cost: float
    seed: int
    out_kind: str  # "image" | "video" | "audio"
    out_size: tuple[int, int]
    out_duration: float | None
    out_count: int = 1
    # the format asked for (None: the kind's default), as sim/formats.py names it: audio "mp3" | "wav" | "flac" |
    # "ogg_opus"; image "png" | "jpeg" | "webp"; video "mp4" | "prores" | "png_sequence" | "hdr10" | "hlg" | ...
    out_format: str | None = None
    preset_failure: tuple[str, str] | None = None  # (failure, failureCode): fails when PENDING ends
    dialect: str = "official"  # where it was created: official | comet | useapi | makevid
    seq: int = 0
    status: str = "PENDING"
    history: list[tuple[float, str]] = field(default_factory=list)
    started_sim: float | None = None
    finished_sim: float | None = None
    gone: bool = False  # cancelled or deleted: no longer fetchable
    cost: int | None = None
    failure: str | None = None
    failure_code: str | None = None
    media: list[bytes] | None = None
    media_error: str | None = None
    media_ready_sim: float | None = None
    future: Future[list[bytes]] | None = None

    @property
    def ext(self) -> str:
        """The extension of the outputs' files: it follows the format they are in."""
        return extension(self.out_kind, self.out_format)

    @property
    def created_at(self) -> str:
        return iso_z(self.created_wall)


@dataclass(frozen=True)
class TaskView:
    """A consistent snapshot of one task at one sim time (what every answer is built from)."""

    id: str
    endpoint: str
    model: str
    body: dict[str, Any]
    dialect: str
    status: str
    progress: float | None
    created_at: str
    created_wall: float
    age_sim: float
    estimated_cost: float
    cost: int | None
    failure: str | None
    failure_code: str | None
    seed: int
    ext: str
    out_kind: str
    out_size: tuple[int, int]
    out_duration: float | None
    out_count: int
    output_sizes: tuple[int, ...]
    started_wall: float | None
    finished_wall: float | None
    queue_position: int | None
    eta_start_sim: float | None


class StatsSnapshot(TypedDict):
    """What ``GET /_sim/stats`` answers."""

    requests: dict[str, int]  # "METHOD /route/template": count
    requests_total: int
    creates: int
    creates_by_endpoint: dict[str, int]
    faults: dict[str, int]


class SimStats:
    """Request counts by route template, creates by endpoint, faults by kind (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._creates: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()

    def count_request(self, method: str, route: str) -> None:
        with self._lock:
            self._requests[f"{method} {route}"] += 1

    def count_create(self, endpoint: str) -> None:
        with self._lock:
            self._creates[endpoint] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    @property
    def creates(self) -> int:
        """Tasks actually created (committed), all routes and dialects."""
        with self._lock:
            return sum(self._creates.values())

    @property
    def creates_by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._creates)

    @property
    def requests(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    @property
    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    def requests_for(self, method: str, route: str) -> int:
        with self._lock:
            return self._requests.get(f"{method} {route}", 0)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "requests_total": sum(self._requests.values()),
                "creates": sum(self._creates.values()),
                "creates_by_endpoint": dict(self._creates),
                "faults": dict(self._faults),
            }

    def __repr__(self) -> str:
        return f"SimStats({self.snapshot()!r})"


class StoreObserver(Protocol):
    """Told of every change (``sim/persist.py``: ``--db PATH``)."""

    def changed(self, store: TaskStore, tasks: list[Task], media_for: Task | None = None) -> None:
        """``tasks`` changed (and ``media_for``'s outputs arrived). Called under the store's lock:
        it must only snapshot them (its writes happen elsewhere)."""


class TaskStore:
    """All tasks, their schedule, the credit balance and the usage ledger."""

    def __init__(self, config: SimConfig, clock: SimClock):
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._tasks: dict[str, Task] = {}
        self._active: list[Task] = []  # PENDING / THROTTLED / RUNNING, in submission order
        self._seq = 0
        self._now = clock.now()
        self._balance = int(config.credits)
        self._ledger: list[tuple[float, str, int]] = []  # (wall time, model, credits)
        self._creates_by_model: dict[str, list[float]] = {}  # sim times, for the daily limit
        self._media_cond = threading.Condition(self._lock)
        # Optional observer of every change (``sim/persist.py``: ``--db PATH``).
        self.persist: StoreObserver | None = None
        self._dirty: dict[str, Task] = {}

    # ------------------------------------------------------------------ persistence hooks
    def _touch(self, task: Task) -> None:
        if self.persist is not None:
            self._dirty[task.id] = task

    def _flush(self, media_for: Task | None = None) -> None:
        if self.persist is None or (not self._dirty and media_for is None):
            return
        tasks, self._dirty = list(self._dirty.values()), {}
        try:
            self.persist.changed(self, tasks, media_for)
        except Exception:  # persistence never breaks the API
            log.exception("sim: could not record a task change")

    # ------------------------------------------------------------------ accounts
    @property
    def balance(self) -> int:
        with self._lock:
            return self._balance

    def reset_balance(self, credits: int) -> None:
        with self._lock:
            self._balance = int(credits)

    def _charge(self, task: Task, credits: int) -> None:
        self._touch(task)
        task.cost = credits
        if credits:
            self._balance = max(0, self._balance - credits)
            self._ledger.append((time.time(), task.model, credits))

    def daily_count(self, model: str, now: float | None = None) -> int:
        with self._lock:
            now = self._clock.now() if now is None else now
            times = self._creates_by_model.get(model, [])
            times[:] = [t for t in times if now - t < DAY]
            return len(times)

    def daily_counts(self) -> dict[str, int]:
        with self._lock:
            return {m: self.daily_count(m) for m in list(self._creates_by_model)}

    def ledger(self, start: int = 0) -> list[tuple[float, str, int]]:
        """(wall time, model, credits) of every charge, from the ``start``-th on."""
        with self._lock:
            return self._ledger[start:]

    def restore(self, tasks: list[Task], *, balance: int | None, ledger: list[tuple[float, str, int]],
                observer: StoreObserver) -> None:
        """Put back tasks, balance and charges saved earlier (before any request is answered), and
        tell ``observer`` of every change from now on."""
        with self._lock:
            for task in tasks:
                self._tasks[task.id] = task
                self._seq = max(self._seq, task.seq)
                self._creates_by_model.setdefault(task.model, []).append(task.created_sim)
                if task.status in ACTIVE and not task.gone:
                    self._active.append(task)
            if balance is not None:
                self._balance = balance
            self._ledger[:0] = ledger
            self.persist = observer

    # ------------------------------------------------------------------ tasks
    def new_id(self) -> str:
        return str(uuid.uuid4())

    def add(self, task: Task) -> None:
        with self._lock:
            self.tick()
            self._seq += 1
            task.seq = self._seq
            task.status = "PENDING"
            task.history = [(task.created_sim, "PENDING")]
            self._tasks[task.id] = task
            self._active.append(task)
            self._creates_by_model.setdefault(task.model, []).append(task.created_sim)
            self._touch(task)
            self._flush()

    def attach_future(self, task_id: str, future: Future[list[bytes]]) -> None:
        """Record the task's render; when it completes, the task may finish."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                task.future = future
        future.add_done_callback(partial(self._media_done, task_id))

    def fail_render(self, task: Task, error: str) -> None:
        """The task's render cannot run: it fails (INTERNAL) once it has run its time."""
        with self._lock:
            task.media_error = error
            task.media_ready_sim = self._clock.now()
            self._touch(task)
            self._flush()

    def _media_done(self, task_id: str, future: Future[list[bytes]]) -> None:
        now = self._clock.now()
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            if future.cancelled():
                task.media_error = "render cancelled"
            elif future.exception() is not None:
                task.media_error = f"{type(future.exception()).__name__}: {future.exception()}"
            else:
                task.media = list(future.result())
            task.media_ready_sim = max(now, self._now) if task.media_ready_sim is None else task.media_ready_sim
            self._touch(task)
            self._flush(media_for=task)
            self._media_cond.notify_all()

    def wait_media(self, timeout: float | None = 60.0) -> bool:
        """Block until every submitted render has finished. True if all are done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                waiting = [t for t in self._tasks.values()
                           if t.future is not None and t.media_ready_sim is None and not t.gone]
                if not waiting:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._media_cond.wait(remaining if remaining is not None else 1.0)

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            self.tick()
            task = self._tasks.get(task_id)
            return None if task is None or task.gone else task

    def ids(self) -> list[str]:
        with self._lock:
            return [t.id for t in self._tasks.values() if not t.gone]

    def count(self) -> int:
        with self._lock:
            return sum(1 for t in self._tasks.values() if not t.gone)

    # ------------------------------------------------------------------ schedule
    def _finish_time(self, task: Task) -> float | None:
        if task.started_sim is None or task.media_ready_sim is None:
            return None
        return max(task.started_sim + task.run_seconds, task.media_ready_sim)

    def _set(self, task: Task, status: str, at: float) -> None:
        self._touch(task)
        task.status = status
        task.history.append((at, status))

    def tick(self, now: float | None = None) -> float:
        """Replay every scheduling event up to ``now`` (default: the clock) in time order."""
        with self._lock:
            now = self._clock.now() if now is None else now
            now = max(now, self._now)
            while True:
                t_next = math.inf
                for task in self._active:
                    if task.status == "PENDING":
                        t_next = min(t_next, task.created_sim + task.pending_seconds)
                    elif task.status == "RUNNING":
                        fin = self._finish_time(task)
                        if fin is not None:
                            t_next = min(t_next, fin)
                if t_next > now:
                    break
                self._process(t_next)
            self._now = now
            self._flush()
            return now

    def _process(self, at: float) -> None:
        # 1. tasks finishing at `at` free their slots first ...
        for task in list(self._active):
            if task.status == "RUNNING":
                fin = self._finish_time(task)
                if fin is not None and fin <= at:
                    self._complete(task, fin)
        # 2. ... then tasks leaving PENDING join the queue (or fail: moderation, unreadable input) ...
        for task in list(self._active):
            if task.status == "PENDING" and task.created_sim + task.pending_seconds <= at:
                if task.preset_failure is not None:
                    task.failure, task.failure_code = task.preset_failure
                    task.finished_sim = at
                    self._set(task, "FAILED", at)
                    charged = task.failure_code.startswith("SAFETY")  # moderated: charged as a success
                    self._charge(task, math.ceil(task.estimated_cost) if charged else 0)
                    self._active.remove(task)
                else:
                    self._set(task, "THROTTLED", at)
        # 3. ... and queued tasks take free slots in submission order.
        self._fill_slots(at)

    def _fill_slots(self, at: float) -> None:
        limit = self._config.concurrency
        running: Counter[str] = Counter(t.model for t in self._active if t.status == "RUNNING")
        for task in self._active:  # submission order
            if task.status == "THROTTLED" and running[task.model] < limit:
                running[task.model] += 1
                task.started_sim = at
                if task.history and task.history[-1] == (at, "THROTTLED"):
                    task.history.pop()  # PENDING -> RUNNING directly: it never waited
                self._set(task, "RUNNING", at)

    def _complete(self, task: Task, at: float) -> None:
        task.finished_sim = at
        self._active.remove(task)
        if task.media_error is not None or not task.media:
            task.failure = "An unexpected error occurred while generating the output."
            task.failure_code = "INTERNAL"
            self._set(task, "FAILED", at)
            self._charge(task, 0)  # internal failures are refunded
        else:
            self._set(task, "SUCCEEDED", at)
            self._charge(task, math.ceil(task.estimated_cost))

    def reschedule(self) -> None:
        """Apply a configuration change (e.g. more concurrency) from now on."""
        with self._lock:
            now = self.tick()
            self._fill_slots(now)
            self._flush()

    def cancel_or_delete(self, task_id: str) -> str | None:
        """DELETE semantics: 'cancelled' (was active), 'deleted' (was terminal), None (404)."""
        with self._lock:
            now = self.tick()
            task = self._tasks.get(task_id)
            if task is None or task.gone:
                return None
            task.gone = True
            if task.status in ACTIVE:
                was = task.status
                if task in self._active:
                    self._active.remove(task)
                task.finished_sim = now
                self._set(task, "CANCELLED", now)
                # Runway: cancelling a task seen RUNNING does not refund; earlier it does.
                self._charge(task, math.ceil(task.estimated_cost) if was == "RUNNING" else 0)
                if task.future is not None:
                    task.future.cancel()
                task.media = None
                self._fill_slots(now)
                self._flush()
                return "cancelled"
            task.media = None  # deleted: outputs go too
            self._touch(task)
            self._flush()
            return "deleted"

    # ------------------------------------------------------------------ reading
    def view(self, task_id: str, *, include_gone: bool = False) -> TaskView | None:
        with self._lock:
            now = self.tick()
            task = self._tasks.get(task_id)
            if task is None or (task.gone and not include_gone):
                return None
            return self._view(task, now)

    def sim_to_wall(self, task: Task, sim: float | None) -> float | None:
        """The wall-clock time of ``task``'s sim time ``sim`` (at the clock's speed)."""
        if sim is None:
            return None
        return task.created_wall + (sim - task.created_sim) / self._clock.speed

    def _view(self, task: Task, now: float) -> TaskView:
        progress = None
        if task.status == "RUNNING":
            assert task.started_sim is not None
            elapsed = now - task.started_sim
            progress = 0.99 if elapsed >= task.run_seconds else progress_curve(elapsed, task.run_seconds)
        queue_position = eta = None
        if task.status in ("PENDING", "THROTTLED"):
            ahead = [t for t in self._active if t.model == task.model and t.seq < task.seq
                     and t.status in ("PENDING", "THROTTLED")]
            queue_position = len(ahead)
            eta = max(0.0, task.created_sim + task.pending_seconds - now)
            running = [t for t in self._active if t.model == task.model and t.status == "RUNNING"]
            if task.status == "THROTTLED" or len(running) >= self._config.concurrency:
                ends = sorted(max(0.0, (t.started_sim or now) + t.run_seconds - now) for t in running)
                if ends:
                    eta = max(eta, ends[min(len(ends) - 1, queue_position)])
        media = task.media if task.status == "SUCCEEDED" else None
        return TaskView(
            id=task.id, endpoint=task.endpoint, model=task.model, body=task.body, dialect=task.dialect,
            status=task.status, progress=progress, created_at=task.created_at,
            created_wall=task.created_wall, age_sim=now - task.created_sim,
            estimated_cost=task.estimated_cost, cost=task.cost, failure=task.failure,
            failure_code=task.failure_code, seed=task.seed, ext=task.ext, out_kind=task.out_kind,
            out_size=task.out_size, out_duration=task.out_duration, out_count=task.out_count,
            output_sizes=tuple(len(m) for m in media) if media else (),
            started_wall=self.sim_to_wall(task, task.started_sim),
            finished_wall=self.sim_to_wall(task, task.finished_sim),
            queue_position=queue_position, eta_start_sim=eta,
        )

    def history(self, task_id: str) -> list[tuple[float, str]]:
        with self._lock:
            self.tick()
            task = self._tasks.get(task_id)
            return list(task.history) if task else []

    def output(self, task_id: str, index: int) -> tuple[bytes, str] | None:
        """The bytes and extension of output ``index`` of a SUCCEEDED, not deleted task."""
        with self._lock:
            self.tick()
            task = self._tasks.get(task_id)
            if task is None or task.gone or task.status != "SUCCEEDED" or not task.media:
                return None
            if not 0 <= index < len(task.media):
                return None
            return task.media[index], task.ext

    def active_futures(self) -> list[Future[list[bytes]]]:
        with self._lock:
            return [t.future for t in self._tasks.values() if t.future is not None and not t.future.done()]


@dataclass
class Upload:
    token: str
    filename: str
    runway_uri: str
    created_sim: float
    data: bytes | None = None
    content_type: str | None = None


class UploadStore:
    """Ephemeral uploads: a token for the POST target and a ``runway://`` URI (24 sim hours)."""

    TTL = DAY

    def __init__(self, clock: SimClock):
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, Upload] = {}
        self._by_uri: dict[str, Upload] = {}

    def create(self, filename: str) -> Upload:
        token = uuid.uuid4().hex
        uri = f"runway://sim-uploads/{token}/{filename}"
        up = Upload(token=token, filename=filename, runway_uri=uri, created_sim=self._clock.now())
        with self._lock:
            self._by_token[token] = up
            self._by_uri[uri] = up
        return up

    def put(self, token: str, data: bytes, content_type: str | None) -> bool:
        with self._lock:
            up = self._by_token.get(token)
            if up is None or self._expired(up):
                return False
            up.data = data
            up.content_type = content_type
            return True

    def _expired(self, up: Upload) -> bool:
        return self._clock.now() - up.created_sim > self.TTL

    def resolve(self, runway_uri: str) -> Upload | None:
        """The upload behind a ``runway://`` URI, if its file was posted and it has not expired."""
        with self._lock:
            up = self._by_uri.get(runway_uri)
            if up is None or up.data is None or self._expired(up):
                return None
            return up

"""``Grid``: the tasks of a sweep side by side, live, then played back in sync.

How it works (see ``docs/compare.md`` for what a user sees):

- Layout: rows and columns are chosen from the options that vary (:func:`grid_layout`): the
  last varying option goes across the columns, the others down the rows (``--rows``/``--cols``
  override). A sweep with one varying option and more than four values wraps into rows of four,
  each cell labelled. Options that do not vary are shown once, in the header.
- State lives in synced traits (``cells``, ``summary``, labels); ``js/grid.js`` only renders them.
  Each cell is a mini task view (status, progress, the THROTTLED explanation, failure code and
  hint) drawn in a box of its output's true shape (``catalog.output_size``) that becomes the
  player once the task succeeds.
- ONE asyncio task on the kernel's loop polls every unfinished cell, through the async twin of
  each handle's client (``_task_view.async_twin``) on the handle's own ``PollSchedule``; cells
  due together are polled together. It is kept referenced in ``_task_view._TASKS``; refresh
  errors are shown in the ``error`` trait (and polling backs off and retries), a crash of the
  poller too (with Retry). THROTTLED cells count as queued, never as errors.
- Without a running loop (terminal IPython, scripts) :meth:`Grid.watch` waits synchronously with
  the sweep's one-line progress.
- Browser -> kernel messages: ``view``, ``cancel`` (``cell``), ``cancel_all``, ``retry``,
  ``bytes`` (``req``, ``cell``, ``index``: an output whose URL does not load in this
  browser; answered with a binary buffer) and ``media_status``.
- Output: the widget plus, in the same bundle, the static grid (``text/html``: every cell's
  ``static_html``) that nbconvert and GitHub show. Once every task ended, the final static grid
  is published (marked final, see ``_live.final_mark``) whoever watches: a run no browser
  watched (nbclient, papermill) keeps only it; in a browser the widget stays beside it, since
  synced playback needs the live model, and saving the notebook keeps only the static grid
  (``runway_nb.jupyter_server_ext``), so it reopens without a kernel. A headless cell that
  waited for the tasks publishes the final grid as its reply (:meth:`Grid._finish_now`).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Hashable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, cast

import traitlets as t

from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, THROTTLED, Task
from runway_nb.client.core import AsyncTaskHandle, TaskHandle
from runway_nb.client.eta import FinishEstimate
from runway_nb.client.handles import AnyTaskHandle
from runway_nb.client.watch import Finished, PollFailed, Watch, WatchEvent, drive_async
from runway_nb.errors import failure_hint
from runway_nb.notebook import posters
from runway_nb.notebook.charges import handle_credits
from runway_nb.notebook.sweep import Sweep, combo_from_params
from runway_nb.notebook.widgets import _audio as audio
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets._audio import WaveformTrait
from runway_nb.notebook.widgets._grid_static import static_grid
from runway_nb.notebook.widgets._live import Command, LiveWidget, Reply
from runway_nb.notebook.widgets._static import caption_fields, output_shape, status_note
from runway_nb.notebook.widgets._task_view import TaskView
from runway_nb.notebook.widgets._urls import endpoint_kind, file_url, is_remote, media_kind, safe_url

__all__ = ["Grid", "grid_layout", "value_text"]

#: Cells of a one-option sweep per row when it wraps.
WRAP_COLUMNS = 4
#: The shape of an audio cell (width, height): a strip for its waveform.
AUDIO_CELL = (480, 120)
_MEDIA = ("image", "video", "character", "reference")
# The grid of each sweep (Grid.for_sweep): showing a sweep twice does not poll twice.
_BY_SWEEP: weakref.WeakValueDictionary[int, Grid] = weakref.WeakValueDictionary()


# ---------------------------------------------------------------------- labels and layout
def value_text(name: str, value: Any, limit: int = 60) -> str:
    """A short, readable text for one option value (labels, header)."""
    if value is None:
        return "—"
    if name == "prompt":
        text = " ".join(str(value).split())
    elif name in _MEDIA or isinstance(value, (bytes, bytearray, PurePath)) or not isinstance(
            value, (str, int, float, bool)):
        text = _media_text(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    if name == "duration" and isinstance(value, (int, float)) and not isinstance(value, bool):
        text += " s"
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: How long a header's value may get before it is cut (the full value shows as its tooltip).
FULL_VALUE = 300


def axis_value_text(name: str, value: Any) -> str:
    """One header's label on a one-option axis: the value, with the option's name when the value
    is a bare number ("seed 1", not "1")."""
    text = value_text(name, value)
    bare_number = isinstance(value, (int, float)) and not isinstance(value, bool) and name != "duration"
    return f"{name} {text}" if bare_number else text


def _media_text(value: Any) -> str:
    if isinstance(value, PurePath):
        return value.name or str(value)
    if isinstance(value, str):
        if value.lower().startswith("data:"):
            return value.split(",", 1)[0].split(";", 1)[0]
        base = value.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return base or value
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_media_text(v) for v in value) + "]"
    return f"<{type(value).__name__}>"


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value).__name__, value)


def grid_layout(combos: Sequence[Mapping[str, Any]], varying: Sequence[str], *, rows: str | None = None,
                cols: str | None = None, wrap_at: int = WRAP_COLUMNS) -> dict[str, Any]:
    """Where each combination goes.

    ``cols``: the option across the columns (default: the last varying one); ``rows``: the
    option down the rows (default: every other varying one, combined). Names that do not vary
    are ignored. One varying option with more than ``wrap_at`` values wraps (no headers).
    A header's label is its value when the value says what it is ("gen4.5", "720:1280") and
    the option's name with it when the value is a bare number ("seed 1"); with several options
    per axis, "prompt … · model …". ``row_lines``/``col_lines``: each header as lines of
    ``[name, full value]``, one per option, for views that show them apart.
    Returns ``{"rows": [names], "cols": [names], "row_labels", "col_labels", "row_lines",
    "col_lines", "positions": [(row, col)], "wrap": bool, "columns": int}``.
    """
    vary = list(varying)
    col_names = [cols] if cols in vary else []
    row_names = [rows] if rows in vary and rows not in col_names else []
    rest = [v for v in vary if v not in col_names and v not in row_names]
    if not col_names and rest:
        col_names = [rest.pop()]
    row_names += rest

    def group(names: list[str]) -> tuple[list[int], list[str], list[list[list[str]]]]:
        keys: dict[Any, int] = {}
        labels: list[str] = []
        lines: list[list[list[str]]] = []
        index = []
        for combo in combos:
            key = tuple(_key(combo.get(n)) for n in names)
            if key not in keys:
                keys[key] = len(labels)
                if len(names) == 1:
                    labels.append(axis_value_text(names[0], combo.get(names[0])))
                else:
                    labels.append(" · ".join(f"{n} {value_text(n, combo.get(n), 30)}" for n in names))
                lines.append([[n, value_text(n, combo.get(n), FULL_VALUE)] for n in names])
            index.append(keys[key])
        return index, labels, lines

    row_index, row_labels, row_lines = group(row_names)
    col_index, col_labels, col_lines = group(col_names)
    n_cols = max(1, len(col_labels))
    wrap = not row_names and n_cols > wrap_at
    if wrap:
        positions = [(i // wrap_at, i % wrap_at) for i in range(len(combos))]
        n_cols = wrap_at
    else:
        positions = list(zip(row_index, col_index, strict=False))
    return {"rows": row_names, "cols": col_names, "row_labels": [] if wrap or not row_names else row_labels,
            "col_labels": [] if wrap or not col_names else col_labels,
            "row_lines": [] if wrap or not row_names else row_lines,
            "col_lines": [] if wrap or not col_names else col_lines, "positions": positions, "wrap": wrap,
            "columns": n_cols}


# ---------------------------------------------------------------------- the widget
class Grid(LiveWidget):
    """The tasks of a sweep side by side: live mini task views that become players, synced playback.

    ``Grid(sweep, rows=None, cols=None, max_height=320)``: ``sweep`` is a
    :class:`runway_nb.notebook.sweep.Sweep` (what ``%%runway`` with comma lists and ``compare()`` return)
    or a list of task handles. ``rows``/``cols`` name the options down the rows / across the
    columns (default: the sweep's ``--rows``/``--cols``, else chosen from what varies);
    ``max_height`` is the tallest a cell's picture gets, in pixels. In a kernel the grid starts
    watching at once; elsewhere call :meth:`watch`, which blocks and prints progress.
    """

    _esm = live.asset("grid.js").read_text(encoding="utf-8")
    _css = live.asset("grid.css").read_text(encoding="utf-8")

    title = t.Unicode("").tag(sync=True)
    fixed: t.List[Any] = t.List().tag(sync=True)  # [[name, text], ...]: what every task shares
    row_title = t.Unicode("").tag(sync=True)
    col_title = t.Unicode("").tag(sync=True)
    row_labels = t.List(t.Unicode()).tag(sync=True)
    col_labels = t.List(t.Unicode()).tag(sync=True)
    row_lines: t.List[Any] = t.List().tag(sync=True)  # per row header: [[name, full value], ...]
    col_lines: t.List[Any] = t.List().tag(sync=True)
    columns = t.Int(1).tag(sync=True)
    wrap = t.Bool(False).tag(sync=True)
    max_height = t.Int(320).tag(sync=True)
    cells = t.List(t.Dict()).tag(sync=True)
    summary = t.Dict().tag(sync=True)

    def __init__(self, sweep: Any, *, rows: str | None = None, cols: str | None = None, max_height: int = 320,
                 watch: bool = True, **kwargs: Any):
        if not isinstance(sweep, Sweep):
            handles = list(sweep)
            if not all(isinstance(h, AnyTaskHandle) for h in handles):
                raise TypeError("Grid needs a Sweep or a list of task handles")
            sweep = Sweep(tasks=handles, combos=[combo_from_params(h.params) for h in handles])
        super().__init__(**kwargs)
        self.sweep = sweep
        self.handles: list[AnyTaskHandle] = list(sweep.tasks)
        n = len(self.handles)
        read_back = [combo_from_params(h.params) for h in self.handles[len(sweep.combos):]]
        combos = [dict(c) for c in sweep.combos[:n]] + read_back
        self._combos = combos
        self._relay: list[list[str]] = [[] for _ in range(n)]
        self._terminal: set[int] = set()
        self._cancelling: set[int] = set()
        self._saving: set[int] = set()  # cells whose files or waveforms are still coming
        self._waveforms: list[list[WaveformTrait]] = [[] for _ in range(n)]
        self._kinds: list[list[str]] = [[] for _ in range(n)]
        self._shown: list[list[int]] = [[] for _ in range(n)]  # the task's output index of each shown
        self._t_end: dict[int, float] = {}
        self._estimates: dict[int, tuple[FinishEstimate, Task | None]] = {}  # cell -> its estimate, the task last fed
        self._poller: asyncio.Task[None] | None = None
        self._finishing: dict[int, asyncio.Task[Any]] = {}  # cell -> its files and waveforms coming
        self._wake: asyncio.Event | None = None
        self._next_poll: float | None = None
        self._poll_started: float | None = None  # when the poller started (before its first round ends)
        self._final_ready = False
        self._frozen = False
        layout = dict(sweep.layout or {})
        rows = rows or layout.get("rows")
        cols = cols or layout.get("cols")
        vary = _varying(combos)
        self._layout = grid_layout(combos, vary, rows=rows, cols=cols)
        self._shape = [self._static_cell(i) for i in range(n)]
        self._adopt_task_views()
        with self.hold_sync():
            self.max_height = int(max_height)
            self.title = f"Sweep of {n} task{'s' if n != 1 else ''}"
            self.fixed = [[k, value_text(k, v, 200)] for k, v in _fixed(combos, vary).items()] + self._shared_seed(vary)
            self.row_title = " · ".join(self._layout["rows"])
            self.col_title = " · ".join(self._layout["cols"])
            self.row_labels = self._layout["row_labels"]
            self.col_labels = self._layout["col_labels"]
            self.row_lines = self._layout["row_lines"]
            self.col_lines = self._layout["col_lines"]
            self.columns = self._layout["columns"]
            self.wrap = self._layout["wrap"]
            self._publish_cells()
        self._follow(keep_alive=False)
        _BY_SWEEP[id(sweep)] = self
        for i, h in enumerate(self.handles):
            if h.task is not None and h.task.finished:
                self._finish_cell(i, h.task)
        if n == 0 or len(self._terminal) == n:
            self._check_done()
        elif watch and live.running_loop() is not None:
            self.watch()

    # ------------------------------------------------------------------ public
    @classmethod
    def for_sweep(cls, sweep: Any, **kwargs: Any) -> Grid:
        """The grid of ``sweep`` (made on first use): one poller per sweep, however often it is shown."""
        grid = _BY_SWEEP.get(id(sweep))
        if grid is not None and grid.sweep is sweep and getattr(grid, "comm", None) is not None:
            return grid
        return cls(sweep, **kwargs)

    def watch(self, *, file: Any = None) -> Grid:
        """Start watching: in the background when an asyncio loop runs (Jupyter), otherwise
        block until every task ends, printing the sweep's one-line progress."""
        if self._final_ready:
            return self
        if live.running_loop() is not None:
            if self._poller is None or self._poller.done():
                self._poller = self._spawn(self._poll())
                self._next_poll = None
                self._poll_started = self.handles[0].client.clock.now() if self.handles else None
            return self
        self.sweep.wait(progress=True)
        for i, h in enumerate(self.handles):
            if h.task is not None and h.task.finished:
                self._finish_cell(i, h.task)
        return self

    def cancel(self, cell: int | None = None) -> None:
        """Cancel one cell (by index in submission order) or, with no argument, every unfinished one."""
        targets = range(len(self.handles)) if cell is None else [cell]
        for i in targets:
            self._request_cancel(i)

    def freeze(self) -> None:
        """Replace the widget in the notebook with the static grid now.

        Not needed to keep results: saving a notebook keeps the final static grid anyway. The
        static grid needs no kernel and no widget state; synced playback is the widget's, so
        after this each video plays on its own.
        """
        self._frozen = True
        self._publish_displays(force=True)

    def close(self) -> None:
        """Stop watching (the tasks keep running) and close the widget."""
        poller = getattr(self, "_poller", None)  # (also from __del__ of a grid whose __init__ failed)
        if poller is not None and not poller.done():
            poller.cancel()
        self._unfollow()
        super().close()

    def summary_text(self) -> str:
        s = self.summary
        parts = [f"{s.get(k, 0)} {k}" for k in ("done", "failed", "running", "queued", "cancelled") if s.get(k)]
        text = f"{s.get('total', 0)} tasks: " + (", ".join(parts) if parts else "none yet")
        if s.get("credits") is not None:
            text += f" · {'~' if s.get('estimated') else ''}{s['credits']:g} credits"
        return text

    def static_html(self) -> str:
        """The static grid, looking like the live one (escaped; safe URLs only; no script)."""
        return static_grid(self)

    def static_text(self) -> str:
        lines = [f"Runway sweep · {self.summary_text()}"]
        for i, h in enumerate(self.handles):
            label = self._shape[i]["label"]
            lines.append(f"  [{i}] {h.id} {self._status(i)}" + (f"  {label}" if label else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Grid {self.summary_text()}>"

    def cell_label(self, i: int) -> str:
        """The label of cell ``i`` (the options that vary)."""
        return str(self._shape[i]["label"])

    # ------------------------------------------------------------------ cells
    def _shared_seed(self, vary: Sequence[str]) -> list[list[str]]:
        """``[["seed", "…"]]`` when every task was sent the same seed that no combination named (the
        sweep's drawn seed, said once in the header), else nothing."""
        if "seed" in vary or not self.handles or any("seed" in c for c in self._combos):
            return []
        seeds = {(h.params or {}).get("seed") for h in self.handles}
        if len(seeds) != 1:
            return []
        (seed,) = seeds
        return [] if seed is None else [["seed", value_text("seed", seed)]]

    def _static_cell(self, i: int) -> dict[str, Any]:
        from runway_nb.api import catalog

        h = self.handles[i]
        endpoint = h.endpoint or str(h.params.get("endpoint") or "")
        body = {k: v for k, v in (h.params or {}).items() if k != "endpoint"}
        model = body.get("model")
        if endpoint_kind(endpoint, model if isinstance(model, str) else None) == "audio":
            width, height = AUDIO_CELL  # a strip for the waveform
        else:
            width, height = output_shape(endpoint, body) or (1280, 720)  # unknown: a 16:9 box
        try:
            duration = catalog.output_duration(endpoint, body)
        except Exception:
            duration = None
        combo = self._combos[i]
        vary = [n for n in self._layout["rows"] + self._layout["cols"]] or list(combo)
        label = " · ".join(f"{n} {value_text(n, combo.get(n), 40)}" for n in vary if n in combo)
        # what tells this cell from the others, short: buttons and announcements are named by it
        name = ", ".join(axis_value_text(n, value_text(n, combo.get(n), 40) if n == "prompt" else combo.get(n))
                         for n in vary if n in combo) or f"task {i + 1}"
        row, col = self._layout["positions"][i] if i < len(self._layout["positions"]) else (i, 0)
        return {"index": i, "id": h.id, "row": row, "col": col, "label": label, "name": name, "endpoint": endpoint,
                "width": int(width), "height": int(height), "ratio": str(body.get("ratio") or f"{width}:{height}"),
                "duration": duration}

    def _status(self, i: int) -> str:
        task = self.handles[i].task
        return task.status if task is not None else PENDING

    def _cell(self, i: int) -> dict[str, Any]:
        h = self.handles[i]
        task = h.task
        cell = dict(self._shape[i])
        status = task.status if task is not None else PENDING
        finished = i in self._terminal
        urls, kinds, shown = [], [], []
        model = h.params.get("model")
        if task is not None:
            for j, url in enumerate(task.outputs):
                if safe_url(url) is not None and (is_remote(url) or url.startswith("data:")):
                    urls.append(url)
                    shown.append(j)
                    kinds.append(media_kind(url, cell["endpoint"], model if isinstance(model, str) else None))
        self._relay[i] = list(urls)
        self._kinds[i] = kinds
        self._shown[i] = shown
        waveforms = self._waveforms[i]
        if len(waveforms) != len(urls):
            waveforms = [audio.trait(audio.known(u, read_file=False)) if k == "audio" else {}
                         for u, k in zip(urls, kinds, strict=True)]
        cancelling = i in self._cancelling and not finished
        note = "Cancelling…" if cancelling else status_note(status)
        dropped = len(task.outputs) - len(urls) if task is not None else 0
        if dropped:
            note = f"{dropped} output URL(s) not shown: not an http(s) URL."
        credits = handle_credits(h, task) if task is not None else h.estimated_cost
        cell.update({
            "status": status,
            "eta": self._time_left(i),
            "progress": float(task.progress) if task is not None and task.progress is not None else None,
            "note": note,
            "failure": (task.failure or "") if task is not None and task.failed else "",
            "failure_code": (task.failure_code or "") if task is not None and task.failed else "",
            "hint": failure_hint(task.failure_code) if task is not None and task.failed else "",
            "outputs": urls if finished or status == SUCCEEDED else [],
            "kinds": kinds if finished or status == SUCCEEDED else [],
            "waveforms": waveforms if finished or status == SUCCEEDED else [],
            "files": [u for u in (file_url(p) for p in (h.files or [])) if u is not None],
            "finished": finished,
            "cancelling": cancelling,
            "credits": credits,
            "caption": caption_fields(h.params, credits=credits),
        })
        return cell

    def _time_left(self, i: int) -> float | None:
        """The best estimate of the seconds cell ``i`` has left while it runs (each poll's task fed once)."""
        h = self.handles[i]
        clock = h.client.clock
        estimate, fed = self._estimates.get(i) or (FinishEstimate(created=h.client.created_at(h.id),
                                                                  floor=h.schedule.floor), None)
        task = h.task
        if task is not None and task is not fed:
            estimate.observe(task.status, task.progress, clock.now(), finished=task.finished)
        self._estimates[i] = (estimate, task)
        left = estimate.remaining(clock.now()) if task is not None and task.status == RUNNING else None
        return None if left is None else round(left, 1)

    def _publish_cells(self) -> None:
        cells = [self._cell(i) for i in range(len(self.handles))]
        counts = {"total": len(cells), "done": 0, "failed": 0, "running": 0, "queued": 0, "throttled": 0,
                  "cancelled": 0}
        credits, estimated, known = 0.0, False, False
        for i, c in enumerate(cells):
            s = c["status"]
            if s == SUCCEEDED:
                counts["done"] += 1
            elif s == FAILED:
                counts["failed"] += 1
            elif s == CANCELLED:
                counts["cancelled"] += 1
            elif s == RUNNING:
                counts["running"] += 1
            else:  # PENDING, THROTTLED (waiting for a concurrency slot), unknown statuses: queued
                counts["queued"] += 1
                if s == THROTTLED:
                    counts["throttled"] += 1
            task = self.handles[i].task
            if task is not None and task.cost is not None:
                credits += task.cost
                known = True
            elif c["credits"] is not None and s != CANCELLED:
                credits += float(c["credits"])
                estimated = known = True
        summary: dict[str, Any] = dict(counts)
        summary["credits"] = (int(credits) if float(credits).is_integer() else round(credits, 2)) if known else None
        summary["estimated"] = estimated
        with self.hold_sync():
            self.cells = cells
            self.summary = summary

    def _sync_handle(self, i: int, task: Task) -> None:
        self.handles[i].task = task  # the async twin shares it

    def _finish_cell(self, i: int, task: Task) -> None:
        """Cell ``i`` ended with ``task``: show it; its outputs are archived by the GET that saw it
        succeed (client/keep.py), or here if that has not happened yet."""
        if i in self._terminal:
            return
        self._terminal.add(i)
        self._t_end[i] = time.monotonic()
        self._cancelling.discard(i)
        self._sync_handle(i, task)
        self._publish_cells()  # (also learns the outputs' kinds)
        keep = self._keep_due(i, task)
        # Succeeded: its posters are made off the event loop first (the static grid embeds them).
        if (task.status == SUCCEEDED and task.outputs) or "audio" in self._kinds[i]:
            self._saving.add(i)
            if live.running_loop() is not None:
                self._finishing[i] = self._spawn(self._finish_cell_async(i, keep))
            else:
                self._finish_cell_sync(i, keep)
        self._publish_cells()
        self._check_done()

    def _keep_due(self, i: int, task: Task) -> bool:
        """Whether cell ``i``'s outputs are still to be archived."""
        return bool(task.status == SUCCEEDED and task.outputs and not self.handles[i].files)

    async def _finish_cell_async(self, i: int, keep: bool) -> None:
        """Archive cell ``i``'s outputs if still due, then draw its audio outputs' waveforms."""
        try:
            if keep:
                await self._twin(i).keep()
                self._note_save_problem(i)
            await self._posters_async(self._shown_files(i), self._kinds[i], posters.GRID_SIDE)
            if "audio" in self._kinds[i]:
                self._waveforms[i] = await self._waveforms_async(self._twin(i), self._relay[i], self._kinds[i],
                                                                 self._shown_files(i))
        finally:
            self._saving.discard(i)
            self._finishing.pop(i, None)
        self._publish_cells()
        self._check_done()

    def _finish_cell_sync(self, i: int, keep: bool) -> None:
        h = self.handles[i]
        try:
            if keep and isinstance(h, TaskHandle):
                h.keep()
                self._note_save_problem(i)
            if "audio" in self._kinds[i]:
                self._waveforms[i] = self._waveforms_sync(h, self._relay[i], self._kinds[i], self._shown_files(i))
        finally:
            self._saving.discard(i)

    def _note_save_problem(self, i: int) -> None:
        problem = self.handles[i].save_problem
        if problem and not self.handles[i].files:
            self._set_error(problem)

    def _shown_files(self, i: int) -> list[Any]:
        """The saved copy of each output of cell ``i`` shown (None where there is none)."""
        files = list(self.handles[i].files or [])
        return [files[j] if j < len(files) else None for j in self._shown[i]]

    def _check_done(self) -> None:
        if self._final_ready or len(self._terminal) < len(self.handles) or self._saving:
            return
        self._final_ready = True
        self.finished = True
        self._publish_cells()
        self._publish_displays(force=True)

    def _adopt_task_views(self) -> None:
        """A TaskView the session made for a handle (``--save``) but nobody showed stops polling:
        the grid polls, and saves, every cell itself."""
        for h in self.handles:
            TaskView.release_undisplayed(h)

    # ------------------------------------------------------------------ polling
    def _twin(self, i: int) -> AsyncTaskHandle:
        """Cell ``i``'s handle to poll on the event loop (the handle caches its twin)."""
        return self.handles[i].to_async()

    def _floor(self) -> float:
        floors = [getattr(h.client, "poll_floor", 5.0) or 5.0 for h in self.handles]
        return min(floors) if floors else 5.0

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _note_round(self, due: float | None) -> None:
        self._next_poll = due

    async def _poll(self) -> None:
        """Watch every unfinished cell through the engine; cells due together are polled together."""
        clock = self._twin(0).client.clock if self.handles else None
        if clock is None:
            return
        watch = Watch(floor=self._floor())
        now = clock.now()
        for i in range(len(self.handles)):
            if i not in self._terminal:
                self._twin(i).add_to(watch, now, key=i)
        problems: list[PollFailed] = []

        def on_event(event: WatchEvent) -> None:
            i = cast(int, event.key)
            if i in self._terminal or i in self._cancelling:
                return  # its cancel decides
            if isinstance(event, PollFailed):
                problems.append(event)
            elif isinstance(event, Finished):
                self._finish_cell(i, event.task)

        def known(key: Hashable) -> Task | None:
            i = cast(int, key)
            if i in self._terminal:
                watch.discard(key)
                return None
            if i in self._cancelling:
                watch.postpone(key, clock.now() + self._floor())  # polled again only if the cancel fails
                return None
            return self.handles[i].task  # ended meanwhile, e.g. seen by a blocking wait elsewhere

        def after_round(due: float | None) -> None:
            self._note_round(due)
            if due is None:
                return
            if problems:
                first = problems[0]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                self._set_error(f"could not refresh task {self.handles[cast(int, first.key)].id}{more}, retrying: "
                                f"{type(first.error).__name__}: {first.error}")
                problems.clear()
            elif self.error.startswith("could not refresh"):
                self.error = ""
            self._publish_cells()

        watch.subscribe(on_event)
        if self._wake is None:
            self._wake = asyncio.Event()
        await drive_async(watch, lambda key: self._twin(cast(int, key)).refresh(), clock=clock,
                          tolerate_errors=True, wake=self._wake, known=known, on_round=after_round)
        after_round(0.0)  # the last round's news

    # ------------------------------------------------------------------ cancel
    def _request_cancel(self, i: int) -> None:
        if not 0 <= i < len(self.handles) or i in self._terminal or i in self._cancelling:
            return
        self._cancelling.add(i)
        self._publish_cells()
        if live.running_loop() is not None:
            self._spawn(self._cancel_async(i))
            return
        h = self.handles[i]
        try:
            h.cancel()
        except Exception as exc:
            self._cancel_failed(i, exc)
            return
        self._finish_cell(i, h.task or Task(id=h.id, status=CANCELLED))

    def _cancel_failed(self, i: int, exc: BaseException) -> None:
        self._cancelling.discard(i)
        self._set_error(f"cancel of task {self.handles[i].id} failed: {type(exc).__name__}: {exc}")
        self._publish_cells()
        if live.running_loop() is not None and not self._final_ready:
            self.watch()  # (only starts a poller if none runs)

    async def _cancel_async(self, i: int) -> None:
        ah = self._twin(i)
        try:
            await ah.cancel()
        except Exception as exc:
            self._cancel_failed(i, exc)
            return
        self._finish_cell(i, ah.task or Task(id=ah.id, status=CANCELLED))
        self._wake_up()

    # ------------------------------------------------------------------ display
    def _widget_in_output(self) -> bool:
        """The widget until every task ended; then the widget stays only where a browser renders
        it (synced playback needs it; the saved file keeps the static grid), unless
        :meth:`freeze` was called. A run no browser watched keeps only the static grid."""
        if self._frozen:
            return False
        if not self._final_ready:
            return True
        return self._views > 0

    def _after_cell(self) -> None:
        """After each cell: take in ends seen by a blocking wait, poll once if the cell kept the
        loop busy past a poll, and re-send a final output published while no cell ran (nbclient
        records only the running cell's messages)."""
        if not self._final_ready and self._poll_overdue():
            for i, h in enumerate(self.handles):
                if i in self._terminal or isinstance(h, AsyncTaskHandle):
                    continue
                try:
                    h.refresh()
                except Exception as exc:
                    self._set_error(exc)
                    break
        if not self._final_ready:
            changed = False
            for i, h in enumerate(self.handles):
                if i not in self._terminal and h.task is not None and h.task.finished:
                    self._finish_cell(i, h.task)
                    changed = True
            if not changed:
                self._publish_cells()
            self._finish_now()
            self._wake_up()
        else:
            self._republish_for_cell()

    def _finish_now(self) -> None:
        """Every task ended but files or waveforms are still coming on the event loop: fetch them
        now, as part of the cell that just ran, so the final grid is published as its reply.
        A headless run (nbclient) records nothing after its last cell, and that cell (a wait, a
        sleep) may be the one the tasks ended in. A fetch in flight is cancelled and done again
        (files are written under temporary names, so two writers never clash)."""
        if (self._final_ready or len(self._terminal) < len(self.handles) or not self._saving
                or live.current_cell["parent"] is None
                or any(isinstance(self.handles[i], AsyncTaskHandle) for i in self._saving)):
            return
        for i in sorted(self._saving):
            pending = self._finishing.pop(i, None)
            if pending is not None:
                pending.cancel()
            task = self.handles[i].task
            if task is not None:
                self._finish_cell_sync(i, self._keep_due(i, task))
            self._saving.discard(i)
        self._publish_cells()
        self._check_done()

    def _poll_overdue(self) -> bool:
        """Whether the poller missed its time: its next poll, or its first round when a cell
        blocked the loop right after the grid was shown."""
        due = self._next_poll if self._next_poll is not None else self._poll_started
        if due is None or self._poller is None or self._poller.done():
            return False
        clock = self.handles[0].client.clock if self.handles else None
        return clock is not None and clock.now() > due + max(0.5, self._floor())

    def _static_data(self) -> dict[str, str]:
        return {"text/plain": self.static_text(), "text/html": self.static_html()}

    def _needs_watching(self) -> bool:
        return not self._final_ready

    # ------------------------------------------------------------------ requests from the view
    def _commands(self) -> Mapping[str, Command]:
        return {"view": self._command_view, "cancel": self._command_cancel, "cancel_all": self._command_cancel_all,
                "retry": self._command_retry, "media": self._command_media,
                "media_status": self._command_media_status}

    def _command_cancel(self, args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        cell = args.get("cell")
        if not isinstance(cell, int) or isinstance(cell, bool):
            raise ValueError(f"no cell {cell!r}")
        self._request_cancel(cell)
        return None

    def _command_cancel_all(self, _args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        self.cancel()
        return None

    def _command_media(self, args: dict[str, Any], _buffers: list[bytes]) -> Any:
        cell, index = args.get("cell"), args.get("index")
        if not (isinstance(cell, int) and isinstance(index, int) and 0 <= cell < len(self._relay)
                and 0 <= index < len(self._relay[cell])):
            raise ValueError(f"no output {index!r} of cell {cell!r} to send")
        # chosen by index: the browser never names a URL to fetch
        return self._fetch_media(self._relay[cell][index], self._shape[cell]["endpoint"], self.handles[cell].client,
                                 lambda: self._twin(cell).client)

    def _command_media_status(self, args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        self._take_verdicts(args, 256)
        return None


# ---------------------------------------------------------------------- helpers
def _varying(combos: Sequence[Mapping[str, Any]]) -> list[str]:
    from runway_nb.notebook.sweep import varying

    return varying(combos)


def _fixed(combos: Sequence[Mapping[str, Any]], vary: Sequence[str]) -> dict[str, Any]:
    if not combos:
        return {}
    return {k: v for k, v in combos[0].items() if k not in vary and not k.startswith("_")}

"""``TaskView``: one Runway task, live in the notebook, and durable once it ends.

How it works (see ``_static.py`` for what ends up in the saved notebook):

- State lives in synced traits; the browser view (``js/task_view.js``) only renders them.
- A poller runs as an asyncio task on the kernel's running loop, so the cell returns at once.
  It is kept referenced in ``_TASKS`` (dropped by a done callback); its errors go to the
  ``error`` trait. It polls through the async twin of the handle's client (one cached
  ``AsyncRunway`` per sync ``Runway``) on the handle's own ``PollSchedule``, and keeps the sync
  handle's ``.task`` current.
- Without a running loop (terminal IPython, scripts) :meth:`TaskView.watch` waits synchronously
  and prints a one-line progress (``_run_view.py``: what the task and workflow views share).
- Browser -> kernel messages: ``view`` (a view rendered), ``cancel``, ``retry``, ``again`` (Generate
  again: the session sends the request once more; the new task shows in the same cell), ``bytes`` (send
  me output ``index``: its URL does not load in this browser; the kernel downloads it through
  the client and answers with a binary buffer, never stored in a trait) and ``media_status``.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable, Coroutine, Hashable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import traitlets as t

from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, Task
from runway_nb.client.core import AsyncTaskHandle, TaskHandle
from runway_nb.client.eta import RUN_TIMES, FinishEstimate, run_kind
from runway_nb.client.handles import AnyTaskHandle
from runway_nb.client.watch import Finished, Updated, Watch, WatchEvent, drive_async
from runway_nb.errors import failure_hint
from runway_nb.notebook import posters
from runway_nb.notebook.charges import handle_credits
from runway_nb.notebook.widgets import _audio as audio
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets._live import Command, Reply, async_twin
from runway_nb.notebook.widgets._run_view import RunView
from runway_nb.notebook.widgets._static import (
    caption_fields,
    output_shape,
    static_html,
    static_text,
    status_note,
)
from runway_nb.notebook.widgets._urls import file_url, is_remote, media_kind, safe_url

__all__ = ["TaskView", "async_twin", "display_handle", "register_formatters", "unregister_formatters"]

VERDICT_TIMEOUT = 30.0  # seconds a rendered view has to report that the outputs loaded

# One live view per handle, so showing a handle twice does not poll twice.
_VIEWS: weakref.WeakValueDictionary[int, TaskView] = weakref.WeakValueDictionary()


class TaskView(RunView[Task]):
    """A live view of one Runway task: status, progress, time, Cancel, failure hint, and the
    outputs playing inline with a caption and Download buttons.

    ``TaskView(handle, save_to=None, caption=None)``: ``handle`` is a ``TaskHandle`` or
    ``AsyncTaskHandle``; ``save_to`` the folder the outputs are archived into when the task
    succeeds (None: the handle's, i.e. the client's ``runway_outputs`` unless turned off; True:
    ``runway_outputs``; False: not archived);
    ``caption`` a title string, or a dict overriding caption fields (prompt, model, ratio, seed,
    duration, credits). In a kernel, the view starts watching at once; elsewhere call
    :meth:`watch`, which blocks and prints progress.
    """

    _esm = live.asset("task_view.js").read_text(encoding="utf-8")
    _css = live.asset("task_view.css").read_text(encoding="utf-8")

    #: Close the model once its displays became static (see ``LiveWidget._retire``). A
    #: container that embeds TaskViews sets this to False on its children.
    retire_when_static = True

    task_id = t.Unicode("").tag(sync=True)
    endpoint = t.Unicode("").tag(sync=True)
    status = t.Unicode(PENDING).tag(sync=True)
    progress = t.Float(None, allow_none=True).tag(sync=True)
    #: Seconds since the task was created (queue and run), up to its end.
    elapsed = t.Float(0.0).tag(sync=True)
    #: Seconds it waited PENDING/THROTTLED before it ran, and seconds it ran (up to its end).
    queued = t.Float(0.0).tag(sync=True)
    running = t.Float(0.0).tag(sync=True)
    #: The best estimate of the seconds left while RUNNING (from its progress), else None.
    eta = t.Float(None, allow_none=True).tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    failure = t.Unicode("").tag(sync=True)
    failure_code = t.Unicode("").tag(sync=True)
    hint = t.Unicode("").tag(sync=True)
    outputs = t.List(t.Unicode()).tag(sync=True)
    kinds = t.List(t.Unicode()).tag(sync=True)
    #: Per output: ``{"duration", "peaks", "label"}`` for audio once the kernel decoded it, else ``{}``.
    waveforms = t.List(t.Dict()).tag(sync=True)
    files = t.List(t.Unicode()).tag(sync=True)
    caption = t.Dict().tag(sync=True)
    shape = t.Dict().tag(sync=True)  # {width, height} of the output, for a placeholder of its size
    #: A routed generation's "routed to <model> (<why>)", else "".
    routing = t.Unicode("").tag(sync=True)
    cancelling = t.Bool(False).tag(sync=True)
    #: Whether "Generate again" can send this task's request once more (a task of one cell).
    can_again = t.Bool(False).tag(sync=True)

    def __init__(self, handle: AnyTaskHandle, *, save_to: str | os.PathLike[str] | bool | None = None,
                 caption: str | dict[str, Any] | None = None, watch: bool = True, **kwargs: Any):
        if not isinstance(handle, AnyTaskHandle):
            raise TypeError(f"TaskView needs a TaskHandle or AsyncTaskHandle, not {type(handle).__name__}")
        super().__init__(**kwargs)
        self.handle = handle
        if save_to is not None:
            handle.save_to = live.folder_arg(save_to)
        self._caption_arg = caption
        self._wake: asyncio.Event | None = None
        self._t0 = self._start_time()
        self._t_end: float | None = None
        kind = self._run_kind()
        self._estimate = FinishEstimate(created=self._t0, floor=handle.schedule.floor,
                                        typical_run=RUN_TIMES.typical(kind), run_spread=RUN_TIMES.spread(kind))
        self._relay_urls: list[str] = []
        self._shown: list[int] = []  # the task's output index of each output shown
        self._final_ready = False
        self._cancel_requested = False
        self._verdict_overdue = False
        self._next_poll: float | None = None
        self._poll_started: float | None = None  # when the poller started (before its first round ends)
        # When the poller counts as late (see _poll_overdue): worked out once per round, because
        # a view of a blocking handle is asked after every cell and a kernel may hold a thousand.
        self._overdue_at: float | None = None
        self._overdue_slack = max(0.5, getattr(handle.client, "poll_floor", 5.0))
        with self.hold_sync():
            self.task_id = handle.id
            self.endpoint = handle.endpoint or str(handle.params.get("endpoint") or "")
            self.caption = caption_fields(handle.params, credits=handle.estimated_cost, caption=caption)
            size = output_shape(self.endpoint, handle.params)
            self.shape = {"width": size[0], "height": size[1]} if size is not None else {}
            self.routing = handle.routing.summary() if handle.routing is not None else ""
            self.can_again = _session_can_send_again(handle)
            if handle.task is not None:
                self._apply(handle.task)
        _VIEWS[id(handle)] = self
        if handle.task is not None and handle.task.finished:
            self._terminal_begin(handle.task)
            if handle.files:  # archived already (a reattached or re-shown task): the final output plays them
                self._save_paths(list(handle.files))
            if not self._has_audio():
                self._terminal_end()
            elif live.running_loop() is not None:
                self._spawn(self._end_with_waveforms())
            else:
                self.waveforms = self._waveforms_sync(self.handle, self._relay_urls, list(self.kinds),
                                                      self._shown_files())
                self._terminal_end()
        else:
            self._follow(keep_alive=True)
            if watch and live.running_loop() is not None:
                self.watch()

    # ------------------------------------------------------------------ public
    @property
    def save_to(self) -> Path | None:
        """The folder the outputs are archived into when the task succeeds (the handle's)."""
        return self.handle.save_to

    @classmethod
    def for_handle(cls, handle: AnyTaskHandle, **kwargs: Any) -> TaskView:
        """The live view of ``handle`` (created on first use): one poller per handle."""
        view = _VIEWS.get(id(handle))
        # A task shown again for a re-run cell whose view was closed gets a live view again (the button).
        if view is not None and view.handle is handle and not (view.retired and _session_reshown(handle)):
            view.catch_up()
            return view
        return cls(handle, **kwargs)

    def cancel(self) -> None:
        """Cancel the remote task (what the Cancel button does)."""
        self._request_cancel()

    def close(self) -> None:
        """Stop watching (the remote task keeps running) and close the widget.

        Safe on a view whose ``__init__`` did not finish (ipywidgets closes it when it is
        collected): only what was set up is torn down."""
        self._stop_poller()
        self._unfollow()
        handle = self.__dict__.get("handle")
        if handle is not None and _VIEWS.get(id(handle)) is self:
            del _VIEWS[id(handle)]
        if "_retired" in self.__dict__:
            # Nothing shows it: close its model, leaving no state (code included) in a saved notebook.
            self._retire(live.get_ipython(), live.current_cell["parent"])
        super().close()

    def static_html(self) -> str:
        """The static HTML of the current state (the durable output once the task ended)."""
        return static_html(self.handle, files=self._files_paths(), caption=self._caption_arg)

    def __repr__(self) -> str:
        return f"<TaskView {self.summary()}>"

    @classmethod
    def release_undisplayed(cls, handle: AnyTaskHandle) -> None:
        """Stop the view of ``handle`` if nobody showed it (e.g. one the session made for
        ``--save``), so that a container (a grid) can watch, and save, the task itself."""
        view = _VIEWS.get(id(handle))
        if view is not None and view.handle is handle:
            view.release_if_undisplayed()

    def release_if_undisplayed(self) -> None:
        """See :meth:`release_undisplayed`."""
        if self._displays:
            return
        self._stop_poller()
        self._unfollow()
        if _VIEWS.get(id(self.handle)) is self:
            del _VIEWS[id(self.handle)]
        # Nothing shows it: close its model, leaving no state (code included) in a saved notebook.
        self._retire(live.get_ipython(), live.current_cell["parent"])

    # ------------------------------------------------------------------ display
    def _static_data(self) -> dict[str, str]:
        return {"text/plain": self._plain_text(), "text/html": self.static_html()}

    def _plain_text(self) -> str:
        return static_text(self.handle, files=self._files_paths(), caption=self._caption_arg)

    def _widget_in_output(self) -> bool:
        """Whether outputs should carry the widget view, or only the static HTML.

        Until the task ends: the widget. Once it ended: only the static HTML (it survives a
        reload, nbconvert and GitHub, where a widget shows "model not found" or nothing), unless
        the browser could not load an output URL itself (e.g. the kernel runs on Binder and
        the URL is on its loopback) and no local copy was saved: then the widget stays, since
        only it can show the bytes relayed by the kernel.
        """
        if self._retired or self.comm is None:
            return False
        if not self._final_ready:
            return True
        if self.can_again and live.widget_frontend() and _session_reshown(self.handle):
            # A task shown again for a re-run cell offers "Generate again", which needs the live view
            # while a page shows it; the file still gets the static form (the output is marked
            # final: saving drops the widget view).
            return True
        if not self.outputs or self.files:
            return False
        if self._relayed:
            return True
        if self._verdicts:
            return any(v != "loaded" for v in self._verdicts)
        # A view rendered but has not reported yet: keep it, for a while (a view that never
        # reports, e.g. detached from the page, must not leave the notebook with a widget).
        return self._views > 0 and not self._verdict_overdue

    def _schedule_verdict_timeout(self) -> None:
        loop = live.running_loop()
        if loop is not None and self._views > 0 and not self._verdicts and not self._relayed:
            loop.call_later(VERDICT_TIMEOUT, self._verdict_timeout)

    def _verdict_timeout(self) -> None:
        self._verdict_overdue = True
        if self._final_ready and not self._retired:
            self._publish_displays()

    def _latest(self) -> Task | None:
        return self.handle.task

    # ------------------------------------------------------------------ state
    def _now(self) -> float:
        """The client's clock (the simulator's when a test drives it), as created_at and the schedule use."""
        return self.handle.client.clock.now()

    def _start_time(self) -> float:
        created = self.handle.client.created_at(self.handle.id)
        if created is not None:
            return created
        task = self.handle.task
        if task is not None and task.created_at is not None:
            age = (datetime.now(timezone.utc) - task.created_at).total_seconds()
            if 0 <= age < 7 * 86400:
                return self._now() - age
        return self._now()

    def _files_paths(self) -> list[Any]:
        return list(getattr(self.handle, "files", None) or [])

    def _apply(self, task: Task) -> None:
        """Show ``task`` (the latest state seen)."""
        now = self._now()
        estimate = self._estimate
        estimate.observe(task.status, task.progress, now, finished=task.finished)
        with self.hold_sync():
            self.status = task.status
            self.progress = float(task.progress) if task.progress is not None else None
            self.elapsed = round((self._t_end or now) - self._t0, 2)
            self.queued = round(estimate.queued(now), 2)
            self.running = round(estimate.running(now), 2)
            self.eta = self._eta(task, now)
            self.note = "Cancelling…" if self.cancelling and not task.finished else status_note(task.status)
            if task.failed:
                self.failure = task.failure or ""
                self.failure_code = task.failure_code or ""
                self.hint = failure_hint(task.failure_code)
            urls, kinds, shown = [], [], []
            model = self.handle.params.get("model")
            for i, url in enumerate(task.outputs):
                if safe_url(url) is not None and (is_remote(url) or url.startswith("data:")):
                    urls.append(url)
                    shown.append(i)
                    kinds.append(media_kind(url, self.endpoint, model if isinstance(model, str) else None))
            self._relay_urls = list(urls)
            self._shown = shown
            if urls != list(self.outputs):
                self.waveforms = [audio.trait(audio.known(u, read_file=False)) if k == "audio" else {}
                                  for u, k in zip(urls, kinds, strict=True)]
                self.kinds = kinds
                self.outputs = urls
            dropped = len(task.outputs) - len(urls)
            if dropped:
                self.note = f"{dropped} output URL(s) not shown: not an http(s) URL."
            credits = handle_credits(self.handle, task)
            self.caption = caption_fields(self.handle.params, credits=credits, caption=self._caption_arg)
            routing = self.handle.routing or task.routing
            self.routing = routing.summary() if routing is not None else ""
            self.finished = task.finished

    def _eta(self, task: Task, now: float) -> float | None:
        """Seconds left: the best estimate from the progress readings (not the poll schedule's
        latest possible finish, which only tells when polling must look)."""
        if task.status != RUNNING:
            return None
        remaining = self._estimate.remaining(now)
        return None if remaining is None else round(remaining, 1)

    def _run_kind(self) -> tuple[str, str, str]:
        """What a task's run time depends on: the operation, the model and the output's length."""
        return run_kind(self.handle.endpoint, self.handle.params)

    # ------------------------------------------------------------------ the end of a task
    def _terminal_begin(self, task: Task) -> bool:
        if self._terminal:
            return False
        self._terminal = True
        self._t_end = self._now()
        self.handle.task = task  # the async twin shares it
        self.cancelling = False
        self._apply(task)  # (the handle records how long it ran, for the next task of its kind)
        return True

    def _terminal_end(self) -> None:
        self._final_ready = True
        self._unfollow()
        if self._displays:
            self._follow(keep_alive=False)
        if self._widget_in_output() and self._views > 0 and not self._verdicts and not self._relayed:
            # A browser shows the view: leave it alone until the view reports whether the
            # outputs loaded (re-publishing would re-render it), then publish the final output.
            self._schedule_verdict_timeout()
        else:
            self._publish_displays(force=True)

    def shown_outputs(self) -> list[tuple[str, str, Any]]:
        """Each output shown: its kind, its URL and its saved copy (None where there is none)."""
        return list(zip(self.kinds, self.outputs, self._shown_files(), strict=False))

    def _shown_files(self) -> list[Any]:
        """The saved copy of each output shown (None where there is none)."""
        files = self._files_paths()
        return [files[i] if i < len(files) else None for i in self._shown]

    def _has_audio(self) -> bool:
        return "audio" in self.kinds

    def _save_paths(self, paths: list[Path]) -> None:
        self.handle.files = list(paths)
        self.files = [u for u in (file_url(p) for p in paths) if u is not None]

    async def _end_with_waveforms(self) -> None:
        """A view of a task that had already ended: its final output waits for the waveforms."""
        try:
            self.waveforms = await self._waveforms_async(self._async_handle(), self._relay_urls, list(self.kinds),
                                                         self._shown_files())
        finally:
            self._terminal_end()

    async def _terminal_async(self, task: Task) -> None:
        if not self._terminal_begin(task):
            return
        if task.status == SUCCEEDED and not self.handle.files:
            await self._async_handle().keep()  # the GET that saw it succeed usually archived it already
        self._take_saved()
        await self._posters_async(self._shown_files(), list(self.kinds), posters.SIDE)
        if self._has_audio():  # before the final output is published: it embeds the waveforms
            self.waveforms = await self._waveforms_async(self._async_handle(), self._relay_urls, list(self.kinds),
                                                         self._shown_files())
        self._terminal_end()

    def _terminal_sync(self, task: Task) -> None:
        if not self._terminal_begin(task):
            return
        if task.status == SUCCEEDED and not self.handle.files and isinstance(self.handle, TaskHandle):
            self.handle.keep()
        self._take_saved()
        if self._has_audio():
            self.waveforms = self._waveforms_sync(self.handle, self._relay_urls, list(self.kinds),
                                                  self._shown_files())
        self._terminal_end()

    def _take_saved(self) -> None:
        """Show the archived files, or why the outputs were not archived."""
        if self.handle.files:
            self._save_paths(list(self.handle.files))
        elif self.handle.save_problem:
            self._set_error(self.handle.save_problem)

    def _cell_only_after_ends(self) -> bool:
        # An async handle is polled by the loop: only a task ended elsewhere (another wait on the
        # same handle) needs catching up after a cell. A sync one may be overdue after any cell
        # (a blocking cell held the loop).
        return isinstance(self.handle, AsyncTaskHandle)

    def wants_cell(self, ended: bool) -> bool:
        if self._terminal:
            return self._final_ready and self._needs_cell_publish  # re-sent for the running cell
        return True  # while watching, it is asked only when it may have work (_cell_only_after_ends)

    def _after_cell(self) -> None:
        """After each cell: finish if the handle ended meanwhile (e.g. ``handle.wait()`` in this
        cell blocked the loop); poll once if the cell kept the loop busy past a poll; re-send a
        final output published while no cell ran (nbclient records only the running cell's)."""
        task = self.handle.task
        # An async handle is never polled here, so the common case costs two attribute reads.
        if not self._terminal and not isinstance(self.handle, AsyncTaskHandle) and self._poll_overdue():
            # The cell kept the loop busy past the next poll (time.sleep, a long computation):
            # poll once now, inside the cell, so a headless run still records the end.
            try:
                task = self.handle.refresh()
            except Exception as exc:
                self._set_error(exc)
                return
            if not task.finished:
                self._apply(task)
        if not self._terminal and task is not None and task.finished:
            self.catch_up()
        elif self._final_ready:
            self._republish_for_cell()

    # ------------------------------------------------------------------ polling
    def _poll_overdue(self) -> bool:
        """Whether the poller missed its time: its next poll, or its first round when a cell
        blocked the loop right after the view was shown."""
        late_at = self._overdue_at
        if late_at is None or self._cancel_requested or self._poller is None or self._poller.done():
            return False
        return self._now() > late_at

    def _poller_started(self) -> None:
        self._next_poll = None
        self._poll_started = self._now()
        self._track_due()

    def _track_due(self) -> None:
        due = self._next_poll if self._next_poll is not None else self._poll_started
        self._overdue_at = None if due is None else due + self._overdue_slack

    def _async_handle(self) -> AsyncTaskHandle:
        """The handle to poll on the event loop: itself, or its cached twin sharing its state."""
        return self.handle.to_async()

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _note_round(self, due: float | None) -> None:
        self._next_poll = due
        self._track_due()

    async def _poll(self) -> None:
        """Watch the task through the engine until it ends, is cancelled here, or ends elsewhere."""
        ah = self._async_handle()
        clock = ah.client.clock
        watch = Watch(floor=ah.schedule.floor)
        ah.add_to(watch, clock.now())
        ended: list[Task] = []

        def on_event(event: WatchEvent) -> None:
            if self._terminal or self._cancel_requested:
                return  # a cancel decides what is shown
            if isinstance(event, Updated):
                self._apply(event.task)
            elif isinstance(event, Finished):
                ended.append(event.task)

        def known(key: Hashable) -> Task | None:
            if self._terminal or self._cancel_requested:
                watch.discard(key)
                return None
            return self.handle.task  # e.g. the user waited on the handle

        watch.subscribe(on_event)
        if self._wake is None:
            self._wake = asyncio.Event()
        await drive_async(watch, lambda _key: ah.refresh(), clock=clock, wake=self._wake, known=known,
                          on_round=self._note_round)
        if ended:
            await self._terminal_async(ended[0])

    # ------------------------------------------------------------------ the blocking watch
    def _wait(self, on_update: Callable[[Task], None]) -> Task | Coroutine[Any, Any, Task]:
        return self.handle.wait(raise_on_failure=False, on_update=on_update)

    def _status_text(self) -> str:
        return self._progress_line()

    def _take_update(self, reading: Task) -> bool:
        if reading.finished:
            return False  # the end: _take_end shows it once archived
        self._apply(reading)
        return True

    def _take_end(self, reading: Task) -> None:
        self._terminal_sync(reading)

    def _still_running(self) -> str:
        return f"task {self.handle.id} still runs (handle.cancel() stops it)"

    def _progress_line(self) -> str:
        status = self.status
        bits = [f"runway {self.handle.id[:8]}", status]
        if status == RUNNING and self.progress is not None:
            done = round(self.progress * 20)
            bits.append(f"{self.progress:4.0%} [{'#' * done}{'-' * (20 - done)}]")
        now = self._t_end or self._now()
        queued, running = self._estimate.queued(now), self._estimate.running(now)
        if queued >= 0.5 or not running:
            bits.append(f"queued {_fmt_seconds(queued)}")
        if running:
            bits.append(f"{'ran' if self.finished else 'running'} {_fmt_seconds(running)}")
        if self.eta is not None and not self.finished:
            bits.append(f"≈ {_fmt_seconds(self.eta)} left")
        if status == FAILED:
            bits.append(f"[{self.failure_code}] {self.failure}".strip())
        if status in ("THROTTLED",):
            bits.append("waiting for a free concurrency slot")
        if status == SUCCEEDED:
            bits.append(f"{len(self.outputs)} output(s)" + (f" saved to {self.handle.save_to}" if self.files else ""))
        return " · ".join(bits)

    # ------------------------------------------------------------------ cancel
    def _request_cancel(self) -> None:
        if self._terminal or self._cancel_requested:
            return
        self._cancel_requested = True
        self.cancelling = True
        self.note = "Cancelling…"
        if live.running_loop() is not None:
            self._spawn(self._cancel_async())
            return
        try:
            self.handle.cancel()  # a sync handle outside a loop
        except Exception as exc:
            self._cancel_failed(exc)
            return
        self._terminal_sync(self.handle.task or Task(id=self.handle.id, status=CANCELLED))

    def _cancel_failed(self, exc: BaseException) -> None:
        self._cancel_requested = False
        self.cancelling = False
        self.note = status_note(self.status)
        self._set_error(f"cancel failed: {type(exc).__name__}: {exc}")
        if not self._terminal and live.running_loop() is not None:
            self.watch()

    async def _cancel_async(self) -> None:
        ah = self._async_handle()
        try:
            await ah.cancel()
        except Exception as exc:
            self._cancel_failed(exc)
            return
        self._wake_up()
        await self._terminal_async(ah.task or Task(id=ah.id, status=CANCELLED))

    # ------------------------------------------------------------------ requests from the view
    def _commands(self) -> Mapping[str, Command]:
        return {"view": self._command_view, "cancel": self._command_cancel, "retry": self._command_retry,
                "media": self._command_media, "media_status": self._command_media_status,
                "again": self._command_again}

    def _command_again(self, _args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """"Generate again": one more task for this request, shown under this view in its cell."""
        from runway_nb.notebook.session import get_session

        again = get_session().send_again(self.handle)
        # In this view's place: a new output in its cell would be dropped (no cell runs now), while
        # an update of its displays reaches them; re-running the cell shows the newest task too.
        TaskView.for_handle(again).take_displays_of(self)
        self.can_again = False
        return {"task_id": again.id}

    def _command_cancel(self, _args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        self._request_cancel()
        return None

    def _command_media(self, args: dict[str, Any], _buffers: list[bytes]) -> Any:
        index = args.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self._relay_urls):
            raise ValueError(f"no output {index!r} to send")
        if args.get("purpose") != "download":
            self._relayed = True  # this browser cannot load the URL itself
        # chosen by index: the browser never names a URL to fetch
        return self._fetch_media(self._relay_urls[index], self.endpoint, self.handle.client,
                                 lambda: self._async_handle().client)

    def _command_media_status(self, args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if self._take_verdicts(args, 64) and self._final_ready:
            self._publish_displays()  # static once loaded; else the widget + final HTML
        return None


def _session_reshown(handle: AnyTaskHandle) -> bool:
    from runway_nb.notebook.session import get_session

    return get_session().is_reshown(handle)


def _session_can_send_again(handle: AnyTaskHandle) -> bool:
    from runway_nb.notebook.session import get_session

    return get_session().can_send_again(handle)


def _fmt_seconds(seconds: float) -> str:
    s = round(max(0.0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# ---------------------------------------------------------------------- handles in IPython
def display_handle(handle: AnyTaskHandle, **kwargs: Any) -> TaskView:
    """Show ``handle``: the live widget in Jupyter; in a terminal or script, a synchronous
    watch with a one-line progress. Returns the (one per handle) :class:`TaskView`.

    ``kwargs`` (``save_to``, ``caption``) apply when the view is created.
    """
    return live.show(TaskView.for_handle(handle, **kwargs))


def _format_handle(handle: AnyTaskHandle) -> None:
    display_handle(handle)


def register_formatters(ipython: Any = None) -> bool:
    """Make ``TaskHandle``/``AsyncTaskHandle`` display as a TaskView in a Jupyter kernel (see
    :func:`runway_nb.notebook.widgets._live.register_display`). Outside a kernel (terminal
    IPython) handles keep their one-line ``repr``. Returns whether it registered."""
    return live.register_display(ipython, (TaskHandle, AsyncTaskHandle), _format_handle)


def unregister_formatters(ipython: Any = None) -> None:
    live.unregister_display(ipython, (TaskHandle, AsyncTaskHandle))

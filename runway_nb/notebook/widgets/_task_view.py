"""``TaskView``: one Runway task, live in the notebook, and durable once it ends.

How it works (see ``_static.py`` for what ends up in the saved notebook):

- State lives in synced traits; the browser view (``js/task_view.js``) only renders them.
- A poller runs as an asyncio task on the kernel's running loop, so the cell returns at once.
  It is kept referenced in ``_TASKS`` (dropped by a done callback); its errors go to the
  ``error`` trait. It polls through the async twin of the handle's client (one cached
  ``AsyncRunway`` per sync ``Runway``) on the handle's own ``PollSchedule``, and keeps the sync
  handle's ``.task`` current.
- Without a running loop (terminal IPython, scripts) :meth:`TaskView.watch` waits synchronously
  and prints a one-line progress (``\\r`` updates).
- Browser -> kernel messages: ``view`` (a view rendered), ``cancel``, ``retry``, ``bytes`` (send
  me output ``index``: its URL does not load in this browser; the kernel downloads it through
  the client and answers with a binary buffer, never stored in a trait) and ``media_status``.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import time
import uuid
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import anywidget
import traitlets as t
from ipywidgets import Widget

from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, Task
from runway_nb.client.core import AsyncRunway, AsyncTaskHandle, Runway, TaskHandle
from runway_nb.errors import failure_hint
from runway_nb.notebook.widgets import _assets
from runway_nb.notebook.widgets._static import caption_fields, static_html, static_text, status_note
from runway_nb.notebook.widgets._urls import file_url, is_remote, media_kind, safe_url

__all__ = ["TaskView", "display_handle", "register_formatters", "unregister_formatters", "DEFAULTS"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_RETIRED_ESM = "export default { render() {} };"
VERDICT_TIMEOUT = 30.0  # seconds a rendered view has to report that the outputs loaded

#: Settings the session layer may change: ``DEFAULTS["save_to"] = "runway_outputs"`` turns on
#: autosave for every TaskView created without an explicit ``save_to``.
DEFAULTS: dict[str, Any] = {"save_to": None}

# Background asyncio tasks (pollers, cancels, byte relays): strong references until done.
_TASKS: set[asyncio.Task] = set()
# Views whose task has not reached its final output yet (for the post-cell sweep).
_WATCHED: dict[int, "TaskView"] = {}
# One live view per handle, so showing a handle twice does not poll twice.
_VIEWS: "weakref.WeakValueDictionary[int, TaskView]" = weakref.WeakValueDictionary()
# One async client per sync client.
# The execute request running now (set by pre_run_cell, cleared by post_run_cell).
_CURRENT: dict[str, Any] = {"parent": None}
_HOOKED: "weakref.WeakSet[Any]" = weakref.WeakSet()


def async_twin(client: Any) -> AsyncRunway:
    """The async client to poll with: the client itself, or one cached twin per sync client."""
    if isinstance(client, AsyncRunway):
        return client
    return client.async_twin()


def _get_ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def _in_kernel(ip: Any) -> bool:
    return ip is not None and getattr(ip, "kernel", None) is not None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _parent_now(ip: Any) -> dict | None:
    pub = getattr(ip, "display_pub", None)
    header = getattr(pub, "parent_header", None)
    return dict(header) if isinstance(header, dict) and header else None


def _publish(ip: Any, data: dict, metadata: dict, display_id: str, parent: dict | None, update: bool) -> None:
    """Publish (or update) a display as a reply to ``parent``.

    The parent header decides who records the message: JupyterLab applies an
    ``update_display_data`` only in the cell whose request is its parent (the cell that showed
    the widget); nbclient records only messages whose parent is the cell it is running now.
    """
    pub = ip.display_pub
    transient = {"display_id": display_id}

    def send() -> None:
        setter = getattr(pub, "set_thread_parent", None)
        if parent is not None and setter is not None:
            setter(parent)
        pub.publish(data=data, metadata=metadata, transient=transient, update=update)

    contextvars.copy_context().run(send)


def _install_hooks(ip: Any) -> None:
    if ip is None or ip in _HOOKED:
        return
    ip.events.register("pre_run_cell", _pre_run_cell)
    ip.events.register("post_run_cell", _post_run_cell)
    _HOOKED.add(ip)


def _pre_run_cell(*_: Any) -> None:
    _CURRENT["parent"] = _parent_now(_get_ipython())


def _post_run_cell(*_: Any) -> None:
    """After each cell: finish views whose handle ended meanwhile (e.g. ``handle.wait()`` in this
    cell blocked the loop), and re-send final outputs published while no cell ran, so that
    nbclient, which records only the running cell's messages, stores the final state."""
    try:
        for view in list(_WATCHED.values()) + list(_WATCHED_FINAL.values()):
            view._sweep()
    finally:
        _CURRENT["parent"] = None



def with_widget_view(widget: Any, data: dict, widget_bundle: Any, **kwargs: Any) -> tuple[dict, dict]:
    """``data`` (static text/plain + text/html), plus the widget view while the widget
    still wants to be in the output (``widget._widget_in_output()``)."""
    if not widget._widget_in_output():
        return data, {}
    bundle = widget_bundle(**kwargs)
    if bundle is None:
        return data, {}
    widget_data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    data[WIDGET_MIME] = widget_data[WIDGET_MIME]
    return data, metadata

class TaskView(anywidget.AnyWidget):
    """A live view of one Runway task: status, progress, time, Cancel, failure hint, and the
    outputs playing inline with a caption and Download buttons.

    ``TaskView(handle, save_to=None, caption=None)``: ``handle`` is a ``TaskHandle`` or
    ``AsyncTaskHandle``; ``save_to`` a folder to download every output into when the task
    succeeds (None: ``DEFAULTS["save_to"]``, off unless the session turns it on; False: off);
    ``caption`` a title string, or a dict overriding caption fields (prompt, model, ratio, seed,
    duration, credits). In a kernel, the view starts watching at once; elsewhere call
    :meth:`watch`, which blocks and prints progress.
    """

    _esm = _assets.esm("task_view.js")
    _css = _assets.css("task_view.css")

    #: Close the model once its displays became static (see ``_retire``). A container that
    #: embeds TaskViews (a grid) sets this to False on its children.
    retire_when_static = True

    task_id = t.Unicode("").tag(sync=True)
    endpoint = t.Unicode("").tag(sync=True)
    status = t.Unicode(PENDING).tag(sync=True)
    progress = t.Float(None, allow_none=True).tag(sync=True)
    elapsed = t.Float(0.0).tag(sync=True)
    eta = t.Float(None, allow_none=True).tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    failure = t.Unicode("").tag(sync=True)
    failure_code = t.Unicode("").tag(sync=True)
    hint = t.Unicode("").tag(sync=True)
    outputs = t.List(t.Unicode()).tag(sync=True)
    kinds = t.List(t.Unicode()).tag(sync=True)
    files = t.List(t.Unicode()).tag(sync=True)
    caption = t.Dict().tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    finished = t.Bool(False).tag(sync=True)
    cancelling = t.Bool(False).tag(sync=True)

    def __init__(self, handle: TaskHandle, *, save_to: str | os.PathLike | None | bool = None,
                 caption: str | dict | None = None, watch: bool = True, **kwargs: Any):
        if not isinstance(handle, TaskHandle):
            raise TypeError(f"TaskView needs a TaskHandle or AsyncTaskHandle, not {type(handle).__name__}")
        super().__init__(**kwargs)
        self.handle = handle
        if save_to is None:  # the session marks handles submitted with --save
            save_to = getattr(handle, "save_to", None) or DEFAULTS.get("save_to")
        self.save_to: Path | None = Path(save_to) if save_to not in (None, False, True, "") else (
            Path("runway_outputs") if save_to is True else None)
        self._caption_arg = caption
        self._ahandle: AsyncTaskHandle | None = None
        self._poller: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._t0 = self._start_time()
        self._t_end: float | None = None
        self._readings: list[tuple[float, float]] = []
        self._relay_urls: list[str] = []
        self._terminal = False
        self._final_ready = False
        self._cancel_requested = False
        self._views = 0
        self._verdicts: list[str] = []
        self._displays: list[tuple[str, dict | None]] = []
        self._published: str | None = None
        self._needs_cell_publish = False
        self._retired = False
        self._relayed = False
        self._verdict_overdue = False
        self._next_poll: float | None = None
        self.on_msg(self._on_custom)
        with self.hold_sync():
            self.task_id = handle.id
            self.endpoint = handle.endpoint or str(handle.params.get("endpoint") or "")
            self.caption = caption_fields(handle.params, credits=handle.estimated_cost, caption=caption)
            if handle.task is not None:
                self._apply(handle.task)
        _VIEWS[id(handle)] = self
        if handle.task is not None and handle.task.finished:
            self._terminal_begin(handle.task)
            self._terminal_end()
        else:
            _WATCHED[id(self)] = self
            if watch and _running_loop() is not None:
                self.watch()

    # ------------------------------------------------------------------ public
    @classmethod
    def for_handle(cls, handle: TaskHandle, **kwargs: Any) -> "TaskView":
        """The live view of ``handle`` (created on first use): one poller per handle."""
        view = _VIEWS.get(id(handle))
        if view is not None and view.handle is handle:
            view._catch_up()
            return view
        return cls(handle, **kwargs)

    def watch(self, *, file: TextIO | None = None) -> "TaskView":
        """Start watching: in the background when an asyncio loop runs (Jupyter), otherwise
        block until the task ends, printing a one-line progress to ``file`` (stdout)."""
        if self._terminal:
            return self
        loop = _running_loop()
        if loop is not None:
            if self._poller is None or self._poller.done():
                self._poller = self._spawn(self._poll())
            return self
        self._watch_sync(file or sys.stdout)
        return self

    def cancel(self) -> None:
        """Cancel the remote task (what the Cancel button does)."""
        self._request_cancel()

    def close(self) -> None:
        """Stop watching (the remote task keeps running) and close the widget."""
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
        _WATCHED.pop(id(self), None)
        _WATCHED_FINAL.pop(id(self), None)
        if _VIEWS.get(id(self.handle)) is self:
            del _VIEWS[id(self.handle)]
        super().close()

    def summary(self) -> str:
        return static_text(self.handle, files=self._files_paths(), caption=self._caption_arg).splitlines()[0]

    def static_html(self) -> str:
        """The static HTML of the current state (the durable output once the task ended)."""
        return static_html(self.handle, files=self._files_paths(), caption=self._caption_arg)

    def __repr__(self) -> str:
        return f"<TaskView {self.summary()}>"

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        data = {"text/plain": static_text(self.handle, files=self._files_paths(), caption=self._caption_arg),
                "text/html": self.static_html()}
        return with_widget_view(self, data, super()._repr_mimebundle_, **kwargs)

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
        loop = _running_loop()
        if loop is not None and self._views > 0 and not self._verdicts and not self._relayed:
            loop.call_later(VERDICT_TIMEOUT, self._verdict_timeout)

    def _verdict_timeout(self) -> None:
        self._verdict_overdue = True
        if self._final_ready and not self._retired:
            self._publish_displays()

    def _catch_up(self) -> None:
        """Take in an end the handle saw without this view (e.g. a blocking ``handle.wait()``)."""
        task = self.handle.task
        if not self._terminal and task is not None and task.finished:
            if self._poller is not None and not self._poller.done():
                self._poller.cancel()
            self._terminal_sync(task)

    def _ipython_display_(self) -> None:
        self._catch_up()
        ip = _get_ipython()
        if not _in_kernel(ip):
            print(self.summary())
            return
        _install_hooks(ip)
        parent = _parent_now(ip) or _CURRENT["parent"]
        if parent is not None and any(origin is not None and origin.get("msg_id") == parent.get("msg_id")
                                      for _, origin in self._displays):
            return  # already shown by this cell (e.g. `display_handle(h)` as its last line)
        display_id = uuid.uuid4().hex
        self._displays.append((display_id, parent))
        data, metadata = TaskView._repr_mimebundle_(self)
        self._published = "widget" if WIDGET_MIME in data else "static"
        _publish(ip, data, metadata, display_id, parent, update=False)
        if self._published == "static":
            self._retire(ip, parent)
        if not self._terminal and _running_loop() is not None:
            self.watch()

    def _publish_displays(self, *, force: bool = False, origins: bool = True) -> None:
        """Update every display of this view with the current bundle.

        Each update goes to the cell that showed the view (JupyterLab applies it there) and,
        when another cell is running, also as a reply to that cell (nbclient records only the
        running cell's messages; JupyterLab ignores a display id unknown to that cell).
        """
        ip = _get_ipython()
        if not self._displays or not _in_kernel(ip):
            return
        data, metadata = TaskView._repr_mimebundle_(self)
        kind = "static" if WIDGET_MIME not in data else ("widget-final" if self._final_ready else "widget")
        if kind == self._published and not force:
            return
        self._published = kind
        current = _CURRENT["parent"]
        for display_id, origin in self._displays:
            same = current is not None and origin is not None and current.get("msg_id") == origin.get("msg_id")
            if origins or same:
                _publish(ip, data, metadata, display_id, origin, update=True)
            if current is not None and not same:
                _publish(ip, data, metadata, display_id, current, update=True)
        self._needs_cell_publish = current is None
        if kind == "static" and (current is not None or self._views > 0):
            self._retire(ip, current)

    def _retire(self, ip: Any, parent: dict | None) -> None:
        """Close the model once every display of it became static HTML.

        Nothing shows the model any more, and its state (mostly ``_esm``/``_css``, ~20 kB) would
        otherwise be saved into the notebook: by nbclient always, by JupyterLab with
        ``saveState``. nbclient never forgets a closed comm's state, so the code traits are
        first replaced by a stub, as a reply to the running cell (the only messages it records).
        Views embedded elsewhere (``retire_when_static = False``) are left alone.
        """
        if self._retired or not self.retire_when_static or self.comm is None:
            return
        self._retired = True
        kernel = getattr(ip, "kernel", None)
        shell_parent = getattr(kernel, "_shell_parent", None)

        def send() -> None:
            if parent is not None and shell_parent is not None and hasattr(shell_parent, "set"):
                shell_parent.set({"header": parent, "parent_header": {}, "metadata": {}, "content": {}})
            with self.hold_sync():
                self._esm = _RETIRED_ESM
                self._css = ""
            Widget.close(self)

        contextvars.copy_context().run(send)
        self.__dict__.pop("_repr_mimebundle_", None)  # ipywidgets' close() blanks it
        _WATCHED_FINAL.pop(id(self), None)

    # ------------------------------------------------------------------ state
    def _start_time(self) -> float:
        created = getattr(self.handle.client, "_created", {}).get(self.handle.id)
        if created is not None:
            return created
        task = self.handle.task
        if task is not None and task.created_at is not None:
            age = (datetime.now(timezone.utc) - task.created_at).total_seconds()
            if 0 <= age < 7 * 86400:
                return time.monotonic() - age
        return time.monotonic()

    def _files_paths(self) -> list[Any]:
        return list(getattr(self.handle, "files", None) or [])

    def _apply(self, task: Task) -> None:
        """Show ``task`` (the latest state seen)."""
        now = time.monotonic()
        if task.status == RUNNING and task.progress is not None:
            if not self._readings or task.progress > self._readings[-1][1]:
                self._readings.append((now, float(task.progress)))
        with self.hold_sync():
            self.status = task.status
            self.progress = float(task.progress) if task.progress is not None else None
            self.elapsed = round((self._t_end or now) - self._t0, 2)
            self.eta = self._eta(task)
            self.note = "Cancelling…" if self.cancelling and not task.finished else status_note(task.status)
            if task.failed:
                self.failure = task.failure or ""
                self.failure_code = task.failure_code or ""
                self.hint = failure_hint(task.failure_code)
            urls, kinds, raw = [], [], []
            for url in task.outputs:
                if safe_url(url) is not None and (is_remote(url) or url.startswith("data:")):
                    urls.append(url)
                    raw.append(url)
                    kinds.append(media_kind(url, self.endpoint))
            self._relay_urls = raw
            if urls != list(self.outputs):
                self.kinds = kinds
                self.outputs = urls
            dropped = len(task.outputs) - len(urls)
            if dropped:
                self.note = f"{dropped} output URL(s) not shown: not an http(s) URL."
            credits = task.cost if task.cost is not None else self.handle.estimated_cost
            self.caption = caption_fields(self.handle.params, credits=credits, caption=self._caption_arg)
            self.finished = task.finished

    def _eta(self, task: Task) -> float | None:
        """Seconds left: the poll schedule's bound on the finish when it has one, else a
        straight line through the progress readings."""
        if task.status != RUNNING:
            return None
        schedule = getattr(self._ahandle or self.handle, "_schedule", None)
        predicted = getattr(schedule, "predicted_finish", None)
        finish = predicted() if callable(predicted) else None
        if finish is not None:
            return round(max(0.0, finish - time.monotonic()), 1)
        if task.progress is None or len(self._readings) < 2:
            return None
        (t0, p0), (t1, p1) = self._readings[0], self._readings[-1]
        if t1 <= t0 or p1 <= p0:
            return None
        remaining = (1.0 - p1) / ((p1 - p0) / (t1 - t0)) - (time.monotonic() - t1)
        return round(max(0.0, remaining), 1)

    def _set_error(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.error = text[:2000]

    def _sync_handle(self, task: Task) -> None:
        if self._ahandle is not None and self._ahandle is not self.handle:
            self.handle.task = task

    # ------------------------------------------------------------------ the end of a task
    def _terminal_begin(self, task: Task) -> bool:
        if self._terminal:
            return False
        self._terminal = True
        self._t_end = time.monotonic()
        self._sync_handle(task)
        if self._ahandle is not None:
            self._ahandle.task = task
        self.cancelling = False
        self._apply(task)
        return True

    def _terminal_end(self) -> None:
        self._final_ready = True
        _WATCHED.pop(id(self), None)
        if self._displays:
            _WATCHED_FINAL[id(self)] = self
        if self._widget_in_output() and self._views > 0 and not self._verdicts and not self._relayed:
            # A browser shows the view: leave it alone until the view reports whether the
            # outputs loaded (re-publishing would re-render it), then publish the final output.
            self._schedule_verdict_timeout()
        else:
            self._publish_displays(force=True)

    def _save_paths(self, paths: list[Path]) -> None:
        self.handle.files = list(paths)
        self.files = [u for u in (file_url(p) for p in paths) if u is not None]

    async def _terminal_async(self, task: Task) -> None:
        if not self._terminal_begin(task):
            return
        if self.handle.files:  # already saved (e.g. by the session's --save)
            self._save_paths(list(self.handle.files))
        elif task.status == SUCCEEDED and self.save_to is not None and task.outputs:
            try:
                ah = self._async_handle()
                paths = await ah.client.save_outputs(task, self.save_to, self.handle.params)
                self._save_paths(paths)
            except Exception as exc:  # the result still shows from its URLs
                self._set_error(f"autosave to {self.save_to} failed: {type(exc).__name__}: {exc}")
        self._terminal_end()

    def _terminal_sync(self, task: Task) -> None:
        if not self._terminal_begin(task):
            return
        if self.handle.files:
            self._save_paths(list(self.handle.files))
        elif task.status == SUCCEEDED and self.save_to is not None and task.outputs:
            try:
                client = self.handle.client
                if isinstance(client, AsyncRunway):
                    raise RuntimeError("an async handle can only be saved from the event loop")
                self._save_paths(client.save_outputs(task, self.save_to, self.handle.params))
            except Exception as exc:
                self._set_error(f"autosave to {self.save_to} failed: {type(exc).__name__}: {exc}")
        self._terminal_end()

    def _sweep(self) -> None:
        """Called after each cell (see ``_post_run_cell``)."""
        task = self.handle.task
        if not self._terminal and self._poll_overdue() and not isinstance(self.handle, AsyncTaskHandle):
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
            self._catch_up()
        elif self._final_ready and self._needs_cell_publish and _CURRENT["parent"] is not None:
            # Published while no cell ran: say it again as a reply to this cell (for nbclient).
            self._publish_displays(force=True, origins=False)

    # ------------------------------------------------------------------ polling
    def _poll_overdue(self) -> bool:
        due = self._next_poll
        if due is None or self._cancel_requested or self._poller is None or self._poller.done():
            return False
        floor = getattr(self.handle.client, "poll_floor", 5.0)
        return time.monotonic() > due + max(0.5, floor)

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        _TASKS.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        _TASKS.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._set_error(exc)

    def _async_handle(self) -> AsyncTaskHandle:
        if self._ahandle is None:
            h = self.handle
            if isinstance(h, AsyncTaskHandle):
                self._ahandle = h
            else:
                client = async_twin(h.client)
                twin = AsyncTaskHandle(client, h.id, endpoint=h.endpoint, params=h.params,
                                       estimated_cost=h.estimated_cost)
                twin._schedule = h._schedule  # one poll schedule per task, whoever polls
                twin.task = h.task
                created = h.client._created.get(h.id)
                if created is not None:
                    client._created.setdefault(h.id, created)
                self._ahandle = twin
        return self._ahandle

    async def _sleep(self, seconds: float) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))
        except asyncio.TimeoutError:
            pass

    async def _poll(self) -> None:
        ah = self._async_handle()
        schedule = ah._schedule
        if self.handle.task is None:
            created = ah.client._created.get(ah.id, time.monotonic())
            delay = max(0.0, schedule.first_delay() - (time.monotonic() - created))
        else:
            delay = 0.0
        while not self._terminal and not self._cancel_requested:
            self._next_poll = time.monotonic() + delay
            await self._sleep(delay)
            self._next_poll = None
            if self._terminal or self._cancel_requested:
                return
            known = self.handle.task
            if known is not None and known.finished:  # e.g. the user waited on the handle
                await self._terminal_async(known)
                return
            task = await ah.refresh()
            if self._terminal or self._cancel_requested:
                return
            self._sync_handle(task)
            if task.finished:
                await self._terminal_async(task)
                return
            delay = schedule.next_delay(task, time.monotonic())
            self._apply(task)

    def _watch_sync(self, out: TextIO) -> None:
        width = 0

        def line(text: str) -> None:
            nonlocal width
            out.write("\r" + text.ljust(width))
            out.flush()
            width = max(width, len(text))

        def on_update(task: Task) -> None:
            if not task.finished:
                self._apply(task)
                line(self._progress_line())

        line(self._progress_line())
        try:
            if isinstance(self.handle, AsyncTaskHandle):
                task = asyncio.run(self.handle.wait(raise_on_failure=False, on_update=on_update))
            else:
                task = self.handle.wait(raise_on_failure=False, on_update=on_update)
        except KeyboardInterrupt:
            out.write(f"\nstopped watching; task {self.handle.id} still runs (handle.cancel() stops it)\n")
            raise
        except Exception as exc:
            self._set_error(exc)
            out.write(f"\n{self.error}\n")
            return
        self._terminal_sync(task)
        line(self._progress_line())
        out.write("\n")
        text = static_text(self.handle, files=self._files_paths(), caption=self._caption_arg)
        rest = text.splitlines()[1:]
        if rest:
            out.write("\n".join(rest) + "\n")
        out.flush()

    def _progress_line(self) -> str:
        status = self.status
        bits = [f"runway {self.handle.id[:8]}", status]
        if status == RUNNING and self.progress is not None:
            done = int(round(self.progress * 20))
            bits.append(f"{self.progress:4.0%} [{'#' * done}{'-' * (20 - done)}]")
        elapsed = (self._t_end or time.monotonic()) - self._t0
        bits.append(_fmt_seconds(elapsed))
        if self.eta is not None and not self.finished:
            bits.append(f"≈ {_fmt_seconds(self.eta)} left")
        if status == FAILED:
            bits.append(f"[{self.failure_code}] {self.failure}".strip())
        if status in ("THROTTLED",):
            bits.append("waiting for a free concurrency slot")
        if status == SUCCEEDED:
            bits.append(f"{len(self.outputs)} output(s)" + (f" saved to {self.save_to}" if self.files else ""))
        return " · ".join(bits)

    # ------------------------------------------------------------------ cancel
    def _request_cancel(self) -> None:
        if self._terminal or self._cancel_requested:
            return
        self._cancel_requested = True
        self.cancelling = True
        self.note = "Cancelling…"
        if _running_loop() is not None:
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
        if not self._terminal and _running_loop() is not None:
            self.watch()

    async def _cancel_async(self) -> None:
        ah = self._async_handle()
        try:
            await ah.cancel()
        except Exception as exc:
            self._cancel_failed(exc)
            return
        if self._wake is not None:
            self._wake.set()
        await self._terminal_async(ah.task or Task(id=ah.id, status=CANCELLED))

    # ------------------------------------------------------------------ messages from the view
    def _on_custom(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "view":
            self._views += 1
        elif kind == "cancel":
            self._request_cancel()
        elif kind == "retry":
            self.error = ""
            self.watch()
        elif kind == "bytes":
            req, index = content.get("req"), content.get("index")
            if isinstance(req, int) and isinstance(index, int) and 0 <= index < len(self._relay_urls):
                if content.get("purpose") != "download":
                    self._relayed = True  # this browser cannot load the URL itself
                if _running_loop() is not None:
                    self._spawn(self._send_bytes(req, index))
                else:
                    self._send_bytes_sync(req, index)
        elif kind == "media_status":
            results = content.get("results")
            if isinstance(results, list):
                self._verdicts.extend(str(r) for r in results[:64])
                if self._final_ready:
                    self._publish_displays()  # static once loaded; else the widget + final HTML

    async def _send_bytes(self, req: int, index: int) -> None:
        url = self._relay_urls[index]  # chosen by index: the browser never names a URL to fetch
        try:
            data, ctype = await self._async_handle().client._download(url)
        except Exception as exc:
            self.send({"type": "bytes_error", "req": req, "index": index,
                       "error": f"{type(exc).__name__}: {exc}"[:500]})
            return
        self.send({"type": "bytes", "req": req, "index": index, "mime": _mime(url, ctype, self.endpoint)}, [data])

    def _send_bytes_sync(self, req: int, index: int) -> None:
        url = self._relay_urls[index]
        try:
            client = self.handle.client
            data, ctype = client._download(url)
        except Exception as exc:
            self.send({"type": "bytes_error", "req": req, "index": index, "error": str(exc)[:500]})
            return
        self.send({"type": "bytes", "req": req, "index": index, "mime": _mime(url, ctype, self.endpoint)}, [data])


# Finished views with displays: kept so a verdict arriving later can still update them.
_WATCHED_FINAL: "weakref.WeakValueDictionary[int, TaskView]" = weakref.WeakValueDictionary()


def _mime(url: str, ctype: str | None, endpoint: str) -> str:
    ctype = (ctype or "").split(";")[0].strip().lower()
    if ctype.startswith(("image/", "video/")) and ctype != "image/svg+xml":
        return ctype
    return "video/mp4" if media_kind(url, endpoint) == "video" else "image/png"


def _fmt_seconds(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# ---------------------------------------------------------------------- handles in IPython
def display_handle(handle: TaskHandle, **kwargs: Any) -> TaskView:
    """Show ``handle``: the live widget in Jupyter; in a terminal or script, a synchronous
    watch with a one-line progress. Returns the (one per handle) :class:`TaskView`.

    ``kwargs`` (``save_to``, ``caption``) apply when the view is created.
    """
    view = TaskView.for_handle(handle, **kwargs)
    ip = _get_ipython()
    if _in_kernel(ip):
        view._ipython_display_()
    else:
        view.watch()
    return view


def _format_handle(handle: TaskHandle) -> None:
    display_handle(handle)


def register_formatters(ipython: Any = None) -> bool:
    """Make ``TaskHandle``/``AsyncTaskHandle`` display as a TaskView in a Jupyter kernel.

    Registered with IPython's ``ipython_display_formatter`` rather than as a plain mimebundle
    formatter: an ``execute_result`` (``Out[n]``) cannot carry a display id, so it could never
    be replaced by the final static output. Outside a kernel (terminal IPython) nothing is
    registered and handles keep their one-line ``repr``. Returns whether it registered.
    """
    ip = ipython or _get_ipython()
    if not _in_kernel(ip):
        return False
    _install_hooks(ip)
    formatter = ip.display_formatter.ipython_display_formatter
    formatter.for_type(TaskHandle, _format_handle)
    formatter.for_type(AsyncTaskHandle, _format_handle)
    return True


def unregister_formatters(ipython: Any = None) -> None:
    ip = ipython or _get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.ipython_display_formatter
    for cls in (TaskHandle, AsyncTaskHandle):
        try:
            formatter.pop(cls)
        except KeyError:
            pass
    if ip in _HOOKED:
        for event, fn in (("pre_run_cell", _pre_run_cell), ("post_run_cell", _post_run_cell)):
            try:
                ip.events.unregister(event, fn)
            except ValueError:
                pass
        _HOOKED.discard(ip)

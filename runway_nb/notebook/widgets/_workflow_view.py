"""``WorkflowView``: one workflow run, live in the notebook, and durable once it ends.

Built like the TaskView (``_task_view.py``, ``_live.py``): state lives in synced traits and the
browser view (``js/workflow_view.js``) only renders them; a poller runs as an asyncio task on the
kernel's loop (the cell returns at once) and watches the run through the watch engine, on the
run's own poll schedule, through the async twin of its client; without a running loop
:meth:`WorkflowView.watch` waits synchronously and prints a one-line progress. Displays carry
the widget plus the static HTML (``_workflow_static.py``) while the run runs, then only the
static HTML, unless the browser could not load an output itself (the kernel relayed its bytes).

Browser -> kernel messages: ``view``, ``retry``, ``media`` (the bytes of output ``index`` of node
``node``, chosen by index: the browser never names a URL) and ``media_status``.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Hashable, Mapping
from typing import Any, TextIO

import traitlets as t

from runway_nb.api.task import PENDING
from runway_nb.api.workflow import NodeState, WorkflowInvocation
from runway_nb.client.core import AsyncRunway
from runway_nb.client.watch import Event, Finished, PollWatch, Updated, drive_async
from runway_nb.client.workflows import AnyWorkflowRun, AsyncWorkflowRun, WorkflowRun
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets._live import WIDGET_MIME, Command, LiveWidget, Reply, media_mime
from runway_nb.notebook.widgets._static import status_note
from runway_nb.notebook.widgets._workflow_static import node_media, workflow_static_html, workflow_static_text

__all__ = ["WorkflowView", "display_run", "register_workflow_formatters", "unregister_workflow_formatters"]

# One live view per run, so showing a run twice does not poll twice.
_VIEWS: weakref.WeakValueDictionary[int, WorkflowView] = weakref.WeakValueDictionary()


def _node_trait(node: NodeState) -> dict[str, Any]:
    return {"id": node.id, "name": node.name, "type": node.type or "", "model": node.model or "",
            "status": node.status, "kind": node.kind or "", "outputs": node_media(node),
            "value": None if node.value is None else str(node.value)[:300], "optional": node.optional,
            "error": node.error.message if node.error is not None else "",
            "error_code": (node.error.failure_code or "") if node.error is not None else ""}


class WorkflowView(LiveWidget):
    """A live view of one workflow run: its status and progress, then every node with its status
    and outputs (image, video, audio players) as they fill in, failed nodes flagged, the cost at the end.

    ``WorkflowView(run)``: ``run`` is a :class:`~runway_nb.client.workflows.WorkflowRun` or
    :class:`~runway_nb.client.workflows.AsyncWorkflowRun`. In a kernel the view starts watching at
    once; elsewhere call :meth:`watch`, which blocks and prints progress.
    """

    _esm = live.asset("workflow_view.js").read_text(encoding="utf-8")
    _css = live.asset("workflow_view.css").read_text(encoding="utf-8")

    retire_when_static = True

    run_id = t.Unicode("").tag(sync=True)
    workflow = t.Unicode("").tag(sync=True)
    status = t.Unicode(PENDING).tag(sync=True)
    progress = t.Float(None, allow_none=True).tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    failure = t.Unicode("").tag(sync=True)
    failure_code = t.Unicode("").tag(sync=True)
    partial = t.Bool(False).tag(sync=True)
    cost = t.Float(None, allow_none=True).tag(sync=True)
    #: One dict per node: id, name, type, model, status, kind, outputs, value, optional, error, error_code.
    nodes = t.List(t.Dict()).tag(sync=True)

    def __init__(self, run: AnyWorkflowRun, *, watch: bool = True, **kwargs: Any):
        if not isinstance(run, (WorkflowRun, AsyncWorkflowRun)):
            raise TypeError(f"WorkflowView needs a WorkflowRun or AsyncWorkflowRun, not {type(run).__name__}")
        super().__init__(**kwargs)
        self.run = run
        self._poller: asyncio.Task[None] | None = None
        self._terminal = False
        self._relayed = False
        self._urls: list[list[str]] = []
        with self.hold_sync():
            self.run_id = run.id
            self.workflow = run.name or ""
            self._apply()
        _VIEWS[id(run)] = self
        if run.finished:
            self._end()
        else:
            self._follow(keep_alive=True)
            if watch and live.running_loop() is not None:
                self.watch()

    # ------------------------------------------------------------------ public
    @classmethod
    def for_run(cls, run: AnyWorkflowRun, **kwargs: Any) -> WorkflowView:
        """The live view of ``run`` (created on first use): one poller per run."""
        view = _VIEWS.get(id(run))
        if view is not None and view.run is run:
            view.catch_up()
            return view
        return cls(run, **kwargs)

    def watch(self, *, file: TextIO | None = None) -> WorkflowView:
        """Start watching: in the background when an asyncio loop runs (Jupyter), otherwise
        block until the run ends, printing a one-line progress to ``file`` (stdout)."""
        if self._terminal:
            return self
        if live.running_loop() is not None:
            if self._poller is None or self._poller.done():
                self._poller = self._spawn(self._poll())
            return self
        self._watch_sync(file or sys.stdout)
        return self

    def close(self) -> None:
        """Stop watching (the run goes on) and close the widget."""
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
        self._unfollow()
        if _VIEWS.get(id(self.run)) is self:
            del _VIEWS[id(self.run)]
        super().close()

    def static_html(self) -> str:
        """The static HTML of the current state (the durable output once the run ended)."""
        return workflow_static_html(self.run)

    def summary(self) -> str:
        return self.run.summary()

    def __repr__(self) -> str:
        return f"<WorkflowView {self.summary()}>"

    def catch_up(self) -> None:
        """Take in an end the run saw without this view (e.g. a blocking ``run.wait()``)."""
        if not self._terminal and self.run.finished:
            if self._poller is not None and not self._poller.done():
                self._poller.cancel()
            self._end()

    # ------------------------------------------------------------------ state
    def _apply(self) -> None:
        """Show the run as last seen."""
        run = self.run
        invocation = run.invocation
        nodes = run.nodes
        with self.hold_sync():
            self.status = run.status
            self.progress = run.progress
            self.note = status_note(run.status)
            self.failure = (invocation.failure or "") if invocation is not None and invocation.failed else ""
            self.failure_code = (invocation.failure_code or "") if invocation is not None and invocation.failed else ""
            self.partial = run.partial
            self.cost = run.cost
            traits = [_node_trait(n) for n in nodes]
            self._urls = [list(n["outputs"]) for n in traits]
            if traits != list(self.nodes):
                self.nodes = traits
            self.workflow = run.name or ""

    def _end(self) -> None:
        if self._terminal:
            return
        self._terminal = True
        self._apply()
        self.finished = True
        self._unfollow()
        if self._displays:
            self._follow(keep_alive=False)
        self._publish_displays(force=True)

    # ------------------------------------------------------------------ display
    def _static_data(self) -> dict[str, str]:
        return {"text/plain": workflow_static_text(self.run), "text/html": workflow_static_html(self.run)}

    def _text_outside_kernel(self) -> str:
        return self.summary()

    def _needs_watching(self) -> bool:
        return not self._terminal

    def _before_display(self) -> None:
        self.catch_up()

    def _display_kind(self, data: dict[str, Any]) -> str:
        if WIDGET_MIME not in data:
            return "static"
        return "widget-final" if self._terminal else "widget"

    def _widget_in_output(self) -> bool:
        """The widget while the run runs; then only the static HTML, unless this browser could not
        load an output itself (only the widget can show bytes relayed by the kernel)."""
        if self._retired or self.comm is None:
            return False
        if not self._terminal:
            return True
        return self._relayed or any(v != "loaded" for v in self._verdicts)

    def _after_cell(self) -> None:
        if not self._terminal and self.run.finished:
            self.catch_up()
        elif self._terminal:
            self._republish_for_cell()

    # ------------------------------------------------------------------ polling
    async def _poll(self) -> None:
        """Watch the run through the engine until it ends here or elsewhere."""
        twin = self.run.to_async()
        clock = twin.client.clock
        watch: PollWatch[WorkflowInvocation] = PollWatch(floor=twin.schedule.floor)
        watch.add(twin.id, twin.schedule, now=clock.now(), created_at=twin.client.created_at(twin.id),
                  seen=twin.invocation is not None, shared=twin.state.shared)
        ended: list[WorkflowInvocation] = []

        def on_event(event: Event[WorkflowInvocation]) -> None:
            if self._terminal:
                return
            if isinstance(event, Updated):
                self._apply()
            elif isinstance(event, Finished):
                ended.append(event.task)

        def known(key: Hashable) -> WorkflowInvocation | None:
            if self._terminal:
                watch.discard(key)
                return None
            return self.run.invocation  # e.g. the user waited on the run

        watch.subscribe(on_event)
        await drive_async(watch, lambda _key: twin.refresh(), clock=clock, known=known)
        if ended or self.run.finished:
            self._end()

    def _watch_sync(self, out: TextIO) -> None:
        width = 0

        def line(text: str) -> None:
            nonlocal width
            out.write("\r" + text.ljust(width))
            out.flush()
            width = max(width, len(text))

        def on_update(_invocation: WorkflowInvocation) -> None:
            self._apply()
            line(self.run.summary())

        line(self.run.summary())
        try:
            if isinstance(self.run, AsyncWorkflowRun):
                asyncio.run(self.run.wait(raise_on_failure=False, on_update=on_update))
            else:
                self.run.wait(raise_on_failure=False, on_update=on_update)
        except KeyboardInterrupt:
            out.write(f"\nstopped watching; workflow run {self.run.id} still runs\n")
            raise
        except Exception as exc:
            self._set_error(exc)
            out.write(f"\n{self.error}\n")
            return
        self._end()
        line(self.run.summary())
        out.write("\n" + "\n".join(workflow_static_text(self.run).splitlines()[1:]) + "\n")
        out.flush()

    # ------------------------------------------------------------------ requests from the view
    def _commands(self) -> Mapping[str, Command]:
        return {"view": self._command_view, "retry": self._command_retry, "media": self._command_media,
                "media_status": self._command_media_status}

    def _command_media(self, args: dict[str, Any], _buffers: list[bytes]) -> Any:
        node, index = args.get("node"), args.get("index")
        if not (isinstance(node, int) and not isinstance(node, bool) and 0 <= node < len(self._urls)
                and isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self._urls[node])):
            raise ValueError(f"no output {index!r} of node {node!r} to send")
        url = self._urls[node][index]  # chosen by index: the browser never names a URL to fetch
        endpoint = str(self.nodes[node].get("type") or "")
        if args.get("purpose") != "download":
            self._relayed = True  # this browser cannot load the URL itself
        if live.running_loop() is not None:
            return self._relay_async(url, endpoint)
        client = self.run.client
        if isinstance(client, AsyncRunway):
            raise RuntimeError("an async run's outputs can only be fetched on the event loop")
        data, ctype = client.download_with_type(url)
        return {"mime": media_mime(url, ctype, endpoint)}, [data]

    async def _relay_async(self, url: str, endpoint: str) -> Reply:
        data, ctype = await self.run.to_async().client.download_with_type(url)
        return {"mime": media_mime(url, ctype, endpoint)}, [data]

    def _command_media_status(self, args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if self._take_verdicts(args, 256) and self._terminal:
            self._publish_displays()
        return None


# ---------------------------------------------------------------------- runs in IPython
def display_run(run: AnyWorkflowRun) -> WorkflowView:
    """Show ``run``: the live widget in Jupyter; in a terminal or script, a synchronous watch with
    a one-line progress. Returns the (one per run) :class:`WorkflowView`."""
    return live.show(WorkflowView.for_run(run))


def _format_run(run: AnyWorkflowRun) -> None:
    display_run(run)


def register_workflow_formatters(ipython: Any = None) -> bool:
    """Make ``WorkflowRun``/``AsyncWorkflowRun`` display as a WorkflowView in a Jupyter kernel
    (as task handles do). Returns whether it registered."""
    return live.register_display(ipython, (WorkflowRun, AsyncWorkflowRun), _format_run)


def unregister_workflow_formatters(ipython: Any = None) -> None:
    live.unregister_display(ipython, (WorkflowRun, AsyncWorkflowRun))

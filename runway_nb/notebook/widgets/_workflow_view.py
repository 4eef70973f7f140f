"""``WorkflowView``: one workflow run, live in the notebook, and durable once it ends.

Built like the TaskView (``_task_view.py``, ``_live.py``): state lives in synced traits and the
browser view (``js/workflow_view.js``) only renders them; a poller runs as an asyncio task on the
kernel's loop (the cell returns at once) and watches the run through the watch engine, on the
run's own poll schedule, through the async twin of its client; without a running loop
:meth:`WorkflowView.watch` waits synchronously and prints a one-line progress (``_run_view.py``:
what the task and workflow views share). Displays carry
the widget plus the static HTML (``_workflow_static.py``) while the run runs, then only the
static HTML, unless the browser could not load an output itself (the kernel relayed its bytes).

Browser -> kernel messages: ``view``, ``retry``, ``media`` (the bytes of output ``index`` of node
``node``, chosen by index: the browser never names a URL) and ``media_status``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any

import traitlets as t

from runway_nb.api.task import PENDING
from runway_nb.api.workflow import NodeState, WorkflowInvocation
from runway_nb.client.watch import Event, Finished, PollWatch, Updated, drive_async
from runway_nb.client.workflows import AnyWorkflowRun, AsyncWorkflowRun, WorkflowRun
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets._live import Command, Reply
from runway_nb.notebook.widgets._run_view import RunView
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


class WorkflowView(RunView[WorkflowInvocation]):
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

    def close(self) -> None:
        """Stop watching (the run goes on) and close the widget. Safe on a view whose ``__init__``
        did not finish (ipywidgets closes it when it is collected)."""
        self._stop_poller()
        self._unfollow()
        run = self.__dict__.get("run")
        if run is not None and _VIEWS.get(id(run)) is self:
            del _VIEWS[id(run)]
        super().close()

    def static_html(self) -> str:
        """The static HTML of the current state (the durable output once the run ended)."""
        return workflow_static_html(self.run)

    def summary(self) -> str:
        return self.run.summary()

    def __repr__(self) -> str:
        return f"<WorkflowView {self.summary()}>"

    def _latest(self) -> WorkflowInvocation | None:
        return self.run.invocation

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
        self._final_ready = True  # the static output is the result: saving may drop the widget view
        self._unfollow()
        if self._displays:
            self._follow(keep_alive=False)
        self._publish_displays(force=True)

    # ------------------------------------------------------------------ display
    def _static_data(self) -> dict[str, str]:
        return {"text/plain": self._plain_text(), "text/html": workflow_static_html(self.run)}

    def _plain_text(self) -> str:
        return workflow_static_text(self.run)

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

    # ------------------------------------------------------------------ the blocking watch
    def _wait(self, on_update: Callable[[WorkflowInvocation], None]
              ) -> WorkflowInvocation | Coroutine[Any, Any, WorkflowInvocation]:
        return self.run.wait(raise_on_failure=False, on_update=on_update)

    def _take_update(self, reading: WorkflowInvocation) -> bool:
        self._apply()
        return True

    def _take_end(self, reading: WorkflowInvocation) -> None:
        self._end()

    def _still_running(self) -> str:
        return f"workflow run {self.run.id} still runs"

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
        return self._fetch_media(url, endpoint, self.run.client, lambda: self.run.to_async().client)

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

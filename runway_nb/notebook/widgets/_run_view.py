"""``RunView``: what the live view of one run, a task's or a workflow's, does the same either way.

A poller on the kernel's loop when one runs (the cell returns at once), else a blocking wait that
prints one status line (:class:`~runway_nb.notebook.status_line.StatusLine`: rewritten in place
on a terminal, a line per new state in a pipe or file); outside a kernel its display is that line;
before a display is published it takes in an end seen without it; its output is the widget
until the run ends, then the final static form. ``TaskView`` and ``WorkflowView`` say what the
run is, how it is polled and how it reads.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TextIO, TypeVar

from runway_nb.api.status import StatusChecks
from runway_nb.notebook.status_line import StatusLine
from runway_nb.notebook.widgets import _live as live
from runway_nb.notebook.widgets._live import WIDGET_MIME, LiveWidget

__all__ = ["RunView"]

Reading = TypeVar("Reading", bound=StatusChecks)  # what one poll of the run reads: a Task, a WorkflowInvocation
SomeRunView = TypeVar("SomeRunView", bound="RunView[Any]")


class RunView(LiveWidget, Generic[Reading]):
    """A live view of one run: see the module's docstring. Subclasses provide the methods that
    raise ``NotImplementedError`` below (``tests/test_workflow_view.py`` checks that both views
    do) and set ``_final_ready`` once the static output is final; they may refine
    :meth:`summary` and :meth:`_status_text`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._poller: asyncio.Task[None] | None = None
        self._terminal = False  # the run ended (as this view knows)
        self._relayed = False  # this browser could not load an output: the kernel sent its bytes

    # ------------------------------------------------------------------ what subclasses say
    def _latest(self) -> Reading | None:
        """The run's latest reading as its own object holds it (None before any)."""
        raise NotImplementedError

    async def _poll(self) -> None:
        """Watch the run through the watch engine until it ends."""
        raise NotImplementedError

    def _poller_started(self) -> None:
        """Called when :meth:`watch` started a poller."""

    def _stop_poller(self) -> None:
        """Cancel the poller, if one runs (safe on a view whose ``__init__`` did not finish:
        ipywidgets closes such a view when it is collected)."""
        poller: asyncio.Task[None] | None = self.__dict__.get("_poller")
        if poller is not None and not poller.done():
            poller.cancel()

    def _wait(self, on_update: Callable[[Reading], None]) -> Reading | Coroutine[Any, Any, Reading]:
        """The run object's own ``wait`` to its end (a coroutine for an async one)."""
        raise NotImplementedError

    def _take_update(self, reading: Reading) -> bool:
        """Show a reading the blocking wait took; whether the status line has news (the wait
        also tells its last reading, the end, which :meth:`_take_end` shows)."""
        raise NotImplementedError

    def _take_end(self, reading: Reading) -> None:
        """Show an end: the one a wait saw, or one the run's object holds (:meth:`catch_up`)."""
        raise NotImplementedError

    def _still_running(self) -> str:
        """What is said when the user interrupts a blocking watch: the run goes on."""
        raise NotImplementedError

    def _plain_text(self) -> str:
        """The static ``text/plain`` output: the summary line, then what else there is to say."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line: what the run is and where it stands."""
        return self._plain_text().splitlines()[0]

    def _status_text(self) -> str:
        """The blocking watch's status line."""
        return self.summary()

    # ------------------------------------------------------------------ watching
    def catch_up(self) -> None:
        """Take in an end the run's object saw without this view (e.g. a blocking ``wait()``)."""
        latest = self._latest()
        if not self._terminal and latest is not None and latest.finished:
            self._stop_poller()
            self._take_end(latest)

    def watch(self: SomeRunView, *, file: TextIO | None = None) -> SomeRunView:
        """Start watching: in the background when an asyncio loop runs (Jupyter), otherwise
        block until the run ends, printing a one-line progress to ``file`` (stdout)."""
        if self._terminal:
            return self
        if live.running_loop() is not None:
            if self._poller is None or self._poller.done():
                self._poller = self._spawn(self._poll())
                self._poller_started()
            return self
        self._watch_blocking(file or sys.stdout)
        return self

    def _watch_blocking(self, out: TextIO) -> None:
        status = StatusLine(out)
        # What ends the status line before other text follows: on a pipe every line ended already.
        end_line = "\n" if status.in_place else ""

        def on_update(reading: Reading) -> None:
            if self._take_update(reading):
                status.show(self._status_text())

        status.show(self._status_text())
        try:
            waited = self._wait(on_update)
            end: Reading = asyncio.run(waited) if isinstance(waited, Coroutine) else waited
        except KeyboardInterrupt:
            out.write(f"{end_line}stopped watching; {self._still_running()}\n")
            raise
        except Exception as exc:
            self._set_error(exc)
            out.write(f"{end_line}{self.error}\n")
            return
        self._take_end(end)
        status.show(self._status_text(), final=True)
        rest = self._plain_text().splitlines()[1:]
        if rest:
            out.write("\n".join(rest) + "\n")
        out.flush()

    # ------------------------------------------------------------------ display hooks
    def _text_outside_kernel(self) -> str:
        return self.summary()

    def _needs_watching(self) -> bool:
        return not self._terminal

    def _before_display(self) -> None:
        self.catch_up()

    def _display_kind(self, data: dict[str, Any]) -> str:
        if WIDGET_MIME not in data:
            return "static"
        return "widget-final" if self._final_ready else "widget"

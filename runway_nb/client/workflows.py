"""``WorkflowRun`` and ``AsyncWorkflowRun``: a run (an invocation) of a published workflow.

Like task handles, the two share a :class:`WorkflowRunState` (the last invocation seen, the poll
schedule, the workflow's graph), so a run polled from a widget's event loop and waited on by a
blocking ``wait()`` is one run with one schedule. Waiting goes through the watch engine
(:mod:`runway_nb.client.watch`), exactly as for a task: an invocation has a task's statuses and
a progress.

A SUCCEEDED invocation may carry ``nodeErrors``: some nodes failed, the others produced their
outputs. That is a partial run: ``wait()`` warns (:class:`PartialRunWarning`) instead of
raising, and ``run.partial`` says so. Runway offers no route to cancel an invocation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runway_nb import errors
from runway_nb.api.task import PENDING
from runway_nb.api.workflow import NodeError, NodeOutputs, NodeState, Workflow, WorkflowInvocation, node_states
from runway_nb.client.schedule import PollSchedule
from runway_nb.client.watch import PollWatch, Shared, WatchTimeout, drive, drive_async

if TYPE_CHECKING:  # the clients import this module; annotations only
    from runway_nb.client.core import AsyncRunway, Runway

__all__ = ["AnyWorkflowRun", "AsyncWorkflowRun", "PartialRunWarning", "WorkflowFailedError", "WorkflowRun",
           "WorkflowRunState", "invocation_path"]


def invocation_path(invocation_id: str) -> str:
    return f"/v1/workflow_invocations/{invocation_id}"


class PartialRunWarning(UserWarning):
    """A workflow run SUCCEEDED, but some of its nodes failed (``nodeErrors``)."""


class WorkflowFailedError(errors.TaskFailedError):
    """A workflow run ended FAILED (a required node failed). ``task`` is the final invocation."""

    def __init__(self, invocation: WorkflowInvocation, workflow: str | None = None):
        super().__init__(invocation)
        code = f" [{self.failure_code}]" if self.failure_code else ""
        what = f"workflow {workflow!r}" if workflow else "workflow"
        self.args = (f"Run {invocation.id} of {what} failed{code}: {self.failure or 'no reason given'}",)


@dataclass
class WorkflowRunState:
    """Everything known about one run, shared by its sync handle and its async twin."""

    id: str
    schedule: PollSchedule
    workflow: Workflow | None = None
    node_outputs: NodeOutputs = field(default_factory=dict)
    invocation: WorkflowInvocation | None = None
    warned: bool = False  # the partial-run warning was given
    shared: Shared = field(default_factory=Shared)  # what its watches read, for one another


class _RunBase:
    """What sync and async runs share: the state, its read-only views, and the messages."""

    def __init__(self, invocation_id: str, *, workflow: Workflow | None, node_outputs: NodeOutputs | None,
                 poll_floor: float, state: WorkflowRunState | None) -> None:
        self.state = state or WorkflowRunState(invocation_id, PollSchedule(floor=poll_floor), workflow,
                                               dict(node_outputs or {}))

    @property
    def id(self) -> str:
        """The invocation's id."""
        return self.state.id

    @property
    def workflow(self) -> Workflow | None:
        return self.state.workflow

    @property
    def name(self) -> str | None:
        """The workflow's name."""
        return self.workflow.name if self.workflow is not None else None

    @property
    def node_outputs(self) -> NodeOutputs:
        """The ``nodeOutputs`` the run was started with."""
        return self.state.node_outputs

    @property
    def schedule(self) -> PollSchedule:
        return self.state.schedule

    @property
    def invocation(self) -> WorkflowInvocation | None:
        """The invocation as last seen (None before the first poll)."""
        return self.state.invocation

    @invocation.setter
    def invocation(self, value: WorkflowInvocation | None) -> None:
        known = self.state.invocation
        if known is not None and known.finished and (value is None or not value.finished):
            return  # an answer sent before the end must not bring the run back to life
        self.state.invocation = value

    @property
    def status(self) -> str:
        return self.invocation.status if self.invocation is not None else PENDING

    @property
    def progress(self) -> float | None:
        return self.invocation.progress if self.invocation is not None else None

    @property
    def finished(self) -> bool:
        return self.invocation is not None and self.invocation.finished

    @property
    def partial(self) -> bool:
        """SUCCEEDED with failed nodes (``node_errors``): check this, not the status alone."""
        return self.invocation is not None and self.invocation.partial

    @property
    def node_errors(self) -> dict[str, NodeError]:
        """Node id -> what went wrong, for each node that failed."""
        return dict(self.invocation.node_errors) if self.invocation is not None else {}

    @property
    def cost(self) -> float | None:
        """Credits the run cost: None until every node's task is terminal."""
        return self.invocation.cost if self.invocation is not None else None

    @property
    def outputs(self) -> dict[str, list[str]]:
        """Node id -> output URLs, for each node that produced some (partial while running)."""
        return dict(self.invocation.output) if self.invocation is not None else {}

    @property
    def nodes(self) -> list[NodeState]:
        """Every node with its status and outputs (see :func:`runway_nb.api.workflow.node_states`)."""
        return node_states(self.workflow, self.invocation, self.node_outputs)

    @property
    def settled(self) -> bool:
        """Finished with nothing more to learn (its cost is known, or it was cancelled)."""
        invocation = self.invocation
        return invocation is not None and invocation.finished and (invocation.cost is not None
                                                                    or invocation.cancelled)

    def _watch(self, created_at: float | None, now: float) -> PollWatch[WorkflowInvocation]:
        watch: PollWatch[WorkflowInvocation] = PollWatch(floor=self.schedule.floor)
        watch.add(self.id, self.schedule, now=now, created_at=created_at, seen=self.invocation is not None,
                  shared=self.state.shared)
        return watch

    def _timeout_error(self, timeout: float) -> errors.RunwayError:
        return errors.APITimeoutError(f"workflow run {self.id} did not finish within {timeout:g} s (last status "
                                      f"{self.status}); it is still running")

    def _finish(self, raise_on_failure: bool) -> WorkflowInvocation:
        invocation = self.invocation
        assert invocation is not None and invocation.finished
        if invocation.failed and raise_on_failure:
            raise WorkflowFailedError(invocation, self.name)
        if invocation.partial and not self.state.warned:
            self.state.warned = True
            warnings.warn(PartialRunWarning(self.partial_text()), stacklevel=3)
        return invocation

    def partial_text(self) -> str:
        """What failed in a partial run, in one sentence."""
        failed = [f"{e.node_name or node_id!r}: {e.message}" for node_id, e in self.node_errors.items()]
        return (f"workflow run {self.id} SUCCEEDED as a partial run: {len(failed)} node(s) failed "
                f"({'; '.join(failed)}); the other nodes' outputs are in .outputs")

    def summary(self) -> str:
        """One line: the workflow, the status, how many nodes have outputs, the cost."""
        nodes = self.nodes
        steps = [n for n in nodes if n.status != "INPUT"]
        done = sum(1 for n in steps if n.outputs)
        bits: list[str] = [f"workflow {self.name!r}" if self.name else "workflow", f"run {self.id}", self.status]
        progress = self.progress
        if progress is not None and not self.finished:
            bits.append(f"{progress:.0%}")
        if steps:
            bits.append(f"{done}/{len(steps)} node(s) with outputs")
        if self.partial:
            bits.append(f"partial run: {len(self.node_errors)} node(s) failed")
        elif self.node_errors:
            bits.append(f"{len(self.node_errors)} node error(s)")
        invocation = self.invocation
        if invocation is not None and invocation.failed:
            bits.append(f"failed: {invocation.failure_code or ''} {invocation.failure or ''}".strip())
        if self.cost is not None:
            bits.append(f"{self.cost:g} credits")
        return " · ".join(bits)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.summary()}>"


class WorkflowRun(_RunBase):
    """A run of a published workflow: ``.id`` at once, ``.wait()`` for the result, ``.nodes`` meanwhile."""

    def __init__(self, client: Runway, invocation_id: str, *, workflow: Workflow | None = None,
                 node_outputs: NodeOutputs | None = None, state: WorkflowRunState | None = None) -> None:
        super().__init__(invocation_id, workflow=workflow, node_outputs=node_outputs, poll_floor=client.poll_floor,
                         state=state)
        self.client = client
        self._twin: AsyncWorkflowRun | None = None

    def to_async(self) -> AsyncWorkflowRun:
        """This run on the client's async twin, sharing state and poll schedule."""
        if self._twin is None:
            self._twin = AsyncWorkflowRun(self.client.async_twin(), self.id, state=self.state)
        return self._twin

    def refresh(self) -> WorkflowInvocation:
        answer = self.client.request_json("GET", invocation_path(self.id))
        self.invocation = WorkflowInvocation.model_validate(answer)
        assert self.invocation is not None
        return self.invocation

    def wait(self, timeout: float | None = None, *, raise_on_failure: bool = True,
             on_update: Callable[[WorkflowInvocation], object] | None = None) -> WorkflowInvocation:
        """Poll until SUCCEEDED, FAILED or CANCELLED. FAILED raises :class:`WorkflowFailedError` (by
        default); a partial run (SUCCEEDED with ``nodeErrors``) warns with :class:`PartialRunWarning`.
        With ``timeout`` (seconds) raise :class:`runway_nb.errors.APITimeoutError` (the run goes on)."""
        if self.settled:
            return self._finish(raise_on_failure)
        clock = self.client.clock
        start = clock.now()
        watch = self._watch(self.client.created_at(self.id), start)
        try:
            drive(watch, lambda _key: self.refresh(), clock=clock,
                  deadline=None if timeout is None else start + timeout, on_update=on_update)
        except WatchTimeout:
            raise self._timeout_error(timeout or 0.0) from None
        return self._finish(raise_on_failure)

    def __await__(self) -> Generator[Any, None, WorkflowInvocation]:
        """``await run`` in a notebook: wait without blocking the kernel's event loop."""
        return self.wait_async().__await__()

    async def wait_async(self, timeout: float | None = None, *, raise_on_failure: bool = True) -> WorkflowInvocation:
        """:meth:`wait`, polled on the running event loop through the client's async twin."""
        return await self.to_async().wait(timeout, raise_on_failure=raise_on_failure)


class AsyncWorkflowRun(_RunBase):
    """The async sibling of :class:`WorkflowRun`: ``await run.wait()``, ``await run``."""

    def __init__(self, client: AsyncRunway, invocation_id: str, *, workflow: Workflow | None = None,
                 node_outputs: NodeOutputs | None = None, state: WorkflowRunState | None = None) -> None:
        super().__init__(invocation_id, workflow=workflow, node_outputs=node_outputs, poll_floor=client.poll_floor,
                         state=state)
        self.client = client

    def to_async(self) -> AsyncWorkflowRun:
        return self

    async def refresh(self) -> WorkflowInvocation:
        answer = await self.client.request_json("GET", invocation_path(self.id))
        self.invocation = WorkflowInvocation.model_validate(answer)
        assert self.invocation is not None
        return self.invocation

    async def wait(self, timeout: float | None = None, *, raise_on_failure: bool = True,
                   on_update: Callable[[WorkflowInvocation], object] | None = None) -> WorkflowInvocation:
        if self.settled:
            return self._finish(raise_on_failure)
        clock = self.client.clock
        start = clock.now()
        watch = self._watch(self.client.created_at(self.id), start)
        try:
            await drive_async(watch, lambda _key: self.refresh(), clock=clock,
                              deadline=None if timeout is None else start + timeout, on_update=on_update)
        except WatchTimeout:
            raise self._timeout_error(timeout or 0.0) from None
        return self._finish(raise_on_failure)

    def __await__(self) -> Generator[Any, None, WorkflowInvocation]:
        return self.wait().__await__()

    async def wait_async(self, timeout: float | None = None, *, raise_on_failure: bool = True) -> WorkflowInvocation:
        return await self.wait(timeout, raise_on_failure=raise_on_failure)


AnyWorkflowRun = WorkflowRun | AsyncWorkflowRun  # what the workflow view and the magic accept

"""The retry rules as one flow, with one sync and one async driver (as httpx's ``auth_flow``).

A flow is a generator that owns every decision and does no I/O. It yields what it needs
next, either an ``httpx.Request`` to send or a :class:`Pause` to wait out, and receives the
response (or has the transport error thrown into it). Its return value is the accepted
response; a refusal is raised as one of :mod:`runway_nb.errors`. :func:`run` and
:func:`run_async` are the only places that send and sleep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass

import httpx

from runway_nb.client import retry

__all__ = ["Decide", "Flow", "Pause", "retrying", "run", "run_async"]


@dataclass(frozen=True)
class Pause:
    """Wait this many seconds before the flow's next step."""

    seconds: float


Step = httpx.Request | Pause
Flow = Generator[Step, httpx.Response | None, httpx.Response]
Verdict = retry.Retry | BaseException | None
# decide(attempt, response, error) -> None (accept), Retry (resend after a delay) or the error to raise
Decide = Callable[[int, httpx.Response | None, BaseException | None], Verdict]


def retrying(build: Callable[[], httpx.Request], decide: Decide) -> Flow:
    """Send ``build()`` until ``decide`` accepts an answer or gives up.

    The request is built again for each attempt: a multipart body is a stream that is read once.
    """
    attempt = 0
    while True:
        try:
            response = yield build()
        except httpx.TransportError as exc:
            verdict = decide(attempt, None, exc)
            response = None
        else:
            verdict = decide(attempt, response, None)
        if verdict is None:
            assert response is not None  # an error is never accepted
            return response
        if not isinstance(verdict, retry.Retry):
            raise verdict
        yield Pause(verdict.delay)
        attempt += 1


def run(flow: Flow, send: Callable[[httpx.Request], httpx.Response], sleep: Callable[[float], None]) -> httpx.Response:
    """Drive ``flow`` to its answer with blocking I/O."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Pause):
                sleep(step.seconds)
                step = flow.send(None)
                continue
            try:
                response = send(step)
            except httpx.TransportError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as done:
        answer: httpx.Response = done.value
        return answer


async def run_async(flow: Flow, send: Callable[[httpx.Request], Awaitable[httpx.Response]],
                    sleep: Callable[[float], Awaitable[None]]) -> httpx.Response:
    """Drive ``flow`` to its answer on the running event loop."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Pause):
                await sleep(step.seconds)
                step = flow.send(None)
                continue
            try:
                response = await send(step)
            except httpx.TransportError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as done:
        answer: httpx.Response = done.value
        return answer

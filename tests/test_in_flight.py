"""An async client keeps as few requests in flight to a host as keep up (client/in_flight.py):
one at a time to a host that answers in a few ms, so the kernel's loop reads a cell between any
two answers; up to MAX_IN_FLIGHT to a far one."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from runway_nb import AsyncRunway
from runway_nb.client.core import MAX_IN_FLIGHT
from runway_nb.client.in_flight import InFlightLimit


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP over a socket; counts the requests in flight, optionally as if the host were far."""

    def __init__(self, delay: float = 0.0):
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def _gets_at_once(sim, transport: CountingTransport, count: int = 40) -> list[str]:
    async def main() -> list[str]:
        async with AsyncRunway(provider="sim", base_url=sim.url, transport=transport, journal=False,
                               announce=False) as client:
            handle = await client.text_to_image.create(model="gen4_image", prompt="a lighthouse",
                                                       ratio="1280:720", seed=1)
            for _ in range(3):  # a few answers to learn the round trip from (the create's is slower)
                await client.tasks.get(handle.id)
            transport.most = 0
            tasks = await asyncio.gather(*(client.tasks.get(handle.id) for _ in range(count)))
            return [task.id for task in tasks]

    return asyncio.run(main())


def test_a_near_host_gets_a_few_requests_at_a_time(make_sim, clean_env):
    ids = _gets_at_once(make_sim(), transport := CountingTransport())
    assert len(ids) == 40 and len(set(ids)) == 1
    assert transport.most <= 4  # 16 before: each answer from loopback takes a few ms


def test_a_far_host_gets_up_to_the_most(make_sim, clean_env):
    ids = _gets_at_once(make_sim(), transport := CountingTransport(delay=0.2))
    assert len(ids) == 40
    assert transport.most == MAX_IN_FLIGHT


def test_the_size_follows_the_shortest_recent_round_trip():
    limit = InFlightLimit(most=16, rate=200.0)
    assert limit.size == 1  # nothing measured yet: one at a time until the first answer
    limit.in_flight = 1
    limit.release(0.05)  # 50 ms at 200 requests/s: 10 in flight keep up
    assert limit.size == 10
    limit.in_flight = 1
    limit.release(0.002)
    assert limit.size == 1
    limit.in_flight = 1
    limit.release(None)  # no answer: nothing learned
    assert limit.size == 1
    for _ in range(16):  # the short one drops out of the kept round trips
        limit.in_flight = 1
        limit.release(1.0)
    assert limit.size == 16


def test_a_cancelled_waiter_passes_its_turn_on():
    async def main() -> list[str]:
        limit = InFlightLimit(most=16)
        limit.in_flight = 1
        limit.release(0.001)  # size 1 from now on
        order: list[str] = []
        await limit.acquire()

        async def wait(name: str) -> None:
            await limit.acquire()
            order.append(name)
            limit.release(0.001)

        second, third = asyncio.ensure_future(wait("second")), asyncio.ensure_future(wait("third"))
        await asyncio.sleep(0)
        assert limit.in_flight == 1 and not order
        limit.release(0.001)  # wakes "second"...
        second.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(third, 1)
        with pytest.raises(asyncio.CancelledError):
            await second
        return order

    assert asyncio.run(main()) == ["third"]

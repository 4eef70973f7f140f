"""An async client keeps as few requests in flight to a host as keep up (client/in_flight.py):
one at a time to a host that answers in a few ms, so the kernel's loop reads a cell between any
two answers; up to MAX_IN_FLIGHT to a far one; a hung request does not hold the others back."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from runway_nb import AsyncRunway
from runway_nb.client.core import MAX_IN_FLIGHT
from runway_nb.client.in_flight import InFlightLimit


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP over a socket; counts the requests in flight, optionally as if the host were far,
    and can hold the reads of one task id for a while (a hung connection)."""

    def __init__(self, delay: float = 0.0, hang: str = "", hang_for: float = 0.0):
        self.inner = httpx.AsyncHTTPTransport()
        self.delay, self.hang, self.hang_for = delay, hang, hang_for
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hang and request.url.path.endswith(self.hang):
                await asyncio.sleep(self.hang_for)
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(sim, transport: CountingTransport) -> AsyncRunway:
    return AsyncRunway(provider="sim", base_url=sim.url, transport=transport, journal=False, announce=False)


async def _task_after_a_few_reads(client: AsyncRunway, seed: int = 1) -> str:
    handle = await client.text_to_image.create(model="gen4_image", prompt="a lighthouse", ratio="1280:720",
                                               seed=seed)
    for _ in range(3):  # a few answers to learn the round trip from (the create's is slower)
        await client.tasks.get(handle.id)
    return handle.id


def _gets_at_once(sim, transport: CountingTransport, count: int = 40) -> list[str]:
    async def main() -> list[str]:
        async with _client(sim, transport) as client:
            task_id = await _task_after_a_few_reads(client)
            transport.most = 0
            tasks = await asyncio.gather(*(client.tasks.get(task_id) for _ in range(count)))
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


def test_a_hung_read_does_not_hold_back_the_others(make_sim, clean_env):
    sim, transport = make_sim(), CountingTransport()

    async def main() -> tuple[list[float], bool]:
        async with _client(sim, transport) as client:
            hung_id = await _task_after_a_few_reads(client, seed=1)
            other_id = await _task_after_a_few_reads(client, seed=2)
            transport.hang, transport.hang_for = hung_id, 4.0
            started = time.monotonic()
            hung = asyncio.ensure_future(client.tasks.get(hung_id))
            await asyncio.sleep(0.05)
            done_at = []
            for task in await asyncio.gather(*(client.tasks.get(other_id) for _ in range(5))):
                assert task.id == other_id
                done_at.append(time.monotonic() - started)
            still_out = not hung.done()
            await hung
            return done_at, still_out

    done_at, still_out = asyncio.run(main())
    assert still_out  # the five reads were answered while the hung one was still out
    assert max(done_at) < 3.0


def test_the_size_follows_the_shortest_recent_round_trip():
    limit = InFlightLimit(most=16, rate=200.0)
    assert limit.size == 1  # nothing measured yet: one at a time until the first answer
    limit.record(0.05)  # 50 ms at 200 requests/s: 10 in flight keep up
    assert limit.size == 10
    limit.record(0.002)
    assert limit.size == 1
    for _ in range(16):  # the short one drops out of the kept round trips
        limit.record(1.0)
    assert limit.size == 16


def test_a_stalled_request_stops_counting():
    async def main() -> None:
        limit = InFlightLimit(most=16, stalled_after=0.3)
        limit.record(0.001)  # size 1
        await limit.acquire()  # never released: a hung request
        second = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0.1)
        assert not second.done()
        await asyncio.wait_for(second, 2)

    asyncio.run(main())


def test_a_cancelled_waiter_passes_its_turn_on():
    async def main() -> list[str]:
        limit = InFlightLimit(most=16)
        limit.record(0.001)  # size 1
        order: list[str] = []
        first = await limit.acquire()

        async def wait(name: str) -> None:
            start = await limit.acquire()
            order.append(name)
            limit.release(start, answered=True)

        second, third = asyncio.ensure_future(wait("second")), asyncio.ensure_future(wait("third"))
        await asyncio.sleep(0)
        assert limit.in_flight == 1 and not order
        limit.release(first, answered=True)  # wakes "second"...
        second.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(third, 1)
        with pytest.raises(asyncio.CancelledError):
            await second
        return order

    assert asyncio.run(main()) == ["third"]


def test_after_a_burst_requests_start_at_most_the_rate_a_second():
    rate, burst, n = 500.0, 5, 30

    async def starts() -> list[float]:
        limit = InFlightLimit(most=64, rate=rate, burst=burst)
        limit.record(1.0)  # a far host: many may be in flight, so only the rate holds them back
        loop = asyncio.get_running_loop()
        times: list[float] = []

        async def one() -> None:
            start = await limit.acquire()
            times.append(loop.time())
            limit.release(start, answered=False)

        await asyncio.gather(*(one() for _ in range(n)))
        return sorted(times)

    times = asyncio.run(starts())
    assert times[burst - 1] - times[0] < 0.5 / rate  # the burst starts at once
    assert times[-1] - times[0] >= (n - burst) / rate - 0.002  # then one every 1/rate s

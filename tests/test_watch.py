"""The watch engine and the retry flow: their decisions, and both drivers on the simulator's manual clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from runway_nb import errors
from runway_nb.api.task import Task
from runway_nb.client import flow, retry
from runway_nb.client.core import AsyncRunway, Runway
from runway_nb.client.schedule import PollSchedule
from runway_nb.client.watch import AdvancingClock, Finished, PollFailed, Shared, Updated, Watch
from runway_nb.sim import SimClock, Simulator


# ---------------------------------------------------------------------------- the retry flow
def _decide_read(attempt, response, exc):
    return retry.decide_read(attempt, retry.RetryPolicy(max_retries=2), response=response, exc=exc, what="GET x")


def _request() -> httpx.Request:
    return httpx.Request("GET", "http://runway-sim.invalid/x")


def test_flow_retries_a_503_after_a_pause_then_accepts():
    steps = flow.retrying(_request, _decide_read)
    assert isinstance(next(steps), httpx.Request)
    pause = steps.send(httpx.Response(503))
    assert isinstance(pause, flow.Pause) and pause.seconds > 0
    assert isinstance(steps.send(None), httpx.Request)  # the request again
    with pytest.raises(StopIteration) as done:
        steps.send(httpx.Response(200, json={"ok": True}))
    assert done.value.value.json() == {"ok": True}


def test_flow_gives_up_with_the_mapped_error():
    answers = iter([httpx.Response(503), httpx.Response(503), httpx.Response(503)])
    slept: list[float] = []
    with pytest.raises(errors.ServerError):
        flow.run(flow.retrying(_request, _decide_read), lambda _r: next(answers), slept.append)
    assert len(slept) == 2  # max_retries=2: two pauses, three sends


def test_flow_transport_errors_are_thrown_in_and_retried_by_both_drivers():
    def answers():
        yield httpx.ConnectError("refused")
        yield httpx.Response(200, json={"n": 1})

    sync_answers = answers()

    def sync_send(_request):
        value = next(sync_answers)
        if isinstance(value, Exception):
            raise value
        return value

    assert flow.run(flow.retrying(_request, _decide_read), sync_send, lambda s: None).json() == {"n": 1}

    it = answers()

    async def async_send(_request):
        value = next(it)
        if isinstance(value, Exception):
            raise value
        return value

    async def no_sleep(_seconds):
        return None

    response = asyncio.run(flow.run_async(flow.retrying(_request, _decide_read), async_send, no_sleep))
    assert response.json() == {"n": 1}


# ---------------------------------------------------------------------------- the sans-IO core
def _task(status: str, progress: float | None = None) -> Task:
    return Task(id="t", status=status, progress=progress)


def test_watch_schedules_polls_never_closer_than_the_floor_and_tells_subscribers():
    watch = Watch(floor=5.0)
    events = []
    watch.subscribe(events.append)
    watch.add("a", PollSchedule(floor=5.0), now=100.0, created_at=100.0)
    first = watch.next_due()
    assert first is not None and 100.0 < first <= 105.0  # a new task is looked at early
    assert watch.ready(100.0) == []
    assert watch.ready(first) == ["a"]
    watch.observed("a", _task("RUNNING", 0.1), first)
    due = watch.next_due()
    assert due is not None and due >= first + 5.0
    watch.observed("a", _task("SUCCEEDED"), due)
    assert len(watch) == 0 and watch.next_due() is None
    assert [type(e) for e in events] == [Updated, Finished]


def test_watch_backs_off_a_task_whose_polls_fail_and_recovers():
    watch = Watch(floor=5.0)
    watch.add("a", PollSchedule(floor=5.0), now=0.0, seen=True)
    first = watch.failed("a", RuntimeError("down"), 0.0)
    second = watch.failed("a", RuntimeError("down"), 10.0)
    assert isinstance(first, PollFailed) and (first.failures, second.failures) == (1, 2)
    assert watch.next_due() == pytest.approx(10.0 + 20.0)  # floor * 2**failures
    watch.observed("a", _task("RUNNING", 0.5), 30.0)
    watch.failed("a", RuntimeError("again"), 40.0)
    assert watch.next_due() == pytest.approx(40.0 + 10.0)  # the count restarted after a good poll


# ---------------------------------------------------------------------------- drivers on a manual clock
@pytest.fixture
def manual_sim():
    sim = Simulator(clock=SimClock(manual=True), concurrency=2)
    yield sim
    sim.close()


def _client(cls, sim):
    return cls(provider="sim", simulator=sim, clock=AdvancingClock(sim.clock), journal=False)


def test_sync_wait_runs_on_the_simulators_manual_clock(manual_sim, clean_env):
    client = _client(Runway, manual_sim)
    handle = client.text_to_image.create(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")
    start = manual_sim.clock.now()
    task = handle.wait()
    assert task.succeeded and task.outputs
    elapsed = manual_sim.clock.now() - start
    assert elapsed > 0  # the engine waited in simulated time (the manual clock moves only when it sleeps)
    gets = manual_sim.stats.requests_for("GET", "/v1/tasks/{id}")
    # one GET per 5 s floor at most, plus the early first look
    assert 1 <= gets <= elapsed / 5.0 + 2


def test_async_wait_and_sweep_of_many_on_the_manual_clock(manual_sim, clean_env):
    client = _client(AsyncRunway, manual_sim)

    async def main():
        handles = [await client.text_to_image.create(prompt=f"shot {i}", model="gen4_image", ratio="1024:1024")
                   for i in range(3)]
        return await asyncio.gather(*(h.wait() for h in handles))

    tasks = asyncio.run(main())
    assert [t.status for t in tasks] == ["SUCCEEDED"] * 3


def test_the_async_driver_tells_each_schedule_when_its_requests_left(manual_sim, clean_env):
    client = _client(AsyncRunway, manual_sim)

    async def main():
        handle = await client.text_to_image.create(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")
        told = []
        next_delay = handle.schedule.next_delay

        def spy(task, now, sent=None):
            told.append((sent, now))
            return next_delay(task, now, sent)

        handle.schedule.next_delay = spy  # type: ignore[method-assign]  # a spy on this one schedule
        await handle.wait()
        return told

    told = asyncio.run(main())
    assert told and all(sent is not None and sent <= now for sent, now in told)


def test_sync_and_async_timeouts_say_the_same_thing(manual_sim, clean_env):
    manual_sim.configure(concurrency=0)  # nothing starts: the task stays queued
    sync_client = _client(Runway, manual_sim)
    handle = sync_client.text_to_image.create(prompt="never", model="gen4_image", ratio="1024:1024")
    with pytest.raises(errors.APITimeoutError) as sync_err:
        handle.wait(timeout=30)
    with pytest.raises(errors.APITimeoutError) as async_err:
        asyncio.run(handle.wait_async(timeout=30))
    assert str(sync_err.value) == str(async_err.value)
    assert "did not finish within 30 s" in str(sync_err.value) and "still running" in str(sync_err.value)


# ---------------------------------------------------------------------------- regressions found in review
def test_a_late_answer_never_brings_a_finished_task_back(manual_sim, clean_env):
    client = _client(Runway, manual_sim)
    handle = client.text_to_image.create(prompt="a kite", model="gen4_image", ratio="1024:1024")
    twin = handle.to_async()
    handle.task = Task(id=handle.id, status="CANCELLED")
    twin.task = Task(id=handle.id, status="RUNNING", progress=0.2)  # a GET sent before the cancel
    assert handle.status == "CANCELLED" and handle.finished and twin.status == "CANCELLED"


def test_async_wait_awaits_an_async_on_update(manual_sim, clean_env):
    client = _client(AsyncRunway, manual_sim)
    seen: list[str] = []

    async def on_update(task):
        await asyncio.sleep(0)
        seen.append(task.status)

    async def main():
        handle = await client.text_to_image.create(prompt="a kite", model="gen4_image", ratio="1024:1024")
        return await handle.wait(on_update=on_update)

    assert asyncio.run(main()).succeeded
    assert seen and seen[-1] == "SUCCEEDED"


def test_a_real_time_clock_keeps_the_sped_up_simulators_floor(make_sim, clean_env):
    from runway_nb.client.watch import SystemClock

    sim = make_sim(speed=10)
    client = Runway(provider="sim", simulator=sim, clock=SystemClock(), journal=False)
    assert client.poll_floor == pytest.approx(0.5)  # 5 s of simulated time at 10x
    assert _client(Runway, Simulator(clock=SimClock(manual=True))).poll_floor == 5.0


def test_a_new_task_tells_its_schedule_when_it_was_created():
    watch = Watch(floor=5.0)
    schedule = PollSchedule(floor=5.0)
    watch.add("t", schedule, now=10.3, created_at=10.0)
    assert schedule.created == 10.0
    assert watch.next_due() == pytest.approx(10.0 + schedule.first_delay())
    other = PollSchedule(floor=5.0)
    watch.add("u", other, now=10.3)
    assert other.created is None


def test_a_handle_gives_its_schedule_the_creation_time_and_the_typical_run_and_its_spread(manual_sim, clean_env):
    from runway_nb.client.eta import RUN_TIMES, run_kind

    client = _client(Runway, manual_sim)
    RUN_TIMES.clear()
    try:
        kind = run_kind("text_to_image", {"model": "gen4_image"})
        for run in (40.0, 42.0, 50.0):
            RUN_TIMES.record(kind, run)
        spread = RUN_TIMES.spread(kind)
        handle = client.text_to_image.create(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")
        assert handle.wait().succeeded
        assert handle.schedule.typical_run == 42.0
        assert handle.schedule.run_spread == pytest.approx(spread)
        assert handle.schedule.run_spread is not None and 0 < handle.schedule.run_spread < 0.2
        assert handle.schedule.created == client.created_at(handle.id)
        assert handle.schedule._sent_known  # each reading placed between its request and answer
    finally:
        RUN_TIMES.clear()


def test_a_handle_records_how_long_its_task_ran_once_for_the_next_of_its_kind(clean_env):
    from runway_nb.client.eta import RUN_TIMES, run_kind

    sim = Simulator(clock=SimClock(manual=True), concurrency=2, run_seconds=40.0)
    client = _client(Runway, sim)
    RUN_TIMES.clear()
    try:
        handle = client.text_to_image.create(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")
        sim.wait_media()  # rendered at once: the task ends when its 40 s are run
        assert handle.wait().succeeded
        kind = run_kind("text_to_image", {"model": "gen4_image"})
        run = RUN_TIMES.typical(kind)
        assert run is not None and 40.0 - 2.0 <= run <= 40.0 + 6.0  # seen ending within a poll of it
        # Seen ended again, by its async twin (as a widget sees it): still one run on record.
        twin = handle.to_async()
        asyncio.run(twin.refresh())
        assert twin.task is not None and twin.task.succeeded
        for _ in range(2):
            RUN_TIMES.record(kind, 1000.0)
        assert RUN_TIMES.typical(kind) == 1000.0  # the median of [run, 1000, 1000]: recorded once, not twice
        # The next task of the kind is told the history.
        other = client.text_to_image.create(prompt="a harbour", model="gen4_image", ratio="1024:1024")
        sim.wait_media()
        assert other.wait().succeeded
        assert other.schedule.typical_run == 1000.0
    finally:
        RUN_TIMES.clear()
        sim.close()


def test_a_sweeps_tasks_are_told_the_history_of_their_kind(manual_sim, clean_env):
    from runway_nb.client.eta import RUN_TIMES, run_kind
    from runway_nb.notebook.sweep import Sweep

    client = _client(Runway, manual_sim)
    kind = run_kind("text_to_image", {"model": "gen4_image"})
    for run in (30.0, 33.0, 36.0):
        RUN_TIMES.record(kind, run)
    spread = RUN_TIMES.spread(kind)
    handles = [client.text_to_image.create(prompt=p, model="gen4_image", ratio="1024:1024") for p in ("a", "b")]
    Sweep(tasks=handles, combos=[{"prompt": "a"}, {"prompt": "b"}]).wait(progress=False)
    assert [h.schedule.typical_run for h in handles] == [33.0, 33.0]
    assert [h.schedule.run_spread for h in handles] == [pytest.approx(spread)] * 2


def test_a_wait_resumed_after_a_pause_teaches_no_run_time(clean_env):
    from runway_nb.client.eta import RUN_TIMES, run_kind

    sim = Simulator(clock=SimClock(manual=True), concurrency=2, run_seconds=40.0)
    client = _client(Runway, sim)
    kind = run_kind("text_to_image", {"model": "gen4_image"})
    try:
        handle = client.text_to_image.create(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")
        sim.wait_media()
        with pytest.raises(errors.APITimeoutError):
            handle.wait(timeout=12.0)
        sim.advance(300.0)  # the caller comes back long after it ended
        assert handle.wait().succeeded
        assert RUN_TIMES.typical(kind) is None  # it ended somewhere in those 300 s
    finally:
        sim.close()


def test_each_answer_of_a_round_keeps_its_own_time():
    # Tasks due together are polled in one round; each reading is placed before its own answer,
    # not the round's last, and after the round began.
    from runway_nb.client.watch import drive_async

    clock = SimClock(manual=True)
    watch = Watch(floor=5.0)
    told: dict[str, list[tuple[float | None, float]]] = {"fast": [], "slow": []}
    for key in told:
        schedule = PollSchedule(floor=5.0)
        next_delay = schedule.next_delay

        def spy(task, now, sent=None, key=key, next_delay=next_delay):
            told[key].append((sent, now))
            return next_delay(task, now, sent)

        schedule.next_delay = spy  # type: ignore[method-assign]  # a spy on this one schedule
        watch.add(key, schedule, now=0.0, seen=True)
    polls = {"fast": 0, "slow": 0}

    async def poll(key):
        polls[key] += 1
        await asyncio.sleep(0 if key == "fast" else 0.01)  # the slow answer comes after the fast one
        clock.advance(1.0 if key == "fast" else 3.0)
        return Task(id=key, status="SUCCEEDED" if polls[key] > 1 else "RUNNING", progress=0.5)

    asyncio.run(drive_async(watch, poll, clock=AdvancingClock(clock)))
    (fast_sent, fast_now), = told["fast"]
    (slow_sent, slow_now), = told["slow"]
    assert fast_sent == slow_sent == 0.0
    assert fast_now == pytest.approx(1.0) and slow_now == pytest.approx(4.0)


def test_two_watches_of_one_task_share_each_reading_and_its_floor():
    # A view and `await handle` (or two waits through serve) watch one task: one GET serves both.
    schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
    view, wait = Watch(floor=5.0), Watch(floor=5.0)
    told: dict[str, list[type]] = {"view": [], "wait": []}
    view.subscribe(lambda e: told["view"].append(type(e)))
    wait.subscribe(lambda e: told["wait"].append(type(e)))
    view.add("t", schedule, now=0.0, seen=True, shared=shared)
    wait.add("t", schedule, now=0.0, seen=True, shared=shared)
    assert view.ready(0.0) == ["t"]  # the view's GET leaves ...
    assert wait.ready(0.0) == []  # ... and the wait waits for its answer instead of sending its own
    assert wait.next_due() == pytest.approx(0.0 + 5.0 * 0.2)
    view.observed("t", _task("RUNNING", 0.2), 0.3, sent=0.0)
    assert wait.ready(1.0) == []  # it takes the view's reading in: told, and due when the view is
    assert told["wait"] == [Updated] and wait.next_due() == view.next_due()
    due = view.next_due()
    assert due is not None and due >= 0.3 + 5.0
    assert wait.ready(due) == ["t"]  # now the wait reads it for both
    assert view.ready(due) == []
    wait.observed("t", _task("SUCCEEDED"), due + 0.3, sent=due)
    assert view.ready(due + 0.5) == [] and len(view) == 0 and told["view"] == [Updated, Finished]
    assert told["wait"] == [Updated, Finished]


def test_a_watch_polls_itself_when_anothers_get_for_the_task_is_lost():
    # The other watch's GET failed or was dropped (its wait was cancelled): no one answers it,
    # so after a floor this watch sends its own.
    schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
    first, second = Watch(floor=5.0), Watch(floor=5.0)
    first.add("t", schedule, now=0.0, seen=True, shared=shared)
    second.add("t", schedule, now=0.0, seen=True, shared=shared)
    assert first.ready(0.0) == ["t"] and second.ready(0.0) == []
    looks = []
    while not looks or second.ready(looks[-1]) == []:
        looks.append(second.next_due())
    assert looks == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])  # a look every fifth of a floor, then its own GET
    first.failed("t", RuntimeError("down"), 5.1)  # the first GET's answer, at last
    assert shared.sending_since == 5.0  # the second's is still out
    second.observed("t", _task("RUNNING", 0.5), 5.3, sent=5.0)
    assert first.ready(5.4) == []  # taken in, not polled again
    assert first.next_due() == second.next_due()


def test_three_awaits_of_one_handle_read_it_as_one_does(make_sim, clean_env):
    # Cells (or a view and a cell) waiting on one task together share each GET.
    sim = make_sim(speed=100.0, run_seconds=60.0)  # 0.6 s real; a floor is 0.05 s
    client = AsyncRunway(provider="sim", simulator=sim, journal=False)
    body = dict(prompt="a lighthouse", model="gen4_image", ratio="1024:1024")

    def gets() -> int:
        return sim.stats.requests_for("GET", "/v1/tasks/{id}")

    async def watched_by(n: int) -> int:
        handle = await client.text_to_image.create(**body)
        before = gets()
        tasks = await asyncio.gather(*(handle.wait() for _ in range(n)))
        assert all(t.succeeded for t in tasks)
        return gets() - before

    alone, together = asyncio.run(watched_by(1)), asyncio.run(watched_by(3))
    assert together <= alone + 2, (alone, together)


def test_each_await_of_one_handle_tells_its_on_update_every_reading_to_the_end(make_sim, clean_env):
    # The readings one await takes in from another (no GET of its own) reach its callback too.
    sim = make_sim(speed=100.0, run_seconds=60.0)
    client = AsyncRunway(provider="sim", simulator=sim, journal=False)
    told: dict[int, list[str]] = {0: [], 1: []}

    async def main() -> None:
        handle = await client.text_to_image.create(prompt="a kite", model="gen4_image", ratio="1024:1024")

        async def told_by(i: int, task: Task) -> None:
            await asyncio.sleep(0)
            told[i].append(task.status)

        await asyncio.gather(handle.wait(on_update=lambda t: told_by(0, t)),
                             handle.wait(on_update=lambda t: told_by(1, t)))

    asyncio.run(main())
    assert told[0][-1] == told[1][-1] == "SUCCEEDED"
    assert told[0].count("SUCCEEDED") == told[1].count("SUCCEEDED") == 1
    assert len(told[0]) >= 2 and len(told[1]) >= 2


def test_each_reading_of_a_paced_round_is_placed_after_its_own_request_left(make_sim, clean_env):
    # Thirty tasks due together: their GETs leave one by one at the client's pace, and each
    # schedule is told when its own left, not when the round began.
    from runway_nb.client.core import MAX_IN_FLIGHT
    from runway_nb.client.in_flight import InFlightLimit
    from runway_nb.client.watch import SystemClock, WatchTimeout, drive_async

    sim = make_sim(speed=100.0, run_seconds=30.0)
    client = AsyncRunway(provider="sim", simulator=sim, clock=SystemClock(), journal=False)
    told: list[tuple[float, float]] = []

    def spy_on(schedule: PollSchedule) -> None:
        next_delay = schedule.next_delay

        def spy(task, now, sent=None):
            told.append((sent, now))
            return next_delay(task, now, sent)

        schedule.next_delay = spy  # type: ignore[method-assign]  # a spy on this one schedule

    async def main() -> float:
        handles = {}
        for i in range(30):
            h = await client.text_to_image.create(prompt=f"a kite #{i}", model="gen4_image", ratio="1024:1024")
            handles[h.id] = h
        host = httpx.URL(client.settings.base_url).host
        client._in_flight[host] = InFlightLimit(MAX_IN_FLIGHT, pace=200.0, burst=1)  # 5 ms apart
        watch = Watch(floor=client.poll_floor)
        start = client.clock.now()
        for h in handles.values():
            watch.add(h.id, h.schedule, now=start, seen=True)  # all due at once
            spy_on(h.schedule)
        with pytest.raises(WatchTimeout):  # one round, then the next polls are past the deadline
            await drive_async(watch, lambda key: handles[key].refresh(), clock=client.clock, deadline=start + 0.01)
        return start

    start = asyncio.run(main())
    sents = sorted(sent for sent, _now in told)
    assert len(told) == 30 and all(start <= sent <= now for sent, now in told)
    assert sents[-1] - sents[0] >= 25 * 0.005  # the last left ~29 turns after the first


def test_a_watch_whose_get_was_abandoned_leaves_the_next_watch_free_to_poll():
    # A wait cancelled while its GET is out (a cell interrupted, a serve client gone): the next
    # watch of the task polls at once, not a floor later.
    schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
    cancelled, next_one = Watch(floor=5.0), Watch(floor=5.0)
    cancelled.add("t", schedule, now=3.2, seen=True, shared=shared)
    assert cancelled.ready(3.2) == ["t"]
    cancelled.abandoned("t")
    next_one.add("t", schedule, now=3.3, seen=True, shared=shared)
    assert next_one.ready(3.3) == ["t"]


def test_waiting_for_anothers_get_always_moves_on_and_ends_a_floor_after_it_left():
    # Any send time: floating point never leaves a watch due "now" again and again (a zero
    # sleep never moves a manual clock).
    for out in (0.0, 3.2, 0.1 + 0.2, 1e6 + 0.3):
        schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
        first, second = Watch(floor=5.0), Watch(floor=5.0)
        first.add("t", schedule, now=out, seen=True, shared=shared)
        second.add("t", schedule, now=out, seen=True, shared=shared)
        assert first.ready(out) == ["t"]
        looks = [out]
        while second.ready(looks[-1]) == []:
            due = second.next_due()
            assert due is not None and due > looks[-1]
            looks.append(due)
            assert len(looks) < 20
        assert out + 5.0 - 0.01 <= looks[-1] <= out + 5.0 + 0.01


def test_a_blocking_wait_does_not_wait_for_an_async_get_it_may_be_blocking():
    schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
    view, blocking = Watch(floor=5.0), Watch(floor=5.0)
    view.add("t", schedule, now=0.0, seen=True, shared=shared)
    blocking.add("t", schedule, now=0.0, seen=True, shared=shared)
    assert view.ready(0.0) == ["t"]  # the view's GET, suspended while a cell blocks the loop
    assert blocking.ready(0.1, wait_for_others=False) == ["t"]


def test_the_blocking_driver_tells_on_update_the_readings_it_takes_in_and_its_own():
    # `handle.wait(on_update=...)` while a view of the same task reads it: the view's reading
    # reaches the callback too, and the wait's own GET comes a floor after it, not at once.
    from runway_nb.client.watch import drive

    schedule, shared = PollSchedule(floor=5.0, jitter=0.0), Shared()
    view, wait = Watch(floor=5.0), Watch(floor=5.0)
    view.add("t", schedule, now=0.0, seen=True, shared=shared)
    wait.add("t", schedule, now=0.0, seen=True, shared=shared)
    assert view.ready(0.0) == ["t"]
    view.observed("t", _task("RUNNING", 0.4), 0.0)
    clock = SimClock(manual=True)
    polled_at: list[float] = []

    def poll(_key):
        polled_at.append(clock.now())
        return _task("SUCCEEDED")

    told: list[str] = []
    drive(wait, poll, clock=AdvancingClock(clock), on_update=lambda task: told.append(task.status))
    assert told == ["RUNNING", "SUCCEEDED"]
    assert len(polled_at) == 1 and polled_at[0] >= 5.0

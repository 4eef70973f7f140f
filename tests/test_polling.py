"""The poll schedule's decisions, replayed on a virtual clock (no sleeping, no wall time)."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import pytest

from runway_nb.api.task import Task
from runway_nb.client.schedule import (
    FRESH_AIM_AT,
    HISTORY_QUANTILE,
    HISTORY_READ,
    MIN_RUN_SPREAD,
    TENTATIVE_GROWTH,
    PollSchedule,
)

FLOOR = 5.0


def ease_in_out(f: float) -> float:
    return f * f * (3.0 - 2.0 * f)


def stepped(shape, step: float = FLOOR, decimals: int = 4):
    """Progress published every ``step`` s from the start, like Runway and the simulator."""
    def progress(elapsed: float, run: float) -> float:
        at = math.floor(max(0.0, elapsed) / step + 1e-9) * step
        return min(round(shape(min(1.0, at / run)), decimals), 0.99)
    return progress


def continuous(shape, decimals: int = 2):
    def progress(elapsed: float, run: float) -> float:
        return min(round(shape(min(1.0, max(0.0, elapsed) / run)), decimals), 0.99)
    return progress


def irregular(seed: int):
    """Published after random 2-11 s gaps with ±5 % noise: fits no model."""
    rng = random.Random(seed)
    times, bumps = [0.0], [0.0]

    def progress(elapsed: float, run: float) -> float:
        while times[-1] <= elapsed:
            times.append(times[-1] + rng.uniform(2.0, 11.0))
            bumps.append(rng.uniform(-0.05, 0.05))
        i = max(i for i, t in enumerate(times) if t <= elapsed)
        return min(max(round(ease_in_out(min(1.0, times[i] / run)) + bumps[i], 2), 0.0), 0.99)
    return progress


def replay(run: float, progress, *, pending: float = 1.0, seed: int = 0, floor: float = FLOOR,
           rtt: float = 0.05, throttled_until: float | None = None, tell_sent: bool = False,
           rtts: list[float] | None = None, **kw):
    """Poll one task the way ``TaskHandle.wait`` does. Returns (request times, delays, latency).

    Each request takes ``rtt`` (or the next of ``rtts``, in turn), the server reading the task
    half-way; ``tell_sent``: the schedule is told when each request left, as the watch engine does."""
    sched = PollSchedule(floor=floor, rng=random.Random(seed), **kw)
    t = sched.first_delay()
    start = pending if throttled_until is None else throttled_until
    finish = start + run
    times, delays = [], []
    while True:
        times.append(t)
        if rtts:
            rtt = rtts[len(times) % len(rtts)]
        read = t + rtt / 2
        if read < pending:
            task = Task(id="t", status="PENDING")
        elif throttled_until is not None and read < throttled_until:
            task = Task(id="t", status="THROTTLED")
        elif read < finish:
            task = Task(id="t", status="RUNNING", progress=progress(read - start, run))
        else:
            return times, delays, t + rtt - finish
        now = t + rtt
        delay = sched.next_delay(task, now, t if tell_sent else None)
        delays.append(delay)
        t = now + delay
        assert len(times) < 500, "the schedule must make progress"


RUNS = [10.0, 12.3, 17.0, 33.3, 47.1, 90.0, 150.7, 299.0]


@pytest.mark.parametrize("publisher", ["stepped", "continuous", "irregular"])
def test_never_polls_more_often_than_the_floor(publisher):
    for i, run in enumerate(RUNS):
        progress = {"stepped": stepped(ease_in_out), "continuous": continuous(lambda f: f),
                    "irregular": irregular(i)}[publisher]
        times, delays, _ = replay(run, progress, seed=i)
        assert all(d >= FLOOR for d in delays)
        gaps = [b - a for a, b in pairwise(times)]
        assert all(g >= FLOOR for g in gaps)


def test_first_poll_is_prompt_and_defaults_follow_the_floor():
    s = PollSchedule(floor=5.0)
    assert 0 < s.first_delay() <= 5.0
    assert s.max_interval >= 5.0
    fast = PollSchedule(floor=0.2)  # a simulator clock 25x real time
    assert fast.first_delay() == pytest.approx(s.first_delay() / 25)
    assert fast.max_interval == pytest.approx(s.max_interval / 25)
    assert PollSchedule(floor=5.0, first=0).first_delay() == 0.0
    assert PollSchedule(floor=5.0, first=30).first_delay() == 5.0  # never later than a floor


@pytest.mark.parametrize("status", ["PENDING", "THROTTLED"])
def test_backs_off_while_waiting(status):
    s = PollSchedule(floor=FLOOR, jitter=0.0, rng=random.Random(1))
    delays = [s.next_delay(Task(id="t", status=status), now=10.0 * i) for i in range(12)]
    assert delays[0] == FLOOR
    assert all(b >= a for a, b in pairwise(delays))
    assert delays[1] > FLOOR
    # ... but never more than 3 floors: the run's start lies between the last poll that saw it
    # waiting and the first that sees it run, and the time left is only as good as that gap
    assert delays[-1] == max(delays) == 3 * FLOOR


def test_backoff_starts_over_once_running():
    s = PollSchedule(floor=FLOOR, jitter=0.0, rng=random.Random(1))
    for i in range(6):
        s.next_delay(Task(id="t", status="THROTTLED"), now=20.0 * i)
    assert s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=200.0) == FLOOR
    assert s.next_delay(Task(id="t", status="PENDING"), now=205.0) == FLOOR


def test_unknown_status_keeps_polling():
    s = PollSchedule(floor=FLOOR, rng=random.Random(3))
    for i in range(5):
        d = s.next_delay(Task(id="t", status="MYSTERY"), now=10.0 * i)
        assert FLOOR <= d <= s.max_interval * (1 + s.jitter)
    # a bare RUNNING without progress, too
    d = s.next_delay(Task(id="t", status="RUNNING"), now=100.0)
    assert FLOOR <= d <= s.max_interval * (1 + s.jitter)


def test_aims_at_the_finish_from_stepped_progress():
    # Started at t=1, runs 150.7 s: finishes at 151.7. A "0 %" reading, then a few more.
    s = PollSchedule(floor=FLOOR, rng=random.Random(0))
    progress = stepped(ease_in_out)
    s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=2.05)
    for now in (7.5, 57.6, 109.9, 131.1):
        s.next_delay(Task(id="t", status="RUNNING", progress=progress(now - 1.0, 150.7)), now=now)
    lo, hi = s.finish_range
    assert lo <= 151.7 <= hi
    assert hi - lo < FLOOR
    assert s.shape == "ease_in_out"
    # From here on: at most two more polls, the last one just after the finish.
    now, polls = 141.0, 0
    while now < 151.7:
        delay = s.next_delay(Task(id="t", status="RUNNING", progress=progress(now - 1.0, 150.7)), now=now)
        now += delay
        polls += 1
    assert polls <= 2
    assert now - 151.7 < 0.5 * FLOOR


def test_readings_pin_the_run_length():
    # "0 %" at 2.05, then two readings: the step size turns progress into elapsed time.
    s = PollSchedule(floor=FLOOR, rng=random.Random(0))
    s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=2.05)
    s.next_delay(Task(id="t", status="RUNNING", progress=stepped(ease_in_out)(6.5, 150.7)), now=7.5)
    wide = s.finish_range[1] - s.finish_range[0]
    s.next_delay(Task(id="t", status="RUNNING", progress=stepped(ease_in_out)(36.5, 150.7)), now=37.5)
    lo, hi = s.finish_range
    assert lo <= 151.7 <= hi
    assert hi - lo < min(wide, 2 * FLOOR)
    assert s.shape == "ease_in_out"


@pytest.mark.parametrize("shape", [lambda f: f, ease_in_out, lambda f: 1 - (1 - f) ** 2])
def test_latency_is_small_on_stepped_curves(shape):
    lat = [replay(run, stepped(shape), seed=i)[2] for i, run in enumerate(RUNS[3:])]
    assert all(0 <= x < FLOOR for x in lat)
    assert sorted(lat)[len(lat) // 2] < 0.3 * FLOOR


def test_far_finish_is_approached_within_max_interval():
    s = PollSchedule(floor=FLOOR)
    # Unknown finish (irregular progress): never longer than max_interval.
    _times, delays, _ = replay(299.0, irregular(5), seed=2)
    assert max(delays) <= s.max_interval * (1 + s.jitter)
    # Once stepped readings pin the finish, waits may be longer, never beyond pinned_interval.
    times, delays, latency = replay(299.0, stepped(ease_in_out), seed=2, created=0.0)
    assert s.max_interval < max(delays) <= s.pinned_interval * (1 + s.jitter)
    assert len(times) < 299.0 / 6 / 2  # far fewer than a fixed 6 s interval would make
    assert 0 <= latency < FLOOR


def test_continuous_progress_without_steps():
    lat = [replay(run, continuous(lambda f: f), seed=i)[2] for i, run in enumerate(RUNS)]
    assert all(0 <= x <= 2 * FLOOR for x in lat)


def test_a_finish_known_within_a_floor_from_values_computed_per_request_is_aimed_inside_its_bounds():
    run, start = 178.6, 1.0
    s = PollSchedule(floor=FLOOR, jitter=0.0, created=0.0)
    t, delay = s.first_delay(), 0.0
    while True:
        delay = s.next_delay(Task(id="t", status="RUNNING", progress=continuous(lambda f: f)(t - start, run)), t)
        lo, hi = s.finish_range or (0.0, math.inf)
        if hi - lo <= FLOOR:
            break
        t += delay
    # the bounds are worst cases of the rounding: one poll inside them, not another reading
    assert lo < t + delay < hi + 0.1 * FLOOR
    assert lo <= start + run <= hi


@pytest.mark.parametrize("shape", [lambda f: f, lambda f: 1 - (1 - f) ** 2], ids=["linear", "ease_out"])
def test_rounded_values_computed_per_request_never_rule_out_the_true_finish(shape):
    # A value rounded to 2 decimals may have been computed up to half a hundredth earlier or
    # later along the curve: the bounds must allow that, or the truth falls outside them.
    for i, run in enumerate(RUNS):
        s = PollSchedule(floor=FLOOR, rng=random.Random(i), created=0.0)
        t, start = s.first_delay(), 1.0
        while t < start + run:
            task = (Task(id="t", status="RUNNING", progress=continuous(shape)(t - start, run)) if t >= start
                    else Task(id="t", status="PENDING"))
            delay = s.next_delay(task, t)
            if s.finish_range is not None:
                lo, hi = s.finish_range
                assert lo - 1e-6 <= start + run <= hi + 1e-6, (run, t, s.finish_range)
            t += delay


def test_irregular_progress_still_finishes_and_falls_back():
    for i, run in enumerate(RUNS):
        _times, delays, latency = replay(run, irregular(100 + i), seed=i)
        assert 0 <= latency <= 3 * FLOOR
        assert max(delays) <= PollSchedule(floor=FLOOR).max_interval * 1.1 + 1e-9


def test_capped_progress_polls_at_the_floor():
    s = PollSchedule(floor=FLOOR, jitter=0.0)
    s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=0.0)
    d = s.next_delay(Task(id="t", status="RUNNING", progress=0.99), now=5.0)
    assert d == FLOOR


def test_a_task_hanging_at_99_backs_off_by_a_share_of_its_lateness():
    s = PollSchedule(floor=FLOOR, jitter=0.0)
    s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=0.0)
    now, delays = 5.0, []
    while now < 600.0:
        delays.append(s.next_delay(Task(id="t", status="RUNNING", progress=0.99), now=now))
        now += delays[-1]
    assert delays[:2] == [FLOOR, FLOOR]  # about to finish: the floor first
    assert len(delays) < 30  # not the 119 GETs of polling every floor for ten minutes
    late, waited = 0.0, []
    for d in delays:
        waited.append((late, d))
        late += d
    assert all(d <= max(FLOOR, 0.25 * late) + 1e-9 for late, d in waited)  # latency a share of the lateness
    assert max(delays) <= s.max_interval + 1e-9
    # moving again below "99 %" starts over
    assert s.next_delay(Task(id="t", status="RUNNING", progress=0.5), now=now) <= s.max_interval


def test_a_task_past_its_pinned_finish_backs_off_too():
    sched = PollSchedule(floor=FLOOR, jitter=0.0)
    t = sched.first_delay()
    for _ in range(6):  # a clean 30 s curve, read to its "finish" ...
        t += sched.next_delay(Task(id="t", status="RUNNING", progress=stepped(ease_in_out)(t - 1.0, 30.0)), t)
    due = sched.predicted_finish()
    assert due is not None
    late_delays = []
    while t < due + 300.0:  # ... that then hangs at its last value for five minutes
        late_delays.append(sched.next_delay(Task(id="t", status="RUNNING", progress=0.97), t))
        t += late_delays[-1]
    assert len(late_delays) < 25 and max(late_delays) > 2 * FLOOR


def test_throttled_then_running():
    _times, delays, latency = replay(60.0, stepped(ease_in_out), throttled_until=80.0, seed=4)
    assert all(d >= FLOOR for d in delays)
    assert 0 <= latency < FLOOR


def test_the_readings_place_a_start_that_a_wait_in_the_queue_left_vague():
    # Last seen THROTTLED at 25 s, first seen RUNNING at 40 s: the run began in between. Stepped
    # readings place it (it began at 26 s), which is what the run time recorded for the history
    # is measured from (see TaskHandle), not the middle of the gap (32.5 s).
    sched = PollSchedule(floor=FLOOR, rng=random.Random(0), created=0.0)
    start, run = 26.0, 60.0
    curve = stepped(ease_in_out)
    assert sched.run_started() is None
    for t in (2.0, 10.0, 25.0):
        sched.next_delay(Task(id="t", status="THROTTLED"), t, sent=t - 0.01)
    assert sched.run_started() is None  # not seen running yet
    for t in (40.0, 46.0, 52.0, 58.0):
        sched.next_delay(Task(id="t", status="RUNNING", progress=curve(t - start, run)), t, sent=t - 0.01)
    assert sched.run_started() == pytest.approx(start, abs=1.0)


def _followed(sched: PollSchedule, start: float, run: float, until: float) -> float:
    """Poll a stepped ease-in/out run on the schedule's own delays; when the first poll at or
    after ``until`` is due."""
    curve = stepped(ease_in_out)
    t = sched.first_delay()
    while t < until:
        status = "RUNNING" if t >= start else "PENDING"
        task = Task(id="t", status=status, progress=curve(t - start, run) if status == "RUNNING" else None)
        t += sched.next_delay(task, t, sent=t - 0.01)
    return t


def test_a_run_time_is_told_only_when_the_polls_place_both_ends():
    start, run = 1.0, 40.0
    sched = PollSchedule(floor=FLOOR, rng=random.Random(2), created=0.0)
    ended = _followed(sched, start, run, start + run)  # the poll the schedule asked for sees it finished
    assert sched.run_time(ended) == pytest.approx(run, abs=ended - (start + run) + 1.0)
    # A wait resumed after a pause: the end is anywhere in the pause.
    assert sched.run_time(ended + 300.0) is None
    # First seen running with no creation time (attached by id): the start could be long before.
    attached = PollSchedule(floor=FLOOR, rng=random.Random(2))
    assert attached.run_time(_followed(attached, -30.0, 100.0, 70.0)) is None
    # Seen only waiting, then finished: the run was never seen.
    queued = PollSchedule(floor=FLOOR, rng=random.Random(2), created=0.0)
    queued.next_delay(Task(id="t", status="THROTTLED"), 2.0)
    assert queued.run_time(10.0) is None


def test_decisions_scale_with_the_floor():
    # A simulator 25x faster: the same decisions in its clock (no jitter, same readings).
    a = replay(90.0, stepped(ease_in_out), jitter=0.0)
    b = replay(90.0 / 25, stepped(ease_in_out, step=FLOOR / 25), pending=1.0 / 25, rtt=0.05 / 25,
               floor=FLOOR / 25, jitter=0.0)
    assert len(a[0]) == len(b[0])
    assert b[1] == pytest.approx([d / 25 for d in a[1]], rel=1e-6, abs=1e-9)


def test_deterministic_with_a_seeded_rng():
    a = replay(123.4, stepped(ease_in_out), seed=9)
    b = replay(123.4, stepped(ease_in_out), seed=9)
    assert a == b


def stall(f: float) -> float:
    return f * 4 / 3 if f < 0.3 else 0.4 if f < 0.6 else 0.4 + (f - 0.6) * 1.5


def jump(f: float) -> float:
    return f / 2 if f < 0.5 else 0.5 + f / 2


@pytest.mark.parametrize("curve", ["stall", "jump", "silent"])
@pytest.mark.parametrize("typical", [None, 0.5, 1.0, 2.0])
def test_never_under_the_floor_on_curves_that_stall_jump_or_say_nothing(curve, typical):
    for i, run in enumerate(RUNS):
        progress = {"stall": stepped(stall), "jump": stepped(jump), "silent": lambda e, r: None}[curve]
        times, delays, latency = replay(run, progress, seed=i, created=0.0,
                                        typical_run=None if typical is None else typical * run)
        assert all(d >= FLOOR for d in delays)
        assert all(b - a >= FLOOR for a, b in pairwise(times))
        assert 0 <= latency <= PollSchedule(floor=FLOOR).pinned_interval


@pytest.mark.parametrize("curve", ["stall", "jump"])
@pytest.mark.parametrize("factor", [0.8, 0.85])
def test_a_fit_far_past_what_the_history_says_is_checked_when_runs_like_it_end(curve, factor):
    # Slow progress that later jumps (or a stall) fits a clean curve finishing far too late:
    # a task of ~50 s looked on course to end at ~96 s, and the next poll came after it had
    # ended by a whole run. When the history of runs like it (here 0.8-0.85 of the true run,
    # spread 0.1) ends nearly all of them well before the fit, a poll goes then too.
    shape = {"stall": stall, "jump": jump}[curve]
    for i, run in enumerate([44.4, 46.2, 47.7, 52.0, 60.4, 70.9, 141.2]):
        times, _delays, latency = replay(run, stepped(shape), seed=i, created=0.0, typical_run=factor * run,
                                        run_spread=0.1, tell_sent=True)
        assert all(b - a >= FLOOR for a, b in pairwise(times))
        assert 0 <= latency <= 1.5 * FLOOR, (run, latency)


def test_creation_time_narrows_the_start_and_the_finish_is_aimed_at():
    # Created at 0, started at 1, runs 90 s: a "0 %" reading and two more pin the finish, and
    # one poll lands just after it.
    with_created = [replay(90.0, stepped(shape), seed=i, created=0.0)
                    for i, shape in enumerate([lambda f: f, ease_in_out])]
    without = [replay(90.0, stepped(shape), seed=i) for i, shape in enumerate([lambda f: f, ease_in_out])]
    s = PollSchedule(floor=FLOOR)
    for (times, _, latency), (times_0, _, _) in zip(with_created, without, strict=True):
        assert 0 <= latency <= (s.sharp + 2 * s.aim_margin) * FLOOR + 0.1
        assert len(times) <= len(times_0)
        assert len(times) <= 5  # "0 %", two readings, one that halves the start window, the end


def test_without_progress_the_typical_run_time_is_used():
    calm = PollSchedule(floor=FLOOR, jitter=0.0, created=0.0, typical_run=100.0)
    blind = PollSchedule(floor=FLOOR, jitter=0.0, created=0.0)
    running = Task(id="t", status="RUNNING")
    assert blind.next_delay(running, now=2.0) == FLOOR  # nothing to go on: every floor
    first = calm.next_delay(running, now=2.0)
    assert first > FLOOR
    # Polled until about the typical run, never past it by more than a floor.
    times, _, latency = replay(100.0, lambda e, r: None, created=0.0, typical_run=100.0, jitter=0.0)
    assert len(times) <= 100.0 / calm.max_interval + 4
    assert 0 <= latency < FLOOR
    times_blind, _, _ = replay(100.0, lambda e, r: None, created=0.0, jitter=0.0)
    assert len(times) < len(times_blind) / 3


def test_the_typical_run_places_the_first_readings_and_saves_requests():
    # Far from the finish and with nothing fitted yet, the next reading goes well into the run
    # the history predicts, not a floor at a time: fewer requests on stepped curves (Runway's,
    # the simulator's), the finish still met.
    runs = [round(10 * 1.2 ** k, 1) for k in range(19)]  # 10 s to 5 min
    informed, blind = 0, 0
    for i, run in enumerate(runs):
        for shape in (ease_in_out, lambda f: f):
            times, delays, latency = replay(run, stepped(shape), seed=i, created=0.0, typical_run=run,
                                            run_spread=0.1)
            assert all(d >= FLOOR for d in delays)
            assert 0 <= latency < 2 * FLOOR
            informed += len(times)
            blind += len(replay(run, stepped(shape), seed=i, created=0.0)[0])
    assert informed < 0.97 * blind
    # The reading goes HISTORY_READ into a short run of the kind: the wider runs of the kind
    # stray, the earlier; fewer than three runs known (no spread): no guess at all.
    firsts = []
    for spread in (0.05, 0.3, None):
        s = PollSchedule(floor=FLOOR, jitter=0.0, created=0.0, typical_run=100.0, run_spread=spread)
        s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=2.0)
        assert s._running_since == 2.0
        firsts.append(s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=7.0))
        if spread is not None:
            short = 100.0 * math.exp(-HISTORY_QUANTILE * max(spread, MIN_RUN_SPREAD))
            assert firsts[-1] == pytest.approx(2.0 + HISTORY_READ * short - 7.0)
    assert firsts[0] > firsts[1] > firsts[2] == FLOOR


@pytest.mark.parametrize("factor", [0.3, 3.0, 10.0])
def test_a_wrong_typical_run_costs_a_bounded_wait_and_an_unmeasured_one_nothing(factor):
    # History can be off (another hour, a busier queue): the guess only places readings, never
    # the finish, so a wait past the finish is at most max_interval, and most tasks still end
    # close to their finish. A typical run from fewer than three runs (no spread) is not used.
    s = PollSchedule(floor=FLOOR)
    lat = []
    for i, run in enumerate(RUNS):
        for curve in (stepped(ease_in_out), continuous(lambda f: f)):
            _times, delays, latency = replay(run, curve, seed=i, created=0.0, typical_run=factor * run,
                                             run_spread=0.1)
            assert all(d >= FLOOR for d in delays)
            assert 0 <= latency <= s.max_interval * (1 + s.jitter)
            lat.append(latency)
            unmeasured = replay(run, curve, seed=i, created=0.0, typical_run=factor * run)
            assert unmeasured == replay(run, curve, seed=i, created=0.0)
    if factor <= 3.0:
        assert sorted(lat)[len(lat) // 2] < FLOOR


def test_a_finish_from_two_values_computed_per_request_is_not_waited_on_for_long():
    # Two readings of a stepped curve whose steps are a little uneven read like two values
    # computed per request, and put the finish far off: until a third reading confirms it, no
    # wait is longer than TENTATIVE_GROWTH times the run so far.
    # A linear curve published 5.0-5.3 s apart (to 4 decimals), 20.7 s from a start at 1 s:
    # the two readings put the finish near 55 s; without the rule the next poll came 40 s later.
    s = PollSchedule(floor=FLOOR, rng=random.Random(4), created=0.0)
    s.next_delay(Task(id="t", status="RUNNING", progress=0.0), now=2.05, sent=2.0)
    s.next_delay(Task(id="t", status="RUNNING", progress=0.245), now=7.22, sent=7.17)
    delay = s.next_delay(Task(id="t", status="RUNNING", progress=0.488), now=16.04, sent=15.99)
    assert s._tentative and s.finish_range is not None and s.finish_range[0] > 50.0
    assert s._running_since is not None
    assert delay <= TENTATIVE_GROWTH * (16.04 - s._running_since) + 1e-9
    assert delay < 25.0
    # on uneven steps over many runs, no task waits long past its finish
    lat = []
    for i, run in enumerate([round(10 * 1.2 ** k, 1) for k in range(19)]):
        rng = random.Random(i)
        times = [0.0]
        while times[-1] < run:
            times.append(times[-1] + rng.uniform(5.0, 5.3))

        def uneven(elapsed: float, run: float, times=times) -> float:
            at = max(t for t in times if t <= max(elapsed, 0.0))
            return min(round(min(1.0, at / run), 4), 0.99)

        lat.append(replay(run, uneven, seed=i, created=0.0, tell_sent=True)[2])
    assert max(lat) < 5 * FLOOR


def test_values_computed_per_request_are_aimed_inside_their_bounds_even_when_narrow():
    # Rounding leaves the finish anywhere in the bounds, likelier near their middle than at the
    # latest end: the one poll goes FRESH_AIM_AT into them, however narrow they are.
    narrow = 0
    for i, run in enumerate([round(10 * 1.2 ** k, 1) for k in range(19)]):
        s = PollSchedule(floor=FLOOR, rng=random.Random(i), jitter=0.0, created=0.0)
        t, start = s.first_delay(), 1.0
        while t < start + run:
            delay = s.next_delay(Task(id="t", status="RUNNING", progress=continuous(lambda f: f)(t - start, run)), t)
            lo, hi = s.finish_range or (-math.inf, math.inf)
            aim = max(lo, t) + FRESH_AIM_AT * (hi - max(lo, t)) + s.aim_margin * FLOOR
            if s._stepped and not s._exact and hi - lo <= s.sharp * FLOOR and aim >= t + FLOOR:
                narrow += 1
                assert t + delay == pytest.approx(aim)
            t += delay
    assert narrow >= 3


def test_the_send_time_keeps_slow_requests_from_widening_the_windows():
    # Told when each request left (as the watch engine tells it), the schedule places each
    # reading between its request and its answer: an occasional slow answer no longer widens
    # every window by the slowest round trip seen, which cost readings.
    runs = [round(10 * 1.2 ** k, 1) for k in range(19)]
    uneven = [0.05, 0.05, 0.9]  # every third request takes 0.9 s (of a 5 s floor)
    gets = {}
    for tell_sent in (False, True):
        gets[tell_sent] = 0
        for i, run in enumerate(runs):
            for shape in (ease_in_out, lambda f: f):
                times, delays, latency = replay(run, stepped(shape), seed=i, created=0.0, rtts=uneven,
                                                tell_sent=tell_sent)
                assert all(d >= FLOOR for d in delays) and 0 <= latency < 2 * FLOOR
                gets[tell_sent] += len(times)
    steady = sum(len(replay(run, stepped(shape), seed=i, created=0.0)[0])
                 for i, run in enumerate(runs) for shape in (ease_in_out, lambda f: f))
    assert gets[True] < 0.8 * gets[False]
    assert gets[True] <= steady + 2


def _slow_answers(progress, seed: int, rtts: list[float]):
    """Poll each of RUNS with answers that take one of ``rtts`` (the server reading the task at
    any moment between request and answer), telling the schedule each send time; yields the
    schedule and the true finish after each decision."""
    for i, run in enumerate(RUNS):
        s = PollSchedule(floor=FLOOR, rng=random.Random(i), created=0.0)
        rng = random.Random(seed + i)
        t, start = s.first_delay(), 1.0
        while True:
            rtt = rng.choice(rtts)
            read = t + rng.uniform(0.0, rtt)
            if read >= start + run:
                break
            task = (Task(id="t", status="RUNNING", progress=progress(read - start, run)) if read >= start
                    else Task(id="t", status="PENDING"))
            delay = s.next_delay(task, t + rtt, sent=t)
            yield s, start + run
            t += rtt + delay


@pytest.mark.parametrize("shape", [lambda f: f, ease_in_out], ids=["linear", "ease_in_out"])
def test_windows_from_send_times_never_rule_out_the_true_finish(shape):
    checked = 0
    for s, finish in _slow_answers(stepped(shape), 100, [0.02, 0.1, 0.8, 2.0]):
        if s.finish_range is not None and s._exact:
            lo, hi = s.finish_range
            assert lo - 1e-6 <= finish <= hi + 1e-6, (finish, s.finish_range)
            checked += 1
    assert checked >= len(RUNS)


@pytest.mark.parametrize("shape", [lambda f: f, lambda f: 1 - (1 - f) ** 2], ids=["linear", "ease_out"])
def test_values_computed_per_request_are_placed_between_request_and_answer(shape):
    # A value computed when the server read the task belongs to a moment between the request
    # leaving and the answer coming, however slow the answer: the bounds never rule out the truth.
    checked = 0
    for s, finish in _slow_answers(continuous(shape), 200, [0.02, 0.3, 1.5, 3.0]):
        if s.finish_range is not None and s._stepped and not s._exact:  # fitted as values per request
            lo, hi = s.finish_range
            assert lo - 1e-6 <= finish <= hi + 1e-6, (finish, s.finish_range)
            checked += 1
    assert checked >= len(RUNS)

"""The best estimate of a task's finish (runway_nb.client.eta) on synthetic progress curves,
and the TaskView's time left over a simulator run that waited THROTTLED first."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from runway_nb.client.core import Runway
from runway_nb.client.eta import RUN_TIMES, FinishEstimate, RunTimes
from runway_nb.client.schedule import PollSchedule
from runway_nb.client.watch import AdvancingClock
from runway_nb.notebook.widgets import TaskView
from runway_nb.sim import Simulator
from runway_nb.sim.clock import SimClock
from runway_nb.sim.state import progress_curve

Curve = Callable[[float, float], float]  # progress at elapsed run seconds, for a run of that length


def stepped(shape: Callable[[float], float], step: float = 5.0) -> Curve:
    """Published every ``step`` seconds from the run's start (as Runway says it updates)."""
    def progress(elapsed: float, run: float) -> float:
        at = math.floor(max(0.0, elapsed) / step + 1e-9) * step
        return min(round(shape(min(1.0, at / run)), 4), 0.99)
    return progress


LINEAR = stepped(lambda f: f)
EASE_OUT = stepped(lambda f: 1 - (1 - f) ** 2)


@pytest.fixture(autouse=True)
def no_history() -> Iterator[None]:
    RUN_TIMES.clear()
    yield
    RUN_TIMES.clear()


def watch_curve(curve: Curve, *, start: float, run: float, seed: int = 0, typical_run: float | None = None
                ) -> tuple[FinishEstimate, list[tuple[float, float, float | None]]]:
    """Poll a synthetic task on the real poll schedule: PENDING, THROTTLED until ``start``, RUNNING
    for ``run`` seconds. Returns the estimate and, per poll that saw progress, (time, true
    remaining, estimated remaining)."""
    schedule = PollSchedule(floor=5.0, rng=random.Random(seed))
    estimate = FinishEstimate(created=0.0, floor=5.0, typical_run=typical_run)
    seen: list[tuple[float, float, float | None]] = []
    now = schedule.first_delay()
    while now < start + run:
        running = now >= start
        status = "RUNNING" if running else ("PENDING" if now < 1.0 else "THROTTLED")
        progress = curve(now - start, run) if running else None
        estimate.observe(status, progress, now)
        if progress:
            seen.append((now, start + run - now, estimate.remaining(now)))
        now += schedule.next_delay(SimpleNamespace(status=status, progress=progress, finished=False), now)
    estimate.observe("SUCCEEDED", None, now, finished=True)
    return estimate, seen


def error(row: tuple[float, float, float | None]) -> float:
    _, true, estimated = row
    assert estimated is not None, "an estimate once progress is reported"
    return abs(estimated - true) / true


@pytest.mark.parametrize("run", [20.0, 40.0, 60.0])
def test_the_simulators_curve_is_read_from_its_first_report(run):
    estimate, seen = watch_curve(progress_curve, start=1.0, run=run)
    assert seen
    assert error(seen[0]) < 0.05
    assert all(error(row) < 0.25 for row in seen if row[1] > 5)
    assert estimate.shape == "ease_in_out"


@pytest.mark.parametrize(("curve", "shape"), [(LINEAR, "linear"), (EASE_OUT, "ease_out")])
def test_other_shapes_are_recognised_by_the_second_report(curve, shape):
    estimate, seen = watch_curve(curve, start=1.0, run=60.0)
    assert len(seen) >= 3
    assert all(error(row) < 0.25 for row in seen[1:] if row[1] > 5)
    assert estimate.shape == shape


def test_queue_time_is_not_run_time():
    """After a long THROTTLED wait, the estimate counts from the run's start, not creation."""
    estimate, seen = watch_curve(progress_curve, start=44.0, run=40.0)
    assert seen
    # Seen 0 % right after the wait: the start is known within a floor, so one reading does.
    assert error(seen[0]) < 0.25
    end = estimate.ended
    assert end is not None
    assert estimate.queued(end) == pytest.approx(44.0, abs=5.0)
    assert estimate.running(end) == pytest.approx(40.0, abs=5.0)
    assert estimate.remaining(end) is None, "an ended task has no time left"


def test_a_known_run_time_places_a_start_the_wait_left_vague():
    """The first sight of RUNNING already shows progress, the start lies anywhere in a long
    backoff: the model's typical run picks the start; the second reading confirms it."""
    estimate, seen = watch_curve(progress_curve, start=61.0, run=60.0, seed=3, typical_run=60.0)
    assert seen and estimate.start_window is not None
    assert all(error(row) < 0.25 for row in seen if row[1] > 5)


def test_no_progress_falls_back_to_the_typical_run_time_or_to_nothing():
    estimate = FinishEstimate(created=0.0, floor=5.0)
    estimate.observe("PENDING", None, 2.0)
    estimate.observe("RUNNING", None, 10.0)
    assert estimate.remaining(10.0) is None, "no progress and no typical run time: no guess"
    assert estimate.queued(10.0) == pytest.approx(6.0) and estimate.running(20.0) == pytest.approx(14.0)

    typical = FinishEstimate(created=0.0, floor=5.0, typical_run=30.0)
    typical.observe("PENDING", None, 2.0)
    typical.observe("RUNNING", None, 10.0)
    assert typical.remaining(10.0) == pytest.approx(26.0)  # the run began at 6 (mid-window)
    assert typical.remaining(30.0) == pytest.approx(6.0)
    assert typical.remaining(40.0) is None, "past the usual run time: no better idea"


def test_waiting_shows_no_time_left_and_counts_queue_time():
    estimate = FinishEstimate(created=0.0)
    estimate.observe("PENDING", None, 2.0)
    estimate.observe("THROTTLED", None, 30.0)
    assert estimate.remaining(31.0) is None
    assert estimate.queued(31.0) == pytest.approx(31.0) and estimate.running(31.0) == 0.0


def test_progress_going_backwards_or_capped_is_not_fitted():
    estimate = FinishEstimate(created=0.0)
    estimate.observe("RUNNING", 0.0, 1.0)
    estimate.observe("RUNNING", 0.5, 6.0)
    first = estimate.finish()
    estimate.observe("RUNNING", 0.3, 11.0)
    assert estimate.finish() == first
    estimate.observe("RUNNING", 0.99, 16.0)
    assert estimate.capped and estimate.finish() == first


def test_run_times_keep_a_median_per_kind():
    runs = RunTimes(keep=3)
    assert runs.typical("a") is None
    for seconds in (10.0, 50.0, 12.0, 14.0):
        runs.record("a", seconds)
    runs.record("b", float("nan"))
    assert runs.typical("a") == 14.0  # the last three: 50, 12, 14
    assert runs.typical("b") is None


# ---------------------------------------------------------------------- the task view on the simulator
def _i2v(client: Runway, prompt: str):
    return client.image_to_video.create(model="gen4_turbo", prompt=prompt, image="https://example.com/in.png",
                                        ratio="1280:720", duration=5)


@pytest.mark.parametrize("run_seconds", [40.0, 60.0])
def test_task_view_time_left_after_a_throttled_wait(clean_env, monkeypatch, run_seconds):
    """One task of the model ran before (the session knows its run time); then two at once, the
    second THROTTLED behind the first. At the view's first progress report after RUNNING the
    time left is within 25% of the truth; queue time is shown apart from run time."""
    sim = Simulator(clock=SimClock(manual=True), concurrency=1, pending_seconds=1.0, run_seconds=run_seconds)
    client = Runway(provider="sim", simulator=sim, clock=AdvancingClock(sim.clock), journal=False)
    try:
        earlier = _i2v(client, "an earlier shot")
        sim.wait_media()  # rendered in real time: ready before the manual clock moves on
        TaskView(earlier, watch=False).watch(file=io.StringIO())
        _i2v(client, "the first")
        second = _i2v(client, "the second")
        sim.wait_media()
        view = TaskView(second, watch=False)
        shown: list[tuple[float, str, float | None, float | None, float, float]] = []
        show = view._apply

        def apply_and_record(task):  # what the view shows after each poll
            show(task)
            shown.append((sim.clock.now(), view.status, view.progress, view.eta, view.queued, view.running))

        monkeypatch.setattr(view, "_apply", apply_and_record)
        out = io.StringIO()
        view.watch(file=out)
        truth = sim.app.store.get(second.id)
        assert truth is not None and truth.started_sim is not None
        finish = truth.started_sim + truth.run_seconds

        assert any(status == "THROTTLED" for _, status, *_ in shown)
        reports = [row for row in shown if row[1] == "RUNNING" and row[2] and row[3] is not None]
        assert reports, "time left shown while running"
        now, _, _, eta, queued, running = reports[0]
        assert eta is not None
        true_left = finish - now
        assert abs(eta - true_left) <= 0.25 * true_left, (eta, true_left)
        assert queued == pytest.approx(truth.started_sim - client.created_at(second.id), abs=5.0)
        assert running == pytest.approx(now - truth.started_sim, abs=5.0)
        # finished: no time left; queue and run time apart, the run close to the real one
        assert view.finished and view.eta is None
        ended = shown[-1][0]  # when the poll saw it finished: the run is known up to that poll
        assert view.running == pytest.approx(ended - truth.started_sim, abs=5.0)
        assert view.queued == pytest.approx(truth.started_sim - client.created_at(second.id), abs=5.0)
        assert view.queued + view.running == pytest.approx(view.elapsed, abs=0.1)
        # progress lines end with newlines when piped; the result's details follow the last one
        last = [line for line in out.getvalue().replace("\r", "\n").splitlines() if line.startswith("runway ")][-1]
        assert "queued" in last and "ran" in last and "left" not in last
    finally:
        client.close()
        sim.close()


def test_grid_cells_carry_the_best_estimate(clean_env):
    """Each grid cell feeds its task's polls (each once) to its own estimate; only RUNNING cells
    have time left."""
    from runway_nb.api.task import Task
    from runway_nb.notebook.widgets import Grid

    sim = Simulator(clock=SimClock(manual=True), concurrency=4, pending_seconds=1.0, run_seconds=40.0)
    client = Runway(provider="sim", simulator=sim, clock=AdvancingClock(sim.clock), journal=False)
    try:
        handles = [_i2v(client, "a"), _i2v(client, "b")]
        grid = Grid(handles, watch=False)
        running, waiting = handles

        def poll(handle, status: str, progress: float | None, at: float) -> None:
            sim.advance(at - sim.clock.now())
            handle.task = Task(id=handle.id, status=status, progress=progress)

        poll(running, "PENDING", None, 2.0)
        poll(waiting, "THROTTLED", None, 2.0)
        cells = [grid._cell(i) for i in range(2)]
        assert [c["eta"] for c in cells] == [None, None]
        poll(running, "RUNNING", 0.0, 6.0)
        assert grid._cell(0)["eta"] is None, "0 %: no reading yet"
        poll(running, "RUNNING", progress_curve(6.0, 40.0), 11.0)  # the run began at 5 (within the 2..6 window)
        left = grid._cell(0)["eta"]
        assert left is not None and abs(left - (45.0 - 11.0)) <= 0.25 * (45.0 - 11.0)
        assert grid._cell(0)["eta"] == pytest.approx(left, abs=0.2), "the same poll is not fed twice"
        assert grid._cell(1)["eta"] is None
        grid.close()
    finally:
        client.close()
        sim.close()


# ---------------------------------------------------------------------- after a wait in the queue
def backoff_polls(start: float, run: float) -> Iterator[float]:
    """Poll times of a waiting task backing off (2 s, then 5 s growing by half each time, up to a minute),
    then every 5 s once it runs: fixed here, so these tests do not follow the schedule's tuning."""
    now, delay = 2.0, 5.0
    while now < start + run:
        yield now
        if now < start:
            now, delay = now + delay, min(delay * 1.5, 60.0)
        else:
            now += 5.0


def first_reading_after_a_wait(start: float, run: float, typical_run: float | None = None
                               ) -> tuple[FinishEstimate, float, float] | None:
    """The estimate at the first poll showing progress on the simulator's curve, the poll's time
    and the true time left; None when the task ended before a poll saw progress."""
    estimate = FinishEstimate(created=0.0, floor=5.0, typical_run=typical_run)
    for now in backoff_polls(start, run):
        if now < start:
            estimate.observe("PENDING" if now < 1.0 else "THROTTLED", None, now)
            continue
        progress = progress_curve(now - start, run)
        estimate.observe("RUNNING", progress, now)
        if progress > 0:
            return estimate, now, start + run - now
    return None


def test_after_a_wait_one_reading_gives_the_median_of_the_finishes_the_wait_allows():
    """Seen running first at 106 s, after a poll at 68 s: the run began anywhere in between.
    The estimate is the middle of the finishes those starts give, never the latest possible."""
    seen = first_reading_after_a_wait(start=80.0, run=120.0)
    assert seen is not None
    estimate, now, _ = seen
    lo, hi = estimate.start_window or (0.0, 0.0)
    assert (lo, hi) == pytest.approx((67.9375, 105.90625))
    progress = progress_curve(now - 80.0, 120.0)
    f = 0.5 - math.sin(math.asin(1.0 - 2.0 * progress) / 3.0)  # the run's fraction at that progress
    finishes = []
    for i in range(400):  # every start the window allows, each step's value then fixes the run
        start = lo + (hi - lo) * (i + 0.5) / 400
        steps = math.floor((now - start) / 5.0)
        if steps >= 1:
            finishes.append(start + steps * 5.0 / f)
    finishes.sort()
    finish = estimate.finish()
    assert finish is not None
    assert finishes[len(finishes) // 4] <= finish <= finishes[3 * len(finishes) // 4]
    assert finish < finishes[-1] - 5.0


def test_after_throttled_waits_the_first_reading_is_within_40_percent_at_the_median():
    """Starts spread over 20-180 s, runs over 20 s-4 min: the first reading's time left is
    within 40 % of the truth for most tasks (one reading cannot place a start the backoff left
    vague any closer), and closer than the latest finish the wait allows."""
    rng = random.Random(5)
    errors, latest_errors = [], []
    for _ in range(80):
        start, run = rng.uniform(20.0, 180.0), math.exp(rng.uniform(math.log(20.0), math.log(240.0)))
        seen = first_reading_after_a_wait(start, run)
        if seen is None:
            continue
        estimate, now, true = seen
        left = estimate.remaining(now)
        assert left is not None
        errors.append(abs(left - true) / true)
        lo, _ = estimate.start_window or (0.0, 0.0)
        progress = progress_curve(now - start, run)
        f = 0.5 - math.sin(math.asin(1.0 - 2.0 * progress) / 3.0)
        steps = math.floor((now - lo) / 5.0)  # the earliest start: the longest run
        latest_errors.append(abs(lo + steps * 5.0 / f - now - true) / true)
    assert len(errors) >= 50
    errors.sort()
    latest_errors.sort()
    assert errors[len(errors) // 2] <= 0.40
    assert errors[len(errors) // 2] < latest_errors[len(latest_errors) // 2]


def test_a_typical_run_time_does_not_override_the_shape_a_prompt_start_reads():
    """Run times from history differ from this run's: with the start known to a few seconds the
    first reading still says how long is left."""
    for typical in (15.0, 200.0):
        _, seen = watch_curve(progress_curve, start=1.0, run=40.0, typical_run=typical)
        assert seen and error(seen[0]) < 0.05, typical


def test_run_times_measure_their_spread():
    runs = RunTimes()
    runs.record("a", 40.0)
    runs.record("a", 40.0)
    assert runs.spread("a") is None, "two runs say little about how runs vary"
    runs.record("a", 40.0)
    assert runs.spread("a") == 0.0
    for seconds in (10.0, 160.0):
        runs.record("b", seconds)
    runs.record("b", 40.0)
    assert runs.spread("b") == pytest.approx(math.log(4.0))  # logs 40/4, 40, 40*4


def test_a_steady_model_places_the_start_one_reading_after_a_wait_leaves_vague():
    """Runs of this model barely vary: the first reading after a long wait picks the start
    that gives a run near them; without history it can only take the middle of the wait."""
    with_history, vague = [], []
    for start in (50.0, 60.0, 75.0, 90.0, 100.0):
        for typical, spread, into in ((120.0, 0.05, with_history), (None, None, vague)):
            estimate = FinishEstimate(created=0.0, floor=5.0, typical_run=typical, run_spread=spread)
            for now in backoff_polls(start, 120.0):
                running = now >= start
                progress = progress_curve(now - start, 120.0) if running else None
                estimate.observe("RUNNING" if running else "THROTTLED", progress, now)
                if progress:
                    left = estimate.remaining(now)
                    assert left is not None
                    into.append(abs(left - (start + 120.0 - now)) / (start + 120.0 - now))
                    break
    assert max(with_history) < 0.1
    assert max(with_history) < max(vague)

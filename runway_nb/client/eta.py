"""A best estimate of when a task finishes, for people to read ("≈ 20 s left").

The poll schedule (``schedule.py``) bounds the *latest possible* finish, which is what polling
needs (never poll before the task can have ended) but a poor thing to show: after a wait in the
queue it said minutes where seconds were left. This estimate is the *likely* finish instead:

- only run time counts: the run starts when the task is first seen RUNNING (somewhere after
  the last poll that saw it PENDING/THROTTLED); queue time is measured apart;
- each progress value first seen at ``t``, after a poll at ``t_prev``, was published in
  ``(max(t_prev, t - floor), t]`` (Runway moves progress at most once per ``floor``); a value
  seen again narrows that window, and so does a 0 % seen at the run's start;
- when progress moves exactly every ``floor`` from the start (as Runway says it updates, and as
  the simulator does), the k-th value is ``shape(k * floor / run)``: for each start the windows
  allow, the readings' k are known and one reading gives the run for each curve shape of
  ``schedule.SHAPES``; otherwise we fit ``t = start + run * shape⁻¹(p)`` through the run start
  (progress 0) and the readings by weighted least squares (a narrow window weighs more);
- the fit that matches the readings best wins; when they cannot tell (one reading fits every
  shape), ease-in/out. When one reading after a long wait in the queue leaves the start
  anywhere in the last backoff (each start its own run), the median finish over those starts,
  the model's typical run time (when known) making runs near it likelier: it cannot be placed
  closer, and it errs by the same factor either way as rarely as possible;
- with no progress reported at all, the model's typical run time (when known) from the start.

Sans-IO: feed it what each poll saw and when (:meth:`FinishEstimate.observe`), in any clock
(``time.monotonic()`` or a simulator's); ask it at any time (:meth:`FinishEstimate.remaining`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from runway_nb.api.status import PENDING, RUNNING, THROTTLED
from runway_nb.client.schedule import CAP, MIN_RUN_SPREAD, SHAPES

__all__ = ["DEFAULT_SHAPE", "RUN_TIMES", "FinishEstimate", "Reading", "RunTimes", "run_kind"]

#: The shape assumed when the readings cannot tell (one reading): progress bars of generation
#: services commonly ease in and out (so does the simulator's).
DEFAULT_SHAPE = "ease_in_out"
WAITING = (PENDING, THROTTLED)
MIN_SPREAD = 0.05  # in floors: the least uncertainty given to a window (weights stay finite)
STEPPED_SAMPLES = 64  # run starts tried across the start window for stepped publishing
STEPPED_SLACK = 0.1  # in floors: how far a reading may sit from its step and still fit a shape
RUN_SPREAD = 0.5  # how far (in log) a model's run strays from its typical run, when not measured


@dataclass
class Reading:
    """A progress value and the window it was published in: ``(lo, hi]``."""

    lo: float
    hi: float
    progress: float

    @property
    def mid(self) -> float:
        return (self.lo + self.hi) / 2


@dataclass
class _Fit:
    shape: str
    start: float
    run: float
    residual: float  # in floors: how far the readings sit from the curve
    weight: float = 1.0  # how many of the starts tried allow it


class FinishEstimate:
    """The likely finish of one task, from what its polls saw.

    ``created``: when the task was created (default: the first observation); ``floor``: the
    provider's update interval (Runway's 5 s), in the same clock; ``typical_run``: how long the
    model usually runs, when known (used without progress, and to place a start one reading
    leaves vague); ``run_spread``: how far its runs stray from that, as the standard deviation of
    their logarithms (``RunTimes.spread``), when known.
    """

    def __init__(self, *, created: float | None = None, floor: float = 5.0, typical_run: float | None = None,
                 run_spread: float | None = None):
        self.created = created
        self.floor = max(float(floor), 0.0)
        self.typical_run = typical_run if typical_run is not None and typical_run > 0 else None
        known = run_spread is not None and math.isfinite(run_spread)
        self.run_spread = max(run_spread, MIN_RUN_SPREAD) if known and run_spread is not None else RUN_SPREAD
        self.readings: list[Reading] = []
        self.start_window: tuple[float, float] | None = None  # the run began in (lo, hi]
        self.ended: float | None = None  # when a finished status was first seen
        self.capped = False  # progress reached the display cap ("99 %")
        self._last_wait: float | None = None
        self._last_obs: float | None = None
        self._fit: _Fit | None = None

    # ------------------------------------------------------------------ input
    def observe(self, status: str, progress: float | None, now: float, *, finished: bool = False) -> None:
        """What a poll at ``now`` saw: the task's ``status`` and ``progress`` (0..1 or None);
        ``finished`` when the status is a final one."""
        if self.created is None:
            self.created = now
        if self.ended is not None:
            return
        previous = self._last_obs
        self._last_obs = now
        if finished:
            self.ended = now
            if self.start_window is None and status not in WAITING:
                self._begin_run(now)  # it ran between two polls
            return
        if status in WAITING:
            if self.start_window is None:
                self._last_wait = now
            return
        if status != RUNNING:
            return  # an unknown status tells nothing about the run
        if self.start_window is None:
            self._begin_run(now)
        if progress is None or not math.isfinite(progress):
            return
        p = float(progress)
        if p >= CAP:
            self.capped = True
            return
        self._take_reading(p, now, previous)

    def _begin_run(self, now: float) -> None:
        lo = self._last_wait if self._last_wait is not None else self.created
        self.start_window = (min(lo if lo is not None else now, now), now)

    def _take_reading(self, p: float, now: float, previous: float | None) -> None:
        assert self.start_window is not None  # set when RUNNING was first seen
        last = self.readings[-1] if self.readings else None
        if p <= 0:
            if last is None:  # still 0 %: the run began less than a floor ago
                lo, hi = self.start_window
                self.start_window = (min(max(lo, now - self.floor), hi), hi)
                self._refit()
            return
        if last is not None and p == last.progress:
            last.lo = min(max(last.lo, now - self.floor), last.hi)  # it appeared less than a floor ago
        elif last is None or p > last.progress:
            lo = now - self.floor if previous is None else max(previous, now - self.floor)
            lo = max(lo, self.start_window[0])  # not published before the run began
            self.readings.append(Reading(min(lo, now), now, p))
        else:
            return  # progress went backwards: keep what we had
        self._refit()

    # ------------------------------------------------------------------ fitting
    def _refit(self) -> None:
        self._fit = None
        if not self.readings or self.start_window is None:
            return
        fits = self._stepped_fits() or self._windowed_fits()
        if not fits:
            return
        order = [DEFAULT_SHAPE, *(n for n in SHAPES if n != DEFAULT_SHAPE)]
        # the readings first, then the usual shape: a run time from history says little about
        # the shape, and a shape the readings cannot tell apart is the common one
        best = min(fits, key=lambda fit: (round(fit.residual, 2), order.index(fit.shape)))
        tied = [fit for fit in fits if fit.shape == best.shape and round(fit.residual, 2) == round(best.residual, 2)]
        self._fit = self._likeliest(tied)

    def _likeliest(self, fits: list[_Fit]) -> _Fit:
        """The fit with the median finish among starts the windows allow equally (each fit
        weighs as many of the starts tried), the model's typical run time making runs near it
        likelier: one reading after a long wait leaves the start anywhere in the wait's last
        backoff, and the median is off by the same factor either way as rarely as possible."""
        if len(fits) == 1:
            return fits[0]

        def likelihood(fit: _Fit) -> float:
            if self.typical_run is None:
                return fit.weight
            return fit.weight * math.exp(-0.5 * (math.log(fit.run / self.typical_run) / self.run_spread) ** 2)

        ranked = sorted(fits, key=lambda fit: fit.start + fit.run)
        weights = [likelihood(fit) for fit in ranked]
        half, total = sum(weights) / 2, 0.0
        for fit, weight in zip(ranked, weights, strict=True):
            total += weight
            if total >= half:
                return fit
        return ranked[-1]

    def _windowed_fits(self) -> list[_Fit]:
        """Each shape through the windows' midpoints, the run's start being progress 0."""
        assert self.start_window is not None
        spread = MIN_SPREAD * self.floor if self.floor > 0 else 1e-3
        lo, hi = self.start_window
        points = [((lo + hi) / 2, 0.0, max(hi - lo, spread))]
        points += [(r.mid, r.progress, max(r.hi - r.lo, spread)) for r in self.readings]
        fits = [fit for name in SHAPES if (fit := _fit_shape(name, points)) is not None]
        for fit in fits:
            # in floors per reading, comparable with stepped fits; two points fit every shape
            fit.residual = 0.0 if len(points) <= 2 else math.sqrt(fit.residual / len(points)) * MIN_SPREAD
        return fits

    def _stepped_fits(self) -> list[_Fit]:
        """Stepped publishing: progress moves exactly every ``floor`` from the start, so the k-th
        value is ``shape(k * floor / run)``. For each start the windows allow, each reading's k
        is known, and each shape's run follows from those exact elapsed times. Returns the fits
        whose readings agree within a small slack (none: publishing is not stepped)."""
        assert self.start_window is not None
        q = self.floor
        if q <= 0:
            return []
        lo, hi = self.start_window
        groups: dict[tuple[int, ...], list[float]] = {}
        for i in range(STEPPED_SAMPLES):
            s = hi - (hi - lo) * i / STEPPED_SAMPLES  # (lo, hi]
            ks: list[int] = []
            for r in self.readings:
                k = math.floor((r.hi - s) / q + 1e-9)
                if k < 1 or s + k * q <= r.lo - 1e-9 or (ks and k <= ks[-1]):
                    break
                ks.append(k)
            else:
                groups.setdefault(tuple(ks), []).append(s)
        fits: list[_Fit] = []
        for steps, starts in groups.items():
            start = sum(starts) / len(starts)
            elapsed = [k * q for k in steps]
            for name in SHAPES:
                gs = [SHAPES[name](r.progress) for r in self.readings]
                sgg = sum(g * g for g in gs)
                if sgg <= 0:
                    continue
                run = sum(e * g for e, g in zip(elapsed, gs, strict=True)) / sgg
                worst = max(abs(e - run * g) for e, g in zip(elapsed, gs, strict=True))
                if run > 0 and worst <= STEPPED_SLACK * q:
                    fits.append(_Fit(name, start, run, worst / q, weight=len(starts)))
        return fits

    # ------------------------------------------------------------------ answers
    @property
    def shape(self) -> str | None:
        """The curve shape of the current fit, if any."""
        return self._fit.shape if self._fit is not None else None

    @property
    def run_started(self) -> float | None:
        """The best estimate of when the run began (None until seen running): the fit's, which
        the readings place more closely than the polls around the start, within their window."""
        if self.start_window is None:
            return None
        lo, hi = self.start_window
        if self._fit is not None:
            return min(max(self._fit.start, lo), hi)
        return (lo + hi) / 2

    def finish(self) -> float | None:
        """The likely finish time, or None when nothing tells (no progress, no typical run time)."""
        if self.ended is not None:
            return self.ended
        start = self.run_started
        if start is None:
            return None
        if self._fit is not None:
            return self._fit.start + self._fit.run
        if self.typical_run is not None:
            return start + self.typical_run
        return None

    def remaining(self, now: float) -> float | None:
        """Seconds left at ``now`` (never negative), or None when unknown or the task ended."""
        if self.ended is not None:
            return None
        finish = self.finish()
        if finish is None:
            return None
        if self._fit is None and finish < now:
            return None  # past the model's usual run time: no better idea
        return max(0.0, finish - now)

    def queued(self, now: float) -> float:
        """Seconds spent waiting (PENDING/THROTTLED) before the run, up to ``now`` or its end."""
        created = self.created if self.created is not None else now
        until = self.run_started
        if until is None:
            until = self.ended if self.ended is not None else now
        return max(0.0, until - created)

    def running(self, now: float) -> float:
        """Seconds of run time, up to ``now`` or the end (0 until seen running)."""
        start = self.run_started
        if start is None:
            return 0.0
        until = self.ended if self.ended is not None else now
        return max(0.0, until - start)


def _fit_shape(name: str, points: list[tuple[float, float, float]]) -> _Fit | None:
    """Weighted least squares of ``t = start + run * shape⁻¹(p)`` through ``(t, p, spread)``."""
    inverse = SHAPES[name]
    xs = [inverse(p) if p > 0 else 0.0 for _, p, _ in points]
    ws = [1.0 / (spread * spread) for _, _, spread in points]
    ts = [t for t, _, _ in points]
    total = sum(ws)
    mean_x = sum(w * x for w, x in zip(ws, xs, strict=True)) / total
    mean_t = sum(w * t for w, t in zip(ws, ts, strict=True)) / total
    sxx = sum(w * (x - mean_x) ** 2 for w, x in zip(ws, xs, strict=True))
    if sxx <= 0:
        return None
    run = sum(w * (x - mean_x) * (t - mean_t) for w, x, t in zip(ws, xs, ts, strict=True)) / sxx
    if run <= 0:
        return None
    start = mean_t - run * mean_x
    residual = sum(w * (t - start - run * x) ** 2 for w, x, t in zip(ws, xs, ts, strict=True))
    return _Fit(name, start, run, residual)


class RunTimes:
    """How long tasks of each kind ran, as seen in this session: the typical run time used when
    a task reports no progress, or when one reading cannot place the run's start (the first
    reading after a long wait in the queue). A kind is any hashable, e.g. (endpoint, model,
    duration): a 10 s video runs longer than a 5 s one."""

    def __init__(self, keep: int = 9):
        self.keep = keep
        self._runs: dict[Hashable, list[float]] = {}

    def record(self, kind: Hashable, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            self._runs[kind] = [*self._runs.get(kind, []), seconds][-self.keep:]

    def typical(self, kind: Hashable) -> float | None:
        """The median run of ``kind`` so far, or None."""
        runs = sorted(self._runs.get(kind, []))
        if not runs:
            return None
        middle = len(runs) // 2
        return runs[middle] if len(runs) % 2 else (runs[middle - 1] + runs[middle]) / 2

    def spread(self, kind: Hashable) -> float | None:
        """How far runs of ``kind`` stray: the standard deviation of their logarithms (three runs
        at least), or None."""
        runs = self._runs.get(kind, [])
        if len(runs) < 3:
            return None
        logs = [math.log(run) for run in runs]
        mean = sum(logs) / len(logs)
        return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))

    def clear(self) -> None:
        self._runs.clear()


#: Run times seen in this process (a kernel), shared by every view.
RUN_TIMES = RunTimes()


def run_kind(endpoint: str | None, params: Mapping[str, Any]) -> tuple[str, str, str]:
    """What a task's run time depends on: the operation, the model and the output's length."""
    endpoint = endpoint or str(params.get("endpoint") or "")
    return (endpoint, str(params.get("model") or ""), str(params.get("duration") or ""))

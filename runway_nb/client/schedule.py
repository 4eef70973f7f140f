"""When to poll a task next.

Polling is the whole cost of watching a task: every GET is a request, every second between a
task finishing and the next GET is latency. Runway updates a task no more often than every
``floor`` seconds (5 s), so we never poll one task more often than that. Within that rule:

- a just-created task is polled promptly (moderation and input errors show up early);
- PENDING/THROTTLED back off geometrically (a throttled task can wait minutes for a slot), up
  to ``WAITING_FRACTION`` floors (15 s; the official SDK polls every 6 s): the run starts
  somewhere between the last poll that saw the task waiting and the first that sees it run,
  and only the step count of the first progress value tells where, so that gap bounds how good
  the time left can be (``benchmarks/eta.py``, first report after THROTTLED: median error 35 %
  with waits of up to a minute, 34 % at 20 s, 11 % at 15 s);
- while RUNNING, each progress reading bounds when that value was published: a value first
  seen at ``t``, after a poll at ``t_prev`` that did not show it, appeared in
  ``(max(t_prev, t - floor), t]`` (progress moves once per ``floor``). A poll's time is when
  the server read the task: after its request left (the watch engine tells ``sent``) and before
  its answer came, so the window runs from the previous request's leaving to this answer (told
  nothing, the schedule takes the answers' times, with slack for the round trips it measures:
  one slow answer then widens every window, and costs readings). From these windows we
  bound the finish ``start + run``, for a few common curve shapes ``progress = shape(elapsed /
  run)`` (linear, ease-in/out, ease-out, ease-in):

  1. *stepped publishing*: when progress is published every ``floor`` seconds from the start
     (as Runway says it updates, and as the simulator does), the k-th value is
     ``shape(k * floor / run)``, so two readings fix ``run`` almost exactly and each reading
     narrows ``start``; we take readings at times that halve what is still unknown;
  2. otherwise (the windows admit no whole number of steps), ``start`` and ``run`` form a
     two-variable linear program whose vertices bound the finish (a value rounded to 2
     decimals may sit half a hundredth either way along the curve: the bounds allow that).
     Values computed at each request tie each reading to its own time (trusted from two
     readings that moved; until a third confirms them, no wait is longer than
     ``TENTATIVE_GROWTH`` times the run so far, as a stepped curve whose steps are a little
     uneven reads the same and puts the finish far off); once those bound the finish within a
     floor, one poll is aimed ``FRESH_AIM_AT`` into the range however narrow it is (its ends
     are the rounding's worst cases, the finish is likelier near the middle) instead of
     another reading;
  3. when no shape fits at all (an irregular curve), a least-squares line, give or take a floor.

  A shape the readings rule out is dropped for good;
- the watch engine tells the schedule when the task was created (``created``): the run starts
  after that, so the first "0 %" reading bounds the start within the first delay (2 s), not a
  whole floor, and the first reading that moves gives the step count, hence the run;
- far from the finish we take a reading part of the way there (at most ``max_interval`` away);
  until the readings bound the finish within a floor, a reading goes ``HISTORY_READ`` into a
  short run of tasks like it from the start, when the session has seen three or more
  (``typical_run`` shrunk by ``HISTORY_QUANTILE`` times their measured ``run_spread``, so it
  comes before nearly every finish): one reading well into the run fixes the curve better
  than several near its start (in ``polling_model.py``, 0.16 to 1.2 fewer GETs per task, the
  latency about the same). The history only places readings, never the finish: each wait it
  sets is at most ``max_interval``, and the task is seen finished at the next reading;
  once stepped publishing pins the finish within a floor (only the start is uncertain), the
  readings that remain each halve the start window, placed as late as they can be (a late
  reading also tells the curve shapes apart) but before the curve may read "99 %" (``FAR`` of
  the run), and one poll is aimed just after the latest bound once it is known within
  ``sharp``. Such a pinned finish (or one that values computed per request bound within a
  floor from three readings) may be waited for up to ``pinned_interval`` (30 floors, 150
  s) instead of ``max_interval``, but never more than ``GROWTH`` (6) times the run seen so
  far: a curve that jumps or speeds up later looks exactly like a clean one until it does, so
  a wrong finish costs a bounded share of the run, and a task that fails mid-run is still seen
  within 2.5 minutes;
- when the fit puts the finish later than nearly every run like this one (the typical run
  grown by ``HISTORY_DOUBT`` spreads), the history is not overruled yet: a poll goes when such
  runs end (the typical run from the start, then its late bound). Slow progress that jumps
  later fits a clean curve exactly; in ``polling_model.py`` this took the jump curve's p95
  latency from 48 s to 5 s, the stall curve's from 12 s to 6 s, at 0.2 more GETs per task;
- a task that reports no progress is polled near the typical run time of tasks like it
  (``typical_run``, from the session's history: ``eta.RUN_TIMES``), from when it was first
  seen running: one poll at ``SILENT_AIM`` of it (waits of at most ``max_interval`` before),
  then every floor; without a typical run, every floor;
- a task still running past its latest expected finish (or sitting at "99 %") waits
  ``LATE_SHARE`` of the time it has been late between polls (at least a floor): a render that
  hangs at the end costs a bounded share of its lateness in latency, not a GET every floor
  for as long as it hangs (hundreds of watched tasks at the floor starve everything else);
- an unknown status keeps being polled, calmly; jitter keeps many watched tasks from polling
  in lockstep.

The schedule works in whatever clock it is given (``time.monotonic()`` seconds); ``first`` and
``max_interval`` default to multiples of ``floor``, so a simulator with a sped-up clock (a floor
of 5 simulated seconds) gets the same behaviour in its own time.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Protocol

from runway_nb.api.status import PENDING, RUNNING, THROTTLED

__all__ = ["SHAPES", "PollSchedule", "Polled"]


class Polled(Protocol):
    """What a poll reads: a task, a workflow invocation (same statuses, progress 0..1 or None)."""

    @property
    def status(self) -> str: ...

    @property
    def progress(self) -> float | None: ...

    @property
    def finished(self) -> bool: ...

# Inverse progress curves: the fraction of the run at which progress ``p`` is reached.
SHAPES: dict[str, Callable[[float], float]] = {
    "linear": lambda p: p,
    "ease_in_out": lambda p: 0.5 - math.sin(math.asin(1.0 - 2.0 * p) / 3.0),  # p = 3f² - 2f³
    "ease_out": lambda p: 1.0 - math.sqrt(1.0 - p),  # p = 1 - (1 - f)²
    "ease_in": lambda p: math.sqrt(p),  # p = f²
}

CAP = 0.99  # progress at or above this may be a display cap ("99%" until done): not fitted
FIRST_FRACTION = 0.4  # default first poll: 0.4 floor (2 s at Runway's 5 s)
MAX_FRACTION = 12.0  # default max_interval: 12 floors (60 s)
FAR = 0.85  # in runs: the furthest a narrowing reading goes (ease-out reads 98 % there)
ROOM = 1.2  # in floors: between two readings that halve the start window
GROWTH = 6.0  # a wait once the finish is known: at most this times the run so far
HISTORY_READ = 0.4  # no finish known yet: the next reading at this share of a short run (below)
HISTORY_QUANTILE = 2.0  # "a short run": the typical run shrunk by this many spreads
MIN_RUN_SPREAD = 0.1  # a few equal runs do not make the next one certain
SILENT_AIM = 0.9  # without progress, the first poll near the end at this share of the typical run
HISTORY_DOUBT = 2.0  # a fitted finish later than the typical run grown by this many spreads is doubted
WAITING_FRACTION = 3.0  # PENDING/THROTTLED: at most 3 floors (15 s) between polls (see below)
PINNED_FRACTION = 30.0  # default pinned_interval: 30 floors (150 s)
KEEP_POINTS = 8  # readings used in a fit: the first ones and the latest ones
MAX_STEPS = 400  # step counts tried for one reading before giving up on stepped publishing
FRESH = 0.04  # in floors: slack around the moment a value computed per request was read
FRESH_AIM_WIDTH = 1.0  # in floors: a finish from values computed per request known this closely ...
FRESH_AIM_AT = 0.7  # ... is aimed at this far into its range (the bounds are worst cases)
TENTATIVE_GROWTH = 1.5  # a finish from two per-request values: a wait is at most this times the run so far
LATE_SHARE = 0.25  # past the expected finish: wait this share of the time late (at least a floor)
MAX_FITS = 3  # more step counts than this fitting the readings: stepped publishing tells nothing
INF = math.inf


@dataclass
class _Point:
    lo: float  # the value was published after lo ...
    hi: float  # ... and at or before hi (when the answer came)
    p: float
    read_after: float | None = None  # the server read it after this (the request's send time), when known


@dataclass
class _Span:
    finish: tuple[float, float]
    start: tuple[float, float] | None = None  # known for stepped publishing


@dataclass
class PollSchedule:
    floor: float = 5.0  # Runway's own update interval
    first: float | None = None  # first poll after creation; default 0.4 * floor
    max_interval: float | None = None  # longest wait between polls; default 12 * floor
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    aim_margin: float = 0.02  # in floors: poll this long after the latest possible finish
    sharp: float = 0.3  # in floors: a finish known this closely is aimed at directly
    approach: float = 0.6  # far from the finish, wait this fraction of the time left
    tolerance: float = 0.02  # in floors: slack on each window, beyond the measured round trip
    pinned_interval: float | None = None  # longest wait once the finish is known; default 30 floors
    created: float | None = None  # when the task was created (this clock): its run starts after
    typical_run: float | None = None  # seconds a task like this one usually runs (no-progress fallback)
    run_spread: float | None = None  # how far such runs stray: the standard deviation of their logs

    _points: list[_Point] = field(default_factory=list, repr=False)
    _shapes: list[str] = field(default_factory=lambda: list(SHAPES), repr=False)
    _decimals: int = field(default=2, repr=False)
    _last_obs: float | None = field(default=None, repr=False)
    _last_status: str | None = field(default=None, repr=False)
    _last_p: float | None = field(default=None, repr=False)
    _waiting_polls: int = field(default=0, repr=False)
    _last_delay: float | None = field(default=None, repr=False)
    _last_sent: float | None = field(default=None, repr=False)
    _sent_known: bool = field(default=False, repr=False)  # the caller tells when each request left
    _rtts: list[float] = field(default_factory=list, repr=False)
    finish_range: tuple[float, float] | None = field(default=None, repr=False)
    start_range: tuple[float, float] | None = field(default=None, repr=False)
    shape: str | None = field(default=None, repr=False)
    _stepped: bool = field(default=False, repr=False)  # the finish comes from stepped publishing
    _running_since: float | None = field(default=None, repr=False)  # first seen RUNNING
    # (the poll before, or the creation; the first poll that saw it RUNNING): the run began in between
    _start_window: tuple[float, float] | None = field(default=None, repr=False)
    _exact: bool = field(default=False, repr=False)  # stepped publishing fits without extra slack
    _pinned: bool = field(default=False, repr=False)  # the fit may be waited on for long (see _known)
    _tentative: bool = field(default=False, repr=False)  # values computed per request, from two readings
    _capped_since: float | None = field(default=None, repr=False)  # first "99 %" reading of this run

    def __post_init__(self) -> None:
        if self.floor < 0:
            raise ValueError("floor must be >= 0")
        if self.first is None:
            self.first = FIRST_FRACTION * self.floor
        if self.max_interval is None:
            self.max_interval = MAX_FRACTION * self.floor
        self.max_interval = max(self.max_interval, self.floor)
        if self.pinned_interval is None:
            self.pinned_interval = PINNED_FRACTION * self.floor
        self.pinned_interval = max(self.pinned_interval, self.max_interval)

    def _cap(self, now: float, pinned: bool = False) -> float:
        assert self.max_interval is not None and self.pinned_interval is not None  # set in __post_init__
        if self._running_since is not None and self._tentative:
            # A finish from two readings of values computed per request: a stepped curve whose
            # steps are a little uneven reads the same and puts it far off. Until a third
            # reading confirms it, no wait is longer than TENTATIVE_GROWTH times the run so far.
            return min(self.max_interval, max(self.floor, TENTATIVE_GROWTH * (now - self._running_since)))
        if not pinned or self._running_since is None:
            return self.max_interval
        # A curve that jumps or speeds up later cannot be told from a clean one before it does:
        # a wait is no longer than the run so far (times GROWTH), so a wrong finish costs a
        # bounded share of the run, never a whole pinned_interval on a short task.
        ran = now - self._running_since
        return min(self.pinned_interval, max(self.max_interval, GROWTH * ran))

    # ------------------------------------------------------------------ public
    def first_delay(self) -> float:
        """Seconds from creation to the first poll (never later than one floor)."""
        return min(self.first, self.floor) if self.first and self.first > 0 else 0.0

    def next_delay(self, task: Polled, now: float, sent: float | None = None) -> float:
        """Seconds to wait after observing ``task`` at monotonic time ``now`` (when the answer
        came), the request having been sent at ``sent`` when the caller knows it.

        Never less than ``floor``: whatever the status, one task is not polled more often than
        Runway updates it. With ``sent``, each reading is placed between its request and its
        answer exactly; without, the answer's time less the round trips measured so far.
        """
        status = task.status
        prev_sent, self._last_sent = self._last_sent, sent
        if sent is not None:
            self._sent_known = True
        elif self._last_obs is not None and self._last_delay is not None:
            # What the last wait really took beyond the delay asked for: the request's round
            # trip plus any event-loop lag. Windows get that much slack.
            extra = now - self._last_obs - self._last_delay
            if 0 <= extra < self.floor:
                self._rtts = ([*self._rtts, extra])[-4:]
        if status == RUNNING:
            self._waiting_polls = 0
            if self._running_since is None:
                self._running_since = now if self._last_obs is None else (self._last_obs + now) / 2
                before = self._last_obs if self._last_obs is not None else self.created
                self._start_window = None if before is None else (before, now)
            delay, aimed = self._running_delay(task.progress, now, sent, prev_sent)
            hedge = self._history_hedge(now)
            if hedge is not None and hedge < now + delay:
                delay, aimed = hedge - now, True
            late = self._late_by(task.progress, now)
            if late > self.floor and LATE_SHARE * late > delay:
                delay, aimed = LATE_SHARE * late, False
        elif status in (PENDING, THROTTLED):
            self._waiting_polls += 1
            delay = self.floor * (1.5 ** (self._waiting_polls - 1))
            delay, aimed = min(delay, WAITING_FRACTION * self.floor), False
        else:  # an unknown status: keep watching, calmly
            delay, aimed = self.floor * 2, False
        self._last_obs, self._last_status = now, status
        if status != RUNNING:
            self._last_p = None
        cap = self._cap(now, status == RUNNING and self._known())
        if aimed:
            # Aimed at a time that matters: only a little jitter (all of it would be latency).
            delay += self.jitter * 0.2 * self.floor * self.rng.random()
            delay = min(max(delay, self.floor), cap)
        else:
            delay = min(max(delay, self.floor), cap)
            delay *= 1 + self.jitter * self.rng.random()
            if self._tentative and status == RUNNING:
                delay = min(delay, cap)  # the tentative bound holds, jitter or not
        self._last_delay = delay
        return delay

    def predicted_finish(self) -> float | None:
        """The latest time (in the caller's clock) the task is expected to finish by, or None."""
        return None if self.finish_range is None else self.finish_range[1]

    def run_time(self, ended: float) -> float | None:
        """How long the run took, when a poll at ``ended`` is the first to see it finished and the
        polls place both ends closely enough to teach the history (``eta.RUN_TIMES``). None when
        the poll before did not see it running, or came longer ago than the schedule's own wait (a
        wait resumed after a pause), or when nothing bounds the start: first seen running with no
        creation time (a task attached by id), or after a gap longer than any wait in the queue,
        with no readings to place it."""
        if self._last_status != RUNNING or self._last_obs is None or self._last_delay is None:
            return None
        if ended - self._last_obs > self._last_delay + self.floor:
            return None
        window = self._start_window
        if window is None or (self.start_range is None and window[1] - window[0] > (WAITING_FRACTION + 1) * self.floor):
            return None
        started = self.run_started()
        return None if started is None else ended - started

    def run_started(self) -> float | None:
        """When the run most likely began (None until a poll saw it RUNNING): the middle of the
        start its readings allow, else midway between the poll before and the first that saw it
        running (which a long wait in the queue leaves vague)."""
        since = self._running_since
        if since is None or self.start_range is None:
            return since
        lo, hi = self.start_range
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return since
        return (lo + hi) / 2

    # ------------------------------------------------------------------ running
    def _known(self) -> bool:
        """The finish is known within a floor from a trusted fit (exact stepped publishing, or
        values computed per request without extra slack): waits may be longer."""
        span = self.finish_range
        return self._pinned and span is not None and span[1] - span[0] <= self.floor

    def _late_by(self, p: float | None, now: float) -> float:
        """How long the task has run past its latest expected finish (or typical run), or sat at "99 %"."""
        if p is None or p < CAP:
            self._capped_since = None
        elif self._capped_since is None:
            self._capped_since = now
        silent_due = (None if p is not None or self.typical_run is None or self._running_since is None
                      else self._running_since + self.typical_run)
        due = [t for t in (self.predicted_finish(), self._capped_since, silent_due) if t is not None]
        return max(0.0, now - min(due)) if due else 0.0

    def _running_delay(self, p: float | None, now: float, sent: float | None = None,
                       prev_sent: float | None = None) -> tuple[float, bool]:
        q = self.floor
        prev_obs, prev_p, prev_status = self._last_obs, self._last_p, self._last_status
        self._last_p = p
        if q <= 0:
            return q, False
        if p is None:
            return self._silent_delay(now)
        if p < CAP:
            self._observe(p, now, prev_obs, prev_p, prev_status, sent, prev_sent)
        if p >= CAP and not self._stepped:
            return q, True  # "99 %" and no sharper idea: about to finish, poll at the floor
        span = self.finish_range
        if span is None:
            guide = self._history_guide()
            if guide is not None and guide - now > q:
                return min(guide - now, self._cap(now)), False
            return q, False
        t_lo, t_hi = max(span[0], now), max(span[1], now)
        left, width = t_hi - now, t_hi - t_lo
        known = self._known()
        cap = self._cap(now, known)
        fresh_aim = t_lo - now + FRESH_AIM_AT * width + self.aim_margin * q
        if self._stepped and not self._exact and width <= FRESH_AIM_WIDTH * q and fresh_aim <= cap:
            # Values computed per request: their rounding, not a step, leaves the range, and the
            # bounds are its worst cases; a reading to narrow it would cost more than aiming inside.
            return fresh_aim, True
        if self._stepped and width <= self.sharp * q and left <= cap:
            return left + self.aim_margin * q, True  # pinned down: one poll just after it
        latest = t_lo - q  # the last reading that still leaves a floor before the earliest finish
        if latest - now < q:  # no room for another reading before it
            if width <= q or (self._stepped and left <= 2 * q):
                return left + self.aim_margin * q, True
            # Too uncertain to aim: every floor until it is done or clearer, a reading that
            # also halves the start window if one is within the next floor.
            when = self._bisecting(now + q, now + q, now + 2 * q)
            return (when - now if when is not None else q), True
        if self._stepped and self.start_range is not None:
            # Progress near the end may read "99 %" (a display cap) and tell nothing: readings
            # stay within the first FAR of the shortest run still possible.
            latest = min(latest, self.start_range[0] + FAR * (t_lo - self.start_range[0]))
        if known and latest - now >= q:
            # Only the start is still uncertain: readings that halve it, as late as allowed (a
            # late reading also tells the curve shapes apart best), leaving a floor (and a little)
            # between them for the ones still needed after this one.
            halvings = math.ceil(math.log2(max(width / (self.sharp * q), 1.0)))
            want = max(latest - max(halvings - 1, 0) * ROOM * q, now + q)
            when = self._bisecting(now + q, min(want, now + cap), latest)
            if when is not None:
                return when - now, True
            return min(left + self.aim_margin * q, cap), left <= cap
        # A reading part of the way to the earliest finish (the fit sharpens as we go).
        want = min(now + max((t_lo - now) * self.approach, q), latest, now + cap)
        guide = self._history_guide()
        if guide is not None and guide > want:
            # A finish range this wide says little; three or more runs like this one say more.
            want = min(guide, now + cap)
        when = self._bisecting(now + q, want, latest)
        return (when - now, True) if when is not None else (want - now, False)

    def _history_guide(self) -> float | None:
        """Until the readings bound the finish within a floor: a reading ``HISTORY_READ`` into a
        short run of this kind (the typical run shrunk by ``HISTORY_QUANTILE`` spreads, so that
        it comes before the finish of nearly every run like it) from the start, or None. A
        reading well into the run fixes a curve far better than one near its start."""
        if self._known() or self.typical_run is None or self.run_spread is None or self._running_since is None:
            return None
        spread = max(self.run_spread, MIN_RUN_SPREAD)
        return self._running_since + HISTORY_READ * self.typical_run * math.exp(-HISTORY_QUANTILE * spread)

    def _history_hedge(self, now: float) -> float | None:
        """A poll when runs like this one end (the typical run from when a poll first saw it
        running, as :meth:`_history_guide` counts, then that grown by ``HISTORY_DOUBT`` spreads),
        while the readings' fit puts the finish later than nearly all of them: a curve that jumps
        or stalls fits cleanly, and wrongly, before it does. None when the two agree, or both
        times are past (the fit then has the last word)."""
        span = self.finish_range
        if span is None or self.typical_run is None or self.run_spread is None or self._running_since is None:
            return None
        start = self._running_since
        latest = start + self.typical_run * math.exp(HISTORY_DOUBT * max(self.run_spread, MIN_RUN_SPREAD))
        if span[0] <= latest:
            return None
        return next((when for when in (start + self.typical_run, latest) if when >= now + self.floor), None)

    def _silent_delay(self, now: float) -> tuple[float, bool]:
        """No progress reported: aim at the typical run time from the start, then every floor."""
        q = self.floor
        if self.typical_run is None or self._running_since is None:
            return q, False
        left = self._running_since + SILENT_AIM * self.typical_run - now
        if left <= q:
            return q, True  # past the typical run: every floor until it ends
        return min(left, self._cap(now)), left <= self._cap(now)

    def _bisecting(self, earliest: float, want: float, latest: float) -> float | None:
        """A poll time near ``want`` that splits the start window in two (stepped publishing)."""
        s = self.start_range
        q = self.floor
        if s is None or s[1] - s[0] <= self.tolerance * 2 * q or s[1] - s[0] >= q:
            return None
        mid = (s[0] + s[1]) / 2
        # Times when the next value appears if the task started at ``mid``: mid + k * floor.
        k = math.floor((want - mid) / q)
        for cand in (mid + k * q, mid + (k + 1) * q, mid + (k - 1) * q):
            if earliest <= cand <= latest:
                return cand
        return None

    def _observe(self, p: float, now: float, prev_obs: float | None, prev_p: float | None,
                 prev_status: str | None, sent: float | None = None, prev_sent: float | None = None) -> None:
        q = self.floor
        self._decimals = max(self._decimals, _decimals(p))
        # The server read the task after the request left (``sent``) and before the answer came
        # (``now``): without the send times, the answers' times (windows get slack in _refit).
        read_after = now if sent is None else sent
        before = prev_obs if prev_sent is None else prev_sent
        if prev_p is None or p > prev_p:
            lo = read_after - q if before is None else max(before, read_after - q)
            if not self._points and p > 0 and prev_status in (PENDING, THROTTLED) and before is not None:
                # Seen waiting before and running with progress now: it started after that poll.
                self._points.append(_Point(before, INF, 0.0))
            self._points.append(_Point(lo, now, p, sent))
        elif p == prev_p and self._points and self._points[-1].p == p:
            pt = self._points[-1]  # still the same value: it appeared less than a floor ago
            pt.lo = max(pt.lo, read_after - q)
        else:
            return
        self._refit(now)

    def _refit(self, now: float) -> None:
        pts = self._points
        q = self.floor
        # A window's start gets slack for clock noise, and for the round trip (measured) when the
        # send times are unknown; its end needs none (the reading came back before ``now``).
        tol = self.tolerance * q + (0.0 if self._sent_known else max(self._rtts, default=0.0))
        eps = 0.002 * q
        if len(pts) > KEEP_POINTS:
            pts = pts[:3] + pts[-(KEEP_POINTS - 3):]
        if self.created is not None:  # the run starts after the task was created
            pts = [_Point(self.created, INF, 0.0), *pts]
        if not any(pt.p > 0 for pt in pts):
            if pts:  # only "0 %" so far: it started in the window of the first such reading
                self.start_range = (max(pt.lo for pt in pts) - tol, min(pt.hi for pt in pts) + eps)
            return
        half = 0.5 * 10.0 ** -self._decimals
        # Stepped publishing fits two readings by chance too easily; it is trusted once a "0 %"
        # reading anchors the start, or three readings agree on it.
        moving = sum(1 for pt in pts if pt.p > 0)
        trust_steps = moving >= 3 or (moving >= 1 and any(pt.p == 0 for pt in pts))
        # Windows get a little slack for request time and clock noise; if nothing fits, more.
        for slack in (tol, 4 * tol):
            stepped: list[tuple[str, _Span]] = []
            fresh: list[tuple[str, _Span]] = []
            lp: list[tuple[str, _Span]] = []
            for name in self._shapes:
                inv = SHAPES[name]
                # (each bound rounded, so the upper bound of 0.03 and the lower one of 0.04 are the
                # same 0.035: lines a float's width from parallel would cross far away, by chance)
                rows = [(inv(pt.p) if pt.p > 0 else 0.0,
                         inv(round(max(pt.p - half, 0.0), 12)) if pt.p > 0 else 0.0,
                         inv(round(min(pt.p + half, 1.0), 12)) if pt.p > 0 else 0.0,
                         pt.lo - slack, pt.hi + eps) for pt in pts]
                bounds = _lp_bounds(rows)
                if bounds is None:
                    continue
                lp.append((name, _Span(bounds[0])))
                if trust_steps:
                    grid = _stepped_span(rows, q, bounds[1])
                    if grid is not None:
                        stepped.append((name, grid))
                if moving >= 2 and not stepped:
                    # Values computed at each request ("fresh"): each one belongs to its own
                    # reading's time, give or take the fresh window. (Trusted from three moving
                    # readings: from two, a stepped curve read with timing noise, or published
                    # at uneven steps, is taken for a fresh one, and its finish put far off.)
                    # With the send time, the server computed it between the request and the answer.
                    w = max(slack, FRESH * q)
                    tight = [(f, a, b, (hi - w if pt.read_after is None else pt.read_after - w) if pt.p > 0 else lo,
                              hi + w) for (f, a, b, lo, hi), pt in zip(rows, pts, strict=True)]
                    sharp_bounds = _lp_bounds(tight)
                    if sharp_bounds is not None:
                        fresh.append((name, _Span(sharp_bounds[0])))
            chosen = stepped or fresh or lp
            if chosen:
                self._stepped = bool(stepped or fresh)
                self._exact = bool(stepped) and slack == tol
                # Long waits on a fit: exact stepped publishing, or values computed per request
                # that fit without extra slack; values per request from two moving readings are
                # tentative (a stepped curve with uneven steps reads the same): short waits.
                self._pinned = self._exact or (bool(fresh) and not stepped and slack == tol)
                self._tentative = bool(fresh) and not stepped and moving < 3
                if slack > tol:
                    self._shapes = [name for name, _ in lp]  # ruled out even with more slack
                self.shape = chosen[0][0] if len(chosen) == 1 else None
                self.finish_range = (min(s.finish[0] for _, s in chosen), max(s.finish[1] for _, s in chosen))
                starts = [s.start for _, s in chosen if s.start is not None]
                self.start_range = (min(s[0] for s in starts), max(s[1] for s in starts)) if starts else None
                return
        # No shape fits every window (an irregular curve): a least-squares line, ± a floor.
        fitted = _least_squares([(pt.p, pt.lo, pt.hi) for pt in pts])
        self.shape = None
        self._stepped = self._exact = self._pinned = self._tentative = False
        self.start_range = None
        if fitted is not None:
            self.finish_range = (fitted - q, fitted + q)


def _decimals(p: float) -> int:
    text = repr(float(p))
    if "e" in text or "." not in text:
        return 2
    return min(max(len(text.split(".")[1]), 2), 6)


def _lp_bounds(rows: list[tuple[float, float, float, float, float]]
               ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Bounds of ``a + b`` (the finish) and of ``b`` (the run) over every ``a``, ``b > 0`` with
    ``lo < a + b*f' <= hi`` for some ``f'`` in ``[f_lo, f_hi]`` (the published value is rounded)
    for each row ``(f, f_lo, f_hi, lo, hi)`` (each ``f`` a share of the run, 0 to 1); None when
    none fits. Since ``a + b*f'`` grows with ``f'``, that is ``a + b*f_hi > lo`` and
    ``a + b*f_lo <= hi``.

    Two variables: the candidates for ``b`` are where two constraint lines cross. For a given
    ``b``, ``a`` lies between the highest lower line and the lowest upper line, so the candidates
    that fit form one run of the sorted ones, found by bisection from the widest point: its ends
    bound the run and the finish. (A poll works this out several times per reading: trying every
    candidate against every row cost ~0.75 ms a reading once eight readings were kept.)
    """
    lower = [(f_hi, lo) for _, _, f_hi, lo, _ in rows if lo > -INF]  # a >= lo - b*f_hi
    upper = [(f_lo, hi) for _, f_lo, _, _, hi in rows if hi < INF]  # a <= hi - b*f_lo
    # As lines y = m*x + k in b: the least a is the highest of the lower lines, the most a is
    # minus the highest of the upper lines negated.
    least_lines = _upper_envelope([(-f, c) for f, c in lower])
    most_lines = _upper_envelope([(f, -c) for f, c in upper])

    def least_a(b: float) -> float:
        return _at(least_lines, b)

    def most_a(b: float) -> float:
        return -_at(most_lines, b)

    def fits(b: float) -> bool:
        return least_a(b) <= most_a(b) + 1e-9

    # Where the envelopes' lines cross is where the room for ``a`` can close; when it stays open
    # beyond all of those, the ends are the outermost crossings of any two lines that fit.
    candidates = _crossings([(-m, k) for m, k in least_lines] + [(m, -k) for m, k in most_lines])
    if not candidates or fits(candidates[0] / 2) or fits(candidates[-1] * 2):
        candidates = _crossings(lower + upper)
    if not candidates:
        return None
    # The room left for ``a`` is concave in ``b``: it peaks at an end or where an envelope bends
    # (each a candidate), and the candidates that fit are those around the peak.
    ends = (candidates[0], candidates[-1])
    peak = max([*ends, *_bends(least_lines, *ends), *_bends(most_lines, *ends)], key=lambda b: most_a(b) - least_a(b))
    if not fits(peak):
        return None
    at_peak = bisect_left(candidates, peak)
    first = _first(0, at_peak, lambda i: fits(candidates[i]))
    after = _first(at_peak, len(candidates), lambda i: not fits(candidates[i]))
    b_lo = candidates[first] if first < at_peak else peak
    b_hi = candidates[after - 1] if after > at_peak else peak
    # The finish, ``a + b``, is at least ``c + (1 - f)*b`` for a lower line and at most that for
    # an upper one: with every ``f`` at most 1, its bounds only grow with the run.
    t_lo, t_hi = least_a(b_lo) + b_lo, most_a(b_hi) + b_hi
    if t_lo == INF or t_hi == INF:
        return None
    return (t_lo, t_hi), (b_lo, b_hi)


def _crossings(lines: list[tuple[float, float]]) -> list[float]:
    """Each ``b > 0`` where two lines ``a = c - f*b`` (given as ``(f, c)``) cross, in order."""
    return sorted({b for (fi, ci), (fj, cj) in combinations(lines, 2)
                   if fi != fj and (b := (ci - cj) / (fi - fj)) > 0})


def _first(lo: int, hi: int, holds: Callable[[int], bool]) -> int:
    """The first ``i`` in ``[lo, hi)`` where ``holds`` (false, then true from there on), else ``hi``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _upper_envelope(lines: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The lines ``y = m*x + k`` that are the highest somewhere, by slope."""
    hull: list[tuple[float, float]] = []
    for m, k in sorted(lines):
        if hull and hull[-1][0] == m:
            hull.pop()  # the same slope: sorted, so this one is at least as high
        while len(hull) >= 2 and _crossing(hull[-2], (m, k)) <= _crossing(hull[-2], hull[-1]):
            hull.pop()  # never the highest: the lines either side cover it
        hull.append((m, k))
    return hull


def _at(hull: list[tuple[float, float]], x: float) -> float:
    """The highest of the lines at ``x``."""
    top = -INF
    for m, k in hull:
        y = m * x + k
        if y > top:
            top = y
    return top


def _bends(hull: list[tuple[float, float]], lo: float, hi: float) -> list[float]:
    """Where the highest line changes, strictly between ``lo`` and ``hi``."""
    return [x for x in (_crossing(a, b) for a, b in pairwise(hull)) if lo < x < hi]


def _crossing(one: tuple[float, float], other: tuple[float, float]) -> float:
    """Where two lines of different slopes cross."""
    return (other[1] - one[1]) / (one[0] - other[0])


def _stepped_span(rows: list[tuple[float, float, float, float, float]], q: float,
                  run_bounds: tuple[float, float]) -> _Span | None:
    """Finish and start bounds when the k-th value is published at ``start + k*q`` exactly.

    The reading furthest along fixes the candidates: ``k`` whole steps mean ``run = k*q/f``.
    Every other reading must then also sit a whole number of steps from the start, inside its
    window. None when no step count fits (progress is not published that way).
    """
    moving = [r for r in rows if r[0] > 0]
    if not moving:
        return None
    pivot = max(moving, key=lambda r: r[0])
    _, pf_lo, pf_hi, p_lo, p_hi = pivot
    if pf_lo <= 0:
        return None
    k_min = max(1, math.ceil(pf_lo * run_bounds[0] / q * 0.98))
    k_max = math.floor(pf_hi * run_bounds[1] / q * 1.02) + 1
    if k_max - k_min > MAX_STEPS:
        return None
    others = sorted((r for r in rows if r is not pivot), key=lambda r: -r[0])
    finish_lo, finish_hi = INF, -INF
    start_lo, start_hi = INF, -INF
    fits = 0
    for k in range(k_min, k_max + 1):
        run_lo, run_hi = k * q / pf_hi, k * q / pf_lo
        s_lo, s_hi = p_lo - k * q, p_hi - k * q
        ok = True
        for f, f_lo, f_hi, lo, hi in others:
            if f <= 0:  # "0 %": published at the start
                s_lo, s_hi = max(s_lo, lo), min(s_hi, hi)
            else:
                ks = range(math.ceil(run_lo * f_lo / q - 1e-9), math.floor(run_hi * f_hi / q + 1e-9) + 1)
                if len(ks) == 0:
                    ok = False
                elif len(ks) == 1:
                    j = ks[0]
                    if j <= 0:
                        ok = False
                    else:
                        run_lo, run_hi = max(run_lo, j * q / f_hi), min(run_hi, j * q / f_lo)
                        s_lo, s_hi = max(s_lo, lo - j * q), min(s_hi, hi - j * q)
                else:  # several step counts fit: only the widest window is known
                    s_lo = max(s_lo, lo - ks[-1] * q)
                    s_hi = min(s_hi, hi - ks[0] * q)
            if not ok or s_lo > s_hi or run_lo > run_hi:
                ok = False
                break
        if ok:
            fits += 1
            finish_lo, finish_hi = min(finish_lo, s_lo + run_lo), max(finish_hi, s_hi + run_hi)
            start_lo, start_hi = min(start_lo, s_lo), max(start_hi, s_hi)
    if finish_lo == INF or fits > MAX_FITS:
        return None  # no step count fits, or too many do to tell them apart
    return _Span((finish_lo, finish_hi), (start_lo, start_hi))


def _least_squares(rows: list[tuple[float, float, float]]) -> float | None:
    """``a + b`` for the least-squares line through the windows' middles (finite windows only)."""
    pts = [(f, (lo + hi) / 2) for f, lo, hi in rows if lo > -INF and hi < INF]
    if len(pts) < 2:
        return None
    mx = sum(f for f, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((f - mx) ** 2 for f, _ in pts)
    if sxx <= 1e-12:
        return None
    b = sum((f - mx) * (y - my) for f, y in pts) / sxx
    return None if b <= 0 else my - b * mx + b

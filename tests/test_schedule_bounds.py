"""The bounds a progress fit puts on the finish and the run (``schedule._lp_bounds``) against
their definition: every crossing of two constraint lines is a candidate run, and a candidate
fits when some start satisfies every reading's window. The fast version walks envelopes; the
two must agree on readings as the schedule builds them, including those that leave the run
unbounded. (Lines a float's width from parallel cross where only rounding decides a fit, so
the schedule rounds the bounds it derives, and neighbouring values share theirs exactly.)"""

from __future__ import annotations

import math
import random
from itertools import combinations

import pytest

from runway_nb.client.schedule import INF, SHAPES, _lp_bounds

Row = tuple[float, float, float, float, float]


def by_definition(rows: list[Row]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    lines = [(f_hi, lo) for _, _, f_hi, lo, _ in rows if lo > -INF] + [(f_lo, hi) for _, f_lo, _, _, hi in rows
                                                                         if hi < INF]
    fits = []
    for (fi, ci), (fj, cj) in combinations(lines, 2):
        if fi == fj or (b := (ci - cj) / (fi - fj)) <= 0:
            continue
        lo_a, hi_a = starts(rows, b)
        if lo_a <= hi_a + 1e-9:
            fits.append((b, lo_a + b, hi_a + b))
    if not fits or any(t == INF for _, lo, hi in fits for t in (lo, hi)):
        return None  # nothing fits, or the finish has no upper bound
    return (min(t for _, t, _ in fits), max(t for _, _, t in fits)), (min(b for b, _, _ in fits),
                                                                     max(b for b, _, _ in fits))


def starts(rows: list[Row], b: float) -> tuple[float, float]:
    """The lowest and highest start that every row allows with a run of ``b``."""
    return (max((lo - b * f_hi for _, _, f_hi, lo, _ in rows), default=-INF),
            min((hi - b * f_lo for _, f_lo, _, _, hi in rows), default=INF))


def readings(rng: random.Random, noisy: bool) -> list[Row]:
    """A task's rows as the schedule builds them: the creation (the run starts after it; not
    always known), then rounded progress readings, each in its window (its bounds rounded as the
    schedule rounds them, so neighbouring values share a bound exactly); some windows open-ended,
    some values noisy, some repeated, some runs slow enough that the values barely move."""
    run = math.exp(rng.uniform(math.log(5), math.log(2000)))
    start = rng.uniform(0, 5)
    inv = SHAPES[rng.choice(sorted(SHAPES))]
    decimals = rng.choice([2, 4])
    half = 0.5 * 10.0 ** -decimals
    rows: list[Row] = []
    if rng.random() < 0.7:
        rows.append((0.0, 0.0, 0.0, rng.uniform(-1, 0.5), INF))
    t = start + rng.uniform(0, 6)
    for _ in range(rng.randint(1, 8)):
        t += rng.uniform(0.5, 12)
        f = (t - start) / run + (rng.uniform(-0.05, 0.05) if noisy and rng.random() < 0.3 else 0.0)
        p = round(min(0.99, max(f, 0.0)), decimals)
        width = rng.choice([5.0, 2.0, 0.2])
        for _ in range(2 if rng.random() < 0.15 else 1):  # now and then the same value twice
            if p <= 0:
                rows.append((0.0, 0.0, 0.0, t - width, t + 0.01))
                continue
            rows.append((inv(p), inv(round(max(p - half, 0.0), 12)), inv(round(min(p + half, 1.0), 12)),
                         t - width if rng.random() < 0.95 else -INF, t + 0.01 if rng.random() < 0.95 else INF))
    return rows


EDGES: list[list[Row]] = [
    [(0.5, 0.4, 0.6, 10.0, 12.0)],  # one reading: the run is free toward zero
    [(0.5, 0.4, 0.6, -INF, 10.0), (0.2, 0.1, 0.3, -INF, 5.0)],  # no lower bounds: the finish has no floor
    [(0.0, 0.0, 0.0, 1.0, INF), (0.2, 0.19, 0.21, 4.0, INF)],  # no upper bounds: nothing bounds the finish
    [(0.03, 0.025, 0.035, 5.17, 5.27), (0.03, 0.025, 0.035, 5.57, 5.57), (0.04, 0.035, 0.045, 5.87, 5.87),
     (0.04, 0.035, 0.045, 6.31, 6.41)],  # repeated neighbours sharing a bound: parallel lines
    [(0.3, 0.29, 0.31, 10.0, 11.0), (0.3, 0.29, 0.31, 10.0, 11.0)],  # the same reading twice
]


@pytest.mark.parametrize("rows", EDGES, ids=["one", "no-lower", "no-upper", "neighbours", "twice"])
def test_edge_cases_agree_with_the_definition(rows: list[Row]) -> None:
    want, got = by_definition(rows), _lp_bounds(rows)
    assert (want is None) == (got is None)
    if want is not None and got is not None:
        assert all(same(w, g) for w, g in zip(want[0] + want[1], got[0] + got[1], strict=True)), (want, got)


def same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a))


@pytest.mark.parametrize("noisy", [False, True], ids=["clean", "noisy"])
def test_bounds_agree_with_their_definition(noisy: bool) -> None:
    rng = random.Random(20261207 + noisy)
    fitted = open_below = 0
    for _ in range(4000):
        rows = readings(rng, noisy)
        want, got = by_definition(rows), _lp_bounds(rows)
        assert (want is None) == (got is None), rows
        if want is None or got is None:
            continue
        fitted += 1
        assert all(same(w, g) for w, g in zip(want[0] + want[1], got[0] + got[1], strict=True)), (rows, want, got)
        lo_a, hi_a = starts(rows, want[1][0] / 2)
        open_below += lo_a <= hi_a  # readings that allow a shorter run than any crossing
    assert fitted > 500 and open_below > 20  # the cases were neither all refused nor all bounded

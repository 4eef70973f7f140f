"""The static grid looks like the live one (issue 16, item 3): no table, each fact once, true shapes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_grid import IMAGE, session, two_by_two  # noqa: F401  (session is a fixture used by name)

from runway_nb.notebook.widgets import Grid

PROMPT = "a kite over dunes"


def finished_grid(session: Any) -> Grid:  # noqa: F811  (the fixture's value, passed on)
    """A finished 2x2 sweep on the simulator: prompts down the rows (one refused), ratios across."""
    sweep = session.compare([PROMPT, "something forbidden"], model="gen4_turbo", ratio=["1280:720", "720:1280"],
                            image=IMAGE, duration=2)
    sweep.wait()
    grid = Grid(sweep, watch=False)
    assert grid.finished and [c["status"] for c in grid.cells] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED"]
    return grid


def test_no_table_and_each_shared_fact_once(session) -> None:  # noqa: F811
    grid = finished_grid(session)
    page = grid.static_html()
    assert "<table" not in page and "<tr" not in page and "<th" not in page and "<td" not in page
    assert "display:grid" in page
    assert page.count(PROMPT) == 1, "the prompt is said once, in the header"
    assert "Download" not in page
    without_urls = re.sub(r'(?:src|href|poster)="[^"]*"', "", page)
    for h in grid.handles:
        assert without_urls.count(h.id) == 2  # its cell's data-rnb-task and the one footer line of ids
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)) == 0, "no timestamp per cell"
    # a badge only where the task did not succeed: SUCCEEDED appears only as the sweep's status
    # and the cells' data attributes, FAILED once in its cell's text
    visible = re.sub(r"<[^>]+>", " ", page)
    assert "SUCCEEDED" not in visible and visible.count("FAILED") == 2
    assert visible.count("SAFETY.INPUT.TEXT") == 2


def test_credits_do_not_wrap_and_captions_are_left_aligned(session) -> None:  # noqa: F811
    page = finished_grid(session).static_html()
    assert re.search(r'<span style="white-space:nowrap">\d[\d,]* credits</span>', page)
    assert "text-align:right" not in page and "text-align:left" in page


def test_portrait_cells_are_narrow_not_letterboxed(session) -> None:  # noqa: F811
    grid = finished_grid(session)
    page = grid.static_html()
    frames = re.findall(r"width:(\d+)px;max-width:100%;aspect-ratio:(\d+) / (\d+)", page)
    assert len(frames) == 4
    by_shape = {(int(w), int(h)): int(px) for px, w, h in frames}
    landscape = next(px for (w, h), px in by_shape.items() if w > h)
    portrait = next(px for (w, h), px in by_shape.items() if w < h)
    assert portrait < landscape / 2, by_shape
    assert "minmax(0,max-content)" in page, "columns as wide as their cells, not equal shares"
    assert "object-fit:cover" in page


@pytest.mark.parametrize("axis", ["col", "row"])
def test_headers_show_the_axis_name(session, axis) -> None:  # noqa: F811
    grid = finished_grid(session)
    page = grid.static_html()
    lines = grid.col_lines if axis == "col" else grid.row_lines
    for header in lines:
        for name, value in header:
            assert re.search(rf">{re.escape(name)}</span> <span[^>]*>{re.escape(value)}</span>", page), (name, value)


def test_a_saved_unfinished_grid_says_it_is_a_snapshot(session) -> None:  # noqa: F811
    """A sweep saved before it ended shows RUNNING for good: the footer says why, as a task card does;
    a finished one does not."""
    sweep = session.compare([PROMPT, "something forbidden"], model="gen4_turbo", ratio="1280:720", image=IMAGE,
                            duration=2)
    running = Grid(sweep, watch=False)
    assert not running.finished
    assert "snapshot: the live view needs a running kernel" in running.static_html()
    sweep.wait()
    done = Grid(sweep, watch=False)
    assert done.finished and "snapshot" not in done.static_html()

"""Grid labels and a sweep's shared seed (issue 16, item 5), through the magic on the fast simulator."""

from __future__ import annotations

from typing import Any

from runway_nb.notebook.sweep import Sweep
from runway_nb.notebook.widgets import Grid
from runway_nb.notebook.widgets._grid import grid_layout

IMAGE = "https://example.com/kite.png"


def sweep_of(ip: Any, line: str, body: str = "a kite over the dunes") -> Sweep:
    result = ip.run_cell(f"%%runway {line} --yes\n{body}\n").result
    sweep = result.sweep if isinstance(result, Grid) else result
    assert isinstance(sweep, Sweep), type(result)
    return sweep


def test_a_model_sweep_without_seed_shares_one_seed_with_reuse_off(ip, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_REUSE", "off")
    sweep = sweep_of(ip, f"-m gen4_turbo,gen4.5 -r 1280:720,720:1280 -d 2 -i {IMAGE}")
    seeds = {t.params.get("seed") for t in sweep.tasks}
    assert len(sweep.tasks) == 4 and len(seeds) == 1 and None not in seeds, seeds
    again = sweep_of(ip, f"-m gen4_turbo,gen4.5 -d 2 -i {IMAGE}")
    assert len({t.params.get("seed") for t in again.tasks}) == 1  # one per sweep, drawn again for the next


def test_a_swept_or_given_seed_is_kept(ip, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_REUSE", "off")
    swept = sweep_of(ip, "-m gen4.5 --seed 5,6 -d 2")
    assert [t.params["seed"] for t in swept.tasks] == [5, 6]
    given = sweep_of(ip, "-m gen4_turbo,gen4.5 --seed 9 -d 2 -i " + IMAGE)
    assert [t.params["seed"] for t in given.tasks] == [9, 9]


def test_the_shared_seed_is_shown_once_in_the_header(ip, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_REUSE", "off")
    sweep = sweep_of(ip, f"-m gen4_turbo,gen4.5 -d 2 -i {IMAGE}")
    grid = Grid(sweep, watch=False)
    try:
        seed = sweep.tasks[0].params["seed"]
        assert ["seed", str(seed)] in grid.fixed
    finally:
        grid.close()


def test_a_seed_only_sweep_names_the_axis_in_each_header() -> None:
    lay = grid_layout([{"seed": 1}, {"seed": 2}], ["seed"])
    assert lay["col_labels"] == ["seed 1", "seed 2"]
    assert lay["col_lines"] == [[["seed", "1"]], [["seed", "2"]]]
    ratio = grid_layout([{"ratio": "1280:720"}, {"ratio": "720:1280"}], ["ratio"])
    assert ratio["col_labels"] == ["1280:720", "720:1280"]  # a value that says what it is
    assert ratio["col_lines"] == [[["ratio", "1280:720"]], [["ratio", "720:1280"]]]  # the views show the name


def test_several_options_per_axis_are_separate_lines_with_full_values() -> None:
    prompt = "The camera slowly pushes in through the fog towards a lighthouse at dusk"
    combos = [{"prompt": p, "model": m, "ratio": r} for p in (prompt, "b") for m in ("gen4_turbo", "gen4.5")
              for r in ("1280:720", "720:1280")]
    lay = grid_layout(combos, ["prompt", "model", "ratio"])
    assert lay["rows"] == ["prompt", "model"]
    first = lay["row_lines"][0]
    assert first == [["prompt", "The camera slowly pushes in through the fog towards a lighthouse at dusk"],
                     ["model", "gen4_turbo"]]
    assert "·" not in "".join(v for _, v in first)
    assert lay["col_lines"][1] == [["ratio", "720:1280"]]


def test_grid_sends_header_lines_and_axis_names(ip, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAY_NB_REUSE", "off")
    sweep = sweep_of(ip, "-m gen4.5 --seed 1,2 -d 2")
    grid = Grid(sweep, watch=False)
    try:
        assert grid.col_labels == ["seed 1", "seed 2"]
        assert grid.col_lines == [[["seed", "1"]], [["seed", "2"]]]
        assert grid.col_title == "seed"
    finally:
        grid.close()

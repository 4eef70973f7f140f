"""The demo notebooks as committed: clean, small, no secrets, honest about their backend.

Running them is nbval's job (``notebooks/`` is in ``testpaths`` with ``--nbval-lax``); this file
checks what a reader of the repository sees, and the rules that let the same notebooks run
unchanged against Runway.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from runway_nb.notebook.demo import CHECK_MARKER, NOTEBOOKS, PROMPT_TAG, committed_form

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = [FOLDER / f"{name}.ipynb" for name in NOTEBOOKS]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PORT_URL = re.compile(r"https?://(127\.0\.0\.1|localhost|0\.0\.0\.0)(:\d+)?")
SECRET = re.compile(r"key_[0-9a-f]{16,}|sk-[A-Za-z0-9]{16,}|Bearer\s+\S{12,}")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            for value in (out.get("data") or {}).values():
                parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list)
                             else str(value))
    return "\n".join(parts)


def test_all_exist_in_order() -> None:
    assert sorted(p.name for p in FOLDER.glob("*.ipynb")) == [f"{n}.ipynb" for n in NOTEBOOKS]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_form_small_and_clean(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # Exactly what `python -m runway_nb.notebook.demo --refresh` writes: outputs only where nbval checks them.
    assert committed_form(nb) == nb, "run: python -m runway_nb.notebook.demo --refresh"
    assert path.stat().st_size < 40_000
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARKER in cell.source:
            assert cell.outputs, f"{path.name}: a {CHECK_MARKER} cell without reference output:\n{cell.source}"
            assert all(o["output_type"] in ("stream", "execute_result") for o in cell.outputs)
            assert all(o.get("name", "stdout") == "stdout" for o in cell.outputs), "stderr is not deterministic"
        else:
            assert not cell.outputs
    text = _outputs_text(nb)
    assert not UUID.search(text), "task ids change every run: never in checked output"
    assert not PORT_URL.search(text), "simulator URLs carry a random port"
    assert not SECRET.search(path.read_text())


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_says_which_backend_and_how_to_switch(path: Path) -> None:
    nb = _read(path)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown"
    assert "RUNWAYML_API_SECRET" in intro.source and "simulator" in intro.source
    assert "credits" in intro.source
    setup = next(c for c in nb.cells if c.cell_type == "code")
    lines = setup.source.splitlines()
    speed = next(i for i, line in enumerate(lines) if "RUNWAY_NB_SIM_SPEED" in line)
    client = next(i for i, line in enumerate(lines) if "client =" in line)
    assert speed < client, "the demo clock must be set before the first client makes the simulator"
    assert "setdefault" in lines[speed], "an environment that sets the speed wins"
    assert "Backend:" in setup.source and "client.simulator" in setup.source


def test_quickstart_leaves_the_simulator_line_to_runway_nb() -> None:
    """runway-nb says once, quietly, that it uses the simulator: the quickstart does not say it again."""
    setup = next(c for c in _read(PATHS[0]).cells if c.cell_type == "code")
    assert "if not client.simulator:" in setup.source
    assert "simulator (offline" not in setup.source and "print(\"Backend: runway-nb" not in setup.source


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_simulator_only_calls_are_guarded(path: Path) -> None:
    """The same notebooks run unchanged against Runway: any use of the simulator's own controls
    (fault injection, settings, stats, its URL) sits under ``if client.simulator:``."""
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        if re.search(r"\.simulator\.|\bsim\.(configure|stats|config|url)", cell.source):
            assert "if client.simulator:" in cell.source, cell.source


def test_quickstart_has_the_demo_prompt_cell() -> None:
    nb = _read(PATHS[0])
    tagged = [c for c in nb.cells if PROMPT_TAG in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    first = tagged[0].source.splitlines()[0]
    assert first.startswith("%%runway ") and "--model" in first and "--ratio" in first and "--out poster" in first


def test_every_notebook_checks_some_output() -> None:
    for path in PATHS:
        nb = _read(path)
        assert any(CHECK_MARKER in c.source for c in nb.cells if c.cell_type == "code"), path.name

"""Notebook weight: bytes that a finished task and a 12-task comparison grid add to a saved notebook.

Each notebook is executed headlessly with nbclient (as ``jupyter nbconvert --execute`` does)
against the built-in simulator (``RUNWAY_NB_SIM_SPEED=25``) and written with nbformat; the
weight is its size minus that of the same notebook with the generation cell replaced by
``pass``. "With embedding" is the notebook as nbclient saves it, with the widget state
embedded in ``metadata.widgets`` (what JupyterLab's "save widget state" also does); "without"
is the same file with that state removed (JupyterLab's default, ``saveState: false``). Media
bytes are never embedded by runway-nb (outputs are referred to by URL or saved file), so the
figures are HTML, text and widget state only.

- one task: ``%%runway --wait`` (gen4_image, 720:720), a finished SUCCEEDED task;
- grid: ``%%runway --wait`` over 3 prompts x 4 seeds (12 tasks) in one cell.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env

SETUP = "%load_ext runway_nb"
ONE = "%%runway --wait -t text_to_image -m gen4_image -r 720:720 --seed 3\na lighthouse at dusk"
GRID = ("%%runway --wait -y -t text_to_image -m gen4_image -r 720:720 --seed 1,2,3,4\n"
        "a lighthouse at dusk\n---\na red fox in snow\n---\na city at night")
AFTER = "1 + 1"  # a later cell, so nbclient records the final output of the one before


def _notebook(cell: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(cell), nbformat.v4.new_code_cell(AFTER)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _execute(nb, workdir: Path):
    import os

    from nbclient import NotebookClient

    old = dict(os.environ)
    os.environ.update(env(RUNWAY_NB_SIM_SPEED="25", RUNWAY_NB_JOURNAL="off"))
    os.environ.pop("RUNWAYML_API_SECRET", None)
    os.environ.pop("RUNWAY_API_KEY", None)
    try:
        client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}},
                                allow_errors=True)
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def _size(nb) -> int:
    import nbformat

    return len(nbformat.writes(nb).encode())


def _without_state(nb):
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    return nb


def _errors(nb) -> list[str]:
    errs = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errs.append(f"{out.get('ename')}: {out.get('evalue')}")
    return errs


def measure(cell: str, workdir: Path) -> dict:
    base = _execute(_notebook("pass"), workdir)
    full = _execute(_notebook(cell), workdir)
    errs = _errors(full)
    outputs = sum(len(json.dumps(o)) for o in full.cells[1].get("outputs", []))
    state = len(json.dumps(full.metadata.get("widgets", {})))
    return {"with_embedding_bytes": _size(full) - _size(base),
            "without_embedding_bytes": _size(_without_state(full)) - _size(_without_state(base)),
            "cell_outputs_bytes": outputs, "widget_state_bytes": state,
            "notebook_bytes": _size(full), "errors": errs}


def run(runs: int = 1) -> dict:
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cell in (("one_task", ONE), ("grid_12", GRID)):
            rows = [measure(cell, Path(tmp)) for _ in range(runs)]
            res = dict(rows[-1])
            for key in ("with_embedding_bytes", "without_embedding_bytes"):
                res[key] = statistics.median(r[key] for r in rows)
            out[name] = res
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

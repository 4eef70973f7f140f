"""Notebook weight: bytes that a finished task and a 12-task comparison grid add to a saved notebook.

Each notebook is executed headlessly with nbclient (as ``jupyter nbconvert --execute`` does)
against the built-in simulator (``RUNWAY_NB_SIM_SPEED=25``) and written with nbformat; the
weight is its size minus that of the same notebook with the generation cell replaced by
``pass``. "With embedding" is the notebook as nbclient saves it, with the widget state
embedded in ``metadata.widgets`` (what JupyterLab's "save widget state" also does); "without"
is the same file with that state removed (JupyterLab's default, ``saveState: false``). Media
bytes are never embedded by runway-nb (outputs are referred to by URL or saved file), only a
poster per saved video or image output (a small preview) and the waveform of an audio output.

- one task: ``%%runway --wait`` (gen4_image, 720:720), a finished SUCCEEDED task;
- grid: ``%%runway --wait`` over 3 prompts x 4 seeds (12 tasks) in one cell;
- saved image / video / audio: one finished task kept by default (text_to_image 1280:720,
  text_to_video 1280:720 5 s, text_to_speech), so its static output embeds a poster (image,
  video) or its waveform (audio). ``poster_bytes`` is the size of the poster's data: URI (or of
  the waveform SVG) in the saved output; ``poster_ms`` the time to make that poster (or decode
  that waveform) from the saved file once (median of 5, cache cleared each time): what the
  kernel spends per output.
- ``bytes_per_finished_output``: the mean, over the saved image, video and audio cases, of the
  bytes one finished output adds to the notebook as JupyterLab saves it by default (no widget
  state), its poster (image, video) or waveform (audio) included; ``posters_included`` says
  whether each image and video case did embed its poster. The 12-task grid's bytes over 12 are
  reported beside it (``grid_bytes_per_output``).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env

SETUP = "%load_ext runway_nb"
ONE = "%%runway --wait -t text_to_image -m gen4_image -r 720:720 --seed 3\na lighthouse at dusk"
GRID = ("%%runway --wait -y -t text_to_image -m gen4_image -r 720:720 --seed 1,2,3,4\n"
        "a lighthouse at dusk\n---\na red fox in snow\n---\na city at night")
AFTER = "1 + 1"  # a later cell, so nbclient records the final output of the one before
SAVED = {
    "saved_image": "%%runway --wait -t text_to_image -m gen4_image -r 1280:720 --seed 3\na lighthouse at dusk",
    "saved_video": "%%runway --wait -t text_to_video -m gen4.5 -r 1280:720 -d 5 --seed 3\na lighthouse at dusk",
    "saved_audio": "%%runway --wait -t text_to_speech --voice Maya\nThe lighthouse keeper waves from the rocks.",
}
_DATA_URI = re.compile(r'data:image/(?:jpeg|png);base64,[A-Za-z0-9+/=]+')
_SVG = re.compile(r'<svg class="rnb-waveform".*?</svg>', re.S)


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
    return _measure(cell, workdir)[0]


def _measure(cell: str, workdir: Path) -> tuple[dict, object]:
    base = _execute(_notebook("pass"), workdir)
    full = _execute(_notebook(cell), workdir)
    errs = _errors(full)
    outputs = sum(len(json.dumps(o)) for o in full.cells[1].get("outputs", []))
    state = len(json.dumps(full.metadata.get("widgets", {})))
    return {"with_embedding_bytes": _size(full) - _size(base),
            "without_embedding_bytes": _size(_without_state(full)) - _size(_without_state(base)),
            "cell_outputs_bytes": outputs, "widget_state_bytes": state,
            "notebook_bytes": _size(full), "errors": errs}, full


_SUFFIXES = {"image": (".png", ".jpg", ".jpeg", ".webp"), "video": (".mp4", ".webm", ".mov"),
             "audio": (".mp3", ".wav", ".flac", ".ogg")}


def _poster_facts(nb, workdir: Path, kind: str) -> dict:
    """The embedded poster (or waveform) of the saved output, and how long making it takes."""
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in nb.cells[1].get("outputs", []))
    uris, svgs = _DATA_URI.findall(html), _SVG.findall(html)
    facts: dict = {"poster_bytes": max((len(u) for u in uris + svgs), default=0), "posters": len(uris)}
    files = sorted((p for p in (workdir / "runway_outputs").glob("*") if p.suffix in _SUFFIXES[kind]),
                   key=lambda p: p.stat().st_mtime)
    if files:
        from runway_nb.notebook import posters
        from runway_nb.notebook.waveform import analyze

        times = []
        for _ in range(5):
            posters.forget()
            start = time.perf_counter()
            if kind == "audio":  # its picture is the waveform
                analyze(files[-1].read_bytes())
            else:
                posters.of_file(files[-1], kind)
            times.append((time.perf_counter() - start) * 1000)
        facts["poster_ms"] = round(statistics.median(times), 1)
    return facts


def measure_saved(cell: str, workdir: Path, kind: str) -> dict:
    row, full = _measure(cell, workdir)
    row.update(_poster_facts(full, workdir, kind))
    return row


def run(runs: int = 1) -> dict:
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("one_task", ONE, measure), ("grid_12", GRID, measure)]
        cases += [(name, cell, functools.partial(measure_saved, kind=name.split("_")[1]))
                  for name, cell in SAVED.items()]
        for name, cell, how in cases:
            rows = [how(cell, Path(tmp)) for _ in range(runs)]
            res = dict(rows[-1])
            for key in ("with_embedding_bytes", "without_embedding_bytes"):
                res[key] = statistics.median(r[key] for r in rows)
            out[name] = res
    out["per_output"] = per_output(out)
    return out


def per_output(rows: dict) -> dict:
    """Bytes per finished output, poster included (see the module's docstring)."""
    saved = {name: rows[name] for name in SAVED if not rows[name].get("errors")}
    by_kind = {name.split("_")[1]: row["without_embedding_bytes"] for name, row in saved.items()}
    grid = rows.get("grid_12") or {}
    return {"bytes_per_finished_output": statistics.mean(by_kind.values()) if by_kind else None,
            "by_kind_bytes": by_kind,
            "posters_included": {name.split("_")[1]: row.get("posters", 0) > 0 for name, row in saved.items()
                                 if not name.endswith("audio")},
            "grid_bytes_per_output": grid["without_embedding_bytes"] / 12 if grid and not grid.get("errors")
            else None}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

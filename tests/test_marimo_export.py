"""``marimo export html`` of the marimo quickstart (notebooks/marimo/quickstart.py), offline on
the simulator: it runs, and the page it writes keeps every task's final state (the widgets'
saved model state says SUCCEEDED, not RUNNING) with the kept files beside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("marimo")

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "notebooks" / "marimo" / "quickstart.py"


def test_html_export_of_the_quickstart_keeps_the_finished_results(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAYML_", "RUNWAY_NB_", "COMETAPI_", "USEAPI_", "MAKEVID_"))
           and k != "RUNWAY_API_KEY"}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               RUNWAY_NB_JOURNAL=str(tmp_path / "journal.sqlite3"), HOME=str(tmp_path))
    out = tmp_path / "quickstart.html"
    done = subprocess.run([sys.executable, "-m", "marimo", "export", "html", str(QUICKSTART), "-o", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    page = out.read_text(encoding="utf-8")

    assert "Jupyter widgets are not supported" not in page
    assert page.count("marimo-anywidget") >= 3  # two task views and the grid are widgets, not text
    # the two task views and the grid's two cells, as the export saved their state
    statuses = re.findall(r'"status": "([A-Z]+)"', page)
    assert len(statuses) >= 4, statuses
    assert set(statuses) == {"SUCCEEDED"}, statuses
    files = re.findall(r'"(runway_outputs/[^"]+)"', page)
    assert len(set(files)) == 4, files
    for name in files:
        assert (tmp_path / name).stat().st_size > 0  # kept beside the page, where its relative path points

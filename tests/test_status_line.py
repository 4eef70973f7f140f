"""Progress lines: rewritten in place on a terminal or in a notebook, one line each when piped."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from runway_nb.notebook.status_line import StatusLine, rewrites_in_place

REPO = Path(__file__).resolve().parents[1]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    out = FakeTerminal()
    line = StatusLine(out)
    assert line.in_place
    for text in ("runway: t1 · PENDING · 0s", "runway: t1 · RUNNING · 40% · 3s", "runway: t1 · RUNNING · 40% · 3s"):
        line.show(text)
    line.show("runway: t1 · SUCCEEDED · 5s", final=True)
    value = out.getvalue()
    assert value.count("\n") == 1 and value.endswith("\n")
    # the shorter last state pads over the longer one before it
    assert value.split("\r")[-1] == "runway: t1 · SUCCEEDED · 5s" + " " * 4 + "\n"


def test_piped_each_update_is_a_line_of_its_own() -> None:
    out = io.StringIO()
    line = StatusLine(out)
    assert not line.in_place
    line.show("runway: t1 · PENDING · 0s")
    line.show("runway: t1 · RUNNING · 40% · 3s")
    line.show("runway: t1 · RUNNING · 40% · 3s")  # unchanged: not repeated
    line.show("runway: t1 · RUNNING · 40% · 3s", final=True)  # already on its own line
    assert out.getvalue() == "runway: t1 · PENDING · 0s\nrunway: t1 · RUNNING · 40% · 3s\n"


def test_a_jupyter_kernel_stream_counts_as_in_place() -> None:
    kernel_stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})()
    assert rewrites_in_place(kernel_stream)
    assert not rewrites_in_place(io.StringIO())

    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    assert not rewrites_in_place(Closed())


SCRIPT = """
import runway_nb
handle = runway_nb.generate("a red fox", model="gen4_image", wait=True)
print("task done:", handle.status)
sweep = runway_nb.compare(["a cat", "a dog"], model="gen4_image", wait=True)
print("sweep done:", sweep.summary())
"""


def test_a_script_piped_to_a_file_prints_whole_lines(tmp_path: Path) -> None:
    """``generate(wait=True)`` and ``compare(wait=True)`` in a script whose stdout is a file."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAYML_BASE_URL", "COMETAPI_KEY",
                        "USEAPI_TOKEN", "MAKEVID_API_KEY")}
    env.update(RUNWAY_NB_PROVIDER="sim", RUNWAY_NB_SIM_SPEED="200", RUNWAY_NB_OUTPUTS=str(tmp_path / "outputs"),
               RUNWAY_NB_REUSE="off", PYTHONPATH=str(REPO))
    log = tmp_path / "log.txt"
    with open(log, "w") as stdout:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, stdout=stdout,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    text = log.read_text()
    assert proc.returncode == 0, proc.stderr + text
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    task_lines = [line for line in lines if line.startswith("runway: ") and "task(s)" not in line]
    sweep_lines = [line for line in lines if line.startswith("runway: 2 task(s)")]
    assert task_lines and "SUCCEEDED" in task_lines[-1] and task_lines[-1].count("runway:") == 1
    assert sweep_lines and "2 SUCCEEDED" in sweep_lines[-1] and sweep_lines[-1].count("runway:") == 1
    assert "task done: SUCCEEDED" in lines and any(line.startswith("sweep done: 2 task(s)") for line in lines)

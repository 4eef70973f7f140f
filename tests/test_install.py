"""What a fresh ``pip install runway-nb`` gets: the wheel's files, the demo run from an installed
wheel outside any checkout, and clear messages when an optional extra is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Importing any of these fails, as if the package were not installed.
BLOCKER = """
import sys

BLOCKED = {blocked!r}


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""


def _run_without(blocked: set[str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=sorted(blocked)))
    env = {k: v for k, v in os.environ.items() if k not in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(site)])
    return subprocess.run([sys.executable, "-m", "runway_nb.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------- runway-nb serve without [serve]
@pytest.mark.parametrize("blocked, named", [({"uvicorn", "mcp", "starlette"}, "uvicorn"), ({"mcp"}, "mcp")])
def test_serve_without_the_extra_says_what_to_install(tmp_path: Path, blocked: set[str], named: str) -> None:
    proc = _run_without(blocked, "serve", "--provider", "sim", "--port", "0", "--mcp-port", "0", tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"runway-nb serve: needs the {named!r} package, which is not installed: " \
                          f"pip install 'runway-nb[serve]'\n"
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_serve_help_works_without_the_extra(tmp_path: Path) -> None:
    proc = _run_without({"uvicorn", "mcp", "starlette"}, "serve", "--help", tmp_path=tmp_path)
    assert proc.returncode == 0 and "--mcp-port" in proc.stdout, proc.stderr

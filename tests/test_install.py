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


# ---------------------------------------------------------------------- the wheel
@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip install`` would build from this checkout."""
    folder = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                           "-w", str(folder), "-q"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = folder.glob("runway_nb-*.whl")
    return built


def _wheel_files(wheel: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_the_wheel_ships_the_package_and_the_lessons_and_nothing_else(wheel: Path) -> None:
    from runway_nb.notebook import demo

    files = _wheel_files(wheel)
    package = [f for f in files if f.startswith("runway_nb/")]
    other = [f for f in files if not f.startswith("runway_nb/")]
    assert all(f.startswith("runway_nb-") for f in other), other  # dist-info and shared data only
    assert {f"runway_nb/lessons/{name}.ipynb" for name in demo.NOTEBOOKS} <= set(package)
    assert "runway_nb/notebook/widgets/static/task_view.js" in package and "runway_nb/data/lighthouse.png" in package
    # what users run, never what builds or tests it
    assert not [f for f in files if "node_modules" in f or "/test/" in f or f.endswith(".test.js")
                or f.startswith(("js/", "tests/")) or "__pycache__" in f or ".ipynb_checkpoints" in f], files
    allowed = (".py", ".typed", ".json", ".js", ".css", ".png", ".ipynb")
    assert [f for f in package if not f.endswith(allowed)] == []
    assert [f for f in package if f.endswith(".ipynb")] == [f"runway_nb/lessons/{n}.ipynb" for n in demo.NOTEBOOKS]


def test_the_wheel_requires_what_the_demo_imports(wheel: Path) -> None:
    """A fresh install writes the HTML the README promises: nbconvert comes with runway-nb."""
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    required = {line.split(":", 1)[1].strip().split(";")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
                for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert {"nbclient", "ipykernel", "nbconvert"} <= required, required


def test_the_sdist_carries_the_lessons_the_wheel_needs() -> None:
    """A wheel built from the sdist (pip install of a source release) force-includes notebooks/*.ipynb."""
    from hatchling.builders.sdist import SdistBuilder

    from runway_nb.notebook import demo

    shipped = {f.distribution_path for f in SdistBuilder(str(REPO)).recurse_included_files()}
    assert {f"notebooks/{name}.ipynb" for name in demo.NOTEBOOKS} <= shipped


@pytest.mark.kernel
def test_demo_runs_from_an_installed_wheel_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """``pip install runway-nb`` into a fresh venv (its dependencies from this environment), then
    ``runway-nb demo --only 01`` from a folder that is not a checkout: notebook, HTML and media."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAYML_BASE_URL",
                        "RUNWAY_NB_PROVIDER", "RUNWAY_NB_SIM_SPEED", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=180, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import runway_nb; print(runway_nb.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr  # the wheel, not a checkout

    out = elsewhere / "demo"
    proc = subprocess.run([str(venv / "bin" / "runway-nb"), "demo", "--only", "01", "--out", str(out)],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "01-quickstart.ipynb").is_file() and (out / "01-quickstart.html").is_file()
    assert "01-quickstart" in (out / "01-quickstart.html").read_text()
    media = [p.suffix for p in (out / "runway_outputs").iterdir() if p.suffix in (".mp4", ".png")]
    assert sorted(media) == [".mp4", ".png"]
    assert f"  {out / '01-quickstart.html'}" in proc.stdout.splitlines()

"""``runway-nb demo``: the headless demo runner, its options, and the shipped sample image."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runway_nb.notebook import demo

REPO = Path(__file__).resolve().parents[1]
CANARY = "key_canary_0123456789abcdef0123456789abcdef"


def _run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
             timeout: float = 240) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in demo.KEY_ENV_VARS}
    base.pop("RUNWAY_NB_SIM_SPEED", None)
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "runway_nb.cli", "demo", *args], cwd=cwd or REPO, env=base,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------- the real thing
@pytest.mark.kernel
def test_demo_quickstart_writes_notebook_html_and_media_and_says_where(tmp_path: Path) -> None:
    """``runway-nb demo --only 01`` with the quickstart's options, a key in the environment (kept
    from the kernel: the demo runs on the simulator) and every printed path checked."""
    out = tmp_path / "demo out"
    proc = _run_cli("--only", "01", "--out", str(out), "--prompt", "A blue heron standing in a pond, morning mist",
                    "--ratio", "1080:1080", env={"RUNWAYML_API_SECRET": CANARY}, cwd=tmp_path)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert CANARY not in text
    assert "RUNWAYML_API_SECRET is set, but the demo runs on the built-in simulator" in proc.stderr
    assert "--allow-runway" in proc.stderr

    # What it made.
    nb_path, html_path = out / "01-quickstart.ipynb", out / "01-quickstart.html"
    media = sorted((out / "runway_outputs").iterdir())
    pngs = [p for p in media if p.suffix == ".png"]
    mp4s = [p for p in media if p.suffix == ".mp4"]
    assert nb_path.is_file() and html_path.is_file()
    assert len(pngs) == 1 and len(mp4s) == 1, media

    # What it printed: each path on a line of its own, under the right heading, all existing.
    printed = [Path(line.strip().split("  [")[0]) for line in proc.stdout.splitlines()
               if line.startswith("  /") or line.startswith(f"  {out}")]
    assert set(printed) >= {nb_path, html_path, *pngs, *mp4s}, proc.stdout
    assert all(p.exists() for p in printed), proc.stdout
    assert f"Everything is in {out}{os.sep}" in proc.stdout
    lines = proc.stdout.splitlines()
    heading = {"notebooks": next(i for i, line in enumerate(lines) if line.startswith("Executed notebooks")),
               "html": next(i for i, line in enumerate(lines) if line.startswith("HTML")),
               "media": next(i for i, line in enumerate(lines) if line.startswith("Media files (2,"))}
    assert lines[heading["notebooks"] + 1].strip().startswith(str(nb_path))
    assert lines[heading["html"] + 1].strip() == str(html_path)
    assert {lines[heading["media"] + 1].strip(), lines[heading["media"] + 2].strip()} == {str(pngs[0]), str(mp4s[0])}
    summary = next(line for line in lines if line.startswith("runway-nb demo: 1 notebook(s) on "))
    assert "built-in simulator" in summary and "all ran" in summary, summary
    assert lines[0].startswith("runway-nb demo: running 01-quickstart.ipynb ... ok (")

    # The executed notebook: every cell ran, the options reached the cell, the results are
    # durable (static HTML pointing at the saved files), and nothing secret or huge is in it.
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    tagged = next(c for c in code if demo.PROMPT_TAG in c.metadata.get("tags", []))
    assert "--ratio 1080:1080" in tagged.source and "A blue heron standing in a pond" in tagged.source
    html_out = "".join("".join(o.get("data", {}).get("text/html", "")) for o in tagged.outputs)
    assert 'data-rnb-status="SUCCEEDED"' in html_out
    assert f"runway_outputs/{pngs[0].name}" in html_out, html_out[:6000]
    checked = next(c for c in code if demo.CHECK_MARKER in c.source)
    checked_text = "".join(o.get("text", "") for o in checked.outputs)
    assert "poster: SUCCEEDED, 1 output(s)" in checked_text and "image 1080x1080" in checked_text
    assert "clip: SUCCEEDED, 1 output(s)" in checked_text and "video 1280x720, 5.0 s" in checked_text
    raw = nb_path.read_text()
    assert CANARY not in raw and CANARY not in html_path.read_text()
    assert len(raw) < 200_000
    from PIL import Image

    with Image.open(pngs[0]) as img:
        assert img.size == (1080, 1080)


@pytest.mark.kernel
def test_failing_notebook_exits_1_naming_the_cell(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# broken"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("print('about to fail')\n1 / 0"),
        nbformat.v4.new_code_cell("print('never')"),
    ])
    nbformat.write(nb, folder / "01-quickstart.ipynb")
    out = tmp_path / "out"
    proc = _run_cli("--notebooks", str(folder), "--out", str(out), "--no-html", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "running 01-quickstart.ipynb ... FAILED" in proc.stdout
    assert "FAILED 01-quickstart: code cell 2 (cell 3 of 4): print('about to fail')" in proc.stdout
    assert "ZeroDivisionError: division by zero" in proc.stdout
    executed = nbformat.read(out / "01-quickstart.ipynb", as_version=4)  # kept, showing the error
    assert executed.cells[2].outputs[-1]["output_type"] == "error"
    assert not (out / "01-quickstart.html").exists()


# ---------------------------------------------------------------------- usage errors (no kernel)
def test_bad_quickstart_options_are_refused_before_running(tmp_path: Path) -> None:
    proc = _run_cli("--only", "01", "--ratio", "3:2", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "the quickstart cannot use these options" in proc.stderr and "ratio='3:2'" in proc.stderr
    assert not (tmp_path / "o").exists()
    proc = _run_cli("--model", "gen9_imaginary", cwd=tmp_path)
    assert proc.returncode == 2 and "gen9_imaginary" in proc.stderr


def test_unknown_only_and_list(tmp_path: Path) -> None:
    proc = _run_cli("--only", "99", cwd=tmp_path)
    assert proc.returncode == 2 and "matches no demo notebook" in proc.stderr
    proc = _run_cli("--list", "--only", "quickstart,04", cwd=tmp_path)
    assert proc.returncode == 0
    assert [Path(line).name for line in proc.stdout.split()] == ["01-quickstart.ipynb", "04-how-tasks-work.ipynb"]


def test_notebooks_not_found_says_where_they_are(tmp_path: Path) -> None:
    proc = _run_cli("--notebooks", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "the demo notebooks were not found" in proc.stderr and "clone" in proc.stderr


def test_missing_runner_packages_are_named_with_the_install_command(monkeypatch, capsys, tmp_path: Path) -> None:
    from runway_nb.cli import build_parser

    monkeypatch.setattr(demo, "missing_runner_modules", lambda: ["nbclient", "ipykernel"])
    args = build_parser().parse_args(["demo", "--only", "01", "--out", str(tmp_path / "o")])
    assert demo.run_from_args(args) == 2
    err = capsys.readouterr().err
    assert "needs nbclient, ipykernel, which are not installed" in err and "-m pip install nbclient ipykernel" in err
    assert not (tmp_path / "o").exists()
    assert demo.missing_runner_modules.__module__  # the real one, restored by monkeypatch afterwards


# ---------------------------------------------------------------------- units
def test_apply_prompt_options_rewrites_only_the_tagged_cell() -> None:
    nb = nbformat.read(REPO / "notebooks" / "01-quickstart.ipynb", as_version=4)
    before = [c.source for c in nb.cells]
    assert demo.apply_prompt_options(nb, prompt="a {red} fox\n", model="gen4_image_turbo", ratio="720:720")
    changed = [i for i, c in enumerate(nb.cells) if c.source != before[i]]
    assert len(changed) == 1
    cell = nb.cells[changed[0]]
    first, body = cell.source.split("\n", 1)
    assert first.startswith("%%runway --model gen4_image_turbo --ratio 720:720")
    assert "--out poster" in first and "--save" not in first  # outputs are kept by default
    assert body == "a {red} fox"
    # --model alone drops the ratio (the model's default ratio applies)
    nb = nbformat.read(REPO / "notebooks" / "01-quickstart.ipynb", as_version=4)
    demo.apply_prompt_options(nb, model="gen4.5")
    tagged = next(c for c in nb.cells if demo.PROMPT_TAG in c.metadata.get("tags", []))
    assert "--ratio" not in tagged.source.splitlines()[0] and "--model gen4.5" in tagged.source


def test_check_prompt_options() -> None:
    assert demo.check_prompt_options(None, None, None) is None
    assert demo.check_prompt_options("a fox", None, "1080:1080") is None
    assert demo.check_prompt_options("a fox", "gen4.5", None) is None  # text_to_video, default ratio
    assert "ratio='7:3'" in demo.check_prompt_options("a fox", None, "7:3")
    assert "too long" in demo.check_prompt_options("x" * 1001, None, None) or \
        "1000" in demo.check_prompt_options("x" * 1001, None, None)


def test_kernel_env_keeps_keys_only_when_allowed() -> None:
    base = {"RUNWAYML_API_SECRET": CANARY, "RUNWAYML_BASE_URL": "http://127.0.0.1:1", "PATH": "/bin"}
    env = demo.kernel_env(demo.DemoOptions(speed=7), base)
    assert "RUNWAYML_API_SECRET" not in env and "RUNWAYML_BASE_URL" not in env
    assert env["RUNWAY_NB_SIM_SPEED"] == "7" and env["PATH"] == "/bin"
    env = demo.kernel_env(demo.DemoOptions(allow_runway=True), base)
    assert env["RUNWAYML_API_SECRET"] == CANARY
    assert demo.keys_in_env(base) == ["RUNWAYML_API_SECRET", "RUNWAYML_BASE_URL"]


def test_find_notebooks_order_and_selection() -> None:
    folder = demo.notebook_dir()
    assert folder == (REPO / "notebooks").resolve()
    names = [p.stem for p in demo.find_notebooks(folder)]
    assert names == list(demo.NOTEBOOKS)
    assert [p.stem for p in demo.find_notebooks(folder, ["05", "01"])] == ["01-quickstart", "05-python-api"]
    assert [p.stem for p in demo.find_notebooks(folder, ["compare"])] == ["02-compare-variants"]
    with pytest.raises(ValueError, match="matches no demo notebook"):
        demo.find_notebooks(folder, ["99"])


def test_committed_form_keeps_only_checked_outputs() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(1)", execution_count=3,
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n2", execution_count=4,
                                  outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "2"},
                                                                  execution_count=4)]),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    clean = demo.committed_form(nb)
    assert "widgets" not in clean.metadata and "execution" not in clean.cells[0].metadata
    assert clean.cells[0].outputs == [] and clean.cells[0].execution_count is None
    assert clean.cells[1].outputs[0]["data"] == {"text/plain": "2"}
    # nbval compares only reference cells that ran: they keep a count, their position
    assert clean.cells[1].outputs[0]["execution_count"] == 2 and clean.cells[1].execution_count == 2
    assert nb.cells[0].outputs  # the original is untouched
    # stream chunking varies from run to run: one output per stream
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                           nbformat.v4.new_output("stream", name="stdout", text="b\n")]
    assert demo.committed_form(nb).cells[1].outputs == [nbformat.v4.new_output("stream", name="stdout",
                                                                               text="a\nb\n")]


def test_report_lists_this_runs_files_and_failures(tmp_path: Path) -> None:
    ok = demo.NotebookResult("01-quickstart", tmp_path / "01-quickstart.ipynb", 3.2,
                             html=tmp_path / "01-quickstart.html")
    bad = demo.NotebookResult("02-compare-variants", tmp_path / "02-compare-variants.ipynb", 1.0,
                              error="code cell 3 (cell 5 of 9): %%runway ...\n    UsageError: --ratio", failed_cell=4)
    media = [tmp_path / "runway_outputs" / f"t{i}_0.mp4" for i in range(35)]
    result = demo.DemoResult(tmp_path, "the built-in simulator", [ok, bad], media, seconds=9.0, older_media=4)
    text = demo.report(result)
    assert "2 notebook(s) on the built-in simulator: 1 of 2 FAILED in 9.0 s." in text
    assert f"  {ok.path}  [ok, 3.2 s]" in text and f"  {bad.path}  [FAILED, 1.0 s]" in text
    assert f"  {ok.html}" in text
    assert "Media files (35," in text and f"  {media[29]}" in text and f"  {media[30]}" not in text
    assert "... and 5 more" in text and "4 older media file(s)" in text
    assert "FAILED 02-compare-variants: code cell 3 (cell 5 of 9)" in text and "UsageError: --ratio" in text


def test_media_facts(tmp_path: Path) -> None:
    from runway_nb.sim.media import render_image, render_video

    (tmp_path / "a.png").write_bytes(render_image(640, 360, prompt="p", model="gen4_image", seed=1))
    (tmp_path / "b.mp4").write_bytes(render_video(320, 240, 2, prompt="p", model="gen4.5", seed=1))
    assert demo.media_facts(tmp_path / "a.png") == "image 640x360"
    assert demo.media_facts(tmp_path / "b.mp4") == "video 320x240, 2.0 s"


def test_cli_registers_demo() -> None:
    from runway_nb.cli import COMMANDS, build_parser

    assert "demo" in COMMANDS
    args = build_parser().parse_args(["demo", "--only", "01", "--out", "x", "--ratio", "1:1"])
    assert args.only == ["01"] and args.out == Path("x") and args.ratio == "1:1" and not args.allow_runway


@pytest.mark.parametrize(("argv", "flag"), [(["demo", "--speed"], "--speed"), (["demo", "--timeout"], "--timeout"),
                                           (["serve", "--sim-speed"], "--sim-speed")])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "fast"])
def test_speeds_and_timeouts_must_be_finite_numbers_above_0(argv: list[str], flag: str, value: str, capsys) -> None:
    from runway_nb.cli import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*argv, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {value!r}" in err
    assert ("not a number" if value == "fast" else "not a finite number above 0") in err
    assert build_parser().parse_args([*argv, "2.5"]) is not None


# ---------------------------------------------------------------------- the sample image
def test_sample_image_is_small_and_matches_its_script() -> None:
    from runway_nb.data import sample_image

    path = sample_image()
    assert path.is_file() and path.stat().st_size < 60_000
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "make_sample_image.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sample_image_ships_in_the_wheel(tmp_path: Path) -> None:
    """hatch puts everything inside the package into the wheel: check the built file list."""
    from hatchling.builders.wheel import WheelBuilder

    builder = WheelBuilder(str(REPO))
    shipped = {f.distribution_path for f in builder.recurse_included_files()}
    assert "runway_nb/data/lighthouse.png" in shipped
    assert "runway_nb/data/__init__.py" in shipped and "runway_nb/notebook/demo.py" in shipped


def test_binder_files() -> None:
    reqs = [line.split("#")[0].strip() for line in (REPO / "binder" / "requirements.txt").read_text().splitlines()]
    reqs = [r for r in reqs if r]
    assert "." in reqs  # the repository itself
    assert any(r.startswith("jupyterlab") for r in reqs) and any(r.startswith("anywidget") for r in reqs)
    start = REPO / "binder" / "start"
    assert os.access(start, os.X_OK) and 'exec "$@"' in start.read_text()
    assert re.fullmatch(r"python-3\.\d+\s*", (REPO / "binder" / "runtime.txt").read_text())
    readme = (REPO / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme and "urlpath=lab%2Ftree%2Fnotebooks%2F01-quickstart.ipynb" in readme
    check = REPO / ".ci" / "binder-check"
    assert os.access(check, os.X_OK)
    assert "binder-check" in (REPO / ".ci" / "run").read_text()
    json.dumps(reqs)


# ---------------------------------------------------------------------- after a fresh install
def test_open_hint_only_suggests_what_works_here(tmp_path: Path) -> None:
    out = tmp_path / "demo out"
    quoted = f"'{out}'"
    everything = demo.open_hint(out, has_module=lambda m: True, which=lambda c: f"/usr/bin/{c}")
    assert everything == f"open with: jupyter lab {quoted}"
    # JupyterLab in this Python but its script not on PATH: run it through this Python
    off_path = demo.open_hint(out, has_module=lambda m: m == "jupyterlab", which=lambda c: None)
    assert off_path == f"open with: {sys.executable} -m jupyterlab {quoted}"
    notebook_only = demo.open_hint(out, has_module=lambda m: m == "notebook", which=lambda c: f"/bin/{c}")
    assert notebook_only == f"open with: jupyter notebook {quoted}"
    # the documented install (pip install runway-nb) brings no notebook server: say how to get one
    bare = demo.open_hint(out, has_module=lambda m: False, which=lambda c: None)
    assert bare.startswith("to open them, install JupyterLab: ") and "-m pip install jupyterlab" in bare
    assert bare.endswith(f"then: jupyter lab {quoted}")
    result = demo.DemoResult(out, "the built-in simulator")
    assert f"Executed notebooks ({demo.open_hint(out)}):" in demo.report(result)


def test_notebook_dir_falls_back_to_the_lessons_in_the_package(monkeypatch, tmp_path: Path) -> None:
    """Installed from a wheel there is no checkout around the package: the shipped copies are used."""
    lessons = tmp_path / "site-packages" / "runway_nb" / "lessons"
    lessons.mkdir(parents=True)
    (lessons / "01-quickstart.ipynb").write_text("{}")
    monkeypatch.setattr(demo, "__file__", str(tmp_path / "site-packages" / "runway_nb" / "notebook" / "demo.py"))
    monkeypatch.chdir(tmp_path)
    assert demo.packaged_lessons() == lessons.resolve()
    assert demo.notebook_dir() == lessons.resolve()
    (lessons / "01-quickstart.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="runway_nb/lessons"):
        demo.notebook_dir()


def test_html_export_finds_nbconvert_templates_outside_this_prefix(tmp_path: Path) -> None:
    """In a venv made with --system-site-packages, nbconvert's templates sit beside the base Python,
    off Jupyter's data path: the export still finds them. Run in its own process, because nbconvert
    caches the template paths it saw, and an empty path would leak into later exports."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hello there")])
    nbformat.write(nb, tmp_path / "n.ipynb")
    script = f"""
import jupyter_core.paths
from pathlib import Path
jupyter_core.paths.jupyter_path = lambda *parts: [{str(tmp_path / "empty")!r}]
from runway_nb.notebook import demo
assert demo._nbconvert_templates_off_path(), "nbconvert's own folder should now be off the path"
html, note = demo.export_html(Path({str(tmp_path / "n.ipynb")!r}))
assert note is None, note
print(html)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    html = Path(done.stdout.strip())
    assert "Hello there" in html.read_text()

"""The demo notebooks, run headlessly: ``runway-nb demo``; and small helpers the notebooks use.

``runway-nb demo`` executes the demo notebooks (``notebooks/`` of a source checkout, or the copies
an installed wheel ships in ``runway_nb/lessons/``) top to bottom with nbclient, each in a fresh
kernel of this Python, on the built-in simulator (no key, no network, no credits), and writes
into one folder (default ``./runway-demo/``):

- the executed notebooks (``01-quickstart.ipynb`` ...), trusted, with their results;
- an HTML export of each (the results show as static HTML: the widget embed would need a CDN);
- the generated media, in ``runway_outputs/`` (the notebooks save what they make there).

It prints where everything is, and exits non-zero naming the cell when a notebook fails. The
quickstart's text-to-image cell (tagged ``runway-demo-prompt``) takes ``--prompt``, ``--model``
and ``--ratio``. With a Runway key in the environment the demo still runs on the simulator
(the key is kept from the kernels) unless ``--allow-runway`` is given.

For maintainers: ``python -m runway_nb.notebook.demo --refresh`` re-executes the notebooks and writes them
back in their committed form: outputs only in cells marked ``# NBVAL_CHECK_OUTPUT`` (what
``pytest --nbval-lax`` compares), no execution counts, no widget state.
"""

from __future__ import annotations

import argparse
import copy
import functools
import math
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ARGUMENTS",
    "CHECK_MARKER",
    "KEY_ENV_VARS",
    "NOTEBOOKS",
    "PROMPT_TAG",
    "DemoOptions",
    "NotebookResult",
    "add_arguments",
    "committed_form",
    "find_notebooks",
    "main",
    "media_facts",
    "missing_runner_modules",
    "notebook_dir",
    "open_hint",
    "packaged_lessons",
    "positive_number",
    "run_demo",
    "run_from_args",
]

NOTEBOOKS = ("01-quickstart", "02-compare-variants", "03-image-to-video", "04-how-tasks-work", "05-python-api",
             "06-audio", "07-workflows-and-routing")
PROMPT_TAG = "runway-demo-prompt"  # the quickstart cell that --prompt/--model/--ratio rewrite
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
DEFAULT_OUT = "runway-demo"
DEFAULT_SPEED = 20.0
MEDIA_DIR = "runway_outputs"
MEDIA_SUFFIXES = (".mp4", ".webm", ".mov", ".png", ".jpg", ".jpeg", ".webp", ".gif")
# Environment that would send the kernels to Runway or another provider, or slow the simulator.
KEY_ENV_VARS = ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAYML_BASE_URL", "RUNWAY_NB_PROVIDER",
                "COMETAPI_KEY", "USEAPI_TOKEN", "MAKEVID_API_KEY")
_KERNEL_NAME = ":runway-nb-this-python"


# ---------------------------------------------------------------------------------------
# helpers for the notebooks
# ---------------------------------------------------------------------------------------

def media_facts(path: str | os.PathLike[str]) -> str:
    """What a saved output holds: ``"image 1920x1080"`` or ``"video 1280x720, 5.0 s"``."""
    path = Path(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return f"image {img.width}x{img.height}"
    except UnidentifiedImageError:
        pass
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            return f"{path.suffix.lstrip('.') or 'file'} without a video stream"
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = (container.duration or 0) / 1_000_000
        return f"video {stream.codec_context.width}x{stream.codec_context.height}, {seconds:.1f} s"


# ---------------------------------------------------------------------------------------
# finding the notebooks
# ---------------------------------------------------------------------------------------

def packaged_lessons() -> Path:
    """Where an installed wheel keeps its copies of the demo notebooks (pyproject's force-include)."""
    return Path(__file__).resolve().parents[1] / "lessons"


def notebook_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the demo notebooks: ``given``, else ``notebooks/`` of this source checkout
    (edited there, so a checkout runs its own), else the copies shipped in the installed package,
    else ``notebooks/`` of the working directory.

    Raises FileNotFoundError saying where it looked when none holds them.
    """
    candidates = [Path(given)] if given else [Path(__file__).resolve().parents[2] / "notebooks",
                                              packaged_lessons(), Path.cwd() / "notebooks"]
    for folder in candidates:
        if (folder / f"{NOTEBOOKS[0]}.ipynb").is_file():
            return folder.resolve()
    where = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"the demo notebooks were not found (looked in {where}). They ship inside the "
                            f"runway-nb package (runway_nb/lessons/) and in the source repository's notebooks/: "
                            f"reinstall runway-nb, or clone the repository and run `pip install -e . && runway-nb "
                            f"demo` there, or give --notebooks DIR.")


def find_notebooks(folder: Path, only: Sequence[str] | None = None) -> list[Path]:
    """The demo notebooks in ``folder`` in order; ``only`` keeps those whose name starts with
    (or contains) one of its words, e.g. ``["01"]`` or ``["quickstart", "04"]``."""
    paths = [folder / f"{name}.ipynb" for name in NOTEBOOKS if (folder / f"{name}.ipynb").is_file()]
    if not only:
        return paths
    chosen: list[Path] = []
    for word in only:
        word = word.strip().lower().removesuffix(".ipynb")
        if not word:
            continue
        hits = [p for p in paths if p.stem.lower().startswith(word)] or [p for p in paths if word in p.stem.lower()]
        if not hits:
            raise ValueError(f"--only {word!r} matches no demo notebook; they are: {', '.join(p.stem for p in paths)}")
        chosen.extend(h for h in hits if h not in chosen)
    return [p for p in paths if p in chosen]


# ---------------------------------------------------------------------------------------
# the quickstart's parameters
# ---------------------------------------------------------------------------------------

def _option_re(name: str) -> re.Pattern[str]:
    return re.compile(rf"(\s)(--{name}|-{name[0]})(\s+|=)(\"[^\"]*\"|'[^']*'|\S+)")


def apply_prompt_options(nb: Any, prompt: str | None = None, model: str | None = None,
                         ratio: str | None = None) -> bool:
    """Rewrite the quickstart's ``%%runway`` cell tagged ``runway-demo-prompt`` in place.

    ``model`` without ``ratio`` drops the cell's ``--ratio`` (the model's default ratio applies).
    Returns whether a tagged cell was found.
    """
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or PROMPT_TAG not in (cell.get("metadata", {}).get("tags") or []):
            continue
        first, _, body = cell.source.partition("\n")
        if model:
            first = _option_re("model").sub(lambda m: f"{m.group(1)}--model {shlex.quote(model)}", first, count=1)
            if not ratio:
                first = _option_re("ratio").sub("", first, count=1)
        if ratio:
            if _option_re("ratio").search(first):
                first = _option_re("ratio").sub(lambda m: f"{m.group(1)}--ratio {shlex.quote(ratio)}", first, count=1)
            else:
                first += f" --ratio {shlex.quote(ratio)}"
        if prompt:
            body = prompt.replace("\r\n", "\n").strip()
        cell.source = first + "\n" + body
        return True
    return False


def check_prompt_options(prompt: str | None, model: str | None, ratio: str | None,
                         default_model: str = "gen4_image") -> str | None:
    """Why the quickstart cell would refuse these values (the catalog's words), or None."""
    if not (prompt or model or ratio):
        return None
    from runway_nb.notebook.sweep import plan

    combo: dict[str, Any] = {"prompt": prompt or "a test prompt", "model": model or default_model}
    if ratio:
        combo["ratio"] = ratio
    _, problems = plan([combo])
    if problems:
        return str(problems[0][1])
    return None


# ---------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------

@dataclass
class DemoOptions:
    out: Path = Path(DEFAULT_OUT)
    notebooks: Path | None = None
    only: Sequence[str] = ()
    prompt: str | None = None
    model: str | None = None
    ratio: str | None = None
    speed: float = DEFAULT_SPEED
    timeout: float = 300.0
    html: bool = True
    allow_runway: bool = False


@dataclass
class NotebookResult:
    name: str
    path: Path  # the executed notebook
    seconds: float
    html: Path | None = None
    error: str | None = None  # what failed, naming the cell
    failed_cell: int | None = None  # index among all cells
    html_note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DemoResult:
    out: Path
    backend: str
    results: list[NotebookResult] = field(default_factory=list)
    media: list[Path] = field(default_factory=list)  # written by this run
    older_media: int = 0  # left in the folder by earlier runs
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def keys_in_env(env: Mapping[str, str] | None = None) -> list[str]:
    found = os.environ if env is None else env
    return [name for name in KEY_ENV_VARS if found.get(name, "").strip()]


def kernel_env(options: DemoOptions, base: dict[str, str] | None = None) -> dict[str, str]:
    """The kernels' environment: keys removed unless ``allow_runway``, the simulator's demo speed set."""
    env = dict(os.environ if base is None else base)
    if not options.allow_runway:
        for name in KEY_ENV_VARS:
            env.pop(name, None)
    env["RUNWAY_NB_SIM_SPEED"] = f"{options.speed:g}"
    env.pop("RUNWAY_NB_OUTPUTS", None)  # the lessons keep their media beside them, where the demo says
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _kernel_manager() -> Any:
    """A kernel manager whose kernel is this Python (the one runway-nb is installed in)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> Any:
            if kernel_name == _KERNEL_NAME:
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                              **ipykernel.kernelspec.get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    return KernelManager(kernel_name=_KERNEL_NAME, kernel_spec_manager=ThisPython())


def _cell_error(nb: Any, exc: BaseException) -> tuple[int | None, str]:
    """(index, text) of the failing cell: the first code cell with an error output, else the
    first one left unexecuted after executed ones."""
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, f"{out.get('ename')}: {out.get('evalue')}"
    kind = type(exc).__name__
    text = str(exc).strip().splitlines()
    detail = next((line for line in reversed(text) if line.strip()), "") if text else ""
    code_cells = [i for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
    ran = [i for i in code_cells if nb.cells[i].get("execution_count")]
    pending = [i for i in code_cells if not nb.cells[i].get("execution_count")]
    index = pending[0] if pending and ran else (ran[-1] if ran else None)
    return index, f"{kind}: {detail}" if detail else kind


def _describe_cell(nb: Any, index: int | None) -> str:
    if index is None:
        return "before the first cell"
    code_cells = [i for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
    number = code_cells.index(index) + 1 if index in code_cells else index + 1
    first = next((line for line in nb.cells[index].source.splitlines() if line.strip()), "")
    if len(first) > 70:
        first = first[:69] + "…"
    return f"code cell {number} (cell {index + 1} of {len(nb.cells)}): {first}"


def _read_notebook(path: Path) -> Any:
    """``nbformat.read`` as version 4: a NotebookNode (JSON-like, hence ``Any``)."""
    import nbformat

    read: Callable[..., Any] = nbformat.read  # nbformat has no annotations
    return read(path, as_version=4)


def _write_notebook(nb: Any, path: Path) -> None:
    import nbformat

    write: Callable[..., None] = nbformat.write  # nbformat has no annotations
    write(nb, path)


def execute_notebook(source: Path, dest: Path, options: DemoOptions, *, env: dict[str, str],
                     log: Any = None, edit: Any = None) -> NotebookResult:
    """Execute ``source`` in a fresh kernel with the working directory ``dest.parent``; write the
    executed notebook (even a failed one) to ``dest``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = _read_notebook(source)
    if edit is not None:
        edit(nb)
    workdir = dest.parent
    client = NotebookClient(nb, timeout=options.timeout, km=_kernel_manager(), allow_errors=False,
                            record_timing=False, resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    error = failed = None
    launch: dict[str, Any] = {"env": env, "cwd": str(workdir)}
    if log is not None:
        launch.update(stdout=log, stderr=log)
    try:
        client.execute(**launch)
    except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError, OSError) as exc:
        failed, text = _cell_error(nb, exc)
        where = _describe_cell(nb, failed)
        if isinstance(exc, CellTimeoutError):
            text = f"timed out after {options.timeout:g} s"
        error = f"{where}\n    {text}"
    seconds = time.monotonic() - started
    _strip_widget_state(nb)
    _write_notebook(nb, dest)
    _trust(dest)
    return NotebookResult(source.stem, dest, seconds, error=error, failed_cell=failed)


def _strip_widget_state(nb: Any) -> None:
    """Drop saved widget state when no output shows a widget any more (a headless run leaves
    every result as static HTML): the state of closed views only weighs the file down."""
    mime = "application/vnd.jupyter.widget-view+json"
    if not any(mime in (out.get("data") or {}) for cell in nb.cells for out in cell.get("outputs", [])):
        nb.metadata.pop("widgets", None)


def _trust(path: Path) -> None:
    """Sign the executed notebook (as ``jupyter trust`` does): the user just ran it."""
    try:
        from nbformat.sign import NotebookNotary

        notary: Any = NotebookNotary  # nbformat has no annotations
        notary().sign(_read_notebook(path))
    except Exception:  # trust is a convenience; the notebook opens either way
        pass


def _nbconvert_templates_off_path() -> list[str]:
    """nbconvert's own templates when Jupyter's data path misses them. It looks under this
    environment's ``share/jupyter``; in a venv made with ``--system-site-packages`` nbconvert may
    come from the base Python, its templates beside that one."""
    import nbconvert
    from jupyter_core.paths import jupyter_path

    searched = {Path(p).resolve() for p in jupyter_path("nbconvert", "templates")}
    found = [parent / "share" / "jupyter" / "nbconvert" / "templates"
             for parent in Path(nbconvert.__file__).resolve().parents]
    return [str(t) for t in found if t.is_dir() and t.resolve() not in searched]


def export_html(notebook: Path) -> tuple[Path | None, str | None]:
    """``notebook`` as HTML beside it. Offline the widget embed script cannot load, so the
    results show through their static HTML outputs (which every runway-nb result has)."""
    try:
        from nbconvert import HTMLExporter
    except ImportError as exc:  # a dependency of runway-nb, so only in a broken environment
        return None, f"no HTML export: nbconvert cannot be imported ({exc}); install it with: " \
                     f"{shlex.quote(sys.executable)} -m pip install nbconvert"
    try:
        exporter: Any = HTMLExporter  # nbconvert has no annotations
        extra = _nbconvert_templates_off_path()
        nb = _read_notebook(notebook)
        body, _ = exporter(extra_template_basedirs=extra, extra_template_paths=extra).from_notebook_node(
            nb, resources={"metadata": {"name": notebook.stem}})
    except Exception as exc:  # the notebooks are the main product; HTML is extra
        return None, f"no HTML export for {notebook.name}: {type(exc).__name__}: {exc}"
    html_path = notebook.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return html_path, None


def media_files(out: Path, since: float | None = None) -> list[Path]:
    """Images and videos under ``out/runway_outputs``; with ``since`` (a ``time.time()``), only
    those written since then."""
    folder = out / MEDIA_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES
                  and (since is None or p.stat().st_mtime >= since))


def run_demo(options: DemoOptions, *, progress: Any = None) -> DemoResult:
    """Run the chosen notebooks into ``options.out``; one progress line per notebook goes to
    ``progress`` (a text stream; None: quiet)."""
    folder = notebook_dir(options.notebooks)
    chosen = find_notebooks(folder, options.only)
    if not chosen:
        raise FileNotFoundError(f"no demo notebooks in {folder}")
    out = options.out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = kernel_env(options)
    runway = options.allow_runway and bool(keys_in_env(env))
    backend = "Runway (your key: this spends credits)" if runway else \
        f"the built-in simulator ({options.speed:g}x clock, offline, no credits)"
    result = DemoResult(out, backend)
    started = time.monotonic()
    started_wall = time.time() - 1.0  # file times may be coarse
    edit: Callable[[Any], Any] | None = None
    if options.prompt or options.model or options.ratio:
        edit = functools.partial(apply_prompt_options, prompt=options.prompt, model=options.model,
                                 ratio=options.ratio)
    log_path = out / "kernels.log"
    with open(log_path, "ab") as log:
        for source in chosen:
            if progress is not None:
                progress.write(f"runway-nb demo: running {source.name} ...")
                progress.flush()
            dest = out / source.name
            res = execute_notebook(source, dest, options, env=env, log=log,
                                   edit=edit if source.stem == NOTEBOOKS[0] else None)
            if options.html:
                res.html, res.html_note = export_html(dest)
            result.results.append(res)
            if progress is not None:
                progress.write(f" {'ok' if res.ok else 'FAILED'} ({res.seconds:.1f} s)\n")
                progress.flush()
    result.media = media_files(out, since=started_wall)
    result.older_media = len(media_files(out)) - len(result.media)
    result.seconds = time.monotonic() - started
    return result


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def open_hint(out: Path, *, has_module: Callable[[str], bool] = _has_module,
              which: Callable[[str], str | None] | None = None) -> str:
    """How to open the executed notebooks, with a command that works here: JupyterLab or Notebook
    when this Python has one (as ``jupyter lab`` when that is on PATH, else ``python -m``), else
    how to install JupyterLab first (runway-nb itself does not install a notebook server)."""
    import shutil

    find = which or shutil.which
    folder = shlex.quote(str(out))
    python = shlex.quote(sys.executable)
    for module, subcommand in (("jupyterlab", "lab"), ("notebook", "notebook")):
        if has_module(module):
            if find(f"jupyter-{subcommand}"):
                return f"open with: jupyter {subcommand} {folder}"
            return f"open with: {python} -m {module} {folder}"
    return f"to open them, install JupyterLab: {python} -m pip install jupyterlab; then: jupyter lab {folder}"


def report(result: DemoResult, *, limit: int = 30) -> str:
    """The closing summary: where the executed notebooks, the HTML and the media are."""
    out = result.out
    lines = [""]
    ran = len(result.results)
    failed = [r for r in result.results if not r.ok]
    verdict = "all ran" if not failed else f"{len(failed)} of {ran} FAILED"
    lines.append(f"runway-nb demo: {ran} notebook(s) on {result.backend}: {verdict} in {result.seconds:.1f} s.")
    lines.append(f"Everything is in {out}{os.sep}")
    lines.append("")
    lines.append(f"Executed notebooks ({open_hint(out)}):")
    for r in result.results:
        lines.append(f"  {r.path}  [{'ok' if r.ok else 'FAILED'}, {r.seconds:.1f} s]")
    htmls = [r.html for r in result.results if r.html is not None]
    notes = [r.html_note for r in result.results if r.html_note]
    if htmls:
        lines.append("")
        lines.append("HTML (open in a browser; media play from runway_outputs/ beside them):")
        lines.extend(f"  {p}" for p in htmls)
    for note in dict.fromkeys(notes):
        lines.append(f"  ({note})")
    lines.append("")
    if result.media:
        lines.append(f"Media files ({len(result.media)}, in {out / MEDIA_DIR}{os.sep}):")
        for p in result.media[:limit]:
            lines.append(f"  {p}")
        if len(result.media) > limit:
            lines.append(f"  ... and {len(result.media) - limit} more in {out / MEDIA_DIR}")
    else:
        lines.append("Media files: none were saved.")
    if result.older_media:
        lines.append(f"  ({result.older_media} older media file(s) from earlier runs are in the same folder)")
    if failed:
        lines.append("")
        for r in failed:
            lines.append(f"FAILED {r.name}: {r.error}")
            lines.append(f"  the executed notebook shows the error: {r.path}")
        lines.append(f"  kernel logs: {out / 'kernels.log'}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# the committed form of the notebooks (maintainers)
# ---------------------------------------------------------------------------------------

def _checked(cell: Any) -> bool:
    return any(line.strip() == CHECK_MARKER for line in cell.source.splitlines())


def committed_form(nb: Any) -> Any:
    """A copy of ``nb`` as it is committed: outputs only in ``# NBVAL_CHECK_OUTPUT`` cells (the
    reference ``pytest --nbval-lax`` compares with), no widget state, no per-cell execution
    metadata. Execution counts only where nbval needs one (it skips a reference cell without
    one): the cell's position among the code cells, so they never change from run to run."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    position = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.get("cell_type") != "code":
            continue
        position += 1
        if not _checked(cell):
            cell.execution_count = None
            cell.outputs = []
            continue
        cell.execution_count = position
        merged: list[Any] = []
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = position
            if isinstance(out.get("metadata"), dict):
                out["metadata"].clear()
            if out.get("output_type") == "stream":  # one output per stream: chunking varies by run
                text = out.get("text", "")
                out["text"] = "".join(text) if isinstance(text, list) else text
                last = merged[-1] if merged else None
                if last is not None and last.get("output_type") == "stream" and last.get("name") == out.get("name"):
                    last["text"] += out["text"]
                    continue
            merged.append(out)
        cell.outputs = merged
    return nb


def refresh_committed(folder: Path, only: Sequence[str] | None = None, *, speed: float = DEFAULT_SPEED) -> int:
    """Execute the notebooks in a temporary folder and write them back in committed form."""
    import nbformat

    status = 0
    options = DemoOptions(speed=speed, html=False)
    env = kernel_env(options)
    for source in find_notebooks(folder, only):
        with tempfile.TemporaryDirectory(prefix="runway-nb-refresh-") as tmp:
            dest = Path(tmp) / source.name
            with open(os.devnull, "wb") as devnull:
                res = execute_notebook(source, dest, options, env=env, log=devnull)
            if not res.ok:
                print(f"{source.name}: FAILED, not rewritten: {res.error}", file=sys.stderr)
                status = 1
                continue
            nb = committed_form(_read_notebook(dest))
        nbformat.validate(nb)
        _write_notebook(nb, source)
        print(f"{source.name}: refreshed ({res.seconds:.1f} s)")
    return status


# ---------------------------------------------------------------------------------------
# command line (runway-nb demo; python -m runway_nb.notebook.demo)
# ---------------------------------------------------------------------------------------

def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0 (the command line's ``serve --sim-speed`` takes it too)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number above 0")
    return value


# ``runway-nb demo``'s options, as (flags, add_argument keywords); runway_nb.cli registers them.
ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--out", "-o"), dict(type=Path, default=Path(DEFAULT_OUT), metavar="DIR",
                           help=f"folder for the executed notebooks, HTML and media (default ./{DEFAULT_OUT}/)")),
    (("--only",), dict(action="append", metavar="NAME",
                       help="run only these notebooks, by number or name (01, quickstart; repeatable or "
                            "comma-separated)")),
    (("--prompt",), dict(help="the quickstart's text-to-image prompt")),
    (("--model",), dict(help="the quickstart's text-to-image model (default gen4_image)")),
    (("--ratio",), dict(help="the quickstart's text-to-image ratio (default 1920:1080, or the model's "
                             "default when --model is given)")),
    (("--speed",), dict(type=positive_number, default=DEFAULT_SPEED,
                        help=f"simulator clock speed (default {DEFAULT_SPEED:g}x real time)")),
    (("--timeout",), dict(type=positive_number, default=300.0, help="seconds one cell may take (default 300)")),
    (("--no-html",), dict(action="store_true", help="skip the HTML export")),
    (("--notebooks",), dict(type=Path, metavar="DIR",
                            help="where the demo notebooks are (default: notebooks/ of a source checkout, "
                                 "else the copies installed with the package)")),
    (("--allow-runway",), dict(action="store_true",
                               help="with RUNWAYML_API_SECRET set, run the notebooks against Runway (spends "
                                    "credits); without this flag the demo always uses the simulator")),
    (("--list",), dict(action="store_true", help="list the demo notebooks and exit")),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``runway-nb demo``'s options to ``parser``."""
    for flags, options in ARGUMENTS:
        parser.add_argument(*flags, **options)


# What running the notebooks needs (nbconvert, for the HTML, is a dependency too, but the
# notebooks are worth running without it).
RUNNER_MODULES = {"nbformat": "nbformat", "nbclient": "nbclient", "jupyter_client": "jupyter_client",
                  "ipykernel": "ipykernel"}


def missing_runner_modules() -> list[str]:
    """The pip names of what ``runway-nb demo`` needs and cannot import."""
    import importlib.util

    return [pip for module, pip in RUNNER_MODULES.items() if importlib.util.find_spec(module) is None]


def run_from_args(args: argparse.Namespace) -> int:
    """``runway-nb demo``: exit 0 when every notebook ran, 1 when one failed, 2 on bad usage."""
    only = [w for item in (args.only or []) for w in item.split(",") if w.strip()]
    try:
        folder = notebook_dir(args.notebooks)
        chosen = find_notebooks(folder, only)
    except (FileNotFoundError, ValueError) as exc:
        print(f"runway-nb demo: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for path in chosen:
            print(path)
        return 0
    missing = missing_runner_modules()
    if missing:
        verb, them = ("is", "it") if len(missing) == 1 else ("are", "them")
        print(f"runway-nb demo: running notebooks needs {', '.join(missing)}, which {verb} not installed. "
              f"Install {them} with:\n"
              f"  {shlex.quote(sys.executable)} -m pip install {' '.join(missing)}\n"
              f"(they are dependencies of runway-nb: reinstalling it brings them)", file=sys.stderr)
        return 2
    problem = check_prompt_options(args.prompt, args.model, args.ratio)
    if problem:
        print(f"runway-nb demo: the quickstart cannot use these options: {problem}", file=sys.stderr)
        return 2
    if (args.prompt or args.model or args.ratio) and NOTEBOOKS[0] not in {p.stem for p in chosen}:
        print("runway-nb demo: note: --prompt/--model/--ratio apply to the quickstart, which is not being run",
              file=sys.stderr)
    keys = keys_in_env()
    if keys and not args.allow_runway:
        print(f"runway-nb demo: {', '.join(keys)} {'is' if len(keys) == 1 else 'are'} set, but the demo runs on "
              f"the built-in simulator (no credits spent): the notebooks' kernels do not get "
              f"{'it' if len(keys) == 1 else 'them'}. Add --allow-runway to run them against Runway instead.",
              file=sys.stderr)
    elif args.allow_runway and keys:
        print("runway-nb demo: --allow-runway: the notebooks run against Runway with your key and spend credits "
              "(all of them: about 1,200).", file=sys.stderr)
    elif args.allow_runway:
        print("runway-nb demo: --allow-runway given, but no key is set: running on the simulator.", file=sys.stderr)
    options = DemoOptions(out=args.out, notebooks=folder, only=only, prompt=args.prompt, model=args.model,
                          ratio=args.ratio, speed=args.speed, timeout=args.timeout, html=not args.no_html,
                          allow_runway=args.allow_runway)
    result = run_demo(options, progress=sys.stdout)
    print(report(result), flush=True)
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runway_nb.notebook.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--refresh", action="store_true",
                        help="maintainers: re-execute the notebooks and write them back in committed form")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.refresh:
        only = [w for item in (args.only or []) for w in item.split(",") if w.strip()]
        return refresh_committed(notebook_dir(args.notebooks), only, speed=args.speed)
    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())

"""Browser tests: JupyterLab in a temporary home, driven by Playwright with Debian's Chromium.

- ``lab`` (session): a JupyterLab server on a free loopback port, with its own
  JUPYTER_CONFIG/DATA/RUNTIME dirs, IPython dir and an ``overrides.json`` (no news toast, widget
  state not saved: the default most users have, so durable output must not depend on it), and
  runway-nb's server extension enabled as an install enables it. ``start_lab``/``stop_lab``
  start others (saved widget state, Notebook 7).
  Kernels import this checkout (PYTHONPATH) and use the in-process simulator at 10x speed.
- ``browser`` (module): headless Chromium (never ``playwright install``: see
  shared/reference/browser-testing.md).
- ``page``: a fresh browser context per test; a screenshot is saved under
  ``test-artifacts/`` when the test ends, and every status a TaskView shows is recorded in
  ``window.__rnbStatuses`` (``"RUNNING"`` from the widget, ``"static:SUCCEEDED"`` from static
  HTML): a widget may be replaced by its static output quickly.
- Helpers: ``write_notebook``, ``open_notebook``, ``run_all``, ``run_cell``, ``cell_output_text``.

Skipped when Chromium or Playwright is missing. Marker: ``browser``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("RUNWAY_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]

# Records every status a TaskView or a static result shows, even briefly.
STATUS_RECORDER = """
window.__rnbStatuses = [];
const record = (node) => {
  if (!(node instanceof Element)) return;
  const nodes = [node, ...node.querySelectorAll('[data-status],[data-rnb-status]')];
  for (const n of nodes) {
    // "RUNNING" from the live widget (data-status), "static:RUNNING" from static HTML
    const w = n.getAttribute('data-status');
    const st = n.getAttribute('data-rnb-status');
    const s = w || (st ? 'static:' + st : null);
    if (s && window.__rnbStatuses[window.__rnbStatuses.length - 1] !== s) window.__rnbStatuses.push(s);
  }
};
new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === 'attributes') record(r.target);
    for (const n of r.addedNodes || []) record(n);
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['data-status', 'data-rnb-status']});
"""


class Lab:
    def __init__(self, url: str, root: Path, proc: subprocess.Popen, log: Path):
        self.url = url
        self.root = root
        self.proc = proc
        self.log = log

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset"


def start_lab(home: Path, *, save_state: bool = False, app: str = "jupyterlab",
              extra_env: dict[str, str] | None = None, theme: str | None = None) -> Lab:
    """A Jupyter server (``app``: ``jupyterlab`` or ``notebook`` for Notebook 7) in ``home``, with
    runway-nb's server extension enabled the way an installed runway-nb enables it (its config file
    in ``jupyter_server_config.d``); stop it with :func:`stop_lab`. ``theme``: the name of the theme
    its pages open in (e.g. ``"JupyterLab Dark"``; default: JupyterLab's light theme)."""
    root = home / "notebooks"
    root.mkdir()
    dirs = {name: home / name for name in ("config", "data", "runtime", "ipython", "app-settings",
                                            "user-settings", "workspaces")}
    for d in dirs.values():
        d.mkdir()
    (dirs["config"] / "jupyter_server_config.d").mkdir()
    (dirs["config"] / "jupyter_server_config.d" / "runway_nb.json").write_bytes(
        (REPO / "jupyter-config" / "jupyter_server_config.d" / "runway_nb.json").read_bytes())
    overrides: dict[str, Any] = {
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": save_state},
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    if theme is not None:
        overrides["@jupyterlab/apputils-extension:themes"] = {"theme": theme}
    (dirs["app-settings"] / "overrides.json").write_text(json.dumps(overrides))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RUNWAYML_", "RUNWAY_NB_", "COMETAPI_", "USEAPI_", "MAKEVID_"))
           and k not in ("RUNWAY_API_KEY",)}
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               RUNWAY_NB_SIM_SPEED="10")
    env.update(extra_env or {})
    port = free_port()
    log = home / "lab.log"
    settings = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    cmd = [sys.executable, "-m", app, "--no-browser", "--allow-root", "--ServerApp.token=",
           "--ServerApp.password=", "--ip", "127.0.0.1", "--port", str(port), f"--ServerApp.root_dir={root}",
           f"--{settings}.app_settings_dir={dirs['app-settings']}",
           f"--{settings}.user_settings_dir={dirs['user-settings']}",
           f"--{settings}.workspaces_dir={dirs['workspaces']}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/status", proc, log, f"Jupyter ({app})")
    return Lab(url, root, proc, log)


def stop_lab(lab: Lab) -> None:
    stop(lab.proc)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    pytest.importorskip("jupyterlab")
    server = start_lab(tmp_path_factory.mktemp("lab-home"))
    yield server
    stop_lab(server)


@pytest.fixture(scope="session")
def jupyter_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``jupyter_servers(save_state=False, app="jupyterlab", theme=None)``: a server started on first
    use (see :func:`start_lab`), shared by the session, stopped at its end."""
    started: dict[tuple[bool, str, str | None], Lab] = {}

    def get(*, save_state: bool = False, app: str = "jupyterlab", theme: str | None = None) -> Lab:
        key = (save_state, app, theme)
        if key not in started:
            started[key] = start_lab(tmp_path_factory.mktemp(f"{app}-home"), save_state=save_state, app=app,
                                     theme=theme)
        return started[key]

    yield get
    for server in started.values():
        stop_lab(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: while Playwright's sync API is active the main thread has a
    # running asyncio loop, which would break asyncio.run() in the test modules after this one.
    if not Path(CHROMIUM).exists():
        # .ci/run installs Chromium and sets RUNWAY_NB_REQUIRE_TOOLS, so there a missing
        # browser is a failure, never a silent skip.
        if os.environ.get("RUNWAY_NB_REQUIRE_TOOLS"):
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    context.add_init_script(STATUS_RECORDER)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    console: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console",
          lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
    pg.errors = errors  # type: ignore[attr-defined]
    pg.console_problems = console  # type: ignore[attr-defined]
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):  # a screenshot is a courtesy
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# ---------------------------------------------------------------------- helpers
def write_notebook(lab: Lab, name: str, cells: list[str]) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = lab.root / name
    nbformat.write(nb, path)
    return path


def wait_idle(page: Any, timeout: float = 60_000) -> None:
    page.locator("text=/\\| Idle/").first.wait_for(timeout=timeout)


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    page.goto(lab.notebook_url(name))
    page.locator(".jp-Notebook").first.wait_for()
    wait_idle(page)


def run_all(page: Any, attempts: int = 4) -> None:
    """Run > Run All Cells, retried until a prompt shows ``[*]`` or a number."""
    for _ in range(attempts):
        wait_idle(page)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = page.get_by_text("Run All Cells", exact=True).locator("visible=true").first
        item.click()
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-InputPrompt')]"
                ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))", timeout=8_000)
            return
        except Exception:  # retry the menu
            page.keyboard.press("Escape")
    raise AssertionError("Run All Cells did not start the notebook")


def run_cell(page: Any, index: int) -> None:
    """Select cell ``index`` and run it (Shift+Enter)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")


def cell_output_text(page: Any, index: int) -> str:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


OUTPUT_MATCHES = ("([i, pattern]) => new RegExp(pattern).test("
                  "document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-OutputArea').innerText)")
PROMPT_OF = "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-InputPrompt').textContent"


def wait_for_output(page: Any, index: int, pattern: str, timeout: float = 30_000) -> str:
    """Wait until cell ``index``'s output matches ``pattern`` (a JS regex source); return the output."""
    page.wait_for_function(OUTPUT_MATCHES, arg=[index, pattern], timeout=timeout)
    return cell_output_text(page, index)


def rerun_cell(page: Any, index: int, pattern: str) -> str:
    """Run cell ``index`` again and return its new output, once its execution count changed and
    the output matches ``pattern`` (a JS regex source)."""
    before = page.evaluate(PROMPT_OF, index)
    run_cell(page, index)
    page.wait_for_function(
        f"([i, before]) => {{ const p = ({PROMPT_OF})(i); return /\\[\\d+\\]/.test(p) && p !== before; }}",
        arg=[index, before], timeout=30_000)
    return wait_for_output(page, index, pattern)


def save_notebook(page: Any) -> None:
    page.locator(".jp-Notebook").first.click()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=10_000)


def shut_down_kernels(page: Any) -> None:
    """What Kernel > Shut Down does, for every kernel, through the REST API (with the page's _xsrf cookie)."""
    page.evaluate("""async () => {
      const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
      const kernels = await (await fetch('/api/kernels')).json();
      for (const k of kernels) await fetch('/api/kernels/' + k.id, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
    }""")
    page.wait_for_function("async () => (await (await fetch('/api/kernels')).json()).length === 0", timeout=20_000)


@pytest.fixture
def nb_tools() -> Any:
    class Tools:
        write = staticmethod(write_notebook)
        open = staticmethod(open_notebook)
        run_all = staticmethod(run_all)
        run_cell = staticmethod(run_cell)
        output_text = staticmethod(cell_output_text)
        wait_for_output = staticmethod(wait_for_output)
        rerun = staticmethod(rerun_cell)
        save = staticmethod(save_notebook)
        idle = staticmethod(wait_idle)
        shut_down_kernels = staticmethod(shut_down_kernels)
    return Tools


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# The Binder quickstart needs a virtual environment built from binder/requirements.txt only;
# .ci/binder-check builds one and runs that test with RUNWAY_NB_BINDER_VENV set. Without it the
# test is not collected (rather than skipped), so the main suite reports no skips.
if not os.environ.get("RUNWAY_NB_BINDER_VENV"):
    collect_ignore = ["test_binder_quickstart.py"]


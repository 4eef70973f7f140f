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
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    cell_output_text,
    open_notebook,
    rerun_cell,
    run_all,
    run_cell,
    wait_for_output,
    wait_idle,
    write_notebook,
)
from servers import REPO, Lab, start_lab, stop_lab

ARTIFACTS = REPO / "test-artifacts"
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


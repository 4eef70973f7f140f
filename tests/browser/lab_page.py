"""Driving a JupyterLab page with Playwright (the browser tests' helpers, and
benchmarks/browser_grid.py's): Debian's Chromium and its flags, writing a notebook, opening it,
running all its cells or one. Needs no pytest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from servers import Lab

CHROMIUM = os.environ.get("RUNWAY_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


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
    """Wait until cell ``index``'s output matches ``pattern`` (a JS regex source); return the output.

    The way to read what a cell printed: the status bar's "Idle" may show between two cells of a
    Run All, before the cell that prints has started."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(OUTPUT_MATCHES, arg=[index, pattern], timeout=timeout)
    except PlaywrightTimeout as exc:  # say what the cell shows instead
        raise AssertionError(f"cell {index}'s output never matched {pattern!r}: "
                             f"{cell_output_text(page, index)!r}") from exc
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

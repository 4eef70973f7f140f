"""Posters in a real browser: the static output of a finished task, with and without its files.

The static HTML of a video task and an image task (the simulator's real media, saved under
``runway_outputs/``) is written as the saved output of an untrusted notebook, so JupyterLab
shows it through its HTML sanitizer, as it does a notebook from elsewhere. Beside the files,
the video plays from the saved file and the full image loads; in a copy of the notebook in a
folder without ``runway_outputs/`` (another machine, a clone of a repository), the video shows
its poster (a non-blank picture of non-zero size). An image shows its preview, linking to the full
file, in both places, and no <img> in the output ever fails to load (no broken-image icon). The
same HTML as a plain page (what nbviewer and nbconvert's HTML show) is checked too.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PROMPT = "a quiet mountain lake at sunset, cinematic"


def _outputs(lab: Any) -> dict[str, str]:
    """The static HTML of a video task and an image task whose files are under ``lab.root``."""
    import os

    from runway_nb import Task
    from runway_nb.notebook import posters
    from runway_nb.notebook.widgets import static_html
    from runway_nb.sim.media import render_image, render_video

    folder = lab.root / "runway_outputs"
    folder.mkdir(exist_ok=True)
    video, image = folder / "pv-1_0.mp4", folder / "pi-1_0.png"
    video.write_bytes(render_video(1280, 720, 2, prompt=PROMPT, model="gen4.5", seed=4))
    image.write_bytes(render_image(1280, 720, prompt=PROMPT, model="gen4_image", seed=4))
    posters.forget()
    old = Path.cwd()
    os.chdir(lab.root)  # relative paths from the notebook's folder, as in its kernel
    try:
        return {
            "video": static_html(Task(id="pv-1", status="SUCCEEDED", outputs=["https://cdn.example/v.mp4"]),
                                 params={"endpoint": "text_to_video", "promptText": PROMPT}, files=[video]),
            "image": static_html(Task(id="pi-1", status="SUCCEEDED", outputs=["https://cdn.example/i.png"]),
                                 params={"endpoint": "text_to_image", "promptText": PROMPT}, files=[image]),
        }
    finally:
        os.chdir(old)


def _write(path: Path, outputs: dict[str, str]) -> None:
    import nbformat

    cells = []
    for name, html in outputs.items():
        cell = nbformat.v4.new_code_cell(f"# the {name} task")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": name})]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)  # unsigned: JupyterLab sanitizes its HTML


def _not_blank(png: bytes) -> float:
    from PIL import Image, ImageStat

    return float(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0])


VIDEO = """(v) => ({ready: v.readyState, w: v.videoWidth, poster: (v.getAttribute('poster') || '').slice(0, 23),
  src: v.currentSrc, error: v.error ? v.error.code : 0,
  box: [v.getBoundingClientRect().width, v.getBoundingClientRect().height]})"""
IMAGES = """(s) => [...document.querySelectorAll(s + ' img')].map(i => ({cls: i.className,
  natural: i.naturalWidth, complete: i.complete, src: i.getAttribute('src').slice(0, 23),
  box: [i.getBoundingClientRect().width, i.getBoundingClientRect().height]}))"""


def _image(page: Any, scope: str) -> tuple[dict[str, Any], int]:
    """The image output's preview, and the HTTP status of its link (the full file)."""
    page.wait_for_function("(s) => [...document.querySelectorAll(s + ' img')].every(i => i.complete)", arg=scope)
    images = page.evaluate(IMAGES, scope)
    assert all(i["natural"] > 0 for i in images), f"an image failed to load (a broken icon): {images}"
    link = page.locator(f"{scope} a.rnb-image").first
    href = link.evaluate("a => a.href")
    status = page.evaluate("(u) => fetch(u).then(r => r.status)", href)
    assert _not_blank(link.screenshot()) > 8
    (poster,) = [i for i in images if i["cls"] == "rnb-poster"]
    return poster, status


def _check_with_files(page: Any, scope: str) -> None:
    video = page.locator(f"{scope} video").first
    video.wait_for()
    video.evaluate("v => v.play().catch(() => {})")
    page.wait_for_function("(s) => { const v = document.querySelector(s + ' video');"
                           " return v && v.readyState >= 2 && v.videoWidth > 0; }", arg=scope)
    facts = video.evaluate(VIDEO)
    assert facts["w"] == 1280 and "runway_outputs/pv-1_0.mp4" in facts["src"]
    assert facts["poster"] == "data:image/jpeg;base64,", "the sanitizer kept the poster"
    poster, status = _image(page, scope)
    assert status == 200, "the link opens the full image"
    assert poster["src"] == "data:image/jpeg;base64," and poster["box"][0] > 300


def _check_without_files(page: Any, scope: str) -> None:
    video = page.locator(f"{scope} video").first
    video.wait_for()
    page.wait_for_function("(s) => { const v = document.querySelector(s + ' video'); return v && v.error; }",
                           arg=scope)
    page.wait_for_timeout(1500)  # Chromium's loading spinner goes once the error is known
    facts = video.evaluate(VIDEO)
    assert facts["ready"] == 0 and facts["poster"] == "data:image/jpeg;base64,"
    assert facts["box"][0] > 100 and facts["box"][1] > 50, facts
    assert _not_blank(video.screenshot()) > 8, "the poster shows a picture, not a blank box"
    poster, status = _image(page, scope)
    assert status == 404, "the full file is not here"
    assert poster["src"] == "data:image/jpeg;base64," and poster["box"][0] > 300


def test_static_output_plays_from_its_files_and_shows_posters_without_them(lab, page, nb_tools):
    outputs = _outputs(lab)
    _write(lab.root / "posters.ipynb", outputs)
    _write(lab.root / "elsewhere" / "posters.ipynb", outputs)  # no runway_outputs/ beside it

    nb_tools.open(page, lab, "posters.ipynb")
    _check_with_files(page, ".jp-OutputArea-output")

    nb_tools.open(page, lab, "elsewhere/posters.ipynb")
    _check_without_files(page, ".jp-OutputArea-output")
    assert "saved file: runway_outputs/pv-1_0.mp4" in page.locator(".jp-OutputArea-output").first.inner_text()


@contextlib.contextmanager
def _served(root: Path) -> Iterator[str]:
    """A plain static file server over ``root`` (as nbviewer or a web page would serve the HTML)."""
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_plain_page_with_and_without_files(lab, page, tmp_path):
    outputs = _outputs(lab)
    body = "".join(f'<div class="out">{html}</div>' for html in outputs.values())
    site = tmp_path / "site"
    shutil.copytree(lab.root / "runway_outputs", site / "runway_outputs")
    (site / "elsewhere").mkdir()
    for folder in (site, site / "elsewhere"):
        (folder / "posters.html").write_text(f'<!doctype html><html><head><meta charset="utf-8"></head>'
                                             f"<body>{body}</body></html>")
    with _served(site) as url:
        page.goto(f"{url}/posters.html")
        _check_with_files(page, ".out")
        page.goto(f"{url}/elsewhere/posters.html")
        _check_without_files(page, ".out")

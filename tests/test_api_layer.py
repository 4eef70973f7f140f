"""runway_nb.api is the vocabulary layer: it imports only runway_nb.errors from the package,
opens no connections or processes, and reads local media only through the caller's read_file."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest

from runway_nb.api import media, request
from runway_nb.errors import ValidationError

API = Path(__file__).resolve().parents[1] / "runway_nb" / "api"
# Modules whose use would mean network, processes, databases or the file system beyond reading.
IO_MODULES = {"socket", "ssl", "http", "urllib", "httpx", "requests", "asyncio", "subprocess", "multiprocessing",
              "sqlite3", "shutil", "tempfile", "runway_nb.sim", "runway_nb.client", "runway_nb.notebook",
              "runway_nb.serve", "runway_nb.cli"}

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                       "AAAABJRU5ErkJggg==")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(API.glob("*.py")), ids=lambda p: p.name)
def test_api_modules_import_only_the_api_and_errors_from_the_package(path: Path) -> None:
    imported = _imports(path)
    ours = {m for m in imported if m == "runway_nb" or m.startswith("runway_nb.")}
    assert all(m == "runway_nb.errors" or m.startswith("runway_nb.api.") or m == "runway_nb.api"
               for m in ours), sorted(ours)
    io = {m for m in imported if m in IO_MODULES or m.split(".")[0] in IO_MODULES
          or any(m.startswith(x + ".") for x in IO_MODULES)}
    assert not io, sorted(io)


def test_build_reads_local_media_through_read_file() -> None:
    asked: list[Path] = []

    def read_file(path: Path) -> bytes | None:
        asked.append(path)
        return PNG

    draft = request.build("image_to_video", {"model": "gen4_turbo", "image": "photos/first.png", "ratio": "1280:720",
                                             "duration": 5}, read_file=read_file)
    assert asked == [Path("photos/first.png")]
    assert draft.body["promptImage"] == "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    assert not draft.pending


def test_a_missing_file_is_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="no such file") as err:
        media.prepare("nowhere/missing.png", "promptImage", "image", read_file=lambda path: None)
    assert err.value.field == "promptImage" and err.value.value == "nowhere/missing.png"


def test_urls_and_data_uris_never_reach_read_file() -> None:
    def read_file(path: Path) -> bytes | None:
        raise AssertionError(f"read {path}")

    for value in ("https://example.com/a.jpg", "runway://abc", "data:image/png;base64,AAAA"):
        assert media.prepare(value, "promptImage", "image", read_file=read_file).uri == value
    assert media.prepare("http://example.com/a.jpg", "promptImage", "image", read_file=read_file).fetch


@pytest.mark.parametrize(("endpoint", "fields", "name"), [
    ("recipes/product_ad", {"version": "2026-07", "prompt": "a mug"}, "productImages"),
    ("text_to_video", {"model": "kling_4", "prompt": "a mug", "ratio": "1280:720", "duration": 5}, "references"),
    ("text_to_image", {"model": "gen4_image", "prompt": "a mug", "ratio": "1920:1080"}, "referenceImages"),
])
def test_a_list_of_uri_objects_takes_a_path_or_a_list_of_them(endpoint, fields, name) -> None:
    """A field holding [{uri}, ...] takes one file, or a list of files, as a person would give them."""
    expected = {"uri": "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")}
    one = request.build(endpoint, {**fields, name: "mug.png"}, read_file=lambda path: PNG)
    assert one.body[name] == [expected]
    two = request.build(endpoint, {**fields, name: ["mug.png", "https://example.com/b.png"]},
                        read_file=lambda path: PNG)
    assert two.body[name] == [expected, {"uri": "https://example.com/b.png"}]

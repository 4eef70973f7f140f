"""The front-end sources of the widgets, found and bundled without node, npm or a CDN.

Where the files are:

- in a wheel, hatch force-includes the repository's ``js/`` folder as ``runway_nb/_js/``;
- in a source checkout (``pip install -e .`` or a plain clone on ``sys.path``) they are read
  from ``<repo>/js/``.

Why a bundle: anywidget loads ``_esm`` from a Blob URL, so the module cannot import siblings by
relative path. :func:`esm` builds one self-contained ES module per widget by concatenating

1. ``js/common.js`` with its ``export`` keywords removed (its declarations become module-level
   names), then
2. the widget's file (e.g. ``js/task_view.js``) with its ``import {...} from "./common.js"``
   statement removed.

Rules this relies on (checked here, so a violation fails loudly instead of shipping a broken
module): ``common.js`` uses only ``export function|const|let|class`` declarations; widget files
import from ``./common.js`` by plain names (no ``as``), have no other imports, and keep their
``export default``. Node's test runner imports the files unbundled, as real modules; a Python
test imports the bundle with node to check that it is a valid module.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["js_dir", "read", "esm", "css"]

_PACKAGE = Path(__file__).resolve().parents[2]  # runway_nb/

_EXPORT_DECL = re.compile(r"^export\s+(?=(?:async\s+)?function\b|const\b|let\b|class\b)", re.M)
_OTHER_EXPORT = re.compile(r"^\s*export\b", re.M)
_COMMON_IMPORT = re.compile(r"^import\s*\{([^}]*)\}\s*from\s*[\"']\./common\.js[\"'];?[ \t]*\n?", re.M)
_ANY_IMPORT = re.compile(r"^\s*import\b[^(]", re.M)


def js_dir() -> Path:
    """The folder holding ``common.js``, ``task_view.js`` and the CSS."""
    for candidate in (_PACKAGE / "_js", _PACKAGE.parent / "js"):
        if (candidate / "common.js").is_file():
            return candidate
    raise FileNotFoundError(
        "runway-nb's front-end files are missing: expected runway_nb/_js/ (installed wheel) or "
        "js/ next to the runway_nb package (source checkout). Reinstall runway-nb.")


def read(name: str) -> str:
    return (js_dir() / name).read_text(encoding="utf-8")


def _strip_common(source: str) -> str:
    stripped = _EXPORT_DECL.sub("", source)
    if _OTHER_EXPORT.search(stripped):
        raise ValueError("js/common.js may only export function/const/let/class declarations")
    if _ANY_IMPORT.search(stripped):
        raise ValueError("js/common.js must not import anything")
    return stripped


def _strip_widget(source: str, name: str) -> str:
    match = _COMMON_IMPORT.search(source)
    if match is not None:
        if re.search(r"\bas\b", match.group(1)):
            raise ValueError(f"js/{name}: import names from ./common.js without 'as' renames")
        source = source[:match.start()] + source[match.end():]
    if _ANY_IMPORT.search(source):
        raise ValueError(f"js/{name}: only one import (from ./common.js) is supported in a bundled widget")
    if "export default" not in source:
        raise ValueError(f"js/{name} must `export default {{ render }}`")
    return source


def _trim(source: str, comment: str = "//") -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(comment):
            continue
        lines.append(stripped)
    return "\n".join(lines) + "\n"


def _trim_css(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return _trim(source, comment="\0")


@lru_cache(maxsize=None)
def esm(widget: str = "task_view.js") -> str:
    """One self-contained ES module: common.js + the widget (see the module docstring)."""
    common = _strip_common(read("common.js"))
    body = _strip_widget(read(widget), widget)
    return f"// runway-nb: js/common.js + js/{widget}\n" + _trim(common) + _trim(body)


@lru_cache(maxsize=None)
def css(name: str = "task_view.css") -> str:
    return _trim_css(read(name))

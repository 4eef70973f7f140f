"""Where the tests find ``../shared`` (the reference docs beside the project), and how they fail without it.

A test that needs a reference file either calls :func:`shared_file` where it reads it, or carries
``@pytest.mark.needs_shared("runway/openapi-2024-11-06.json")`` (checked in ``conftest.py`` before
the test body runs). Both fail the test with a message naming the missing file: never a skip, and
never a crash at collection (module-level code only builds paths with :func:`shared_path`).

``RUNWAY_NB_SHARED`` points the lookup elsewhere (default: ``<repository>/../shared``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_ENV = "RUNWAY_NB_SHARED"
OPENAPI_SPEC = "runway/openapi-2024-11-06.json"
_DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_dir() -> Path:
    return Path(os.environ.get(SHARED_ENV) or _DEFAULT_SHARED)


def shared_path(relative: str) -> Path:
    """The path of a reference file, whether or not it is there (for module-level constants)."""
    return shared_dir() / relative


def shared_file(relative: str) -> Path:
    """The path of a reference file that must be there; the calling test fails if it is not."""
    path = shared_path(relative)
    if not path.is_file():
        pytest.fail(f"missing {path}: runway-nb's tests read ../shared (the reference docs beside the "
                    f"project); clone or copy it there (or set {SHARED_ENV} to its folder)", pytrace=False)
    return path

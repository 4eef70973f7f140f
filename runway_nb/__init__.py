"""runway-nb: Runway's generation API from a notebook.

Names load on first use, so ``%load_ext runway_nb`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Runway": "runway_nb.client",
    "AsyncRunway": "runway_nb.client",
    "TaskHandle": "runway_nb.client",
    "AsyncTaskHandle": "runway_nb.client",
    "Task": "runway_nb.task",
    "parse_task": "runway_nb.dialects",
    "errors": "runway_nb.errors",
    "catalog": "runway_nb.catalog",
    "Simulator": "runway_nb.sim",
    "generate": "runway_nb.session",
    "compare": "runway_nb.session",
    "configure": "runway_nb.session",
    "get_session": "runway_nb.session",
    "session": "runway_nb.session",
    "Sweep": "runway_nb.sweep",
    "Panel": "runway_nb.widgets",
}

__all__ = sorted(_LAZY) + ["__version__", "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runway_nb' has no attribute {name!r}")
    mod = import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext runway_nb``: registers ``%%runway`` and ``%runway``."""
    from .magic import load_ipython_extension as _load

    _load(ipython)

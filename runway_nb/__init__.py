"""runway-nb: Runway's generation API from a notebook.

Names load on first use, so ``%load_ext runway_nb`` stays fast.
"""

from __future__ import annotations

from typing import Any

from runway_nb._lazy import attributes
from runway_nb.version import __version__

_LAZY = {
    "Runway": "runway_nb.client.core",
    "AsyncRunway": "runway_nb.client.core",
    "TaskHandle": "runway_nb.client.core",
    "AsyncTaskHandle": "runway_nb.client.core",
    "WorkflowRun": "runway_nb.client.workflows",
    "AsyncWorkflowRun": "runway_nb.client.workflows",
    "connect": "runway_nb.client.factory",
    "Task": "runway_nb.api.task",
    "parse_task": "runway_nb.api.dialects",
    "errors": "runway_nb.errors",
    "catalog": "runway_nb.api.catalog",
    "Simulator": "runway_nb.sim",
    "generate": "runway_nb.notebook.api",
    "compare": "runway_nb.notebook.api",
    "configure": "runway_nb.notebook.api",
    "get_session": "runway_nb.notebook.api",
    "session": "runway_nb.notebook.session",
    "Sweep": "runway_nb.notebook.sweep",
    "Panel": "runway_nb.notebook.widgets",
}

__all__ = [*sorted(_LAZY), "__version__", "load_ipython_extension"]


__getattr__ = attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext runway_nb``: registers ``%%runway`` and ``%runway``."""
    from runway_nb.notebook.magic import load_ipython_extension as _load

    _load(ipython)

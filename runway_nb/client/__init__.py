"""The client layer: ``Runway``/``AsyncRunway`` over httpx, the backend settings, retries, the poll
schedule, the journal and the archive. Names load on first use, so importing a submodule stays cheap."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Runway": "runway_nb.client.core",
    "AsyncRunway": "runway_nb.client.core",
    "TaskHandle": "runway_nb.client.core",
    "AsyncTaskHandle": "runway_nb.client.core",
    "Organization": "runway_nb.client.core",
    "WorkflowRun": "runway_nb.client.workflows",
    "AsyncWorkflowRun": "runway_nb.client.workflows",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runway_nb.client' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value

"""The client layer: ``Runway``/``AsyncRunway`` over httpx, the backend settings, retries, the poll
schedule, the journal and the archive. Names load on first use, so importing a submodule stays cheap."""

from __future__ import annotations

from runway_nb._lazy import attributes

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


__getattr__ = attributes(__name__, _LAZY, globals())

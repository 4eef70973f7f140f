"""``runway-nb serve``: Runway's tasks API as a local REST adapter and as MCP tools.

Both faces sit on one :class:`~runway_nb.client.core.AsyncRunway`, so they work against every
provider the client reads (Runway, CometAPI, useapi.net, makevid.ai, the simulator) and answer
one normalized task shape. One module per job:

- :mod:`.shape`: the normalized task, the error bodies and the error -> status mapping;
- :mod:`.ops`: what GET, DELETE and create do (shared by both faces);
- :mod:`.rest`: the starlette app; :mod:`.openapi`: its OpenAPI 3.1 document;
- :mod:`.mcp_tools`: the MCP tools on the official ``mcp`` SDK (streamable HTTP at ``/mcp``);
- :mod:`.app`: both on one asyncio loop (:class:`Service`, :func:`start_in_thread`).

Needs the ``serve`` extra: ``pip install 'runway-nb[serve]'``.
"""

from __future__ import annotations

from runway_nb._lazy import attributes

_LAZY = {
    "ServeOptions": ".app",
    "Service": ".app",
    "RunningService": ".app",
    "start_in_thread": ".app",
    "TaskOps": ".ops",
    "build_rest_app": ".rest",
    "openapi_document": ".openapi",
    "build_mcp_server": ".mcp_tools",
    "build_mcp_app": ".mcp_tools",
    "TOOL_NAMES": ".mcp_tools",
    "TaskOut": ".shape",
    "task_out": ".shape",
    "error_answer": ".shape",
}

__all__ = sorted(_LAZY)


__getattr__ = attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return __all__

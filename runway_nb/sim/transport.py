"""httpx transports that hand requests to a :class:`SimApp` in-process (no sockets).

``httpx.Client(transport=SimTransport(app), base_url="http://sim")`` and the async twin. The
connection-level faults become the exceptions a real network gives: ``drop`` (request sent, no
answer) raises ``httpx.RemoteProtocolError``, ``drop_before`` (never connected) raises
``httpx.ConnectError``. 'slow' answers wait in real time (``asyncio.sleep`` in the async one).
The async transport runs the handler in a worker thread, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from runway_nb.sim.app import SimApp, SimRequest, SimResponse

__all__ = ["AsyncSimTransport", "SimTransport"]


def _to_sim(request: httpx.Request, body: bytes) -> SimRequest:
    return SimRequest(
        method=request.method,
        path=request.url.raw_path.decode("ascii").split("?", 1)[0],
        query=request.url.query.decode("ascii") if isinstance(request.url.query, bytes) else str(request.url.query),
        headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw},
        body=body,
    )


def _raise_fault(resp: SimResponse, request: httpx.Request) -> None:
    if resp.fault == "drop_before":
        raise httpx.ConnectError("[simulated] connection refused", request=request)
    if resp.fault == "drop":
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def _to_httpx(resp: SimResponse, request: httpx.Request) -> httpx.Response:
    headers = [(k, v) for k, v in resp.headers.items() if k.lower() != "content-length"]
    response = httpx.Response(resp.status, headers=headers, content=resp.body, request=request)
    if request.method == "HEAD" and "Content-Length" in resp.headers:
        response.headers["Content-Length"] = resp.headers["Content-Length"]
    return response


class SimTransport(httpx.BaseTransport):
    """Synchronous in-process transport."""

    def __init__(self, app: SimApp):
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        resp = self.app.handle(_to_sim(request, body))
        if resp.fault == "drop_before":
            _raise_fault(resp, request)
        if resp.delay > 0:
            time.sleep(resp.delay)
        _raise_fault(resp, request)
        return _to_httpx(resp, request)


class AsyncSimTransport(httpx.AsyncBaseTransport):
    """Asynchronous in-process transport; handler work runs in a thread (``asyncio.to_thread``)."""

    def __init__(self, app: SimApp):
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        resp = await asyncio.to_thread(self.app.handle, _to_sim(request, body))
        if resp.fault == "drop_before":
            _raise_fault(resp, request)
        if resp.delay > 0:
            await asyncio.sleep(resp.delay)
        _raise_fault(resp, request)
        return _to_httpx(resp, request)

"""A real HTTP server (stdlib ``ThreadingHTTPServer``) in front of a :class:`SimApp`.

``with SimServer(app) as server: ... server.url`` (port 0 picks a free port). The server runs in
a background thread. HTTP/1.1 with keep-alive; a 'drop' fault closes the socket without an
answer (clients see "server disconnected"). A 'drop_before' fault cannot refuse a connection
that is already accepted, so over sockets it also closes it unanswered, before any handling.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from runway_nb.sim.app import SimApp, SimRequest

__all__ = ["SimServer"]

log = logging.getLogger("runway_nb.sim")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Keep-alive answers otherwise wait ~40 ms for Nagle's algorithm on every request.
    disable_nagle_algorithm = True
    server_version = "runway-nb-sim"
    sys_version = ""
    app: SimApp  # set on the subclass made per server

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        req = SimRequest(method=self.command, path=parts.path, query=parts.query,
                         headers={k: v for k, v in self.headers.items()}, body=body)
        resp = self.app.handle(req)
        if resp.fault == "drop_before":
            self._drop()
            return
        if resp.delay > 0:
            time.sleep(resp.delay)
        if resp.fault == "drop":
            self._drop()
            return
        self.send_response(resp.status)
        headers = dict(resp.headers)
        if "Content-Length" not in headers:
            headers["Content-Length"] = str(len(resp.body))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if resp.body and self.command != "HEAD":
            try:
                self.wfile.write(resp.body)
            except (BrokenPipeError, ConnectionResetError):  # the browser stopped reading (seeking)
                self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = do_PATCH = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Callable[[], None]:
        # The stdlib answers a method without a do_<METHOD> (TRACE, QUERY, any token) with its HTML
        # 501 page; the app answers it like the others: a JSON 405 with Allow, or a JSON 404.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        log.debug("sim http: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, server_address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(server_address, handler)

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket],
                        client_address: Any) -> None:  # the stdlib's signature: address as accepted
        if isinstance(request, socket.socket):  # always, for TCP
            with self._conns_lock:
                self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._conns_lock:
                self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close kept-alive connections too, so nothing is answered after stop()."""
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SimServer:
    """Serve ``app`` on ``host:port`` (port 0 = any free port) from a background thread."""

    def __init__(self, app: SimApp, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("SimServer is not started")
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> SimServer:
        if self._httpd is not None:
            return self
        handler = type("SimHandler", (_Handler,), {"app": self.app})
        self._httpd = _Server((self.host, self.port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"runway-sim-server:{self.port}", daemon=True)
        self._thread.start()
        if self.app.public_base_url is None:
            self.app.public_base_url = self.url
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        if self.app.public_base_url == self.url:
            self.app.public_base_url = None
        httpd, self._httpd = self._httpd, None
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimServer({self.url if self._httpd else 'stopped'})"

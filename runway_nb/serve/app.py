"""Run both faces in one process: two uvicorn servers on one asyncio loop, one client.

:class:`Service` is what ``runway-nb serve`` runs in the foreground; :func:`start_in_thread`
runs the same thing in a background thread (tests, notebooks) and returns once both ports
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from runway_nb.client.backend import new_simulator
from runway_nb.client.core import AsyncRunway
from runway_nb.client.factory import connect
from runway_nb.client.retry import RetryPolicy
from runway_nb.client.settings import resolve
from runway_nb.serve.mcp_tools import build_mcp_app
from runway_nb.serve.ops import TaskOps
from runway_nb.serve.rest import build_rest_app

__all__ = ["LOOPBACK_HOSTS", "RunningService", "ServeOptions", "Service", "start_in_thread"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServeOptions:
    """Everything ``runway-nb serve`` is started with. The key is never a CLI flag: it comes
    from the environment (``RUNWAYML_API_SECRET``/``RUNWAY_API_KEY`` or the provider's own
    variable), unless a program passes ``api_key``."""

    provider: str | None = None  # None: RUNWAY_NB_PROVIDER, else runway when a key is set, else sim
    base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080  # 0 = any free port
    mcp_port: int = 9090
    mcp_path: str = "/mcp"
    api_key: str | None = field(default=None, repr=False)
    simulator: Any = None  # provider sim without base_url: this Simulator (default: a new one)
    sim_speed: float | None = None  # for a new simulator
    max_retries: int = 2  # a caller can retry too: keep the adapter's own waiting short
    max_retry_after: float = 5.0  # a longer Retry-After goes back to the caller as a 429
    log_level: str = "warning"
    access_log: bool = False
    outputs: str | bool | None = None  # where succeeded tasks' outputs are archived (None: $RUNWAY_NB_OUTPUTS)

    def resolved_provider(self) -> str:
        return resolve(self.provider, self.api_key, self.base_url).provider.name


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :class:`Service` (two servers share them)."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = asyncio.Event()  # set once startup has run (self.started says whether it worked)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host == "::" else 1)
        sock.bind(address)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Service:
    """One client, one :class:`TaskOps`, a REST app and an MCP app, each on its own port."""

    def __init__(self, options: ServeOptions | None = None, **kw: Any):
        self.options = options or ServeOptions(**kw)
        self.client: AsyncRunway | None = None
        self.ops: TaskOps | None = None
        self.rest_port: int | None = None
        self.mcp_port: int | None = None
        self._servers: list[_Server] = []
        self._sockets: list[socket.socket] = []
        self._stop_requested = False
        self.started = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def rest_url(self) -> str:
        return f"http://{_url_host(self.options.host)}:{self.rest_port}"

    @property
    def mcp_url(self) -> str:
        return f"http://{_url_host(self.options.host)}:{self.mcp_port}{self.options.mcp_path}"

    @property
    def openapi_url(self) -> str:
        return f"{self.rest_url}/openapi.json"

    def startup_line(self) -> str:
        """One line for people and scripts: the bound URLs, the provider and the *masked* key."""
        assert self.client is not None
        settings = self.client.settings
        where = "in-process simulator" if settings.in_process_sim else settings.base_url
        kept = self.client.keeper.folder
        return (f"runway-nb serve: rest={self.rest_url} openapi={self.openapi_url} mcp={self.mcp_url} "
                f"provider={self.client.provider} upstream={where} key={self.client.masked_key} "
                f"outputs={kept.absolute() if kept else 'not archived'}")

    # ------------------------------------------------------------------ building
    def _make_client(self) -> AsyncRunway:
        o = self.options
        simulator = o.simulator
        if simulator is None and o.sim_speed and resolve(o.provider, o.api_key, o.base_url).in_process_sim:
            simulator = new_simulator(speed=o.sim_speed)
        # startup_line() says which backend this is, so the client does not announce itself
        client = connect(o.provider, o.api_key, o.base_url, asynchronous=True, simulator=simulator,
                         announce=False, max_retries=o.max_retries, outputs=o.outputs)
        client.policy = RetryPolicy(max_retries=o.max_retries, max_retry_after=o.max_retry_after)
        return client

    def _uvicorn(self, app: Any) -> _Server:
        config = uvicorn.Config(app, log_level=self.options.log_level, access_log=self.options.access_log,
                                lifespan="on", server_header=False, timeout_graceful_shutdown=3)
        return _Server(config)

    # ------------------------------------------------------------------ running
    def request_stop(self) -> None:
        """Ask both servers to stop (safe from any thread or a signal handler)."""
        self._stop_requested = True
        for server in self._servers:
            server.should_exit = True

    async def run(self, *, on_ready: Callable[[Service], None] | None = None,
                  handle_signals: bool = False) -> None:
        """Bind both ports, serve until :meth:`request_stop` (or SIGINT/SIGTERM), then close."""
        o = self.options
        if o.port == o.mcp_port and o.port != 0:
            raise ValueError(f"the REST and MCP ports must differ (both are {o.port})")
        self.loop = asyncio.get_running_loop()
        self.client = self._make_client()
        try:
            self.ops = TaskOps(self.client)
            rest_sock = _bind(o.host, o.port)
            self._sockets.append(rest_sock)
            mcp_sock = _bind(o.host, o.mcp_port)
            self._sockets.append(mcp_sock)
            self.rest_port = rest_sock.getsockname()[1]
            self.mcp_port = mcp_sock.getsockname()[1]
            loopback = o.host in LOOPBACK_HOSTS
            rest_app = build_rest_app(self.ops, loopback_only=loopback)
            _, mcp_app = build_mcp_app(self.ops, host=o.host if loopback else "0.0.0.0", path=o.mcp_path,
                                       log_level=o.log_level)
            self._servers = [self._uvicorn(rest_app), self._uvicorn(mcp_app)]
            if self._stop_requested:
                return
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        self.loop.add_signal_handler(sig, self.request_stop)
            tasks = [asyncio.create_task(self._servers[0].serve(sockets=[rest_sock])),
                     asyncio.create_task(self._servers[1].serve(sockets=[mcp_sock]))]
            # Both started, or one of them gave up: whichever comes first.
            ready: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*(s.ready.wait() for s in self._servers)))
            watched: list[asyncio.Future[Any]] = [ready, *tasks]
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            if not all(s.started for s in self._servers):
                self.request_stop()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                causes = [r for r in results if isinstance(r, BaseException)]
                raise RuntimeError(f"runway-nb serve could not start ({causes[0]!r})" if causes else
                                   "runway-nb serve could not start") from (causes[0] if causes else None)
            self.started.set()
            if on_ready is not None:
                on_ready(self)
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            self.request_stop()  # one server ended (or failed): stop the other too
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, (asyncio.CancelledError,
                                                                                 SystemExit)):
                    raise result
        finally:
            if handle_signals and self.loop is not None:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                        self.loop.remove_signal_handler(sig)
            for sock in self._sockets:
                sock.close()
            await self.client.aclose()
            self.started.set()  # wake anyone waiting, even after a failed start


class RunningService:
    """A :class:`Service` running in a background thread; ``stop()`` ends it."""

    def __init__(self, service: Service, thread: threading.Thread, errors: list[BaseException]):
        self.service = service
        self.thread = thread
        self._errors = errors

    rest_url = property(lambda self: self.service.rest_url)
    mcp_url = property(lambda self: self.service.mcp_url)
    openapi_url = property(lambda self: self.service.openapi_url)
    client = property(lambda self: self.service.client)

    @property
    def simulator(self) -> Any:
        return self.service.client.simulator if self.service.client is not None else None

    def stop(self, timeout: float = 10.0) -> None:
        loop = self.service.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.service.request_stop)
        self.thread.join(timeout)
        if self._errors:
            raise self._errors[0]

    def __enter__(self) -> RunningService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(options: ServeOptions | None = None, *, timeout: float = 20.0, **kw: Any) -> RunningService:
    """Start the service in a daemon thread; returns when both ports accept requests."""
    service = Service(options, **kw)
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(service.run())
        except BaseException as exc:
            errors.append(exc)
            service.started.set()

    thread = threading.Thread(target=main, name="runway-nb-serve", daemon=True)
    thread.start()
    if not service.started.wait(timeout):
        service.request_stop()
        raise TimeoutError(f"runway-nb serve did not start within {timeout:g} s")
    if errors:
        thread.join(5)
        raise errors[0]
    if not thread.is_alive() and service.rest_port is None:
        raise RuntimeError("runway-nb serve stopped during start-up")
    return RunningService(service, thread, errors)

"""An offline simulator of Runway's generation API (version 2024-11-06).

``Simulator`` bundles the settings (:class:`SimConfig`), the request handler (:class:`SimApp`),
in-process httpx transports, and a loopback HTTP server that starts the first time a URL is
needed (output URLs, upload URLs, ``.url``), so a browser on this machine can load the outputs
even when the client talks to the simulator in-process::

    sim = Simulator(speed=10, concurrency=1)
    client = httpx.Client(transport=sim.transport(), base_url="http://sim")

``python -m runway_nb.sim --port 8080`` serves one over HTTP for the official SDK or curl.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from runway_nb.sim.app import API_VERSION, SimApp, SimRequest, SimResponse
from runway_nb.sim.clock import SimClock
from runway_nb.sim.config import SimConfig, default_run_seconds
from runway_nb.sim.server import SimServer
from runway_nb.sim.state import SimStats
from runway_nb.sim.transport import AsyncSimTransport, SimTransport

__all__ = [
    "API_VERSION",
    "AsyncSimTransport",
    "SimApp",
    "SimClock",
    "SimConfig",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "SimStats",
    "SimTransport",
    "Simulator",
    "default_run_seconds",
    "default_simulator",
]

SPEED_ENV = "RUNWAY_NB_SIM_SPEED"


class Simulator:
    """One simulated Runway account: settings, tasks, transports and (lazily) a loopback server."""

    def __init__(self, config: SimConfig | None = None, *, clock: SimClock | None = None,
                 host: str = "127.0.0.1", port: int = 0, **settings: Any):
        if config is None:
            config = SimConfig(**settings)
        elif settings:
            config.update(**settings)
        self.config = config
        self.app = SimApp(config, clock=clock, public_base_url=self._public_url)
        self._host, self._port = host, port
        self._server: SimServer | None = None
        self._lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ the loopback server
    def _public_url(self) -> str:
        return self.start_server().url

    def start_server(self) -> SimServer:
        """Start the loopback HTTP server now (it otherwise starts on first need)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this Simulator is closed")
            if self._server is None:
                self._server = SimServer(self.app, self._host, self._port).start()
            return self._server

    @property
    def url(self) -> str:
        """Base URL of the loopback server (started if needed), e.g. for ``RUNWAYML_BASE_URL``."""
        return self.start_server().url

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def server(self) -> SimServer | None:
        return self._server

    # ------------------------------------------------------------------ clients
    def transport(self) -> SimTransport:
        """An ``httpx.BaseTransport`` that answers in-process (no sockets)."""
        return SimTransport(self.app)

    def async_transport(self) -> AsyncSimTransport:
        """An ``httpx.AsyncBaseTransport`` that answers in-process without blocking the loop."""
        return AsyncSimTransport(self.app)

    # ------------------------------------------------------------------ control
    def configure(self, **kw: Any) -> SimConfig:
        """Change settings now, e.g. ``configure(speed=50, rate_429=0.1, script=["drop"])``."""
        return self.app.configure(**kw)

    @property
    def stats(self) -> SimStats:
        return self.app.stats

    @property
    def clock(self) -> SimClock:
        return self.app.clock

    def advance(self, seconds: float) -> None:
        """Move the sim clock forward (useful with ``SimClock(manual=True)``)."""
        self.app.clock.advance(seconds)

    def wait_media(self, timeout: float | None = 60.0) -> bool:
        return self.app.wait_media(timeout)

    def describe(self) -> str:
        """One line for users: what this is and that its tasks end with the process."""
        speed = self.app.clock.speed
        pace = "manual clock" if self.app.clock.manual else (
            "real time" if speed == 1 else f"{speed:g}x real time")
        where = f", outputs served at {self._server.url}" if self._server is not None else ""
        return (f"Runway simulator (API {API_VERSION}, offline, {pace}{where}): generated media are "
                f"placeholders, no real credits are spent, and its tasks live only in this process: "
                f"they end when the kernel or process stops.")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            server, self._server = self._server, None
        if server is not None:
            server.stop()
        self.app.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Simulator {self.describe()}>"


_default: Simulator | None = None
_default_lock = threading.Lock()


def default_simulator() -> Simulator:
    """The process-wide simulator (speed from ``RUNWAY_NB_SIM_SPEED``, default 1.0)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            try:
                speed = float(os.environ.get(SPEED_ENV) or 1.0)
            except ValueError:
                speed = 1.0
            _default = Simulator(speed=speed if speed > 0 else 1.0)
        return _default

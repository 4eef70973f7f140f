"""Where requests go: the one place that turns settings into a backend.

No key and no provider means the embedded simulator, reached in-process without a socket.
This module is the only one outside tests that imports :mod:`runway_nb.sim` (an
import-linter contract says so); the client asks it, and :func:`runway_nb.client.factory.connect` builds clients on it.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import httpx

from runway_nb.client.settings import Settings

if TYPE_CHECKING:
    from runway_nb.sim import Simulator

__all__ = ["in_process_simulator", "new_simulator", "simulator_transport"]

_announce_lock = threading.Lock()
_announced = False


def in_process_simulator(settings: Settings, simulator: Simulator | None, *, announce: bool) -> Simulator | None:
    """The simulator a client with these settings talks to in-process (None for a real backend)."""
    if not settings.in_process_sim:
        return simulator
    if simulator is None:
        from runway_nb.sim import default_simulator  # imported on first use: start-up stays light

        simulator = default_simulator()
    if announce:
        _announce(simulator)
    return simulator


def new_simulator(*, speed: float) -> Simulator:
    """A simulator of its own (``runway-nb serve --sim-speed``), instead of the process-wide one."""
    from runway_nb.sim import Simulator

    return Simulator(speed=speed)


def simulator_transport(simulator: Simulator, *, asynchronous: bool) -> httpx.BaseTransport | httpx.AsyncBaseTransport:
    return simulator.async_transport() if asynchronous else simulator.transport()


def _announce(simulator: Simulator) -> None:
    global _announced
    with _announce_lock:
        if _announced:
            return
        _announced = True
    print("runway-nb: no RUNWAYML_API_SECRET set, so this uses the built-in Runway simulator "
          f"(offline, no credits). {simulator.describe()} Set RUNWAYML_API_SECRET to use Runway.", file=sys.stderr)

"""Where requests go: the one place that turns settings into a backend.

No key and no provider means the embedded simulator, reached in-process without a socket.
This module is the only one outside tests that imports :mod:`runway_nb.sim` (an
import-linter contract says so); the client asks it, and :func:`runway_nb.client.factory.connect` builds clients on it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from runway_nb.client.settings import Settings

if TYPE_CHECKING:  # annotations only: the notebook's notice handler loads this module at %load_ext
    import httpx

    from runway_nb.sim import Simulator

__all__ = ["in_process_simulator", "new_simulator", "set_notice_handler", "simulator_notice", "simulator_transport"]

NoticeHandler = Callable[[str], None]

_announce_lock = threading.Lock()
_announced = False


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


_notice_handler: NoticeHandler = _to_stderr


def set_notice_handler(handler: NoticeHandler | None) -> NoticeHandler:
    """Show the simulator notice with ``handler`` from now on (None: stderr, for scripts); returns the previous one.

    The notebook layer shows it as a quiet note in a kernel, rather than as a block of stderr."""
    global _notice_handler
    previous = _notice_handler
    _notice_handler = handler or _to_stderr
    return previous


def simulator_notice(simulator: Simulator) -> str:
    """The one line that says requests go to the simulator, once per process."""
    speed = simulator.clock.speed
    pace = "" if simulator.clock.manual or speed == 1 else f", {speed:g}x speed"
    return ("runway-nb: no RUNWAYML_API_SECRET, so this runs on the built-in Runway simulator "
            f"(offline, no credits, placeholder media{pace}); its tasks end with this process. "
            "Set RUNWAYML_API_SECRET to use Runway.")


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
    _notice_handler(simulator_notice(simulator))

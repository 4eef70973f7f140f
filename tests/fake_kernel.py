"""A stand-in for ipykernel's shell, for tests of what widgets publish in a kernel: a display
publisher that records each message with the cell it answers, events, a display formatter."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from IPython.core.formatters import IPythonDisplayFormatter

from runway_nb.notebook.widgets import _live as live


class FakePub:
    """Records every display: its data and metadata, display id, whether it updates, and the cell it answers."""

    def __init__(self) -> None:
        self.parent_header: dict = {"msg_id": "cell-A"}
        self.sent: list[dict] = []
        self._thread_parent: dict | None = None

    def set_thread_parent(self, parent: dict) -> None:
        self._thread_parent = parent

    def publish(self, data, metadata=None, *, transient=None, update=False, **kw) -> None:
        self.sent.append({"data": data, "metadata": metadata, "transient": transient, "update": update,
                          "parent": (self._thread_parent or self.parent_header).get("msg_id")})


class FakeEvents:
    def __init__(self) -> None:
        self.callbacks: dict[str, list] = {}

    def register(self, name: str, fn) -> None:
        self.callbacks.setdefault(name, []).append(fn)

    def unregister(self, name: str, fn) -> None:
        self.callbacks[name].remove(fn)


class FakeShell:
    """Stands in for ipykernel's ZMQInteractiveShell: a kernel, a display publisher, events."""


def fake_kernel_shell(monkeypatch: Any, pub: Any = None) -> Iterator[FakeShell]:
    """For a fixture: ``yield from fake_kernel_shell(monkeypatch)``; the widgets see this shell."""
    ip: Any = FakeShell()
    ip.kernel = object()
    ip.display_pub = pub if pub is not None else FakePub()
    ip.events = FakeEvents()
    ip.display_formatter = SimpleNamespace(ipython_display_formatter=IPythonDisplayFormatter())
    monkeypatch.setattr(live, "get_ipython", lambda: ip)
    monkeypatch.setitem(live.current_cell, "parent", None)
    live.forget_followed()  # views of earlier tests belong to other (fake) kernels
    yield ip
    live.uninstall_hooks(ip)

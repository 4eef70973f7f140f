"""A list of callbacks told about each event, in order: the client's events and the watch engine's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Subscribers"]

E = TypeVar("E")


class Subscribers(Generic[E]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], None]] = []

    def subscribe(self, callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` with every event; returns a function that unsubscribes."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def publish(self, event: E) -> None:
        for callback in list(self._callbacks):  # a callback may unsubscribe itself
            callback(event)

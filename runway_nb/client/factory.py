"""``connect()``: the one way settings become a client, used by the session, the CLI and ``serve``."""

from __future__ import annotations

from typing import Any, Literal, overload

from runway_nb.client.core import AsyncRunway, Runway

__all__ = ["connect"]


@overload
def connect(provider: str | None = None, api_key: str | None = None, base_url: str | None = None, *,
            asynchronous: Literal[False] = False, **options: Any) -> Runway: ...
@overload
def connect(provider: str | None = None, api_key: str | None = None, base_url: str | None = None, *,
            asynchronous: Literal[True], **options: Any) -> AsyncRunway: ...
def connect(provider: str | None = None, api_key: str | None = None, base_url: str | None = None, *,
            asynchronous: bool = False, **options: Any) -> Runway | AsyncRunway:
    """A client for these settings: Runway with a key, another provider, or, with neither a key
    nor a provider, the embedded simulator (announced once).

    ``options`` are the client's keyword arguments (``strict``, ``timeout``, ``max_retries``,
    ``poll_floor``, ``simulator``, ``transport``, ``clock``, ``journal``, ``announce``).
    """
    cls: type[Runway] | type[AsyncRunway] = AsyncRunway if asynchronous else Runway
    return cls(provider=provider, api_key=api_key, base_url=base_url, **options)

"""Module attributes loaded on first use (PEP 562): importing a package imports only what its
first use needs (``import runway_nb.client`` does not load pydantic, the catalog or httpx)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def attributes(package: str, table: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``table`` maps each public name to the module
    that defines it (absolute, or relative to ``package``; a name that ends the module's path
    is the module itself). The value is kept in ``namespace`` (the module's globals), so each
    name is looked up once."""

    def __getattr__(name: str) -> Any:
        source = table.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(source, package)
        value = module if source.endswith("." + name) else getattr(module, name)
        namespace[name] = value
        return value

    return __getattr__

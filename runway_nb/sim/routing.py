"""The route table's vocabulary: a :class:`Route` and the :class:`Router` that matches a request to one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from runway_nb.sim.messages import Dialect, SimResponse

__all__ = ["Handler", "Match", "Route", "RouteKind", "Router", "route"]

# official: Runway's API (key and version checked) | provider: a provider's API (key checked)
# public: outputs and the upload target (no checks, no faults) | control: the simulator's own
RouteKind = Literal["official", "provider", "public", "control"]
# Called with the request and the pattern's named groups as keyword arguments.
Handler = Callable[..., SimResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # how the route is counted in the stats, e.g. "/v1/tasks/{id}"
    handler: Handler
    kind: RouteKind
    dialect: Dialect = "official"
    creates: bool = False  # a request that may create a task (faults treat these apart)


def route(method: str, pattern: str, template: str, handler: Handler, kind: RouteKind,
          dialect: Dialect = "official", *, creates: bool = False) -> Route:
    """A route whose ``pattern`` must match the whole path (a trailing slash is allowed)."""
    return Route(method, re.compile(pattern + r"/?$"), template, handler, kind, dialect, creates)


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class Router:
    def __init__(self, routes: list[Route]):
        self.routes = routes

    def match(self, method: str, path: str) -> Match | list[str]:
        """The first route for ``method`` and ``path``; else the methods the path allows (empty: 404)."""
        allowed: list[str] = []
        for candidate in self.routes:
            m = candidate.pattern.fullmatch(path)
            if m is None:
                continue
            if candidate.method == method:
                return Match(candidate, m.groupdict())
            allowed.append(candidate.method)
        return allowed

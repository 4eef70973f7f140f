"""The notebook functions the package exports (``runway_nb.generate``, ``compare``, ``configure``,
``get_session``): the session's own, with the widgets loaded first when running in a kernel,
so that the handles and sweeps they return show as live views (see :mod:`runway_nb.notebook.viewers`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from runway_nb.notebook import session

__all__ = ["compare", "configure", "generate", "get_session", "install_views"]

P = ParamSpec("P")
R = TypeVar("R")


def install_views() -> None:
    """In a Jupyter kernel or a marimo notebook, load the widgets (they register their views on import)."""
    from IPython.core.getipython import get_ipython

    from runway_nb.notebook.marimo_support import in_marimo

    if getattr(get_ipython(), "kernel", None) is not None or in_marimo():
        import runway_nb.notebook.widgets  # noqa: F401 - imported for its registrations


def _with_views(function: Callable[P, R]) -> Callable[P, R]:
    @wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        install_views()
        return function(*args, **kwargs)

    return call


generate = _with_views(session.generate)
compare = _with_views(session.compare)
configure = _with_views(session.configure)
get_session = _with_views(session.get_session)

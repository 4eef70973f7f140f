"""Shared fixtures.

- ``clean_env``: no Runway/Comet keys, provider or base URL from the developer's environment.
- ``fast_sim``: an in-process :class:`runway_nb.sim.Simulator` where a task takes a fraction of
  a second of real time (speed 100, 2 sim-second runs). ``make_sim(**settings)`` builds others.
- ``sim_client``: a ``Runway(provider="sim")`` on ``fast_sim`` (poll floor 0.05 s real).
- ``runway_session``: the process-wide :class:`runway_nb.notebook.session.Session`, reset, using
  ``sim_client``; reset again afterwards.
- ``ip_empty``: a real ``InteractiveShell`` that re-raises errors (like jupysql's
  ``TestingShell``), history database disabled, user namespace cleaned after each test.
- ``ip``: ``ip_empty`` after ``%load_ext runway_nb``, wired to ``runway_session``.
- ``@pytest.mark.needs_shared(*files)``: the test reads these files under ``../shared`` and fails
  (never skips) with the missing file's name when one is absent (see ``shared_docs.py``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from shared_docs import shared_file

FAST_SIM = dict(speed=100.0, pending_seconds=0.5, run_seconds=2.0)

_ENV_VARS = ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_PROVIDER", "RUNWAYML_BASE_URL",
             "COMETAPI_KEY", "USEAPI_TOKEN", "MAKEVID_API_KEY", "RUNWAY_NB_SIM_SPEED")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "needs_shared(*files): reads these files under ../shared; fails if one is missing")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A test marked ``needs_shared`` fails (not skips) with the name of a missing reference file."""
    for mark in item.iter_markers("needs_shared"):
        for relative in mark.args:
            shared_file(relative)


@pytest.fixture(autouse=True)
def no_run_history() -> Any:
    """Every test starts and ends with no run times on record: each handle that sees its task
    succeed records one (``eta.RUN_TIMES``, process-wide), which places the next task's polls."""
    from runway_nb.client.eta import RUN_TIMES

    RUN_TIMES.clear()
    yield
    RUN_TIMES.clear()


@pytest.fixture
def node() -> str:
    """Path of node for the front-end checks; missing node fails where .ci/run requires it."""
    import shutil

    path = shutil.which("node")
    if path is None:
        if os.environ.get("RUNWAY_NB_REQUIRE_TOOLS"):
            pytest.fail("node is not installed")
        pytest.skip("node is not installed")
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_sim():
    """``make_sim(**settings)`` -> a fast Simulator (closed after the test)."""
    from runway_nb.sim import Simulator

    made: list[Any] = []

    def make(**settings: Any) -> Any:
        sim = Simulator(**{**FAST_SIM, **settings})
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def fast_sim(make_sim):
    return make_sim()


@pytest.fixture
def sim_client(fast_sim, clean_env):
    from runway_nb.client.core import Runway

    client = Runway(provider="sim", simulator=fast_sim)
    yield client
    client.close()


@pytest.fixture
def runway_session(sim_client):
    from runway_nb.notebook.session import get_session

    session = get_session()
    session.reset()
    session.use_client(sim_client)
    yield session
    session.reset()


# ----------------------------------------------------------------------------------------
# IPython
# ----------------------------------------------------------------------------------------

def _testing_shell_class():
    from IPython.core.interactiveshell import InteractiveShell

    class TestingShell(InteractiveShell):
        """An InteractiveShell whose ``run_cell`` re-raises what it would only print."""

        def run_cell(self, *args: Any, **kwargs: Any):
            result = super().run_cell(*args, **kwargs)
            if result.error_before_exec is not None:
                raise result.error_before_exec
            if result.error_in_exec is not None:
                raise result.error_in_exec
            return result

    return TestingShell


@pytest.fixture(scope="session")
def _shell():
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    shell = _testing_shell_class().instance(config=config)
    yield shell


@pytest.fixture
def ip_empty(_shell, clean_env):
    """The shared testing shell with a clean user namespace (restored after the test)."""
    before = dict(_shell.user_ns)
    yield _shell
    for name in list(_shell.user_ns):
        if name not in before:
            del _shell.user_ns[name]
    _shell.user_ns.update(before)
    # IPython stops updating _, __, ___ once they differ from its display hook's own copies
    # (it takes that as the user's assignment); keep the two in step after restoring.
    for unders in ("_", "__", "___"):
        if unders in _shell.user_ns:
            setattr(_shell.displayhook, unders, _shell.user_ns[unders])


@pytest.fixture
def ip(ip_empty, runway_session):
    """The testing shell with ``%load_ext runway_nb`` run, on the fast simulator."""
    ip_empty.extension_manager.load_extension("runway_nb")  # quietly, once per process
    magics = ip_empty.magics_manager.registry.get("RunwayMagics")
    if magics is not None:  # the extension loads once per process; restore trait defaults
        magics._syncing = True
        try:
            for name in magics.trait_names():
                if magics.trait_metadata(name, "config"):
                    setattr(magics, name, magics.trait_defaults(name))
        finally:
            magics._syncing = False
    yield ip_empty

"""Repository-wide test setup: keep tests away from the user's own journal, folders and keys."""

import os
import tempfile

# Every test process writes its task journal to a fresh temporary folder, never to the
# user's data folder; tests that need a particular journal pass their own path.
os.environ["RUNWAY_NB_JOURNAL"] = os.path.join(tempfile.mkdtemp(prefix="runway-nb-journal-"), "journal.sqlite3")
# Outputs are archived by default (./runway_outputs); tests keep them in a temporary folder instead
# of the checkout. Tests of the default itself unset this and work in a temporary directory.
os.environ["RUNWAY_NB_OUTPUTS"] = tempfile.mkdtemp(prefix="runway-nb-outputs-")
# A re-run identical request shows its earlier task (no second bill). Tests make the same requests
# from the same helpers over and over, so it is off here; tests/test_reuse*.py turn it on.
os.environ["RUNWAY_NB_REUSE"] = "off"
# Tests never talk to the real Runway API: drop any key the developer has set.
for _var in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAYML_BASE_URL", "COMETAPI_KEY", "USEAPI_TOKEN",
             "MAKEVID_API_KEY", "RUNWAY_NB_PROVIDER"):
    os.environ.pop(_var, None)

_OUTPUTS = os.environ["RUNWAY_NB_OUTPUTS"]


def pytest_runtest_setup(item):
    """The lessons (nbval runs notebooks/*.ipynb in kernels started from this process) keep their
    outputs where a reader's would go, ./runway_outputs beside them (ignored by git); every other
    test keeps them in the temporary folder."""
    if item.path.suffix == ".ipynb":
        os.environ.pop("RUNWAY_NB_OUTPUTS", None)
    else:
        os.environ["RUNWAY_NB_OUTPUTS"] = _OUTPUTS

"""Repository-wide test setup: keep tests away from the user's own journal and keys."""

import os
import tempfile

# Every test process writes its task journal to a fresh temporary folder, never to the
# user's data folder; tests that need a particular journal pass their own path.
os.environ["RUNWAY_NB_JOURNAL"] = os.path.join(tempfile.mkdtemp(prefix="runway-nb-journal-"), "journal.sqlite3")
# Tests never talk to the real Runway API: drop any key the developer has set.
for _var in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAYML_BASE_URL", "COMETAPI_KEY", "USEAPI_TOKEN",
             "MAKEVID_API_KEY", "RUNWAY_NB_PROVIDER"):
    os.environ.pop(_var, None)

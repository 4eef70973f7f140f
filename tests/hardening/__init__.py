"""Hardening tests (issue 9): bad input, hostile content, secrets and faults, each tried by the
hundred or thousand. See docs/hardening.md for what each file tries and the figures measured.

Every test here adds what it tried to a tally; ``tally.write()`` puts the tallies in
``test-artifacts/hardening/<item>.json`` (git-ignored) so the figures in docs/hardening.md can
be refreshed from a run: ``python -m pytest tests/hardening -q`` then read those files.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# RUNWAY_NB_HARDENING_DIR: write the tallies elsewhere (e.g. when several runs share a checkout)
ARTIFACTS = Path(os.environ.get("RUNWAY_NB_HARDENING_DIR") or REPO / "test-artifacts" / "hardening")


class Tally:
    """Counts for one item (thread-safe); ``write()`` merges them into the item's JSON file."""

    def __init__(self, item: str):
        self.item = item
        self.counts: Counter[str] = Counter()
        self.notes: dict[str, object] = {}
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def note(self, key: str, value: object) -> None:
        with self._lock:
            self.notes[key] = value

    def write(self) -> Path | None:
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            path = ARTIFACTS / f"{self.item}.json"
            with self._lock:
                data = {"counts": dict(sorted(self.counts.items())), "notes": self.notes}
            path.write_text(json.dumps(data, indent=2, default=str, sort_keys=True))
            return path
        except OSError:  # a read-only checkout must not fail the suite
            return None

"""``SimContext``: the parts of a simulator every handler reads (settings, clock, stores, counters, URLs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runway_nb.sim.clock import SimClock
from runway_nb.sim.config import SimConfig
from runway_nb.sim.state import SimStats, TaskStore, TaskView, UploadStore

__all__ = ["SimContext"]


@dataclass(frozen=True)
class SimContext:
    config: SimConfig
    clock: SimClock
    store: TaskStore
    uploads: UploadStore
    stats: SimStats
    base_url: Callable[[], str]  # asked each time: the server's address may come later

    def output_url(self, task_id: str, index: int, ext: str) -> str:
        return f"{self.base_url()}/_sim/outputs/{task_id}/{index}.{ext}"

    def output_urls(self, view: TaskView) -> list[str]:
        return [self.output_url(view.id, i, view.ext) for i in range(len(view.output_sizes) or view.out_count)]

"""Rendering a task's outputs off the request path: :class:`RenderJob` and the :class:`Renderer` pool.

Renders run on a small thread pool and are cached (most recently used first), so tasks that ask
for the same picture are rendered once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["DEFAULT_VIDEO_SECONDS", "RenderJob", "Renderer"]

DEFAULT_VIDEO_SECONDS = 5.0  # a video whose catalog entry gives no duration
_CACHE_SIZE = 24


@dataclass(frozen=True)
class RenderJob:
    kind: str  # "image" | "video"
    size: tuple[int, int]
    duration: float | None  # seconds of a video; None for images
    prompt: str
    model: str
    seed: int
    count: int
    source_image: bytes | None
    source_video: bytes | None

    def cache_key(self) -> str:
        h = hashlib.sha1()
        for part in (self.kind, self.size, self.duration, self.prompt, self.model, self.seed, self.count):
            h.update(repr(part).encode())
        for src in (self.source_image, self.source_video):
            h.update(hashlib.sha1(src).digest() if src else b"-")
        return h.hexdigest()


class Renderer:
    """Renders jobs on ``workers`` threads; ``close()`` drops the ones not started."""

    def __init__(self, workers: int = 2):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runway-sim-render")
        self._cache: OrderedDict[str, list[bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._closed = False

    def submit(self, job: RenderJob) -> Future[list[bytes]]:
        return self._executor.submit(self.render, job)

    def render(self, job: RenderJob) -> list[bytes]:
        """The job's outputs, rendered now in this thread (or from the cache)."""
        key = job.cache_key()
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        from runway_nb.sim import media  # PIL and PyAV load on the first render, not on import

        w, h = job.size
        outs: list[bytes] = []
        for i in range(job.count):
            seed = (job.seed + i) % (2 ** 32)
            if job.kind == "image":
                outs.append(media.render_image(w, h, prompt=job.prompt, model=job.model, seed=seed,
                                               source=job.source_image))
            else:
                duration = DEFAULT_VIDEO_SECONDS if job.duration is None else job.duration
                outs.append(media.render_video(w, h, duration, prompt=job.prompt, model=job.model,
                                               seed=seed, source_image=job.source_image,
                                               source_video=job.source_video))
        with self._cache_lock:
            self._cache[key] = outs
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return outs

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)

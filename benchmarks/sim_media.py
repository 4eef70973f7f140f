"""The simulator's media: time to render a 5 s 1280x720 video and a 1920x1080 image, and
whether rendering blocks the event loop of an in-process async client.

Render times: ``runway_nb.sim.media.render_video`` / ``render_image`` called directly, after
one warm-up call each (imports, codec set-up), medians of ``runs`` calls with different seeds
(so no cache is involved).

Event loop: an ``AsyncRunway`` on the in-process simulator (``AsyncSimTransport``) creates a
5 s 1280:720 ``text_to_video`` task and a 1920:1080 ``text_to_image`` task; while the
simulator renders them in its worker threads, a ticker on the loop sleeps 2 ms at a time and
records how late each wake-up is. Reported: the worst and p99 lateness while rendering, and
the same with nothing rendering, for reference (two cores: the render threads and the loop
share the GIL, so some lateness is expected).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def render_times(runs: int = 5) -> dict:
    from runway_nb.sim import media

    kw = dict(prompt="a lighthouse at dusk, waves", model="gen4.5")
    media.render_video(1280, 720, 5.0, seed=0, **kw)  # warm-up
    media.render_image(1920, 1080, seed=0, **kw)
    video, image = [], []
    sizes = {}
    for i in range(1, runs + 1):
        t = time.perf_counter()
        data = media.render_video(1280, 720, 5.0, seed=i, **kw)
        video.append(time.perf_counter() - t)
        sizes["video_bytes"] = len(data)
        t = time.perf_counter()
        data = media.render_image(1920, 1080, seed=i, **kw)
        image.append(time.perf_counter() - t)
        sizes["image_bytes"] = len(data)
    return {"video_720p_5s_s": statistics.median(video), "image_1080p_s": statistics.median(image),
            "video_runs_s": video, "image_runs_s": image, **sizes}


async def _ticker(stop: asyncio.Event, out: list[float], tick: float = 0.002) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(tick)
        out.append(time.perf_counter() - t - tick)


async def _loop_stall(seconds_idle: float = 1.0) -> dict:
    from runway_nb import AsyncRunway
    from runway_nb.sim import Simulator

    sim = Simulator(speed=1.0, concurrency=10)
    client = AsyncRunway(provider="sim", simulator=sim, journal=False, announce=False)
    idle: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(_ticker(stop, idle))
    await asyncio.sleep(seconds_idle)
    stop.set()
    await tick
    busy: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(_ticker(stop, busy))
    t0 = time.perf_counter()
    await client.text_to_video.create(model="gen4.5", prompt="a lighthouse at dusk", ratio="1280:720",
                                      duration=5, seed=7)
    await client.text_to_image.create(model="gen4_image", prompt="a lighthouse at dusk", ratio="1920:1080",
                                      seed=7)
    # Wait for both renders without blocking the loop.
    done = await asyncio.to_thread(sim.wait_media, 60.0)
    render_wall = time.perf_counter() - t0
    stop.set()
    await tick
    await client.aclose()
    sim.close()

    def stats(xs: list[float]) -> dict:
        xs = sorted(xs)
        return {"max_ms": 1e3 * xs[-1], "p99_ms": 1e3 * xs[int(0.99 * (len(xs) - 1))], "ticks": len(xs)}

    return {"rendered": done, "render_wall_s": render_wall, "while_rendering": stats(busy), "idle": stats(idle)}


def run(runs: int = 5) -> dict:
    out = render_times(runs)
    out["loop"] = asyncio.run(_loop_stall())
    out["runs"] = runs
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))

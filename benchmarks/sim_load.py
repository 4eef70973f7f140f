"""Simulator throughput under load, and the client's event loop meanwhile.

One ``Simulator(speed=speed, concurrency=tasks)`` serves a real ``SimServer`` on 127.0.0.1 (a
thread of this process, the stdlib threading HTTP server; Nagle off as in ``polling.py``). An
``AsyncRunway`` (journal off, outputs not archived, the simulator's default run times and 5 s poll floor in its clock)
creates ``tasks`` tasks at once over HTTP, half ``text_to_video`` (gen4.5, 5 s, 1280:720) and
half ``text_to_image`` (gen4_image, 1280:720), alternating, every one with its own seed so each
renders its own media (no cache), and awaits ``handle.wait()`` on all of them; when all have
finished, it waits until the simulator has rendered every output (``sim.wait_media``).

Reported: tasks finished per real second (``tasks / wall``), the wall time from the first
create to the last finish and to the last render, and the worst and p99 stall of the client's
event loop meanwhile (a heartbeat task sleeps 5 ms at a time and records how late it wakes),
after one-time loading: request building, task parsing, a tiny render and one task over HTTP
warm the catalog, the task model, the codecs and httpx's network backend first (a first task in
a fresh process pays those imports once, on the loop).
The simulator has no event loop of its own: its server answers from threads and renders in
worker threads, all in this process, so its rendering competes with the client's loop for the
GIL and the two cores, which is what the stall figure shows. Goal: worst stall <= 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "a lighthouse at dusk, waves"


async def _heartbeat(stop: asyncio.Event, out: list[float], tick: float = 0.005) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(tick)
        out.append(time.perf_counter() - t - tick)


async def _load(tasks: int, speed: float) -> dict:
    from runway_nb import AsyncRunway
    from runway_nb.sim import Simulator, server

    server._Handler.disable_nagle_algorithm = True  # see polling.py: delayed ACKs, not the simulator
    sim = Simulator(speed=speed, concurrency=tasks)
    client = AsyncRunway(provider="sim", base_url=sim.url, simulator=sim, journal=False, outputs=False,
                         announce=False)
    # One-time loading (the catalog, the task model, the codecs) happens before the heartbeat starts:
    # the figure is the steady state of a session that has made a task before.
    from runway_nb.api.dialects import parse_task
    from runway_nb.sim import media

    client.prepare("text_to_video", model="gen4.5", prompt=PROMPT, ratio="1280:720", duration=5)
    client.prepare("text_to_image", model="gen4_image", prompt=PROMPT, ratio="1280:720")
    parse_task({"id": "warm", "status": "PENDING"}, "runway")
    media.render_video(128, 72, 0.5, seed=1, prompt=PROMPT, model="gen4.5")
    media.render_image(128, 72, seed=1, prompt=PROMPT, model="gen4_image")
    # One task over HTTP: httpx's first request imports its network backend (anyio's, ~40 ms).
    await (await client.text_to_image.create(model="gen4_image", prompt=PROMPT, ratio="1280:720", seed=1)).wait()
    finished_at: list[float] = []
    stalls: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(stop, stalls))
    t0 = time.perf_counter()

    async def one(i: int) -> str:
        if i % 2:
            handle = await client.text_to_image.create(model="gen4_image", prompt=PROMPT, ratio="1280:720",
                                                       seed=1000 + i)
        else:
            handle = await client.text_to_video.create(model="gen4.5", prompt=PROMPT, ratio="1280:720",
                                                       duration=5, seed=1000 + i)
        task = await handle.wait()
        finished_at.append(time.perf_counter() - t0)
        return task.status

    try:
        statuses = await asyncio.gather(*(one(i) for i in range(tasks)))
        wall = time.perf_counter() - t0
        rendered = await asyncio.to_thread(sim.wait_media, 120.0)
        wall_rendered = time.perf_counter() - t0
    finally:
        stop.set()
        await beat
        await client.aclose()
        sim.close()
    stalls.sort()
    return {
        "tasks": tasks, "speed": speed, "mix": "half text_to_video gen4.5 5 s 1280:720, half text_to_image "
                                              "gen4_image 1280:720, own seeds",
        "succeeded": sum(s == "SUCCEEDED" for s in statuses), "all_rendered": rendered,
        "wall_s": wall, "wall_until_rendered_s": wall_rendered, "tasks_per_s": tasks / wall,
        "first_finish_s": min(finished_at), "median_finish_s": statistics.median(finished_at),
        "worst_stall_ms": 1e3 * stalls[-1], "p99_stall_ms": 1e3 * stalls[int(0.99 * (len(stalls) - 1))],
        "heartbeats": len(stalls),
    }


def run(tasks: int = 100, speed: float = 50.0) -> dict:
    return asyncio.run(_load(tasks, speed))


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100), indent=2))

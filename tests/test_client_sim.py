"""The client against the simulator, in-process and over real sockets: lifecycles, inputs,
uploads, saving, cancelling, waiting, and fault injection that must never duplicate a create."""

from __future__ import annotations

import asyncio
import collections
import io
import json

import pytest
from PIL import Image

from runway_nb import AsyncRunway, Runway, errors
from runway_nb.client.retry import RetryPolicy
from runway_nb.sim import media

FAST_POLICY = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05, max_retry_after=5)


def _png(width=64, height=48, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(params=["in-process", "socket"])
def client(request, make_sim, clean_env):
    sim = make_sim()
    if request.param == "in-process":
        c = Runway(provider="sim", simulator=sim, poll_floor=0.05)
    else:
        c = Runway(provider="sim", base_url=sim.url, poll_floor=0.05)
    c.policy = FAST_POLICY
    c.sim = sim
    yield c
    c.close()


def test_text_to_image_end_to_end(client, tmp_path):
    handle = client.text_to_image.create(model="gen4_image", prompt="a lighthouse at dusk", ratio="1920:1080",
                                         seed=42)
    assert handle.estimated_cost and handle.estimated_cost > 0
    seen = []
    task = handle.wait(timeout=30, on_update=lambda t: seen.append(t.status))
    assert task.succeeded and len(task.outputs) == 1 and seen[-1] == "SUCCEEDED"
    (path,) = handle.save(tmp_path)
    info = media.probe(path.read_bytes())
    assert (info["kind"], info["width"], info["height"]) == ("image", 1920, 1080)
    facts = json.loads((tmp_path / f"{handle.id}.json").read_text())
    assert facts["params"]["seed"] == 42 and facts["files"] == [path.name]


def test_image_to_video_from_local_pil_image(client):
    image = Image.new("RGB", (320, 200), (20, 180, 40))
    handle = client.image_to_video.create(model="gen4_turbo", prompt_image=image, prompt_text="pan left",
                                          ratio="720:1280", duration=2)
    assert handle.params["promptImage"].startswith("<image/png")  # data URI kept out of params
    task = handle.wait(timeout=30)
    info = media.probe(client.download(task.outputs[0]))
    assert (info["width"], info["height"], info["frames"], info["codec"]) == (720, 1280, 48, "h264")


def test_big_input_goes_through_upload(client, tmp_path, monkeypatch):
    monkeypatch.setattr("runway_nb.api.media.DATA_URI_LIMIT", 200)  # force the upload path with a small file
    path = tmp_path / "still.png"
    noisy = Image.frombytes("RGB", (64, 64), bytes((i * 7919) % 251 for i in range(64 * 64 * 3)))
    noisy.save(path)
    handle = client.image_to_video.create(model="gen4_turbo", prompt_image=path, ratio="1280:720", duration=2)
    sent = handle.params["promptImage"]
    assert sent.startswith("runway://"), sent
    assert handle.wait(timeout=30).succeeded


def test_cancel_ends_wait_and_repeat_cancel_is_fine(client):
    client.sim.configure(run_seconds=600.0)
    handle = client.text_to_video.create(model="gen4.5", prompt="slow clouds", ratio="1280:720", duration=5)
    assert handle.refresh().status in ("PENDING", "RUNNING", "THROTTLED")
    handle.cancel()
    handle.cancel()
    assert handle.status == "CANCELLED"
    with pytest.raises(errors.NotFoundError):
        client.tasks.get(handle.id)


def test_wait_timeout_can_cancel_the_remote_task(client):
    client.sim.configure(run_seconds=600.0)
    handle = client.text_to_video.create(model="gen4.5", prompt="slow clouds", ratio="1280:720", duration=5)
    with pytest.raises(errors.APITimeoutError, match="cancelled"):
        handle.wait(timeout=0.3, cancel_on_timeout=True)
    with pytest.raises(errors.NotFoundError):
        client.tasks.get(handle.id)


def test_moderation_failure_raises_with_hint(client):
    handle = client.text_to_image.create(model="gen4_image", prompt="something forbidden", ratio="1280:720")
    with pytest.raises(errors.TaskFailedError) as info:
        handle.wait(timeout=30)
    assert info.value.failure_code.startswith("SAFETY.INPUT")
    assert "moderation" in info.value.hint.lower()
    assert handle.wait(raise_on_failure=False).failed


def test_throttled_beyond_concurrency_then_all_finish(client):
    client.sim.configure(concurrency=1, run_seconds=100.0)  # 1 s real each at speed 100
    handles = [client.text_to_image.create(model="gen4_image", prompt=f"p{i}", ratio="1280:720") for i in range(3)]
    statuses = [h.refresh().status for h in handles]
    assert "THROTTLED" in statuses or "PENDING" in statuses
    assert all(h.wait(timeout=60).succeeded for h in handles)


def test_organization(client):
    org = client.organization()
    assert isinstance(org.credit_balance, int)
    assert "gen4_turbo" in org["tier"]["models"]


@pytest.mark.parametrize("fault", ["5xx_after", "drop"])
def test_faults_after_commit_never_duplicate_a_create(client, fault):
    client.sim.configure(script=[fault])
    before = client.sim.stats.creates
    with pytest.raises(errors.OutcomeUnknownError):
        client.text_to_image.create(model="gen4_image", prompt="once only", ratio="1280:720")
    assert client.sim.stats.creates == before + 1  # the server made exactly one task; we did not resend


def test_refusals_before_commit_are_retried_once_created(client):
    client.sim.configure(script=["429", "drop_before" if client.settings.in_process_sim else "429", "ok"])
    before = client.sim.stats.creates
    handle = client.text_to_image.create(model="gen4_image", prompt="after refusals", ratio="1280:720")
    assert client.sim.stats.creates == before + 1
    assert handle.wait(timeout=30).succeeded


def test_polling_rides_out_heavy_faults(client):
    client.sim.configure(rate_5xx=0.3, rate_drop=0.2, retry_after=0.05)
    client.policy = RetryPolicy(max_retries=8, base_delay=0.01, max_delay=0.05)
    client.sim.configure(script=["ok"])  # the create itself goes through
    handle = client.text_to_image.create(model="gen4_image", prompt="weather", ratio="1280:720")
    assert handle.wait(timeout=60).succeeded


def test_async_client_same_surface(make_sim, clean_env):
    sim = make_sim()

    async def main():
        async with AsyncRunway(provider="sim", simulator=sim, poll_floor=0.05) as client:
            handles = [await client.text_to_image.create(model="gen4_image_turbo", prompt=f"cat {i}",
                                                         ratio="1280:720", reference_images=[_png()])
                       for i in range(3)]
            tasks = await asyncio.gather(*(h.wait(timeout=30) for h in handles))
            assert all(t.succeeded for t in tasks)
            data = await client.download(tasks[0].outputs[0])
            assert media.probe(data)["width"] == 1280
            slow = await client.text_to_video.create(model="gen4.5", prompt="x", ratio="1280:720", duration=5)
            sim.configure(run_seconds=600.0)
            await slow.cancel()
            assert slow.status == "CANCELLED"

    asyncio.run(main())


def test_a_burst_of_creates_builds_one_request_per_turn_of_the_loop(make_sim, clean_env, monkeypatch):
    """A sweep gathers its creates at once; each checks and builds its request before its first
    await. They take turns: one build per turn of the event loop, so the loop never runs a hundred
    request builds in one go (the simulator-load benchmark's stall at a sweep's start), and at most
    MAX_IN_FLIGHT creates are under way at once."""
    from runway_nb.client import core

    sim = make_sim(speed=50.0, concurrency=100)
    turn, builds_per_turn = [0], collections.Counter()
    under_way, most = [0], [0]
    prepare = core._BaseClient.prepare

    def counting(self, *args, **kwargs):
        builds_per_turn[turn[0]] += 1
        under_way[0] += 1
        most[0] = max(most[0], under_way[0])
        return prepare(self, *args, **kwargs)

    def done(handle):
        under_way[0] -= 1
        return handle

    send = core.AsyncRunway._send

    async def slow_send(self, request):
        await asyncio.sleep(0.05)
        return await send(self, request)

    async def main():
        async def ticker():  # one step per turn of the loop
            while True:
                turn[0] += 1
                await asyncio.sleep(0)

        async with AsyncRunway(provider="sim", simulator=sim, poll_floor=0.05) as client:
            monkeypatch.setattr(core._BaseClient, "prepare", counting)
            # A host 50 ms away: every slot is taken before the first create is answered (from the
            # in-process simulator, a create could finish before the sixteenth is built).
            monkeypatch.setattr(core.AsyncRunway, "_send", slow_send)

            async def one(i):
                return done(await client.text_to_image.create(model="gen4_image", prompt=f"cat {i}",
                                                              ratio="1280:720", seed=i))
            ticking = asyncio.ensure_future(ticker())
            try:
                return await asyncio.gather(*(one(i) for i in range(3 * core.MAX_IN_FLIGHT)))
            finally:
                ticking.cancel()

    handles = asyncio.run(main())
    assert len({h.id for h in handles}) == 3 * core.MAX_IN_FLIGHT
    assert max(builds_per_turn.values()) == 1  # 16 in the first turn before
    assert most[0] == core.MAX_IN_FLIGHT


def test_no_key_means_simulator_announced_once(monkeypatch, capsys, clean_env):
    import runway_nb.client.backend as client_module

    monkeypatch.setattr(client_module, "_announced", False)
    first = Runway()
    second = Runway()
    err = capsys.readouterr().err
    assert first.provider == "sim" and second.provider == "sim"
    assert err.count("built-in Runway simulator") == 1
    assert "end" in err  # says its tasks end with the process


def test_cancel_after_the_task_finished_keeps_it(client):
    handle = client.text_to_image.create(model="gen4_image", prompt="done already", ratio="1280:720")
    client.sim.wait_media(30)
    import time as _time

    deadline = _time.monotonic() + 30
    while client.get_task(handle.id).status != "SUCCEEDED" and _time.monotonic() < deadline:
        _time.sleep(0.05)
    handle.cancel()  # the handle has not seen the finish yet: it must not delete the result
    assert handle.status == "SUCCEEDED" and handle.outputs
    assert client.get_task(handle.id).succeeded


def test_await_a_sync_handle_waits_on_the_running_loop(make_sim, clean_env):
    sim = make_sim()
    client = Runway(provider="sim", simulator=sim, poll_floor=0.05)
    handle = client.text_to_image.create(model="gen4_image", prompt="awaited", ratio="1280:720")
    ticks = []

    async def main():
        async def heartbeat():  # the loop stays free while the handle is awaited
            while True:
                ticks.append(1)
                await asyncio.sleep(0.01)

        beat = asyncio.ensure_future(heartbeat())
        task = await handle
        beat.cancel()
        return task

    task = asyncio.run(main())
    assert task.succeeded and handle.task is task and handle.outputs
    assert len(ticks) > 3
    assert client.async_twin() is client.async_twin()

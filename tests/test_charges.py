"""What a cancelled task is shown to cost (notebook/charges.py): the charge stays once it ran."""

from __future__ import annotations

import time

from runway_nb.client import Runway
from runway_nb.notebook.charges import handle_credits


def _cancel_when(client: Runway, status: str):
    handle = client.image_to_video.create(model="gen4_turbo", prompt="a long take", ratio="1280:720", duration=5,
                                          image="https://example.com/in.png")
    deadline = time.monotonic() + 20
    while handle.refresh().status != status:
        assert time.monotonic() < deadline, f"never {status}"
        time.sleep(0.05)
    handle.cancel()
    assert handle.status == "CANCELLED"
    return handle


def test_a_cancel_after_a_poll_saw_it_run_keeps_its_charge_without_a_journal(make_sim, clean_env) -> None:
    sim = make_sim(speed=20.0, pending_seconds=1.0, run_seconds=600.0)
    client = Runway(provider="sim", simulator=sim, journal=False, announce=False)
    try:
        ran = _cancel_when(client, "RUNNING")
        assert handle_credits(ran) == ran.estimated_cost > 0, "the handle remembers it saw the task run"
    finally:
        client.close()


def test_a_cancel_before_it_ran_is_refunded(make_sim, clean_env) -> None:
    sim = make_sim(speed=1.0, pending_seconds=600.0, run_seconds=600.0)
    client = Runway(provider="sim", simulator=sim, journal=False, announce=False)
    try:
        waiting = _cancel_when(client, "PENDING")
        assert handle_credits(waiting) == 0
    finally:
        client.close()

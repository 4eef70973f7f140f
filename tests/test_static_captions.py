"""The words of the static card: credits of a cancelled task, the model named once, plain link captions."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest

from runway_nb.api.task import Task
from runway_nb.notebook.widgets._static import charged_credits, static_html, static_text
from runway_nb.notebook.widgets._where import saved, where_link

PARAMS = {"endpoint": "text_to_video", "model": "gen4.5", "ratio": "1280:720", "duration": 5, "seed": 7,
          "promptText": "a red fox in the snow"}
CREATED = datetime(2026, 12, 6, 14, 5, tzinfo=timezone.utc)


def _visible(page: str) -> str:
    """The text a person reads: tags and attribute values dropped."""
    return re.sub(r"<[^>]*>", " ", page)


def test_a_cancelled_task_shows_no_charge() -> None:
    task = Task(id="t-cancelled", status="CANCELLED", created_at=CREATED, estimated_cost=25)
    page, text = static_html(task, PARAMS), static_text(task, PARAMS)
    for shown in (_visible(page), text):
        assert "25 credits" not in shown and "0 credits" in shown
    assert charged_credits("CANCELLED", None, 25) == 0
    assert charged_credits("CANCELLED", 3, 25) == 3  # a final cost Runway reports stays
    assert charged_credits("CANCELLED", None, 25, ran=True) == 25  # cancelled while RUNNING: not refunded
    assert charged_credits("SUCCEEDED", None, 25) == 25


def test_the_card_names_the_model_once() -> None:
    task = Task(id="t-ok", status="SUCCEEDED", created_at=CREATED, cost=1250,
                outputs=["https://example.com/out.mp4"])
    page = _visible(static_html(task, PARAMS, poster_side=None))
    assert page.count("gen4.5") == 1
    assert "text to video · gen4.5" in page and "1280:720 · seed 7 · 5 s · 1,250 credits" in page
    # plain text has no heading: the model stays in its one facts line
    assert static_text(task, PARAMS).splitlines()[0].count("gen4.5") == 1


def _nested_brackets(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth > 1:
            return True
    return False


@pytest.mark.parametrize("where", [
    where_link("runway", CREATED.timestamp(), "https://example.com/a.mp4"),
    where_link("runway", None, "https://example.com/a.mp4"),
    where_link("comet", CREATED.timestamp(), "https://example.com/a.mp4"),
    where_link("sim", None, "https://example.com/a.mp4"),
    where_link("sim-server", None, "https://example.com/a.mp4"),
    where_link("runway", None, "data:image/png;base64,AAAA"),
    saved("runway_outputs/a_0.mp4"),
])
def test_link_captions_read_plainly(where) -> None:
    assert not _nested_brackets(where.text()) and "Download" not in where.text()


def test_the_card_captions_have_no_nested_brackets() -> None:
    task = Task(id="t-two", status="SUCCEEDED", created_at=CREATED, cost=10,
                outputs=["https://example.com/a.mp4", "https://example.com/b.mp4"])
    page, text = _visible(static_html(task, PARAMS, poster_side=None)), static_text(task, PARAMS)
    assert "Runway link" in page and "expires" in page
    for shown in (page, text):
        assert not _nested_brackets(shown)


def _cancelled(make_sim, clean_env, *, running: bool):
    """A gen4_image task cancelled before it ran (refunded) or after a poll saw it RUNNING (charged)."""
    from runway_nb.client.core import Runway

    sim = make_sim(speed=1.0, pending_seconds=0.05 if running else 600, run_seconds=600)
    client = Runway(provider="sim", simulator=sim)
    handle = client.text_to_image.create(model="gen4_image", promptText="a fox", ratio="1920:1080")
    if running:
        deadline = time.monotonic() + 30  # the sim starts it after 0.05 s; a busy machine may take longer
        while handle.refresh().status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert handle.status == "RUNNING"
    handle.cancel()
    assert handle.status == "CANCELLED" and handle.estimated_cost == 8
    return client, handle


def test_a_task_cancelled_before_it_ran_shows_0_credits(make_sim, clean_env) -> None:
    from runway_nb.notebook.session import TaskTable

    client, handle = _cancelled(make_sim, clean_env, running=False)
    with client:
        assert "0 credits" in static_text(handle) and "8 credits" not in _visible(static_html(handle))
        assert TaskTable([handle]).rows[0]["credits"] == "0"
        assert client.organization().credit_balance == 10_000  # the simulator refunded it too


def test_a_task_cancelled_while_running_keeps_its_charge(make_sim, clean_env) -> None:
    from runway_nb.notebook.session import TaskTable

    client, handle = _cancelled(make_sim, clean_env, running=True)
    with client:
        assert "8 credits" in static_text(handle)
        assert TaskTable([handle]).rows[0]["credits"] == "8"
        assert client.organization().credit_balance == 10_000 - 8  # Runway keeps a RUNNING task's charge

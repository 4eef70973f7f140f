"""The client's public surface that other layers use: connect(), prepare(), delete_task(),
download_with_type(), created_at(), and the events the journal subscribes to."""

from __future__ import annotations

import pytest

import runway_nb
from runway_nb import errors
from runway_nb.client.core import AsyncRunway, Runway
from runway_nb.client.events import CreateAnswered, CreateSent, TaskSeen
from runway_nb.client.factory import connect
from runway_nb.client.journal import Journal


def test_connect_without_a_key_is_the_simulator_sync_or_async(make_sim, clean_env):
    sim = make_sim()
    client = connect(simulator=sim, journal=False, announce=False)
    assert isinstance(client, Runway) and client.simulator is sim and client.settings.in_process_sim
    aclient = connect(simulator=sim, journal=False, announce=False, asynchronous=True)
    assert isinstance(aclient, AsyncRunway) and aclient.simulator is sim
    assert runway_nb.connect is connect  # the package exports it


def test_connect_to_runway_without_a_key_says_how_to_fix_it(clean_env):
    with pytest.raises(errors.RunwayError, match="RUNWAYML_API_SECRET"):
        connect("runway")


def test_prepare_validates_and_fills_defaults_without_sending(make_sim, clean_env):
    sim = make_sim()
    client = connect(simulator=sim, journal=False, announce=False)
    draft = client.prepare("text_to_image", prompt="a kite", model="gen4_image", ratio="1024:1024")
    assert draft.body["promptText"] == "a kite" and "seed" in draft.body
    assert sim.stats.creates == 0
    with pytest.raises(errors.ValidationError) as err:
        client.prepare("text_to_image", prompt="a kite", model="gen4_image", ratio="3:2")
    assert err.value.field == "ratio" and sim.stats.creates == 0


def test_delete_task_raises_for_an_unknown_id_and_cancel_does_not(make_sim, clean_env):
    client = connect(simulator=make_sim(), journal=False, announce=False)
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.NotFoundError):
        client.delete_task(missing)
    client.cancel_task(missing)  # a repeat 404 is fine for a cancel


def test_created_at_and_download_with_type(make_sim, clean_env):
    client = connect(simulator=make_sim(), journal=False, announce=False)
    handle = client.text_to_image.create(prompt="a kite", model="gen4_image", ratio="1024:1024")
    assert client.created_at(handle.id) is not None
    assert client.created_at("someone-elses-task") is None
    task = handle.wait()
    data, content_type = client.download_with_type(task.outputs[0])
    assert content_type is not None and content_type.startswith("image/") and data[:4] == b"\x89PNG"
    client.delete_task(handle.id)
    assert client.created_at(handle.id) is None  # after a DELETE a 404 is the truth


def test_events_reach_subscribers_and_the_journal(make_sim, clean_env, tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    client = connect(simulator=make_sim(), journal=journal, announce=False)
    seen: list[object] = []
    client.events.subscribe(seen.append)
    handle = client.text_to_image.create(prompt="a kite", model="gen4_image", ratio="1024:1024")
    handle.wait()
    kinds = [type(e) for e in seen]
    assert kinds[:2] == [CreateSent, CreateAnswered] and TaskSeen in kinds
    entry = journal.get(handle.id)
    assert entry is not None and entry.status == "SUCCEEDED"

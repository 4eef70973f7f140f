"""The process-wide session: defaults, registry, generate/compare, the task table."""

from __future__ import annotations

import asyncio
import io

import pytest

import runway_nb
from runway_nb.errors import TaskFailedError, ValidationError
from runway_nb.notebook.session import Session, TaskTable, get_session, wait_with_progress
from runway_nb.notebook.sweep import SweepDeclined, SweepError

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_package_namespace() -> None:
    # the session's own functions, loading the widgets' views first in a kernel (notebook/api.py)
    assert runway_nb.generate.__wrapped__ is runway_nb.notebook.session.generate
    assert runway_nb.compare.__wrapped__ is runway_nb.notebook.session.compare
    assert runway_nb.generate.__doc__ == runway_nb.notebook.session.generate.__doc__
    assert runway_nb.get_session() is get_session()
    assert runway_nb.Sweep is runway_nb.notebook.sweep.Sweep


def test_generate_returns_at_once_and_registers(runway_session, fast_sim) -> None:
    handle = runway_nb.generate("a red fox", model="gen4.5")
    assert handle.id and not handle.finished and handle.status == "PENDING"
    assert handle.endpoint == "text_to_video"
    assert handle.params["ratio"] == "1280:720" and handle.params["duration"] == 5  # model defaults recorded
    assert runway_session.tasks == [handle] and runway_session.last() is handle
    assert runway_session.get(handle.id) is handle
    assert fast_sim.stats.creates == 1


def test_generate_wait_prints_one_progress_line(runway_session, capsys) -> None:
    handle = runway_nb.generate("a red fox", model="gen4_image", seed=7, wait=True)
    assert handle.finished and handle.status == "SUCCEEDED" and handle.outputs
    assert handle.params["seed"] == 7
    out = capsys.readouterr().out
    # captured stdout is not a terminal: one line per update, never glued together with \r
    lines = out.splitlines()
    assert "\r" not in out and out.endswith("\n") and len(lines) >= 2
    assert all(line.startswith(f"runway: {handle.id}") for line in lines)
    assert "SUCCEEDED" in lines[-1]


def test_generate_inside_a_running_loop_returns_at_once(runway_session) -> None:
    async def main():
        return runway_nb.generate("a red fox", model="gen4.5")

    handle = asyncio.run(main())
    assert not handle.finished


def test_type_is_inferred_from_model_and_inputs(runway_session) -> None:
    assert runway_nb.generate("x", model="gen4.5", image=PNG).endpoint == "image_to_video"
    assert runway_nb.generate("x", model="gen4_image").endpoint == "text_to_image"
    assert runway_nb.generate("x").endpoint == "text_to_video"  # default model gen4.5
    assert runway_nb.generate("x", image=PNG).params["model"] == "gen4.5"
    assert runway_nb.generate("x", type="text_to_image").params["model"] == "gen4_image"


def test_bad_input_raises_before_anything_is_sent(runway_session, fast_sim) -> None:
    with pytest.raises(ValidationError) as err:
        runway_nb.generate("x", model="gen4.5", ratio="1:1")
    assert err.value.field == "ratio" and "1280:720" in str(err.value)
    with pytest.raises(ValidationError) as err:
        runway_nb.generate("x", model="gen4.5", type="image_to_video")
    assert err.value.field == "promptImage"
    assert fast_sim.stats.creates == 0


def test_failure_raises_with_wait_unless_asked(runway_session) -> None:
    with pytest.raises(TaskFailedError) as err:
        runway_nb.generate("something forbidden", model="gen4.5", wait=True, progress=False)
    assert err.value.failure_code
    handle = runway_nb.generate("forbidden again", model="gen4.5", wait=True, raise_on_failure=False,
                                progress=False)
    assert handle.status == "FAILED"


def test_session_defaults(runway_session) -> None:
    runway_nb.configure(model="gen4_image", ratio="1080:1080")
    handle = runway_nb.generate("x")
    assert handle.params["model"] == "gen4_image" and handle.params["ratio"] == "1080:1080"
    # duration applies only where the model takes one
    runway_nb.configure(model=None, ratio=None, duration=8)
    assert runway_nb.generate("x", model="gen4_image").params.get("duration") is None
    assert runway_nb.generate("x", model="gen4.5").params["duration"] == 8
    # a default model that does not serve the chosen type is not used
    runway_nb.configure(model="gen4_image", duration=None)
    assert runway_nb.generate("x", type="text_to_video").params["model"] == "gen4.5"


def test_a_refused_default_says_it_is_a_default(runway_session) -> None:
    runway_nb.configure(ratio="1080:1080")
    with pytest.raises(ValidationError) as err:
        runway_nb.generate("x", model="gen4.5")
    assert err.value.field == "ratio" and "session's default" in str(err.value)
    assert "%runway config ratio=" in str(err.value)


@pytest.mark.parametrize("settings, field", [
    ({"model": "gen9"}, "model"), ({"duration": "long"}, "duration"), ({"poll_floor": 0}, "poll_floor"),
    ({"provider": "nope"}, "provider"), ({"save": "perhaps"}, "save"), ({"colour": "red"}, "colour"),
])
def test_configure_rejects_bad_values(settings, field) -> None:
    session = Session()
    with pytest.raises(ValidationError) as err:
        session.configure(**settings)
    assert err.value.field == field
    assert session.defaults["model"] is None  # nothing changed


def test_configure_values_and_reset(monkeypatch) -> None:
    monkeypatch.delenv("RUNWAY_NB_OUTPUTS")  # the built-in default folder
    session = Session()
    assert session.defaults["save"] is True  # outputs are kept unless turned off
    new = session.configure(duration="6", poll_floor="0.5", save="yes", provider="SIM")
    assert new["duration"] == 6 and new["poll_floor"] == 0.5 and new["save"] is True and new["provider"] == "sim"
    assert session.save_folder(None) == "runway_outputs" and session.save_folder(False) is None
    assert session.save_folder("out") == "out"
    session.configure(save="false", duration="")
    assert session.defaults["save"] is False and session.defaults["duration"] is None
    session.reset()
    assert session.defaults["provider"] is None


def test_poll_floor_reaches_the_clients(runway_session, sim_client) -> None:
    runway_session.configure(poll_floor=0.2)
    assert sim_client.poll_floor == 0.2
    runway_session.configure(poll_floor=None)
    assert sim_client.poll_floor == pytest.approx(5.0 / 100)  # 5 s of simulated time


def test_default_client_is_the_simulator_without_a_key(clean_env, capsys) -> None:
    session = Session()
    client = session.client
    assert client.provider == "sim" and client.settings.in_process_sim
    assert session.client_for(None) is client
    session.reset()


def test_save_on_success(runway_session, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNWAY_NB_OUTPUTS")
    runway_session.configure(save_dir=None)
    handle = runway_nb.generate("x", model="gen4_image", wait=True, save=True, progress=False)
    assert handle.files and all(p.exists() for p in handle.files)
    assert handle.files[0].parent.name == "runway_outputs"
    # without wait, the handle carries the folder for the widget / the next refresh
    handle = runway_nb.generate("y", model="gen4_image", save=str(tmp_path / "elsewhere"))
    assert handle.save_to == tmp_path / "elsewhere"
    handle.wait()
    runway_session.refresh(handle)
    assert handle.files and handle.files[0].parent == tmp_path / "elsewhere"


def test_cancel_and_attach(runway_session, sim_client) -> None:
    a = runway_nb.generate("a", model="gen4.5")
    b = runway_nb.generate("b", model="gen4.5")
    assert runway_session.cancel(a.id) == [a.id]
    assert runway_session.cancel(None) == [b.id]
    assert a.status == b.status == "CANCELLED"
    other = sim_client.create("text_to_video", prompt="made elsewhere", model="gen4.5")
    attached = runway_session.attach(other.id)
    assert attached is not other and attached.id == other.id and attached.task is not None
    assert runway_session.tasks[-1] is attached
    assert runway_session.attach(other.id) is attached  # the same handle again


def test_compare_bad_sweep_submits_nothing(runway_session, fast_sim) -> None:
    with pytest.raises(SweepError) as err:
        runway_nb.compare(["a", "b"], model=["gen4.5", "gen4_turbo"], duration=[5, 11])
    # gen4_turbo needs an image (all 4 of its combos) and 11 s is too long for gen4.5 (2)
    assert len(err.value.problems) == 6 and err.value.total == 8
    assert fast_sim.stats.creates == 0 and runway_session.tasks == []


def test_compare_skip_invalid_and_confirm(runway_session, fast_sim) -> None:
    s = runway_nb.compare("a", model="gen4.5", duration=[5, 11], skip_invalid=True)
    assert len(s) == 1 and len(s.skipped) == 1 and fast_sim.stats.creates == 1
    seen = {}

    def veto(planned, credits):
        seen.update(n=len(planned), credits=credits)
        return False

    with pytest.raises(SweepDeclined):
        runway_nb.compare("a", model="gen4.5", seed=[1, 2, 3], confirm=veto)
    assert seen == {"n": 3, "credits": 180} and fast_sim.stats.creates == 1


def test_task_table_escapes(runway_session) -> None:
    runway_nb.generate("<script>alert(1)</script> & co", model="gen4_image")
    table = runway_session.table()
    assert isinstance(table, TaskTable) and len(table) == 1
    html_text = table._repr_html_()
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text and "&amp; co" in html_text
    assert "<script>alert(1)</script>" in repr(table)  # plain text is plain
    assert repr(TaskTable([])) == "No tasks in this session yet."


def _table_handle(task_id: str, status: str, *, progress=None, cost=None, estimated=25.0, prompt="a fox"):
    """A handle as TaskTable reads it: id, status, endpoint, params, task, estimated cost."""
    from types import SimpleNamespace

    from runway_nb.api.task import Task

    task = Task(id=task_id, status=status, progress=progress, cost=cost, estimated_cost=estimated)
    return SimpleNamespace(id=task_id, status=status, endpoint="text_to_video", task=task, estimated_cost=estimated,
                           params={"model": "gen4.5", "ratio": "1280:720", "duration": 5, "seed": 7,
                                   "promptText": prompt})


def test_task_table_is_compact_and_left_aligned() -> None:
    long_prompt = "The camera slowly pushes in through the falling snow towards a red fox asleep by a tree"
    running = _table_handle("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "RUNNING", progress=0.42, prompt=long_prompt)
    cancelled = _table_handle("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "CANCELLED")
    table = TaskTable([running, cancelled])
    html_text = table._repr_html_()
    # ids: 8 characters shown, the full id in the tooltip, so a row does not wrap over three lines
    assert '<code title="0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b">0f1e2d3c</code>' in html_text
    assert ">0f1e2d3c-4b5a" not in html_text
    # left-aligned cells that override the notebook's right-aligned, striped table style
    assert html_text.count("text-align:left") == html_text.count("<td ") + html_text.count("<th ")
    assert "white-space:nowrap" in html_text
    # status with its progress; the prompt clipped; a duration with its unit
    first, second = table.rows
    assert first["status"] == "RUNNING 42%" and first["duration"] == "5 s"
    assert first["prompt"].endswith("…") and len(first["prompt"]) <= 48 and long_prompt.startswith(first["prompt"][:-1])
    # a cancelled task cost nothing: not its 25-credit estimate
    assert first["credits"] == "25" and second["credits"] == "0"
    text = repr(table)
    assert "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" in text  # plain text keeps the id to copy
    assert text.splitlines()[0].startswith("#  id")


def test_task_table_thousands_and_empty_columns() -> None:
    handle = _table_handle("a" * 36, "SUCCEEDED", cost=1250.0)
    handle.params = {"model": "gen4_image", "promptText": "x"}
    table = TaskTable([handle])
    assert table.rows[0]["credits"] == "1,250"
    assert "duration" not in repr(table) and "<th" in table._repr_html_() and "duration" not in table._repr_html_()


def test_wait_with_progress_to_a_stream(runway_session) -> None:
    handle = runway_nb.generate("x", model="gen4_image")
    stream = io.StringIO()
    task = wait_with_progress(handle, stream=stream)
    assert task.succeeded and stream.getvalue().endswith("\n")
    assert "THROTTLED" not in stream.getvalue()


def test_status_facts_show_what_a_cancel_cost() -> None:
    """%runway status follows the same rule as the list and the views: a task cancelled before it
    ran shows 0 credits, not its estimate; a known cost is shown with thousands separators."""
    from runway_nb.notebook.magics.facts import status_facts

    cancelled = _table_handle("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "CANCELLED")
    done = _table_handle("a" * 36, "SUCCEEDED", cost=1250.0)
    cancelled.files = done.files = []
    assert ("credits", "0") in status_facts(cancelled).rows
    assert ("credits", "1,250") in status_facts(done).rows

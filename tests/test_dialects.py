"""Each dialect on the seeds' example payloads, and the edge cases they imply."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from shared_docs import shared_file

from runway_nb import parse_task
from runway_nb.api.dialects import parse_progress
from runway_nb.errors import ResponseFormatError, TaskNotVisibleError


def _seed(name: str) -> str:
    return shared_file(f"seeds/{name}").read_text()


def _json_after(text: str, marker: str) -> dict:
    """The first balanced JSON object after ``marker`` in a seed document."""
    start = text.index("{", text.index(marker))
    depth = 0
    for i, ch in enumerate(text[start:], start):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            return json.loads(text[start:i + 1])
    raise AssertionError("unbalanced")


def test_comet_bare_example_from_seed():
    payload = _json_after(_seed("004_6d0e8a938a253b08.txt"), "'Authorization: Bearer <token>'\n{")
    task = parse_task(payload, "comet")
    assert task.id == "d0658ae1-bbdd-4adc-aaba-fd8070e14d79"
    assert task.status == "SUCCEEDED" and task.finished
    assert task.outputs == ["https://example.com/output.mp4"]
    assert task.created_at == datetime(2026, 5, 1, 12, 47, 47, 351000, tzinfo=timezone.utc)


def test_makevid_example_from_seed():
    payload = _json_after(_seed("002_79d8a4993f360f6f.txt"), "Example\n{")
    task = parse_task(payload, "makevid")
    assert task.id == "d110cdd2-df84-4126-ba58-8416b86003eb"
    assert task.status == "SUCCEEDED"
    assert task.progress == 1.0
    assert task.outputs == ["https://filesystem.site/cdn/20240909/PXM1k9NUg4paxT7eirUVfbHYiK5lsW.mp4"]
    assert task.model == "gen3a_turbo"
    assert task.failure is None
    assert task.created_at == datetime(2024, 9, 9, 6, 50, 55, 123000, tzinfo=timezone.utc)
    assert task.raw == payload


def test_useapi_example_from_seed():
    text = _seed("001_b0120a6939a912d0.txt")
    block = text[text.index("200 OK"):text.index("400 Bad Request")]
    block = block[block.index("{"):block.rindex("}") + 1]
    # The seed's example is not strict JSON (a missing comma after taskId, placeholders, a
    # trailing space); repair exactly those defects so the rest is read as documented.
    block = re.sub(r'("taskId": "[^"]+")\s*\n', r"\1,\n", block, count=1)
    payload = json.loads(block)
    task = parse_task(payload, "useapi")
    assert task.id == "user:user_id-runwayml:account_email-task:task_uuid"  # the id useapi GETs by
    assert task.status == "SUCCEEDED"
    assert task.progress == 1.0
    assert task.outputs == ["<asset url>"]
    assert task.model == "gen3a"
    assert task.failure is None and task.failure_code is None
    assert task.created_at == datetime(2024, 8, 1, 1, 2, 3, 456000, tzinfo=timezone.utc)


def test_seed_schema_statuses_including_processing():
    schema = _json_after(_seed("000_54b63e0027b56f43.txt"), "runway-task-schema.json")
    expected = {"PENDING": "PENDING", "PROCESSING": "RUNNING", "SUCCEEDED": "SUCCEEDED",
                "FAILED": "FAILED", "CANCELLED": "CANCELLED"}
    assert set(schema["properties"]["status"]["enum"]) == set(expected)
    for given, status in expected.items():
        task = parse_task({"id": "6f1c1e6e-0000-4000-8000-000000000000", "status": given,
                           "createdAt": "2024-01-01T00:00:00Z"}, "runway")
        assert task.status == status
    assert parse_task({"id": "x", "status": "PROCESSING"}, "runway").finished is False


def test_official_shapes():
    running = parse_task({"id": "a", "status": "RUNNING", "createdAt": "2026-01-01T00:00:00.000Z",
                          "progress": 0.42, "estimatedCost": {"credits": 25}}, "runway")
    assert running.progress == pytest.approx(0.42) and running.estimated_cost == 25 and not running.finished
    failed = parse_task({"id": "a", "status": "FAILED", "createdAt": "2026-01-01T00:00:00.000Z",
                         "failure": "bad prompt", "failureCode": "SAFETY.INPUT.TEXT", "cost": {"credits": 0}},
                        "runway")
    assert failed.failed and failed.failure_code == "SAFETY.INPUT.TEXT" and failed.cost == 0
    assert "moderation" in failed.hint.lower()
    cancelled = parse_task({"id": "a", "status": "CANCELLED", "createdAt": "2026-01-01T00:00:00Z"}, "runway")
    assert cancelled.finished and cancelled.cancelled


def test_unknown_status_is_kept_and_not_finished():
    task = parse_task({"id": "a", "status": "Warming_Up"}, "runway")
    assert task.status == "WARMING_UP"
    assert not task.finished and not task.known_status


def test_comet_envelope_from_reference():
    payload = {"code": "success", "message": "", "data": {
        "task_id": "t-1", "action": "IMAGE_TO_VIDEO", "status": "QUEUED", "fail_reason": "",
        "submit_time": 1773366766, "start_time": 0, "finish_time": 0, "progress": "0%",
        "data": {"id": "t-1", "status": "PENDING", "createdAt": "2026-03-13T09:52:46+08:00"}}}
    task = parse_task(payload, "comet")
    assert task.id == "t-1" and task.status == "PENDING" and task.progress == 0.0
    assert task.created_at == datetime(2026, 3, 13, 1, 52, 46, tzinfo=timezone.utc)
    assert task.model == "IMAGE_TO_VIDEO"


def test_comet_envelope_outer_status_only():
    payload = {"code": "success", "data": {"task_id": "t-2", "status": "QUEUED", "progress": "37%"}}
    task = parse_task(payload, "comet")
    assert task.status == "PENDING" and task.progress == pytest.approx(0.37)
    done = parse_task({"code": "success", "data": {"task_id": "t-2", "status": "SUCCESS", "progress": "100%",
                                                   "result_url": "https://cdn.example/v.mp4"}}, "comet")
    assert done.succeeded and done.outputs == ["https://cdn.example/v.mp4"]
    failed = parse_task({"code": "success", "data": {"task_id": "t-2", "status": "FAILURE",
                                                     "fail_reason": "moderated"}}, "comet")
    assert failed.failed and failed.failure == "moderated"


@pytest.mark.parametrize("payload", [
    {"code": "task_not_exist", "message": "task_not_exist", "data": None},
    {"error": "task_not_exist"},
    {"code": "fail", "message": "Task_Not_Exist"},
])
def test_comet_task_not_exist(payload):
    with pytest.raises(TaskNotVisibleError):
        parse_task(payload, "comet")


def test_useapi_error_object_and_string():
    base = {"taskId": "user:1-runwayml:a@b.c-task:u", "status": "FAILED", "progressRatio": "0.3"}
    obj = parse_task({**base, "error": {"errorMessage": "Prompt flagged", "reason": "SAFETY.INPUT.TEXT",
                                        "moderation_category": "X", "tally_asimov": True}}, "useapi")
    assert obj.failure == "Prompt flagged" and obj.failure_code == "SAFETY.INPUT.TEXT"
    assert obj.progress == pytest.approx(0.3)
    text = parse_task({**base, "error": "Something broke"}, "useapi")
    assert text.failure == "Something broke" and text.failure_code is None


def test_makevid_null_progress_at_creation():
    task = parse_task({"task": {"id": "m1", "status": "PENDING", "progressRatio": None, "artifacts": [],
                                "error": None, "createdAt": "2024-09-09T06:50:55.123Z"}}, "makevid")
    assert task.status == "PENDING" and task.progress is None and task.outputs == []


@pytest.mark.parametrize("value,expected", [
    (0.5, 0.5), ("0.25", 0.25), ("1", 1.0), ("45%", 0.45), (" 7 % ", 0.07), (45, 0.45), ("abc", None),
    (None, None), (True, None), ("nan", None), (-3, 0.0), ("1e400", None), ([], None),
])
def test_progress_formats(value, expected):
    got = parse_progress(value)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("dialect", ["runway", "comet", "useapi", "makevid"])
@pytest.mark.parametrize("payload", [[], "text", 3, None, {}, {"id": None, "status": "RUNNING"},
                                     {"id": "a"}, {"id": "a", "status": 5}, {"task": "nope"}])
def test_garbage_raises_our_error(dialect, payload):
    with pytest.raises(ResponseFormatError):
        parse_task(payload, dialect)


def test_unknown_dialect_names_the_allowed_ones():
    with pytest.raises(ValueError, match="runway, comet, useapi, makevid"):
        parse_task({"id": "a", "status": "PENDING"}, "acme")

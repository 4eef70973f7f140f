"""Server answers: every dialect parser returns a Task or raises our typed error, whatever it gets.

``runway_nb.parse_task(payload, dialect)`` for runway / comet / useapi / makevid is fed

- hypothesis-generated JSON: arbitrary recursive JSON (with NaN, ±Infinity and huge integers,
  which Python's ``json.loads`` accepts), and JSON shaped like each dialect (its own keys, each
  holding arbitrary JSON, inside its own envelopes);
- targeted cases, enumerated: from a real-looking payload of each dialect in each state, every
  field (at every depth) removed, and every field replaced by each of a list of wrong values
  (wrong types, empty and blank strings, a 1 MB string, NaN, huge numbers, nested objects);
  unknown and odd statuses; every progress format we could think of; envelopes nested too deep,
  too shallow or of the wrong type;
- raw HTTP bodies through the client (``get_task`` on an ``httpx.MockTransport``): not JSON,
  truncated JSON, JSON with 5,000-digit numbers.

It must return a Task whose fields hold their promises (id a non-empty string, progress in
0..1, outputs strings, costs finite, texts bounded), which a person can see (``summary()``,
``static_html``/``static_text``, ``repr``), or raise ``ResponseFormatError`` /
``TaskNotVisibleError`` with a bounded message: never anything else.

The widget half: a client on an ``httpx.MockTransport`` (no simulator) whose task answers an
unknown status, then SUCCEEDED: TaskView shows the unknown status as it came, says it is still
watching, keeps polling, and ends SUCCEEDED with the output (sync watch and the async poller).
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import math
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

import runway_nb
from runway_nb import Runway
from runway_nb.api.task import Task
from runway_nb.client.core import AsyncRunway
from runway_nb.errors import ResponseFormatError, RunwayError, TaskFailedError, TaskNotVisibleError
from runway_nb.notebook.widgets import TaskView, static_html, static_text

from . import Tally

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DIALECTS = ("runway", "comet", "useapi", "makevid")
MAX_EXAMPLES = 300  # per dialect and strategy
TALLY = Tally("server-answers")
HUGE = "x" * 1_000_000
TYPED = (ResponseFormatError, TaskNotVisibleError)

TASK_ID = "0c6e2f1a-3b7d-4c55-9a41-2f0e8d7b6a10"
URL = "https://dnznrvs05pmza.cloudfront.net/out/0.mp4?_jwt=abc"


# ---------------------------------------------------------------------------------------------
# The invariant


def check(payload: Any, dialect: str) -> Task | None:
    """parse_task: a sound Task or a typed error; anything else fails the test."""
    TALLY.add(f"cases {dialect}")
    try:
        task = runway_nb.parse_task(payload, dialect)
    except TYPED as exc:
        text = str(exc)
        assert isinstance(text, str) and len(text) < 5_000, f"{type(exc).__name__} message of {len(text)} chars"
        repr(exc)
        TALLY.add(f"typed error {dialect}")
        return None
    assert isinstance(task, Task)
    assert isinstance(task.id, str) and task.id.strip() and len(task.id) <= 2048
    assert isinstance(task.status, str) and task.status and len(task.status) <= 200
    assert task.progress is None or (isinstance(task.progress, float) and 0.0 <= task.progress <= 1.0)
    assert isinstance(task.outputs, list) and all(isinstance(u, str) and u.strip() for u in task.outputs)
    for text in (task.failure, task.failure_code, task.model):
        assert text is None or (isinstance(text, str) and len(text) <= 20_001)
    for money in (task.estimated_cost, task.cost):
        assert money is None or (isinstance(money, float) and math.isfinite(money))
    assert task.created_at is None or (isinstance(task.created_at, datetime) and task.created_at.tzinfo)
    assert task.dialect == dialect
    # what a person sees of it
    task.summary()
    repr(task)
    html = static_html(task, params={"endpoint": "text_to_video", "model": "gen4.5"})
    assert isinstance(html, str) and "<script" not in html.lower()
    static_text(task, params={})
    if task.failed:
        str(TaskFailedError(task))
    TALLY.add(f"task {dialect}")
    TALLY.add("unknown status kept" if not task.known_status else "known status")
    return task


# ---------------------------------------------------------------------------------------------
# Hypothesis: arbitrary JSON, and JSON shaped like each dialect

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(10 ** 60), max_value=10 ** 60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["", " ", "45%", "0.5", "SUCCEEDED", "RUNNING", "task_not_exist",
                                           "2024-11-06T10:00:00Z", "1e400", "NaN", URL, "javascript:alert(1)"]),
)
any_json = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)

RUNWAY_KEYS = ("id", "status", "progress", "output", "failure", "failureCode", "createdAt", "estimatedCost", "cost")
COMET_OUTER = ("task_id", "id", "status", "progress", "action", "fail_reason", "submit_time", "result_url",
               "video_url", "image_url", "data")
WEBAPP_KEYS = ("taskId", "id", "status", "progressRatio", "error", "artifacts", "createdAt", "taskType", "options")


def shaped(keys: tuple[str, ...], values: st.SearchStrategy = any_json) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({}, optional={k: values for k in keys})


runway_shaped = shaped(RUNWAY_KEYS)
comet_shaped = st.one_of(
    runway_shaped,
    st.fixed_dictionaries({"code": any_json},
                          optional={"message": any_json, "data": st.one_of(
                              any_json, st.fixed_dictionaries({}, optional={
                                  **{k: any_json for k in COMET_OUTER}, "data": st.one_of(runway_shaped, any_json)}))}),
)
artifact = st.fixed_dictionaries({}, optional={"url": any_json, "id": any_json})
webapp_shaped = st.fixed_dictionaries({}, optional={
    **{k: any_json for k in WEBAPP_KEYS},
    "artifacts": st.one_of(st.lists(st.one_of(artifact, any_json), max_size=3), any_json),
    "error": st.one_of(st.fixed_dictionaries({}, optional={k: any_json for k in (
        "errorMessage", "message", "error", "reason", "code", "moderation_category")}), any_json),
})
makevid_shaped = st.one_of(st.fixed_dictionaries({"task": st.one_of(webapp_shaped, any_json)},
                                                  optional={"server_id": any_json}), webapp_shaped)
SHAPED = {"runway": runway_shaped, "comet": comet_shaped, "useapi": webapp_shaped, "makevid": makevid_shaped}

FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_arbitrary_json(dialect: str) -> None:
    @FUZZ
    @given(payload=any_json)
    def run(payload: Any) -> None:
        TALLY.add("hypothesis arbitrary")
        check(payload, dialect)

    run()
    TALLY.write()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_dialect_shaped_json(dialect: str) -> None:
    @FUZZ
    @given(payload=SHAPED[dialect])
    def run(payload: Any) -> None:
        TALLY.add("hypothesis shaped")
        check(payload, dialect)

    run()
    TALLY.write()


# ---------------------------------------------------------------------------------------------
# Targeted: every field of real-looking payloads removed or replaced


def _official(status: str) -> dict:
    body: dict[str, Any] = {"id": TASK_ID, "createdAt": "2024-11-06T10:00:00.000Z", "status": status}
    if status == "RUNNING":
        body.update(progress=0.42, estimatedCost={"credits": 25})
    elif status == "SUCCEEDED":
        body.update(output=[URL], cost={"credits": 25})
    elif status == "FAILED":
        body.update(failure="Your input was flagged by our content moderation system.",
                    failureCode="SAFETY.INPUT.TEXT", cost={"credits": 25})
    return body


def _comet_envelope(status: str) -> dict:
    comet = {"RUNNING": "IN_PROGRESS", "SUCCEEDED": "SUCCESS", "FAILED": "FAILURE"}[status]
    return {"code": "success", "message": "", "data": {
        "task_id": TASK_ID, "action": "IMAGE_TO_VIDEO", "status": comet, "fail_reason": "",
        "submit_time": 1730887200, "start_time": 1730887201, "finish_time": 0,
        "progress": "42%" if status == "RUNNING" else "100%", "data": _official(status)}}


def _webapp(status: str, useapi: bool) -> dict:
    body: dict[str, Any] = {"id": TASK_ID, "createdAt": "2024-11-06T10:00:00.000Z", "taskType": "gen4_turbo",
                            "status": status, "progressRatio": "0.42" if status == "RUNNING" else "1",
                            "error": None, "options": {"text_prompt": "a fox", "seconds": 5}, "artifacts": []}
    if useapi:
        body["taskId"] = f"user:1-runwayml:sim@example.com-task:{TASK_ID}"
    if status == "SUCCEEDED":
        body["artifacts"] = [{"id": str(uuid.uuid4()), "url": URL, "filename": "out.mp4",
                              "metadata": {"duration": 5, "dimensions": [1280, 720]}}]
    elif status == "FAILED":
        body["error"] = ({"errorMessage": "flagged", "reason": "SAFETY.INPUT", "moderation_category": "TEXT"}
                         if useapi else "flagged")
    return body


STATES = ("RUNNING", "SUCCEEDED", "FAILED")
BASES: dict[str, list[dict]] = {
    "runway": [_official(s) for s in ("PENDING", "THROTTLED", *STATES)],
    "comet": [_official(s) for s in STATES] + [_comet_envelope(s) for s in STATES],
    "useapi": [_webapp(s, True) for s in STATES],
    "makevid": [{"task": _webapp(s, False), "server_id": "x"} for s in STATES],
}

WRONG_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10 ** 30, float("nan"), float("inf"), float("-inf"),
    "", " ", "\n", "null", "0", "-0.5", "🦊" * 3, "<script>window.__pwned=1</script>", "javascript:alert(1)",
    HUGE, [], [None], ["a", 1, None], {}, {"a": {"b": {"c": []}}}, {"credits": "many"}, [[[]]],
]
STATUSES = ["WEIRD_NEW_STATE", "succeeded", " Succeeded ", "SUCCESS", "FAILURE", "CANCELED", "PROCESSING",
            "queued", "NOT_START", "in_progress", "DONE", "ERROR", "🦊", "x" * 10_000, "SUCCEEDED\n", "\u2028",
            "<img src=x onerror=alert(1)>", "0", "-1", "null"]
PROGRESS = ["45%", "45 %", " 45% ", "0.45", "45", "100", "100%", "1", "0", "-5", "-5%", "%", "", "  ", "1/2",
            "50%%", "0x10", "1e400", "-1e400", "nan", "NaN%", "inf", "∞", "٤٥", "45.5.5", "4" * 60, 0.45, 45, 450,
            -0.1, 1.0000001, 1e308, float("nan"), float("inf"), True, False, None, [], {}, [0.5], {"value": 0.5}]


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _set(node: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    out = copy.deepcopy(node)
    target = out
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def _status_paths(base: dict) -> list[tuple]:
    return [p for p in _paths(base) if p and p[-1] == "status"]


def _progress_paths(base: dict) -> list[tuple]:
    return [p for p in _paths(base) if p and p[-1] in ("progress", "progressRatio")]


def targeted_cases(dialect: str) -> Iterator[tuple[str, Any]]:
    for base in BASES[dialect]:
        yield "base", base
        for path in list(_paths(base)):
            yield "removed", _set(base, path, None, delete=True)
            for bad in WRONG_VALUES:
                yield "wrong value", _set(base, path, bad)
        for path in _status_paths(base):
            for status in STATUSES:
                yield "status", _set(base, path, status)
        for path in _progress_paths(base):
            for progress in PROGRESS:
                yield "progress", _set(base, path, progress)
        # envelopes: one level too many, too few, of the wrong type, or a list
        yield "envelope", {"task": base}
        yield "envelope", {"data": base}
        yield "envelope", {"code": "success", "data": {"data": {"data": base}}}
        yield "envelope", {"code": 200, "data": "not an object"}
        yield "envelope", {"code": "task_not_exist", "data": None}
        yield "envelope", {"task": {"task": base}}
        yield "envelope", {"task": [base]}
        yield "envelope", {"task": None}
        yield "envelope", [base]
        yield "envelope", json.dumps(base)
    for top in (None, 0, "", "task", [], [[]], True, 1e308, float("nan")):
        yield "not an object", top


@pytest.mark.parametrize("dialect", DIALECTS)
def test_targeted_answers(dialect: str) -> None:
    kinds: dict[str, int] = {}
    for kind, payload in targeted_cases(dialect):
        kinds[kind] = kinds.get(kind, 0) + 1
        TALLY.add("targeted")
        check(payload, dialect)
    # sanity: the untouched payloads parse, in their own state
    for base in BASES[dialect]:
        task = check(base, dialect)
        assert task is not None and task.known_status
    TALLY.note(f"targeted kinds {dialect}", kinds)
    TALLY.write()


def test_unknown_statuses_are_kept_not_finished() -> None:
    for status in STATUSES:
        try:
            task = runway_nb.parse_task({"id": TASK_ID, "status": status}, "runway")
        except ResponseFormatError:
            assert not status.strip()  # only a blank status is unusable
            continue
        if not task.known_status:
            assert not task.finished and task.status  # an unknown status never ends the watch


def test_progress_formats() -> None:
    from runway_nb.api.dialects import parse_progress

    assert parse_progress("45%") == parse_progress("45 %") == parse_progress(" 45% ") == pytest.approx(0.45)
    assert parse_progress("0.45") == parse_progress(0.45) == parse_progress(45) == pytest.approx(0.45)
    for odd in ("1e400", "-1e400", "nan", "NaN%", "inf", "%", "", "1/2", "50%%", float("nan"), float("inf"),
                True, [], {}):
        assert parse_progress(odd) is None, odd
    assert parse_progress(450) == 1.0 and parse_progress(-0.1) == 0.0


# ---------------------------------------------------------------------------------------------
# Raw bodies through the client


RAW_BODIES = [b"", b"not json", b"<html>502</html>", b'{"id": "' + TASK_ID.encode() + b'", "status": "RUN',
              b"[]", b"null", b"1" * 5000, b'{"id": ' + b"9" * 5000 + b', "status": "RUNNING"}',
              b'{"id": "a", "status": "RUNNING", "progress": NaN}', b'{"id": "a", "status": Infinity}',
              b"\xff\xfe\x00garbage", json.dumps({"id": TASK_ID, "status": "SUCCEEDED", "output": [URL]}).encode()]


@pytest.mark.parametrize("provider", ["runway", "comet", "useapi", "makevid"])
def test_raw_bodies_through_the_client(provider: str) -> None:
    bodies = list(RAW_BODIES)

    @FUZZ
    @given(raw=st.one_of(st.binary(max_size=200), any_json.map(lambda v: json.dumps(v).encode())))
    def run(raw: bytes) -> None:
        bodies.append(raw)

    run()
    index = {"i": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies[index["i"]], headers={"content-type": "application/json"})

    client = Runway(provider=provider, api_key="test-key-not-secret", transport=httpx.MockTransport(handler),
                    journal=False, max_retries=0)
    try:
        for i in range(len(bodies)):
            index["i"] = i
            TALLY.add("raw bodies through the client")
            try:
                task = client.get_task(TASK_ID)
            except TYPED:
                continue
            except RunwayError as exc:  # e.g. comet's task_not_exist after the grace: NotFoundError
                assert provider == "comet", repr(exc)
                continue
            assert isinstance(task, Task)
    finally:
        client.close()
    TALLY.write()


# ---------------------------------------------------------------------------------------------
# The widget: shows what it got, keeps polling an unknown status


class _Backend:
    """A tiny Runway stand-in for httpx.MockTransport: one task that answers ``statuses`` in turn."""

    def __init__(self, statuses: list[str]):
        self.statuses = list(statuses)
        self.gets = 0
        self.task_id = str(uuid.uuid4())

    def _answer(self) -> dict:
        status = self.statuses[min(self.gets, len(self.statuses) - 1)]
        self.gets += 1
        body: dict[str, Any] = {"id": self.task_id, "status": status, "createdAt": "2024-11-06T10:00:00Z"}
        if status == "SUCCEEDED":
            body["output"] = ["https://example.com/out/0.mp4"]
        return body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"id": self.task_id, "estimatedCost": {"credits": 25}})
        return httpx.Response(200, json=self._answer())

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)


def _create(client: Any) -> Any:
    return client.text_to_video.create(model="gen4.5", prompt="a fox", ratio="1280:720", duration=5)


def _record(view: TaskView, name: str) -> list:
    seen = [getattr(view, name)]
    view.observe(lambda change: seen.append(change["new"]), names=[name])
    return seen


def test_widget_keeps_polling_an_unknown_status_sync() -> None:
    backend = _Backend(["PENDING", "WEIRD_NEW_STATE", "WEIRD_NEW_STATE", "SUCCEEDED"])
    client = Runway(provider="runway", api_key="test-key-not-secret", transport=httpx.MockTransport(backend),
                    journal=False, poll_floor=0.01, outputs=False)  # its output URL is no file to keep
    try:
        handle = _create(client)
        view = TaskView(handle, watch=False)
        statuses, notes = _record(view, "status"), _record(view, "note")
        out = io.StringIO()
        view.watch(file=out)  # no event loop: waits here
        assert "WEIRD_NEW_STATE" in statuses, statuses
        assert statuses[-1] == "SUCCEEDED" and view.finished
        assert any("does not know; still watching" in n and "WEIRD_NEW_STATE" in n for n in notes), notes
        assert backend.gets == 4  # it polled through the unknown status to the end
        assert view.outputs == ["https://example.com/out/0.mp4"]
        assert "WEIRD_NEW_STATE" in out.getvalue()
        html = view.static_html()
        assert 'data-rnb-status="SUCCEEDED"' in html
    finally:
        client.close()
    TALLY.add("widget unknown-status runs")
    TALLY.write()


def test_widget_keeps_polling_an_unknown_status_async() -> None:
    backend = _Backend(["WEIRD_NEW_STATE", "WEIRD_NEW_STATE", "RUNNING", "SUCCEEDED"])

    async def main() -> None:
        client = AsyncRunway(provider="runway", api_key="test-key-not-secret",
                             transport=httpx.MockTransport(backend.handle_async), journal=False, poll_floor=0.01,
                             outputs=False)
        try:
            handle = await _create(client)
            view = TaskView(handle)  # a running loop: the poller starts at once
            statuses, notes = _record(view, "status"), _record(view, "note")
            deadline = asyncio.get_running_loop().time() + 20
            while not view.finished:
                assert asyncio.get_running_loop().time() < deadline, statuses
                await asyncio.sleep(0.01)
            assert statuses.count("WEIRD_NEW_STATE") >= 1 and statuses[-1] == "SUCCEEDED", statuses
            assert any("still watching" in n for n in notes)
            assert backend.gets == 4
            assert view.error == ""
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(main(), timeout=30))
    TALLY.add("widget unknown-status runs")
    TALLY.write()


def test_widget_shows_odd_but_parsed_answers() -> None:
    """Whatever parsed (odd progress, odd failure text, no outputs), the view shows it as is."""
    odd = Task(id=TASK_ID, status="FAILED", failure="<b>" + "x" * 30_000, failure_code="SAFETY.🦊", progress=None)
    backend = _Backend(["PENDING"])
    client = Runway(provider="runway", api_key="test-key-not-secret", transport=httpx.MockTransport(backend),
                    journal=False, poll_floor=0.01, outputs=False)  # its output URL is no file to keep
    try:
        handle = client.tasks.handle(TASK_ID, params={"endpoint": "text_to_video", "promptText": "a fox"})
        handle.task = odd
        view = TaskView(handle, watch=False)
        assert view.status == "FAILED" and view.failure == odd.failure and view.failure_code == "SAFETY.🦊"
        assert view.finished and "&lt;b&gt;" in view.static_html()
    finally:
        client.close()

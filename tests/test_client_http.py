"""The client's HTTP behaviour against a scripted server (httpx.MockTransport): headers,
error mapping, retries, and the rule that a paid create is never sent twice."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from runway_nb import AsyncRunway, Runway, errors
from runway_nb.client.retry import RetryPolicy

KEY = "key_" + "ab12" * 32
TASK = {"id": "6f1c1e6e-1111-4000-8000-000000000000", "status": "RUNNING",
        "createdAt": "2026-01-01T00:00:00.000Z", "progress": 0.5, "estimatedCost": {"credits": 25}}
CREATE_BODY = dict(model="gen4_turbo", prompt_image="https://example.com/a.png", prompt_text="a fox",
                   ratio="1280:720", duration=5, seed=7)


class Script:
    """Answers requests from a list of responses/exceptions, recording each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer if len(answer) == 3 else (*answer, {})
        return httpx.Response(status, json=body, headers=headers)


def client_for(script: Script, **kw) -> Runway:
    client = Runway(provider="runway", api_key=KEY, transport=httpx.MockTransport(script), **kw)
    client.policy = RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.002)
    return client


def test_headers_on_every_request():
    script = Script((200, TASK))
    with client_for(script) as client:
        client.tasks.get(TASK["id"])
    request = script.requests[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["X-Runway-Version"] == "2024-11-06"
    assert request.url == f"https://api.dev.runwayml.com/v1/tasks/{TASK['id']}"


def test_get_retries_5xx_then_succeeds():
    script = Script((503, {"error": "busy"}), (502, {"error": "busy"}), (200, TASK))
    with client_for(script) as client:
        task = client.tasks.get(TASK["id"])
    assert task.status == "RUNNING" and task.progress == 0.5
    assert len(script.requests) == 3


def test_get_honours_retry_after():
    script = Script((429, {"error": "slow down"}, {"Retry-After": "0.05"}), (200, TASK))
    with client_for(script) as client:
        client.tasks.get(TASK["id"])
    assert len(script.requests) == 2


def test_get_gives_up_with_typed_error():
    script = Script((500, {"error": "boom"}))
    with client_for(script) as client, pytest.raises(errors.ServerError, match="boom"):
        client.tasks.get(TASK["id"])
    assert len(script.requests) == 4  # first try + 3 retries


def test_get_retries_dropped_connections():
    script = Script(httpx.RemoteProtocolError("dropped"), httpx.ReadError("reset"), (200, TASK))
    with client_for(script) as client:
        assert client.tasks.get(TASK["id"]).id == TASK["id"]
    assert len(script.requests) == 3


def test_create_posts_once_and_returns_handle():
    script = Script((200, {"id": TASK["id"], "estimatedCost": {"credits": 25}}))
    with client_for(script) as client:
        handle = client.image_to_video.create(**CREATE_BODY)
    assert handle.id == TASK["id"] and handle.estimated_cost == 25
    assert handle.params["model"] == "gen4_turbo" and handle.params["seed"] == 7
    sent = json.loads(script.requests[0].content)
    assert sent == {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "promptText": "a fox",
                    "ratio": "1280:720", "duration": 5, "seed": 7}


@pytest.mark.parametrize("failure", [
    (500, {"error": "internal"}),
    (503, {"error": "unavailable"}),
    httpx.ReadTimeout("no answer"),
    httpx.RemoteProtocolError("server disconnected"),
])
def test_create_never_resent_once_it_may_have_arrived(failure):
    script = Script(failure, (200, {"id": TASK["id"], "estimatedCost": {"credits": 1}}))
    with client_for(script) as client, pytest.raises(errors.OutcomeUnknownError) as info:
        client.image_to_video.create(**CREATE_BODY)
    assert len(script.requests) == 1
    assert "not sent again" in str(info.value) and "dashboard" in str(info.value)


@pytest.mark.parametrize("refusal", [
    httpx.ConnectError("refused"),
    (429, {"error": "Too many requests"}, {"Retry-After": "0.01"}),
])
def test_create_resent_when_no_task_can_exist(refusal):
    script = Script(refusal, (200, {"id": TASK["id"], "estimatedCost": {"credits": 1}}))
    with client_for(script) as client:
        handle = client.image_to_video.create(**CREATE_BODY)
    assert handle.id == TASK["id"]
    assert len(script.requests) == 2


def test_daily_limit_is_not_retried():
    script = Script((429, {"error": "Your daily task limit has been reached."}))
    with client_for(script) as client, pytest.raises(errors.DailyLimitError):
        client.image_to_video.create(**CREATE_BODY)
    assert len(script.requests) == 1


def test_bad_request_carries_issues():
    body = {"error": "Invalid input", "issues": [{"code": "too_big", "path": ["promptText"], "message": "too long"}]}
    script = Script((400, body))
    with client_for(script) as client, pytest.raises(errors.BadRequestError) as info:
        client.image_to_video.create(**CREATE_BODY)
    assert info.value.issues == body["issues"]
    assert "promptText: too long" in str(info.value)


def test_auth_error_explains_and_never_holds_key():
    script = Script((401, {"error": "Unauthorized"}))
    with client_for(script) as client, pytest.raises(errors.AuthenticationError) as info:
        client.tasks.get(TASK["id"])
    assert "api.dev.runwayml.com" in str(info.value)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in repr(client) and "key_…ab12" in repr(client)


def test_cancel_repeat_404_counts_as_done():
    script = Script((204, None), (404, {"error": "Task not found"}))
    with client_for(script) as client:
        client.tasks.cancel(TASK["id"])
        client.tasks.cancel(TASK["id"])
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]


def test_get_unknown_task_is_not_found():
    script = Script((404, {"error": "Task not found"}))
    with client_for(script) as client, pytest.raises(errors.NotFoundError):
        client.tasks.get("nope")


def test_validation_happens_before_any_request():
    script = Script((200, {"id": TASK["id"], "estimatedCost": {"credits": 1}}))
    with client_for(script) as client:
        with pytest.raises(errors.ValidationError) as info:
            client.image_to_video.create(**{**CREATE_BODY, "ratio": "1920:1080"})
        assert info.value.field == "ratio" and "1280:720" in str(info.value)
        with pytest.raises(errors.ValidationError) as info:
            client.image_to_video.create(**{**CREATE_BODY, "model": "gen9_ultra"})
        assert info.value.field == "model"
    assert script.requests == []


def test_unknown_model_passes_only_with_strict_false():
    script = Script((200, {"id": TASK["id"], "estimatedCost": {"credits": 1}}))
    with client_for(script) as client:
        handle = client.image_to_video.create(**{**CREATE_BODY, "model": "gen9_ultra"}, strict=False)
    assert handle.id == TASK["id"]
    assert json.loads(script.requests[0].content)["model"] == "gen9_ultra"


def test_useapi_ids_are_quoted_in_the_path():
    long_id = "user:1-runwayml:me@example.com-task:abc"
    payload = {"taskId": long_id, "status": "RUNNING", "progressRatio": "0.2"}
    script = Script((200, payload))
    client = Runway(provider="useapi", api_key="useapi-token-0123456789", transport=httpx.MockTransport(script))
    task = client.tasks.get(long_id)
    assert task.id == long_id and task.progress == pytest.approx(0.2)
    assert script.requests[0].url.raw_path == b"/v1/runwayml/tasks/user%3A1-runwayml%3Ame%40example.com-task%3Aabc"
    assert "X-Runway-Version" not in script.requests[0].headers


def test_comet_task_not_exist_right_after_create_is_pending():
    not_exist = (200, {"code": "task_not_exist", "message": "task_not_exist", "data": None})
    script = Script((200, {"id": TASK["id"], "estimatedCost": {"credits": 1}}), not_exist,
                    (200, {**TASK, "status": "SUCCEEDED", "output": ["https://x.test/v.mp4"],
                           "cost": {"credits": 25}}))
    client = Runway(provider="comet", api_key="comet-key-0123456789", transport=httpx.MockTransport(script))
    handle = client.image_to_video.create(**CREATE_BODY)
    assert script.requests[0].url.path == "/runwayml/v1/image_to_video"
    assert handle.refresh().status == "PENDING"
    assert handle.refresh().succeeded
    # Long after creation, or for a task we did not create, task_not_exist is a real not-found.
    script2 = Script(not_exist)
    client2 = Runway(provider="comet", api_key="comet-key-0123456789", transport=httpx.MockTransport(script2))
    with pytest.raises(errors.NotFoundError):
        client2.tasks.get("someone-elses")


def test_missing_key_for_real_provider_is_a_clear_error(monkeypatch):
    for var in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "COMETAPI_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(errors.ValidationError, match="RUNWAYML_API_SECRET"):
        Runway(provider="runway")
    with pytest.raises(errors.ValidationError, match=r"provider='acme'.*runway, sim, comet"):
        Runway(provider="acme")


def test_key_from_either_env_var(monkeypatch):
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    monkeypatch.setenv("RUNWAY_API_KEY", KEY)
    client = Runway(transport=httpx.MockTransport(Script((200, TASK))))
    assert client.provider == "runway" and client.settings.api_key == KEY
    monkeypatch.setenv("RUNWAYML_BASE_URL", "http://127.0.0.1:9/")
    assert Runway().settings.base_url == "http://127.0.0.1:9"


def test_async_client_has_the_same_behaviour():
    script = Script((503, {"error": "busy"}), (200, TASK), (500, {"error": "x"}))

    async def main():
        async with AsyncRunway(provider="runway", api_key=KEY, transport=httpx.MockTransport(script)) as client:
            client.policy = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.002)
            task = await client.tasks.get(TASK["id"])
            assert task.progress == 0.5
            with pytest.raises(errors.OutcomeUnknownError):
                await client.image_to_video.create(**CREATE_BODY)

    asyncio.run(main())
    assert [r.method for r in script.requests] == ["GET", "GET", "POST"]

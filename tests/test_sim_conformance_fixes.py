"""Deviations from Runway's spec that the conformance run (tests/test_conformance.py) found in the
simulator, each pinned by a focused test so it cannot come back unnoticed."""

from __future__ import annotations

import http.client

import httpx
import pytest

from runway_nb.sim import SimApp, SimConfig, SimServer, SimTransport

HEADERS = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
# URLs the spec's `^https:\/\/.*` pattern allows but that do not parse (urlsplit raises ValueError)
UNPARSEABLE = "https://[example.com/c.jpg"

# One body per media endpoint, with the unparseable URL in its media field (field path as the error names it).
MEDIA_BODIES = {
    "character_performance": ("character.uri", {
        "model": "act_two", "character": {"type": "image", "uri": UNPARSEABLE},
        "reference": {"type": "video", "uri": "https://example.com/r.mp4"}, "ratio": "1280:720"}),
    "image_to_video": ("promptImage", {
        "model": "gen4_turbo", "promptImage": UNPARSEABLE, "ratio": "1280:720", "duration": 5}),
    "text_to_image": ("referenceImages.0.uri", {
        "model": "gen4_image", "promptText": "a cat", "ratio": "1920:1080",
        "referenceImages": [{"uri": UNPARSEABLE, "tag": "cat"}]}),
    "video_to_video": ("videoUri", {
        "model": "aleph2", "videoUri": UNPARSEABLE, "promptText": "make it snow"}),
    "video_upscale": ("videoUri", {"model": "magnific_video_upscaler_creative", "videoUri": UNPARSEABLE}),
}


@pytest.fixture
def client():
    app = SimApp(SimConfig(credits=1_000_000))
    with httpx.Client(transport=SimTransport(app), base_url="http://sim", headers=HEADERS) as c:
        yield c
    app.close()


@pytest.fixture
def server():
    app = SimApp(SimConfig())
    with SimServer(app, port=0) as srv:
        yield srv
    app.close()


@pytest.mark.parametrize("endpoint", sorted(MEDIA_BODIES))
def test_an_unparseable_media_url_is_a_400_naming_the_field(client, endpoint):
    field, body = MEDIA_BODIES[endpoint]
    r = client.post(f"/v1/{endpoint}", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(f"{field}: Invalid URL")


def test_an_unparseable_plain_http_url_is_refused_by_the_catalog_not_a_crash(client):
    r = client.post("/v1/image_to_video", json={"model": "gen4_turbo", "promptImage": "http://[x/_sim/outputs/a",
                                                "ratio": "1280:720", "duration": 5})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "FROB"])
def test_any_method_gets_a_json_405_with_allow_over_real_sockets(server, method):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, "/v1/organization", headers=HEADERS)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 405
    assert resp.getheader("Allow") == "GET"
    assert resp.getheader("Content-Type", "").startswith("application/json")
    assert b"is not allowed" in body


def test_an_unknown_method_on_an_unknown_path_is_a_json_404(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("TRACE", "/v1/nothing-here", headers=HEADERS)
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert resp.status == 404
    assert resp.getheader("Content-Type", "").startswith("application/json")


@pytest.mark.parametrize("key", ["beforeDate", "startDate"])
def test_usage_dates_must_be_strings_not_null(client, key):
    r = client.post("/v1/organization/usage", json={key: None})
    assert r.status_code == 400
    assert r.json()["issues"][0]["path"] == [key]


def test_usage_without_dates_still_defaults_to_the_last_30_days(client):
    assert client.post("/v1/organization/usage", json={}).status_code == 200


def test_usage_window_of_no_days_is_empty_and_a_reversed_or_long_one_is_refused(client):
    empty = client.post("/v1/organization/usage", json={"startDate": "2020-02-29", "beforeDate": "2020-02-29"})
    assert empty.status_code == 200 and empty.json() == {"results": [], "models": []}
    reversed_ = client.post("/v1/organization/usage", json={"startDate": "2020-03-02", "beforeDate": "2020-03-01"})
    assert reversed_.status_code == 400 and "must not be before startDate" in reversed_.json()["error"]
    long = client.post("/v1/organization/usage", json={"startDate": "2020-01-01", "beforeDate": "2020-06-01"})
    assert long.status_code == 400 and "at most 90 days" in long.json()["error"]

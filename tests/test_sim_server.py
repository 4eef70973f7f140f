"""The simulator behind a real HTTP server on an ephemeral loopback port (real sockets)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time

import av
import httpx
import pytest

from runway_nb.sim import SimApp, SimConfig, SimServer, Simulator

HEADERS = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
I2V = {"model": "gen4_turbo", "promptImage": "https://example.com/a.jpg", "ratio": "1280:720",
       "duration": 2, "promptText": "slow dolly in"}


def fast_config(**kw) -> SimConfig:
    kw.setdefault("pending_seconds", 0.2)
    kw.setdefault("run_seconds", 0.5)
    return SimConfig(**kw)


@pytest.fixture
def server():
    app = SimApp(fast_config())
    with SimServer(app, port=0) as srv:
        yield srv
    app.close()


def wait_done(client: httpx.Client, task_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        seen.append(task["status"])
        if task["status"] in ("SUCCEEDED", "FAILED"):
            task["_seen"] = seen
            return task
        time.sleep(0.1)
    raise AssertionError(f"task not done: {seen[-5:]}")


def test_create_poll_and_download_with_range(server):
    assert server.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as client:
        r = client.post("/v1/image_to_video", json=I2V)
        assert r.status_code == 200
        task = wait_done(client, r.json()["id"])
        assert task["status"] == "SUCCEEDED"
        assert "PENDING" in task["_seen"]
        url = task["output"][0]
        assert url.startswith(server.url + "/_sim/outputs/") and url.endswith(".mp4")

        full = client.get(url)
        assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
        assert full.headers["accept-ranges"] == "bytes"
        size = len(full.content)
        assert int(full.headers["content-length"]) == size
        part = client.get(url, headers={"Range": "bytes=0-1023"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 0-1023/{size}"
        assert part.content == full.content[:1024]
        tail = client.get(url, headers={"Range": f"bytes={size - 100}-"})
        assert tail.status_code == 206 and tail.content == full.content[-100:]
        head = client.head(url)
        assert head.status_code == 200 and int(head.headers["content-length"]) == size
        with av.open(io.BytesIO(full.content)) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (1280, 720)

        assert client.delete(f"/v1/tasks/{task['id']}").status_code == 204
        assert client.get(f"/v1/tasks/{task['id']}").status_code == 404
        assert client.get("/_sim/stats").json()["creates"] == 1


def test_drop_fault_closes_the_connection(server):
    server.app.configure(script=["drop", "drop_before", "ok"])
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/image_to_video", json=I2V)
        assert server.app.stats.creates == 1  # handled, then dropped
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            client.post("/v1/image_to_video", json=I2V)
        assert server.app.stats.creates == 1  # dropped before handling
        assert client.get("/v1/organization").status_code == 200  # a new connection works


def test_raw_socket_drop_sends_no_bytes(server):
    server.app.configure(script=["drop"])
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /v1/organization HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                     b"X-Runway-Version: 2024-11-06\r\n\r\n")
        assert sock.recv(1024) == b""  # closed without a status line


def test_slow_fault_delays_real_time(server):
    server.app.configure(script=["slow"], slow_seconds=0.3)
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as client:
        t0 = time.monotonic()
        assert client.get("/v1/organization").status_code == 200
        assert time.monotonic() - t0 >= 0.28


def test_simulator_serves_outputs_of_in_process_tasks_over_loopback():
    with Simulator(pending_seconds=0.1, run_seconds=0.3) as sim:
        assert sim.server is None  # nothing started yet
        client = httpx.Client(transport=sim.transport(), base_url="http://sim", headers=HEADERS)
        tid = client.post("/v1/text_to_image", json={"model": "gen4_image", "promptText": "fox",
                                                     "ratio": "1280:720"}).json()["id"]
        task = wait_done(client, tid)
        url = task["output"][0]
        assert sim.server is not None and url.startswith(sim.url)
        r = httpx.get(url, timeout=10)  # a plain client, like a browser, over the socket
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert "process" in sim.describe()
        client.close()
    assert sim.server is None


def test_console_entry_point_prints_url_without_key():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "runway_nb.sim", "--port", str(port), "--speed", "20",
                             "--api-key", "key_supersecret"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line and "RUNWAYML_BASE_URL=" in line
        assert "key_supersecret" not in line
        r = httpx.get(f"http://127.0.0.1:{port}/v1/organization",
                      headers={"Authorization": "Bearer key_supersecret", "X-Runway-Version": "2024-11-06"})
        assert r.status_code == 200
        r = httpx.get(f"http://127.0.0.1:{port}/v1/organization",
                      headers={"Authorization": "Bearer other", "X-Runway-Version": "2024-11-06"})
        assert r.status_code == 401
    finally:
        proc.terminate()
        assert proc.wait(10) == 0

"""Audio outputs in every view: kind detection, the static output (player, duration, embedded
waveform, several outputs numbered), the plain text, TaskView and Grid traits after a finished
audio task whose outputs a loopback HTTP server serves, the media relay, and saved file names."""

from __future__ import annotations

import html
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audio_samples import tone
from fake_kernel import fake_kernel_shell
from test_task_view import call, run_async, until

from runway_nb.api.task import Task
from runway_nb.client.core import Runway
from runway_nb.client.outputs import filename_for
from runway_nb.notebook.waveform import analyze
from runway_nb.notebook.widgets import TaskView, display_handle, static_html, static_text
from runway_nb.notebook.widgets import _audio as audio
from runway_nb.notebook.widgets._grid import AUDIO_CELL, Grid
from runway_nb.notebook.widgets._live import media_mime
from runway_nb.notebook.widgets._urls import AUDIO_ENDPOINTS, endpoint_kind, media_kind, safe_url

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SPEECH = tone("mp3", 2.0)
CHIME = tone("wav", 1.0, peak=0.8)
BELL = tone("flac", 0.5)


# ---------------------------------------------------------------------- a loopback Runway
class FakeRunway:
    """A tiny HTTP server on the loopback: GET /v1/tasks/<id> answers the next queued state of
    that task, and /files/<name> serves audio with its content type."""

    def __init__(self) -> None:
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.downloads: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path.startswith("/v1/tasks/"):
                    states = fake.tasks.get(path.rsplit("/", 1)[1])
                    if not states:
                        return self.answer(404, b'{"error": "not found"}', "application/json")
                    state = states.pop(0) if len(states) > 1 else states[0]
                    return self.answer(200, json.dumps(state).encode(), "application/json")
                if path.startswith("/files/") and path[7:] in fake.files:
                    fake.downloads.append(path[7:])
                    data, ctype = fake.files[path[7:]]
                    return self.answer(200, data, ctype)
                return self.answer(404, b"", "text/plain")

            def answer(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"{self.base}/files/{name}?_jwt=signed.x.y"

    def serve(self, name: str, data: bytes, ctype: str) -> str:
        self.files[name] = (data, ctype)
        return self.url(name)

    def task(self, task_id: str, outputs: list[str], *, running_first: int = 0) -> None:
        base = {"id": task_id, "createdAt": "2026-01-01T00:00:00Z"}
        states = [{**base, "status": "RUNNING", "progress": 0.5}] * running_first
        self.tasks[task_id] = [*states, {**base, "status": "SUCCEEDED", "output": outputs}]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def runway(clean_env) -> Iterator[FakeRunway]:
    fake = FakeRunway()
    audio.forget()
    yield fake
    audio.forget()
    fake.close()


@pytest.fixture
def client(runway: FakeRunway) -> Iterator[Runway]:
    c = Runway(api_key="key_" + "a" * 64, base_url=runway.base, journal=False, poll_floor=0.05, max_retries=0)
    yield c
    c.close()


def speech_handle(client: Runway, task_id: str = "tts-1") -> Any:
    return client.tasks.handle(task_id, endpoint="text_to_speech",
                               params={"model": "eleven_multilingual_v2", "promptText": "Hello there", "voice": "Maya"})


@pytest.fixture
def fake_kernel(monkeypatch):
    yield from fake_kernel_shell(monkeypatch)


# ---------------------------------------------------------------------- kinds and URLs
def test_media_kind_knows_audio():
    assert media_kind("https://cdn.example/o/speech.mp3?_jwt=a.b") == "audio"
    for ext in ("wav", "flac", "ogg", "MP3"):
        assert media_kind(f"https://cdn.example/o/a.{ext}") == "audio"
    assert media_kind("runway_outputs/t_0.flac") == "audio"
    assert media_kind("data:audio/wav;base64,UklGRg==") == "audio"
    # no extension: the catalog's output kind, else the audio operations' names
    assert media_kind("https://cdn.example/o/abc", "text_to_speech") == "audio"
    assert media_kind("https://cdn.example/o/abc", "text_to_image") == "image"
    assert media_kind("https://cdn.example/o/abc", "image_to_video") == "video"
    assert media_kind("https://cdn.example/o/a.mp4", "text_to_speech") == "video", "the extension wins"
    assert all(endpoint_kind(ep) == "audio" for ep in AUDIO_ENDPOINTS)


def test_audio_data_uris_are_safe_but_not_any_type():
    assert safe_url("data:audio/mpeg;base64,AAAA") == "data:audio/mpeg;base64,AAAA"
    assert safe_url("data:audio/x-shockwave,AAAA") is None
    assert safe_url("data:image/svg+xml,<svg/>") is None


def test_relayed_audio_bytes_are_labelled_as_audio():
    assert media_mime("https://x/a", "audio/wav", "text_to_speech") == "audio/wav"
    assert media_mime("https://x/a.flac?sig=1", None, "text_to_speech") == "audio/flac"
    assert media_mime("https://x/a.ogg", "application/octet-stream", "sound_effect") == "audio/ogg"
    assert media_mime("https://x/abc", None, "text_to_speech") == "audio/mpeg"
    assert media_mime("https://x/a.svg", "image/svg+xml", "text_to_image") == "image/png"


@pytest.mark.parametrize(("ctype", "suffix"), [("audio/mpeg", ".mp3"), ("audio/wav", ".wav"), ("audio/x-wav", ".wav"),
                                               ("audio/flac", ".flac"), ("audio/ogg; codecs=opus", ".ogg")])
def test_saved_audio_files_get_their_extension(ctype, suffix):
    assert filename_for("t1", 0, "https://cdn.example/o/abc", ctype) == f"t1_0{suffix}"
    assert filename_for("t1", 1, "https://cdn.example/o/x.wav?sig=1", ctype) == "t1_1.wav", "the URL's own wins"


# ---------------------------------------------------------------------- static output
def test_static_html_plays_audio_with_its_waveform_and_duration():
    url = 'https://cdn.example/o/speech.mp3?a="><script>alert(1)</script>'
    audio.remember(analyze(SPEECH), url)
    task = Task(id="t-1", status="SUCCEEDED", outputs=[url])
    page = static_html(task, params={"endpoint": "text_to_speech", "model": "eleven_multilingual_v2",
                                     "promptText": "<b>hi</b>"})
    assert '<audio src="https://cdn.example/o/speech.mp3?a=&quot;&gt;&lt;script&gt;' in page
    assert "<script>" not in page and "<b>hi</b>" not in page
    assert 'controls preload="metadata"' in page and 'aria-label="output (audio)"' in page
    assert "<video" not in page and "<img" not in page
    assert '<svg class="rnb-waveform"' in page and "<title>Waveform, 2.0 s</title>" in page
    assert "<span>2.0 s</span>" in page
    assert page.index("<svg") < page.index("<audio"), "the picture above its player"
    text = static_text(task, params={"endpoint": "text_to_speech"})
    assert f"  audio (2.0 s): {url}" in text.splitlines()


def test_static_html_without_a_waveform_still_plays():
    task = Task(id="t-2", status="SUCCEEDED", outputs=["https://cdn.example/o/new.wav"])
    page = static_html(task, params={"endpoint": "text_to_speech"})
    assert '<audio src="https://cdn.example/o/new.wav" controls' in page and "<svg" not in page
    assert static_text(task, params={}).splitlines()[-1] == "  audio: https://cdn.example/o/new.wav"


def test_several_outputs_are_all_shown_numbered(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("runway_outputs").mkdir()
    Path("runway_outputs/t-3_0.wav").write_bytes(CHIME)
    Path("runway_outputs/t-3_1.flac").write_bytes(BELL)
    urls = ["https://cdn.example/o/0", "https://cdn.example/o/1"]
    task = Task(id="t-3", status="SUCCEEDED", outputs=urls)
    files = [Path("runway_outputs/t-3_0.wav").resolve(), Path("runway_outputs/t-3_1.flac").resolve()]
    page = static_html(task, params={"endpoint": "sound_effect"}, files=files)
    # the saved files are decoded (no network): both play from their relative paths, with waveforms
    assert page.count("<audio") == 2 and page.count("<svg") == 2
    assert '<audio src="runway_outputs/t-3_0.wav"' in page and '<audio src="runway_outputs/t-3_1.flac"' in page
    assert "Output 1 of 2 · 1.0 s" in page and "Output 2 of 2 · 0.5 s" in page
    assert 'aria-label="output 2 of 2"' in page
    lines = static_text(task, params={}, files=files).splitlines()
    assert lines[-2:] == ["  audio 1/2 (1.0 s): runway_outputs/t-3_0.wav",
                          "  audio 2/2 (0.5 s): runway_outputs/t-3_1.flac"]


def test_mixed_outputs_keep_their_own_players():
    task = Task(id="t-4", status="SUCCEEDED", outputs=["https://cdn.example/o/v.mp4", "https://cdn.example/o/a.mp3",
                                                       "https://cdn.example/o/i.png"])
    page = static_html(task, params={"endpoint": "video_to_audio"})
    assert page.count("<video") == 1 and page.count("<audio") == 1 and page.count("<img") == 1
    assert 'alt="output 3"' in page


# ---------------------------------------------------------------------- TaskView
def test_task_view_of_a_finished_audio_task_outside_a_loop(runway, client):
    url = runway.serve("speech.mp3", SPEECH, "audio/mpeg")
    runway.task("tts-1", [url])
    h = speech_handle(client)
    h.refresh()
    view = TaskView(h)
    assert view.finished and view.kinds == ["audio"] and view.outputs == [url]
    [wave] = view.waveforms
    assert wave["duration"] == pytest.approx(2.0, abs=0.06)
    assert len(wave["peaks"]) == 120 and wave["label"] == f"Waveform, {wave['duration']:.1f} s"
    assert runway.downloads == ["speech.mp3"]
    page = view.static_html()
    assert "<audio" in page and "<svg" in page
    # decoded once: the static output, the text and a second view reuse it
    assert "audio (2.0 s)" in static_text(h)
    assert runway.downloads == ["speech.mp3"]


@run_async
async def test_task_view_decodes_audio_when_the_task_ends(runway, client):
    url1 = runway.serve("a.mp3", SPEECH, "audio/mpeg")
    url2 = runway.serve("b", CHIME, "audio/wav")  # no extension: the endpoint says audio
    runway.task("tts-2", [url1, url2], running_first=2)
    view = TaskView(speech_handle(client, "tts-2"))
    await until(lambda: view.finished and all(view.waveforms))
    assert view.kinds == ["audio", "audio"]
    assert [round(w["duration"], 1) for w in view.waveforms] == [2.0, 1.0]
    assert max(view.waveforms[1]["peaks"]) == pytest.approx(0.8, abs=0.02)
    assert sorted(runway.downloads) == ["a.mp3", "b"]
    assert "bytes" not in view.keys


@run_async
async def test_final_static_output_embeds_the_waveform(runway, client, fake_kernel):
    url = runway.serve("speech.mp3", SPEECH, "audio/mpeg")
    runway.task("tts-3", [url], running_first=1)
    pub = fake_kernel.display_pub
    view = display_handle(speech_handle(client, "tts-3"))
    await until(lambda: view.finished and len(pub.sent) > 1)
    final = pub.sent[-1]
    assert set(final["data"]) == {"text/html", "text/plain"}
    assert "<audio" in final["data"]["text/html"] and "<title>Waveform, 2.0 s</title>" in final["data"]["text/html"]
    assert "audio (2.0 s)" in final["data"]["text/plain"]


@run_async
async def test_relay_sends_audio_bytes_with_an_audio_type(runway, client):
    url = runway.serve("clip", CHIME, "audio/wav")
    runway.task("tts-4", [url])
    view = TaskView(speech_handle(client, "tts-4"))
    await until(lambda: view.finished)
    sent: list = []
    view.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    call(view, "media", {"index": 0, "purpose": "show"}, call_id=3)
    await until(lambda: bool(sent))
    content, buffers = sent[0]
    assert content == {"kind": "rnb:reply", "id": 3, "ok": True, "result": {"mime": "audio/wav"}}
    assert bytes(buffers[0]) == CHIME


def test_terminal_watch_prints_audio_outputs_with_their_duration(runway, client, capsys):
    url = runway.serve("speech.mp3", SPEECH, "audio/mpeg")
    runway.task("tts-5", [url], running_first=1)
    display_handle(speech_handle(client, "tts-5"))  # outside a kernel: a synchronous watch
    out = capsys.readouterr().out
    assert f"  audio (2.0 s): {url}" in out


def test_undecodable_audio_still_plays(runway, client):
    url = runway.serve("broken.mp3", b"not audio at all" * 20, "audio/mpeg")
    runway.task("tts-6", [url])
    h = speech_handle(client, "tts-6")
    h.refresh()
    view = TaskView(h)
    assert view.waveforms == [{}] and view.error == ""
    assert "<audio" in view.static_html() and "<svg" not in view.static_html()


# ---------------------------------------------------------------------- Grid
def test_grid_of_voices_shows_audio_cells_with_waveforms(runway, client):
    handles = []
    voices = ["Maya", {"type": "runway-preset", "presetId": "Noah"}]
    for i, (voice, data) in enumerate(zip(voices, [SPEECH, CHIME], strict=True)):
        url = runway.serve(f"v{i}.mp3", data, "audio/mpeg")
        runway.task(f"voice-{i}", [url])
        h = client.tasks.handle(f"voice-{i}", endpoint="text_to_speech",
                                params={"model": "eleven_multilingual_v2", "promptText": "Hello", "voice": voice})
        handles.append(h)
    grid = Grid(handles, watch=False)
    grid.watch()  # no loop: waits, then decodes each cell's audio
    assert grid.finished
    assert grid.col_title == "voice" and grid.col_labels == ["Maya", "Noah"], "a voice sweep: one column per voice"
    cells = grid.cells
    assert [c["kinds"] for c in cells] == [["audio"], ["audio"]]
    assert [(c["width"], c["height"]) for c in cells] == [AUDIO_CELL, AUDIO_CELL]
    assert [round(c["waveforms"][0]["duration"], 1) for c in cells] == [2.0, 1.0]
    page = grid.static_html()
    assert page.count("<audio") == 2 and page.count("<svg") == 2
    assert html.escape("Hello") in page


@run_async
async def test_grid_waits_for_the_waveforms_before_its_final_output(runway, client):
    url = runway.serve("v.mp3", SPEECH, "audio/mpeg")
    runway.task("voice-a", [url], running_first=1)
    h = client.tasks.handle("voice-a", endpoint="text_to_speech", params={"model": "eleven_multilingual_v2"})
    grid = Grid([h])
    await until(lambda: grid.finished)
    assert grid.cells[0]["waveforms"][0]["duration"] == pytest.approx(2.0, abs=0.06)
    assert "<svg" in grid.static_html()

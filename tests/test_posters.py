"""Posters in static output, and the line saying where each output lives.

Posters are made from the simulator's real media (H.264 MP4, PNG/JPEG, speech and sound) at
1280 px sources of several shapes; the static HTML is checked with the file present, missing,
and with hostile names and values.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image, ImageStat
from sim_media_samples import video_with_sound

from runway_nb import Runway, Task
from runway_nb.notebook import posters
from runway_nb.notebook.waveform import analyze
from runway_nb.notebook.widgets import static_html, static_text
from runway_nb.notebook.widgets._static import media_figure
from runway_nb.notebook.widgets._where import ended_at, expiry_text, link_source, where_link
from runway_nb.sim.audio import render_sound, render_speech
from runway_nb.sim.media import render_image, render_video

LIMIT = 30_000  # bytes of one output's poster in the notebook, as promised
SHAPES = [(1280, 720), (720, 1280), (1280, 1280), (1584, 672)]
PROMPT = "a quiet mountain lake at sunset, cinematic"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture(autouse=True)
def fresh_cache():
    posters.forget()
    yield
    posters.forget()


def decoded(uri: str) -> Image.Image:
    head, _, data = uri.partition(",")
    assert head.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(data)))


def saved(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "runway_outputs"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------- sizes
@pytest.mark.parametrize(("width", "height"), SHAPES)
def test_video_poster_is_a_small_jpeg_of_the_right_shape(width, height):
    video = render_video(width, height, 2, prompt=PROMPT, model="gen4.5", seed=7)
    poster = posters.make(video, "video")
    assert poster is not None and poster.uri.startswith("data:image/jpeg;base64,")
    assert len(poster.uri) < LIMIT
    assert (poster.width, poster.height) == (width, height)
    img = decoded(poster.uri)
    assert max(img.size) <= posters.SIDE
    assert abs(img.size[0] / img.size[1] - width / height) < 0.02
    assert ImageStat.Stat(img.convert("L")).stddev[0] > 5, "a real frame, not a blank one"


@pytest.mark.parametrize(("width", "height"), SHAPES)
@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_image_poster_is_a_small_jpeg(width, height, fmt):
    image = render_image(width, height, prompt=PROMPT, model="gen4_image", seed=3, image_format=fmt)
    poster = posters.make(image, "image")
    assert poster is not None and poster.uri.startswith("data:image/jpeg;base64,")
    assert len(poster.uri) < LIMIT and len(poster.uri) < len(image)
    assert max(decoded(poster.uri).size) <= posters.SIDE


def test_grid_posters_are_smaller():
    image = render_image(1280, 720, prompt=PROMPT, model="gen4_image", seed=3)
    big, small = posters.make(image, "image"), posters.make(image, "image", side=posters.GRID_SIDE)
    assert big is not None and small is not None
    assert max(decoded(small.uri).size) <= posters.GRID_SIDE and len(small.uri) < len(big.uri)


def test_transparent_image_gets_a_png_poster_that_keeps_its_transparency():
    img = Image.new("RGBA", (1280, 720), (200, 30, 30, 255))
    img.paste((0, 0, 0, 0), (0, 0, 640, 720))
    out = io.BytesIO()
    img.save(out, "PNG")
    poster = posters.make(out.getvalue(), "image")
    assert poster is not None and poster.uri.startswith("data:image/png;base64,") and len(poster.uri) < LIMIT
    small = decoded(poster.uri).convert("RGBA")
    assert small.getpixel((2, 2))[3] == 0 and small.getpixel((small.width - 3, 2))[3] >= 250


def test_noisy_image_is_shrunk_until_it_fits():
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 255, (1280, 1280, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "PNG")
    poster = posters.make(out.getvalue(), "image")
    assert poster is not None and len(poster.uri) <= posters.MAX_URI_CHARS


@pytest.mark.parametrize("sound", ["speech", "effect"])
def test_audio_has_no_poster_but_a_small_waveform(sound):
    data = (render_speech("Hello there, this is a test of the waveform.", voice="Maya", seed=1, fmt="mp3")
            if sound == "speech" else render_sound("rain on a tin roof", duration=10, seed=2, fmt="wav"))
    assert posters.make(data, "audio") is None
    assert len(analyze(data).svg()) < LIMIT


def test_video_poster_is_the_frame_about_ten_percent_in():
    # 48 frames (2 s at 24 fps), frame i is grey level 5*i: 10 % in is frame 4 or 5 (grey 20-25)
    poster = posters.make(video_with_sound(2.0), "video")
    assert poster is not None
    grey = ImageStat.Stat(decoded(poster.uri).convert("L")).mean[0]
    assert 15 <= grey <= 30, grey


def test_undecodable_media_has_no_poster():
    assert posters.make(b"not a video", "video") is None
    assert posters.make(b"not an image", "image") is None
    assert posters.make(b"", "image") is None


# ---------------------------------------------------------------------- cache
def test_a_file_is_decoded_once_per_version(tmp_path, monkeypatch):
    path = saved(tmp_path, "t_0.png", render_image(640, 360, prompt=PROMPT, model="gen4_image", seed=1))
    made: list[Any] = []
    real = posters.make
    monkeypatch.setattr(posters, "make", lambda *a, **k: made.append(a) or real(*a, **k))
    first = posters.of_file(path, "image")
    assert first is not None and posters.of_file(path, "image") is first
    assert posters.known("image", file=path) is first and len(made) == 1
    # a new version of the file (other bytes, other mtime) is decoded again
    path.write_bytes(render_image(640, 360, prompt="another picture", model="gen4_image", seed=2))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    second = posters.of_file(path, "image")
    assert second is not None and second != first and len(made) == 2


def test_known_without_reading_and_async_prepare(tmp_path):
    import asyncio

    path = saved(tmp_path, "t_0.mp4", render_video(640, 360, 1, prompt=PROMPT, model="gen4.5", seed=1))
    assert posters.known("video", file=path, read_file=False) is None
    made = asyncio.run(posters.of_file_async(path, "video"))
    assert made is not None and posters.known("video", file=path, read_file=False) is made


def test_nothing_is_downloaded_for_a_url_only_remembered_bytes():
    url = "https://cdn.example/o/v.mp4"
    assert posters.known("video", url=url) is None
    video = render_video(640, 360, 1, prompt=PROMPT, model="gen4.5", seed=1)
    poster = posters.remember(url, video, "video")
    assert poster is not None and posters.known("video", url=url) is poster
    assert posters.remember(url, b"", "video") is None and posters.remember(url, video, "audio") is None
    assert posters.remember("https://cdn.example/o/w.mp4", video, "video/mp4") is not None  # a MIME type


# ---------------------------------------------------------------------- static HTML
def test_saved_video_has_a_relative_src_a_poster_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = saved(tmp_path, "t-1_0.mp4", render_video(1280, 720, 1, prompt=PROMPT, model="gen4.5", seed=1))
    task = Task(id="t-1", status="SUCCEEDED", outputs=["https://cdn.example/o/0.mp4"])
    page = static_html(task, params={"endpoint": "text_to_video"}, files=[path.resolve()])
    assert '<video src="runway_outputs/t-1_0.mp4" poster="data:image/jpeg;base64,' in page
    assert "cdn.example" not in page and str(tmp_path) not in page
    assert ">saved file: <a href=\"runway_outputs/t-1_0.mp4\" download" in page
    assert ">runway_outputs/t-1_0.mp4</a>" in page and "Download" not in page
    assert "width:640px" in page  # the player's width, with or without its file
    assert "  video: runway_outputs/t-1_0.mp4" in static_text(task, params={}, files=[path.resolve()]).splitlines()


def test_saved_image_shows_its_preview_linking_to_the_full_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = saved(tmp_path, "t-2_0.png", render_image(1280, 720, prompt=PROMPT, model="gen4_image", seed=1))
    task = Task(id="t-2", status="SUCCEEDED", outputs=["https://cdn.example/o/0.png"])
    page = static_html(task, params={"endpoint": "text_to_image"}, files=[path.resolve()])
    # one picture, never an <img> of a file that may be missing (a broken-image icon)
    assert page.count("<img") == 1 and "<img src=\"runway_outputs/" not in page
    assert '<a href="runway_outputs/t-2_0.png" target="_blank"' in page
    assert '<img src="data:image/jpeg;base64,' in page and 'alt="output 1" class="rnb-poster"' in page
    assert "width:640px" in page and "saved file: <a href=\"runway_outputs/t-2_0.png\"" in page


def test_a_listed_file_that_is_gone_keeps_its_path_without_a_poster(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task = Task(id="t-3", status="SUCCEEDED", outputs=["https://cdn.example/o/0.mp4"])
    page = static_html(task, params={"endpoint": "text_to_video"}, files=[tmp_path / "runway_outputs/t-3_0.mp4"])
    assert '<video src="runway_outputs/t-3_0.mp4" controls' in page and "poster=" not in page
    assert "saved file: " in page


def test_remote_output_without_bytes_has_no_poster_and_with_bytes_embeds_one():
    url = "https://cdn.example/o/img.png"
    task = Task(id="t-4", status="SUCCEEDED", outputs=[url])
    page = static_html(task, params={"endpoint": "text_to_image"})
    assert page.count("<img") == 1 and "data:image" not in page
    posters.remember(url, render_image(720, 720, prompt=PROMPT, model="gen4_image", seed=1), "image")
    page = static_html(task, params={"endpoint": "text_to_image"})
    assert page.count("<img") == 1 and '<img src="data:image/jpeg;base64,' in page
    assert f'<a href="{url}" target="_blank"' in page


def test_poster_sizes_in_a_saved_output_stay_under_the_bound(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [saved(tmp_path, "t-5_0.mp4", render_video(1280, 1280, 2, prompt=PROMPT, model="gen4.5", seed=9)),
             saved(tmp_path, "t-5_1.png", render_image(1280, 1280, prompt=PROMPT, model="gen4_image", seed=9))]
    task = Task(id="t-5", status="SUCCEEDED", outputs=["https://cdn.example/0.mp4", "https://cdn.example/1.png"])
    without = static_html(task, params={"endpoint": "text_to_video"}, files=files, poster_side=None)
    page = static_html(task, params={"endpoint": "text_to_video"}, files=files)
    assert "data:image" not in without
    assert len(page.encode()) - len(without.encode()) < 2 * LIMIT


def test_every_value_is_escaped_and_posters_only_from_safe_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = 'a"><b>x.png'
    path = saved(tmp_path, name, render_image(320, 180, prompt=PROMPT, model="gen4_image", seed=1))
    task = Task(id=HOSTILE, status="SUCCEEDED", outputs=[f"https://cdn.example/o/{HOSTILE}.png"])
    page = static_html(task, params={"endpoint": "text_to_image", "promptText": HOSTILE}, files=[path],
                       caption=HOSTILE)
    assert "<script>" not in page and "<b>" not in page and "<img src=x" not in page
    assert "runway_outputs/a%22%3E%3Cb%3Ex.png" in page  # the src is percent-encoded
    assert "saved file: <a" in page and "a&quot;&gt;&lt;b&gt;x.png</a>" in page  # the shown path is escaped
    # a provider's name in the "where" line, and a poster that is not a safe data: URI
    owner = SimpleNamespace(client=SimpleNamespace(simulator=None, provider=HOSTILE, journal=None),
                            finished_at=0.0, id="t", task=None)
    where = where_link(link_source(owner), ended_at(owner), "https://x.example/v.mp4")
    fig = media_figure({"src": "https://x.example/v.mp4", "kind": "video", "local": False, "number": 1,
                        "waveform": None, "where": where,
                        "poster": posters.Poster('data:text/html,<script>alert(1)</script>', 10, 10)}, 1)
    assert "<script>" not in fig and "poster=" not in fig and html.escape(HOSTILE) + " link</a>" in fig


# ---------------------------------------------------------------------- where each output lives
def test_expiry_is_a_day_after_the_end():
    end = datetime(2026, 12, 6, 14, 5, 30, tzinfo=timezone.utc).timestamp()
    assert expiry_text(end) == "expires about 2026-12-07 14:05 UTC (24–48 h after the task ended)"  # noqa: RUF001 - the en dash shown
    assert expiry_text(None) == "expires 24–48 h after the task ended"  # noqa: RUF001 - the en dash shown


def test_end_time_from_the_handle_then_the_journal_then_created_at():
    created = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    task = Task(id="t", status="SUCCEEDED", created_at=created)
    journal = SimpleNamespace(history=lambda task_id: [("PENDING", None, 100.0), ("SUCCEEDED", 1.0, 250.0)])
    client = SimpleNamespace(simulator=None, provider="runway", journal=journal)
    assert ended_at(SimpleNamespace(client=client, id="t", task=task, finished_at=999.0)) == 999.0
    assert ended_at(SimpleNamespace(client=client, id="t", task=task)) == 250.0
    no_history = SimpleNamespace(simulator=None, provider="runway", journal=None)
    assert ended_at(SimpleNamespace(client=no_history, id="t", task=task)) == created.timestamp()
    assert ended_at(task) == created.timestamp()


def test_the_where_lines():
    end = datetime(2026, 12, 6, 14, 5, tzinfo=timezone.utc).timestamp()
    runway = SimpleNamespace(client=SimpleNamespace(simulator=None, provider="runway"))
    in_process = SimpleNamespace(client=SimpleNamespace(simulator=object(), provider="sim"))
    server = SimpleNamespace(client=SimpleNamespace(simulator=None, provider="sim"))
    url = "https://example.com/o.mp4"
    assert where_link(link_source(runway), end, url).text() == (
        "Runway link, expires about 2026-12-07 14:05 UTC (24–48 h after the task ended)")  # noqa: RUF001 - the en dash shown
    assert where_link(link_source(in_process), end, url).text() == "simulator link: works while this kernel runs"
    assert where_link(link_source(server), end, url).text() == "simulator server link: works while the server runs"
    assert where_link("runway", end, "data:image/png;base64,AAAA").text() == "embedded in the output"


def test_a_simulator_task_kept_shows_its_file_and_poster_else_its_link(make_sim, clean_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = make_sim(speed=100.0, pending_seconds=0.1, run_seconds=0.5)
    with Runway(provider="sim", simulator=sim, outputs=tmp_path / "runway_outputs") as client:
        handle = client.text_to_image.create(model="gen4_image", prompt_text="a fox", ratio="1280:720")
        handle.wait()
        page = static_html(handle)
        assert f'saved file: <a href="runway_outputs/{handle.id}_0.png"' in page
        assert '<img src="data:image/jpeg;base64,' in page
    with Runway(provider="sim", simulator=sim, outputs=False) as client:
        handle = client.text_to_image.create(model="gen4_image", prompt_text="a fox", ratio="1280:720")
        handle.wait()
        page = static_html(handle)
        assert "simulator link</a>: works while this kernel runs" in page and "data:image" not in page
        assert "simulator link: works while this kernel runs" in static_text(handle)

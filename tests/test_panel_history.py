"""The panel's history lines: the prompt (clipped, full kept), the model, the task's status now,
a thumbnail of the result once there is one, and the task id, for the browser to draw."""

from __future__ import annotations

import io

import pytest

from runway_nb.notebook import posters
from runway_nb.notebook.widgets import Panel
from runway_nb.notebook.widgets._panel_history import PROMPT_CHARS, clip, history_line, thumbnail

LONG = ("A slow dolly shot through a rain-soaked neon market at night, steam rising from the food stalls, "
        "reflections on the wet cobblestones")


@pytest.fixture
def panel(runway_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Panel()


def png(width: int = 64, height: int = 36) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_clip_keeps_short_prompts_and_cuts_long_ones_at_a_word():
    assert clip("a red kite") == "a red kite"
    assert clip("a red\n  kite") == "a red kite", "one line"
    short = clip(LONG)
    assert len(short) <= PROMPT_CHARS and short.endswith("…")
    assert LONG.startswith(short[:-1]) and LONG[len(short) - 1] == " ", "cut at a word"
    assert clip("x" * 200).endswith("…") and len(clip("x" * 200)) == PROMPT_CHARS


def test_a_line_has_the_prompt_model_status_and_id():
    entry = {"n": 3, "id": "task-1", "title": "text to video · gen4.5 · 1280:720", "magic": "%%runway -m gen4.5\nx",
             "note": "", "options": "gen4.5 · 1280:720",
             "combo": {"prompt": LONG, "model": "gen4.5", "ratio": "1280:720"}}
    line = history_line(entry, "RUNNING")
    assert line == {"n": 3, "id": "task-1", "title": "text to video · gen4.5 · 1280:720", "prompt": LONG,
                    "short": clip(LONG), "model": "gen4.5", "options": "gen4.5 · 1280:720", "status": "RUNNING",
                    "thumb": "", "magic": "%%runway -m gen4.5\nx", "note": ""}
    no_prompt = history_line({**entry, "options": "", "combo": {"model": "upscale_v1"}}, "SUCCEEDED",
                             "data:image/jpeg;base64,AA")
    assert no_prompt["options"] == "upscale_v1", "the model at least"
    assert (no_prompt["prompt"], no_prompt["short"], no_prompt["thumb"]) == ("", "", "data:image/jpeg;base64,AA")


def test_thumbnail_is_a_known_poster_and_never_downloads(tmp_path):
    posters.forget()
    url = "https://example.com/never-fetched.png"
    assert thumbnail(["image"], [], [url]) == "", "nothing known: no thumbnail, nothing fetched"
    assert thumbnail(["audio"], [], ["https://example.com/a.mp3"]) == ""
    path = tmp_path / "kite.png"
    path.write_bytes(png())
    assert thumbnail(["image"], [path], [url]) == "", "a file is decoded only when asked"
    uri = thumbnail(["image"], [path], [url], read_file=True)
    assert uri.startswith("data:image/")
    assert thumbnail(["image"], [path], [url]) == uri, "made once, then known"
    posters.remember("https://example.com/other.png", png(), "image")
    assert thumbnail(["audio", "image"], [None, None], ["https://example.com/a.mp3", "https://example.com/other.png"]
                     ).startswith("data:image/")


def test_the_form_history_follows_the_task_and_shows_its_result(panel, runway_session):
    panel.set(type="text_to_image", model="gen4_image", ratio="1920:1080", prompt=LONG)
    handle = panel.submit()
    assert handle is not None
    (line,) = panel.form.history
    assert line["n"] == 1 and line["id"] == handle.id and line["model"] == "gen4_image"
    assert line["options"] == f"gen4_image · 1920:1080 · seed {handle.params['seed']}"
    assert line["prompt"] == LONG and line["short"] == clip(LONG)
    assert line["status"] in ("PENDING", "RUNNING") and line["thumb"] == ""
    handle.wait()
    (view,) = panel.views
    view.catch_up()  # what the view does after a cell that blocked the loop
    assert view.final_ready
    (line,) = panel.form.history
    assert line["status"] == "SUCCEEDED"
    assert line["thumb"].startswith("data:image/"), "the result's poster"
    assert line["magic"] == panel.magic(1)

"""Audio in JupyterLab, in headless Chromium, on the simulator: a text-to-speech cell plays (its
``<audio>`` loads, and lasts as long as the file the simulator made), and a sweep over voices is a
grid whose players start together.

Shares the session's JupyterLab server (``lab``) and browser with the other browser tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SPEECH = """\
%%runway -t text_to_speech -m eleven_multilingual_v2 --voice Maya -o h
Welcome to the lesson. Today we listen before we look.
"""
# The length the browser must find: the saved file's, read by PyAV in the kernel.
MEASURE = """\
import asyncio, av
while not h.finished:
    await asyncio.sleep(0.1)
paths = h.save("runway_outputs")
with av.open(str(paths[0])) as f:
    codec = f.streams.audio[0].codec_context.name
    print("STATUS", h.status, "SECONDS", round(f.duration / 1_000_000, 3), "STREAM", codec)
"""

VOICES = """\
%%runway -t text_to_speech -m eleven_multilingual_v2 --voice Maya,Arjun,Serene -o takes
Three voices read the same line, so you can hear the difference.
"""
WAIT_SWEEP = ("import asyncio\nwhile not takes.finished:\n    await asyncio.sleep(0.1)\n"
              "print('SWEEP', takes.summary())")

AUDIO_FACTS = """(selector) => [...document.querySelectorAll(selector)].map(a => (
  {ready: a.readyState, duration: a.duration, paused: a.paused, t: a.currentTime, src: a.currentSrc}))"""


def audio_facts(page, selector: str) -> list[dict]:
    return page.evaluate(AUDIO_FACTS, selector)


def test_a_text_to_speech_cell_plays_its_audio(lab, page, nb_tools):
    nb_tools.write(lab, "speech.ipynb", ["%load_ext runway_nb", SPEECH, MEASURE])
    nb_tools.open(page, lab, "speech.ipynb")
    nb_tools.run_all(page)

    page.locator(".rnb-task, .rnb-static").first.wait_for(timeout=60_000)
    page.wait_for_function("() => window.__rnbStatuses.includes('SUCCEEDED')", timeout=90_000)
    measured = nb_tools.wait_for_output(page, 2, "STATUS \\w+ SECONDS [\\d.]+ STREAM \\w+", timeout=60_000)
    m = re.search(r"STATUS SUCCEEDED SECONDS ([\d.]+) STREAM (\w+)", measured)
    assert m, measured
    seconds = float(m.group(1))
    assert seconds > 1.0 and m.group(2).startswith("mp3")  # PyAV names the decoder: mp3 or mp3float

    selector = ".jp-Notebook .jp-Cell:nth-child(2) audio"
    # The facts are read in the evaluation that found the player ready: the view may swap its
    # player for the kept file's right after (a new <audio>, loading again).
    facts = page.wait_for_function(
        f"() => {{ const f = ({AUDIO_FACTS})({json.dumps(selector)});"
        " return f.length > 0 && f.every(a => a.ready >= 2 && isFinite(a.duration)) && f; }",
        timeout=30_000).json_value()
    page.screenshot(path=str(Path("test-artifacts") / "speech.png"))
    assert len(facts) == 1, facts
    assert facts[0]["ready"] >= 2
    # mp3 frames round the end up to the next frame (26 ms at 44.1 kHz) and the encoder adds padding
    assert abs(facts[0]["duration"] - seconds) < 0.1, (facts, seconds)
    assert facts[0]["src"].startswith("http://127.0.0.1:")
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    assert cell.locator("svg").count() >= 1  # the waveform drawn in the kernel
    assert not page.errors, page.errors


def test_a_voice_sweep_is_a_grid_that_plays_in_sync(lab, page, nb_tools):
    nb_tools.write(lab, "voices.ipynb", ["%load_ext runway_nb", VOICES, WAIT_SWEEP])
    nb_tools.open(page, lab, "voices.ipynb")
    nb_tools.run_all(page)

    grid = page.locator(".rnb-grid").first
    grid.wait_for(timeout=60_000)
    heads = grid.locator(".rnb-g-rowhead").all_inner_texts() + grid.locator(".rnb-g-colhead").all_inner_texts()
    assert {"voice Maya", "voice Arjun", "voice Serene"} <= set(heads), heads  # each header names its axis
    selector = ".rnb-grid .rnb-g-cell audio"
    page.wait_for_function(
        f"() => {{ const f = ({AUDIO_FACTS})({json.dumps(selector)});"
        " return f.length === 3 && f.every(a => a.ready >= 2 && isFinite(a.duration)); }", timeout=90_000)
    page.screenshot(path=str(Path("test-artifacts") / "voices-grid.png"))
    assert len({a["src"] for a in audio_facts(page, selector)}) == 3

    grid.locator(".rnb-g-play").click()
    page.wait_for_function(f"() => ({AUDIO_FACTS})({json.dumps(selector)}).every(a => a.paused === false)",
                           timeout=10_000)
    before = [a["t"] for a in audio_facts(page, selector)]
    page.wait_for_timeout(700)
    after = audio_facts(page, selector)
    assert all(a["paused"] is False for a in after), after
    assert all(b["t"] > a for a, b in zip(before, after, strict=True)), (before, after)
    times = [a["t"] for a in after]
    assert max(times) - min(times) < 0.5, times
    grid.locator(".rnb-g-play").click()
    page.wait_for_function(f"() => ({AUDIO_FACTS})({json.dumps(selector)}).every(a => a.paused === true)",
                           timeout=10_000)
    out = nb_tools.wait_for_output(page, 2, "SWEEP .*(SUCCEEDED|FAILED|CANCELLED)", timeout=60_000)
    assert "SWEEP 3 task(s): 3 SUCCEEDED" in out, out
    assert not page.errors, page.errors

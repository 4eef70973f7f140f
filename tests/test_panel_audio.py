"""The form panel for speech: every operation in the type list, a voice picker for models with
preset voices, a language picker for dubbing, an input-audio slot, and the "copy as %%runway"
text of a speech task round-tripping through the magic."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest

from runway_nb.api import catalog
from runway_nb.notebook.widgets import Panel


def call(widget: Any, method: str, args: dict | None = None, buffers: Any = ()) -> None:
    """What the front end sends through the channel."""
    widget._on_custom(widget, {"kind": "rnb:call", "id": None, "method": method, "args": args or {}}, list(buffers))


def wav_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "take.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(8000)))
    return path.read_bytes()


@pytest.fixture
def panel(runway_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Panel()


def creates(runway_session: Any) -> int:
    return runway_session.client.simulator.stats.creates


def test_every_operation_is_in_the_type_list_with_a_label(panel) -> None:
    endpoints = panel.form.endpoints
    assert [e for e, _ in endpoints] == list(catalog.ENDPOINTS)
    assert dict(endpoints)["generate/audio"] == "Routed: audio"
    assert dict(endpoints)["text_to_speech"] == "Text to speech"


def test_the_voice_picker_follows_the_model(panel) -> None:
    f = panel.form
    panel.set(type="text_to_speech", model="seed_audio")
    assert f.voices == [] and f.voice == ""  # seed_audio has no preset voices: no picker
    panel.set(model="eleven_v3")
    assert f.voices == catalog.get("text_to_speech", "eleven_v3").voices["presets"]
    assert f.voice == "Maya"  # the model's first voice, so the form is valid at once
    panel.set(voice="arjun", prompt="Hello there.")
    assert f.voice == "Arjun" and f.valid, f.reason
    assert f.magic == "%%runway -m eleven_v3 --voice Arjun\nHello there."


def test_a_speech_task_from_the_panel_and_its_cell_round_trip(panel, runway_session, ip) -> None:
    panel.set(type="text_to_speech", model="eleven_v4", voice="Serene", prompt="Welcome back.")
    handle = panel.submit()
    assert handle is not None, panel.reason
    assert handle.params["voice"] == {"type": "runway-preset", "presetId": "Serene"}
    assert "Serene" in panel.form.history[0]["title"]
    again = ip.run_cell(panel.magic()).result
    assert again.params == handle.params
    panel.set(type="text_to_video")
    panel.load(1)
    assert (panel.form.endpoint, panel.form.model, panel.form.voice) == ("text_to_speech", "eleven_v4", "Serene")


def test_dubbing_takes_an_uploaded_recording_and_a_language(panel, runway_session, tmp_path, ip) -> None:
    f = panel.form
    panel.set(type="voice_dubbing")
    assert [s["name"] for s in f.slots] == ["audio"] and f.slots[0]["accept"] == "audio/*"
    assert f.voices == [] and "es" in f.languages and f.target_language == f.languages[0]
    assert not f.valid and f.reason.startswith("Audio:")  # the recording is required
    before = creates(runway_session)
    call(f, "upload", {"slot": "audio", "name": "take.wav"}, [wav_bytes(tmp_path)])
    panel.set(target_language="es")
    assert f.valid, f.reason
    handle = panel.submit()
    assert creates(runway_session) == before + 1
    assert handle.params["targetLang"] == "es" and handle.params["audioUri"].startswith("<audio/")
    text = panel.magic()
    assert text.startswith("%runway -m eleven_voice_dubbing --target-language es --audio runway_inputs/")
    again = ip.run_cell(text).result
    assert again.params == handle.params


def test_speech_to_speech_takes_audio_or_video_and_a_voice(panel) -> None:
    f = panel.form
    panel.set(type="speech_to_speech")
    assert f.slots == [{"name": "audio", "label": "Audio (or video)", "accept": "audio/*,video/*",
                        "required": True}]
    assert f.voice == "Maya" and f.languages == []

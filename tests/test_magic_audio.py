"""``%%runway`` for speech and routed generation: --voice, --audio, --target-language, --router,
voice sweeps into the comparison grid, and the refusals (nothing sent) on the fast simulator,
through a real InteractiveShell that raises."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from IPython.core.error import UsageError

from runway_nb.client.core import TaskHandle
from runway_nb.notebook.magics.values import OPTION_NAMES
from runway_nb.notebook.sweep import Sweep
from runway_nb.notebook.widgets import Grid


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000, pitch: float = 220.0) -> Path:
    """A short mono 16-bit tone, written with the standard library."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * pitch * i / rate)))
                                 for i in range(frames)))
    return path


def output_bytes(handle: TaskHandle) -> bytes:
    assert handle.status == "SUCCEEDED", handle.task
    return handle.client.download(handle.outputs[0])


def audio_streams(data: bytes) -> list[Any]:
    with av.open(io.BytesIO(data)) as container:
        return [(s.type, s.duration, s.time_base) for s in container.streams if s.type == "audio"]


def refused(ip: Any, session: Any, sim: Any, line: str, body: str | None = "Hello there") -> str:
    """The UsageError of ``%%runway line``, checking that nothing was created."""
    with pytest.raises(UsageError) as err:
        if body is None:
            ip.run_line_magic("runway", line)
        else:
            ip.run_cell(f"%%runway {line}\n{body}\n")
    assert sim.stats.creates == 0 and session.tasks == [] and session.sweeps == []
    return str(err.value)


# ----------------------------------------------------------------------------------------
# speech that works
# ----------------------------------------------------------------------------------------

def test_text_to_speech_with_a_voice_and_no_model_picks_a_model_offering_it(ip, runway_session) -> None:
    handle = ip.run_cell("%%runway -t text_to_speech --voice maya -w\nWelcome back to the tide pools.\n").result
    assert isinstance(handle, TaskHandle) and handle.endpoint == "text_to_speech"
    assert handle.params["model"] == "eleven_multilingual_v2"  # the first current model with Maya
    assert handle.params["voice"] == {"type": "runway-preset", "presetId": "Maya"}  # the catalog's spelling
    assert audio_streams(output_bytes(handle))


def test_a_voice_alone_means_text_to_speech(ip, runway_session) -> None:
    handle = ip.run_cell("%%runway --voice Arjun -m eleven_v3 -w\nHello there.\n").result
    assert (handle.endpoint, handle.params["model"]) == ("text_to_speech", "eleven_v3")
    assert audio_streams(output_bytes(handle))


def test_text_to_speech_without_a_voice_keeps_the_model_that_needs_none(ip, runway_session) -> None:
    handle = ip.run_cell("%%runway -t text_to_speech -w\nHello there.\n").result
    assert handle.params["model"] == "seed_audio" and "voice" not in handle.params
    assert audio_streams(output_bytes(handle))


def test_a_voice_sweep_is_a_grid_of_three_different_recordings(ip, runway_session) -> None:
    sweep = ip.run_cell("%%runway -t text_to_speech --voice Maya,Arjun,Serene --cols voice -w\n"
                        "The same line, in three voices.\n").result
    assert isinstance(sweep, Sweep) and sweep.varying == ["voice"]
    assert [t.status for t in sweep.tasks] == ["SUCCEEDED"] * 3
    assert [t.params["voice"]["presetId"] for t in sweep.tasks] == ["Maya", "Arjun", "Serene"]
    recordings = [output_bytes(t) for t in sweep.tasks]
    assert all(audio_streams(r) for r in recordings)
    assert len(set(recordings)) == 3  # each voice sounds different
    grid = Grid(sweep, watch=False)
    try:
        assert grid.col_title == "voice" and grid.col_labels == ["Maya", "Arjun", "Serene"]
        assert len(grid.cells) == 3
        for cell, voice in zip(grid.cells, ["Maya", "Arjun", "Serene"], strict=True):
            assert cell["status"] == "SUCCEEDED" and cell["finished"]
            assert cell["kinds"] == ["audio"] and len(cell["outputs"]) == 1  # what the synced play drives
            assert cell["label"] == f"voice {voice}"
    finally:
        grid.close()


def test_the_speech_options_are_sweep_option_names(ip, runway_session) -> None:
    assert {"voice", "audio", "target_language", "router"} <= set(OPTION_NAMES)
    sweep = ip.run_cell("%%runway -t text_to_speech -m eleven_v3 --voice Maya,Arjun --rows voice --seed 1,2\n"
                        "Hello.\n").result
    assert sweep.layout == {"rows": "voice"} and len(sweep) == 4


def test_dubbing_with_input_audio_and_target_languages(ip, runway_session, tmp_path) -> None:
    take = write_wav(tmp_path / "take.wav", seconds=1.0)
    ip.user_ns["take"] = take
    handle = ip.run_line_magic("runway", "-t voice_dubbing --audio take --target-language es -w")
    assert handle.endpoint == "voice_dubbing" and handle.params["targetLang"] == "es"
    assert handle.params["audioUri"].startswith("<audio/")  # the local file went as a data URI
    assert audio_streams(output_bytes(handle))
    sweep = ip.run_line_magic("runway", f"--audio {take} --target-language ES,fr")  # no -t: dubbing
    assert [t.params["targetLang"] for t in sweep.tasks] == ["es", "fr"]
    assert sweep.varying == ["target_language"]


def test_speech_to_speech_and_voice_isolation_take_the_audio(ip, runway_session, tmp_path) -> None:
    take = write_wav(tmp_path / "take.wav")
    changed = ip.run_line_magic("runway", f"--audio {take} --voice Serene -w")
    assert changed.endpoint == "speech_to_speech"
    assert changed.params["media"]["type"] == "audio"
    isolated = ip.run_line_magic("runway", f"-t voice_isolation --audio {take} -w")
    assert isolated.endpoint == "voice_isolation" and isolated.params["audioUri"].startswith("<audio/")
    for handle in (changed, isolated):
        assert audio_streams(output_bytes(handle))


def test_routed_audio_with_the_default_router(ip, runway_session) -> None:
    handle = ip.run_cell("%%runway -t generate/audio --router default --voice Arjun -w\nHello there.\n").result
    assert handle.endpoint == "generate/audio" and handle.status == "SUCCEEDED"
    assert handle.params["configId"] == "default"
    assert handle.params["input"] == {"promptText": "Hello there.", "type": "speech",
                                      "voice": {"type": "preset", "presetId": "Arjun"}}
    assert audio_streams(output_bytes(handle))
    plain = ip.run_cell("%%runway -t generate/audio --router default -p input.type=audio -p input.duration=2 -w\n"
                        "rain on a tin roof\n").result
    assert plain.params["input"]["type"] == "audio" and plain.status == "SUCCEEDED"


def test_every_operation_is_a_type(ip, runway_session) -> None:
    from runway_nb.api import catalog
    from runway_nb.notebook.magics.values import to_type

    assert [to_type("--type", ep) for ep in catalog.ENDPOINTS] == list(catalog.ENDPOINTS)
    assert to_type("--type", "product_ad") == "recipes/product_ad"
    assert to_type("--type", "/v1/generate/audio") == "generate/audio"


# ----------------------------------------------------------------------------------------
# refusals: each names the option and the value, and nothing is sent
# ----------------------------------------------------------------------------------------

def test_an_unknown_voice(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech --voice Bob")
    assert message.startswith("--voice: 'Bob' is not a voice")
    assert "Maya, Arjun" in message and "…" in message


def test_an_unknown_voice_of_a_chosen_model(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech -m eleven_v3 --voice Bob")
    assert message.startswith("--voice: 'Bob' is not a voice of eleven_v3") and "Maya" in message


def test_a_voice_in_a_sweep_names_the_bad_combination(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech --voice Maya,Bob")
    assert "1 of 2 combination(s)" in message and "--voice: 'Bob' is not a voice" in message


def test_a_voice_on_a_model_without_voices(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech -m seed_audio --voice Maya")
    assert message.startswith("--voice: 'Maya'") and "seed_audio" in message and "no preset voices" in message
    assert "eleven_v3" in message  # where the voices are
    message = refused(ip, runway_session, fast_sim, "-m gen4.5 --voice Maya", "a red fox")
    assert message.startswith("--voice: 'Maya'") and "takes no voice" in message


def test_audio_on_text_to_video(ip, runway_session, fast_sim, tmp_path) -> None:
    take = write_wav(tmp_path / "take.wav")
    message = refused(ip, runway_session, fast_sim, f"-t text_to_video --audio {take}", "a red fox")
    assert message.startswith("--audio:") and "takes no input audio" in message
    assert "voice_dubbing" in message


def test_router_on_text_to_image(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_image --router default", "a lighthouse")
    assert message.startswith("--router: 'default'") and "not routed generation" in message
    assert "generate/image" in message


def test_an_unknown_target_language(ip, runway_session, fast_sim, tmp_path) -> None:
    take = write_wav(tmp_path / "take.wav")
    message = refused(ip, runway_session, fast_sim, f"-t voice_dubbing --audio {take} --target-language xx", None)
    assert message.startswith("--target-language: 'xx' is not a target language") and "es, fr" in message


def test_a_target_language_on_speech(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech --voice Maya --target-language es")
    assert message.startswith("--target-language: 'es'") and "takes no target language" in message


def test_an_unknown_type(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_sing")
    assert message.startswith("--type: 'text_to_sing' is not a task type") and "text_to_speech" in message


def test_audio_without_a_type_asks_for_one(ip, runway_session, fast_sim, tmp_path) -> None:
    take = write_wav(tmp_path / "take.wav")
    message = refused(ip, runway_session, fast_sim, f"--audio {take}", None)
    assert message.startswith("--audio:") and "voice_isolation" in message


def test_param_cannot_set_what_an_option_sets(ip, runway_session, fast_sim) -> None:
    assert "use the --voice option" in refused(ip, runway_session, fast_sim, "-t text_to_speech -p voice=Maya")
    assert "use the --target-language option" in refused(ip, runway_session, fast_sim,
                                                         "-t voice_dubbing -p targetLang=es")
    assert "use the --router option" in refused(ip, runway_session, fast_sim, "-t generate/audio -p configId=x")


def test_rows_and_cols_name_the_speech_options(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech --voice Maya,Arjun --rows language")
    assert message.startswith("--rows: 'language' is not an option name") and "target_language" in message


def test_a_model_that_needs_a_voice_lists_them(ip, runway_session, fast_sim) -> None:
    message = refused(ip, runway_session, fast_sim, "-t text_to_speech -m eleven_v3")
    assert message.startswith("--voice: eleven_v3 on text_to_speech needs a voice; allowed: Maya, Arjun")


def test_a_session_default_video_model_does_not_take_over_a_speech_cell(ip, runway_session) -> None:
    runway_session.configure(model="gen4.5")
    handle = ip.run_cell("%%runway --voice Maya\nHello there.\n").result
    assert handle.endpoint == "text_to_speech" and handle.params["model"] == "eleven_multilingual_v2"
    runway_session.configure(model="eleven_v3")
    handle = ip.run_cell("%%runway --voice Maya\nHello there.\n").result
    assert handle.params["model"] == "eleven_v3"  # the default serves text_to_speech and offers Maya


def test_the_python_api_takes_the_speech_options(runway_session) -> None:
    import runway_nb

    handle = runway_nb.generate("Hello there.", type="text_to_speech", voice="Serene", wait=True, progress=False)
    assert handle.params["voice"]["presetId"] == "Serene" and audio_streams(output_bytes(handle))
    sweep = runway_nb.compare("Hello.", type="text_to_speech", voice=["Maya", "Arjun"])
    assert sweep.varying == ["voice"] and len(sweep) == 2


def test_a_quoted_param_keeps_its_spaces_and_commas(ip, runway_session) -> None:
    cell = ('%%runway -t text_to_speech -m eleven_v4 --voice Maya -p "previousText=Good morning, class." '
            "-p 'languageCode=en'\nHello.\n")
    handle = ip.run_cell(cell).result
    assert isinstance(handle, TaskHandle)
    assert handle.params["previousText"] == "Good morning, class."  # one text, not a sweep over its commas
    assert handle.params["languageCode"] == "en"

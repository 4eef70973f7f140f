"""Waveforms of audio outputs: real encoded audio (made here with PyAV) decoded into a duration
and a peak envelope, drawn as an accessible, themed inline SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from audio_samples import silence, tone

from runway_nb.notebook.waveform import BARS, Waveform, analyze, audio_duration, duration_text, waveform_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac"])
def test_decodes_duration_and_a_rising_envelope(fmt):
    waveform = analyze(tone(fmt, 3.0, peak=0.5))
    assert waveform.duration == pytest.approx(3.0, abs=0.06)
    assert len(waveform.peaks) == BARS
    assert all(0.0 <= p <= 1.0 for p in waveform.peaks)
    # the tone swells from silence to half of full scale
    assert waveform.peaks[0] < 0.05
    assert waveform.peaks[-1] == pytest.approx(0.5, abs=0.05)
    quarters = [max(waveform.peaks[i * 30:(i + 1) * 30]) for i in range(4)]
    assert quarters == sorted(quarters)
    assert audio_duration(tone(fmt, 1.5)) == pytest.approx(1.5, abs=0.06)


@pytest.mark.parametrize("codec", ["pcm_u8", "pcm_s32le", "pcm_f32le", "pcm_s24le"])
def test_every_pcm_sample_format_is_scaled_to_full_scale(codec):
    waveform = analyze(tone("wav", 1.0, peak=0.8, codec=codec))
    assert max(waveform.peaks) == pytest.approx(0.8, abs=0.02)


def test_the_loudest_channel_counts_and_mono_works():
    assert max(analyze(tone("wav", 1.0, silent_channel=True)).peaks) == pytest.approx(0.5, abs=0.01)
    assert max(analyze(tone("flac", 1.0, channels=1)).peaks) == pytest.approx(0.5, abs=0.01)


def test_silence_is_a_flat_line():
    waveform = analyze(silence("wav", 1.0))
    assert waveform.duration == pytest.approx(1.0, abs=0.01)
    assert set(waveform.peaks) == {0.0}
    bars = re.findall(r"M[\d.]+ [\d.]+v([\d.]+)", waveform.svg())
    assert len(bars) == BARS and set(bars) == {"1.0"}, "silence still draws a visible line"


def test_shorter_than_the_bars():
    waveform = analyze(tone("wav", 0.001, rate=8000))  # 8 samples for 120 bars
    assert len(waveform.peaks) == BARS
    assert waveform.duration == pytest.approx(0.001, abs=0.0005)


def test_not_audio_is_a_value_error():
    with pytest.raises(ValueError):
        analyze(b"definitely not audio" * 50)
    with pytest.raises(ValueError):
        analyze(b"")


def test_svg_is_themed_labelled_and_fixed_size():
    waveform = analyze(tone("mp3", 4.2))
    text = waveform.svg()
    root = ET.fromstring(text)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 240 48"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Waveform, 4.2 s" == waveform.label()
    assert root.find(f"{SVG}title").text == "Waveform, 4.2 s"
    path = root.find(f"{SVG}path")
    assert path.get("stroke") == "currentColor"
    assert len(re.findall(r"M", path.get("d"))) == BARS
    assert "<script" not in text and "http" not in text.replace("http://www.w3.org/2000/svg", "")
    assert len(text) < 4000, "compact enough to embed in every saved output"


def test_svg_clamps_values_and_escapes_the_label():
    text = waveform_svg([2.0, -1.0, float("nan"), 0.5], 61.25)
    root = ET.fromstring(text)
    assert root.get("aria-label") == "Waveform, 1 min 01.2 s"
    heights = [float(h) for h in re.findall(r"v([\d.]+)", root.find(f"{SVG}path").get("d"))]
    assert heights == [46.0, 1.0, 1.0, 23.0]


def test_duration_text():
    assert duration_text(4.2) == "4.2 s"
    assert duration_text(0) == "0.0 s"
    assert duration_text(123.45) == "2 min 03.5 s"


def test_waveform_is_a_value():
    assert Waveform(1.0, (0.5,)) == Waveform(1.0, (0.5,))

"""The simulator's audio: time to render 10 s of speech and 10 s of sound effect in each format.

``runway_nb.sim.audio.render_speech`` (a 140-character text, which lasts exactly 10 s) and
``render_sound(duration=10)`` are called directly for each format (mp3, wav, flac, ogg_opus) at
the default sample rate (44.1 kHz; Opus 48 kHz), after one warm-up call each (imports, codec
set-up). Each figure is the median of ``runs`` calls with different seeds (the functions cache
nothing); wall-clock seconds (``time.perf_counter``) and the process's CPU seconds
(``time.process_time``, which other processes on the shared cores do not inflate) are both
reported, with the load average before and after. Target: 10 s of audio in under 0.2 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT_10S = ("The lighthouse keeper climbed the stairs at dusk, lit the lamps, and watched the ships "
            "pass slowly by the rocks. Then he made tea and wrote.")
SOUND_PROMPT = "thunder rolling over heavy rain, a door creaks"
TARGET_S = 0.2


def _timed(fn: object, runs: int) -> dict:
    assert callable(fn)
    fn(0)  # warm-up
    wall, cpu = [], []
    size = 0
    for seed in range(1, runs + 1):
        t, c = time.perf_counter(), time.process_time()
        data = fn(seed)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        size = len(data)
    return {"median_s": statistics.median(wall), "cpu_median_s": statistics.median(cpu),
            "runs_s": wall, "bytes": size}


def run(runs: int = 5) -> dict:
    from runway_nb.sim import audio

    assert abs(audio.speech_seconds(TEXT_10S) - 10.0) < 1e-9
    load_before = list(os.getloadavg())
    out: dict = {"speech_10s": {}, "sound_10s": {}}
    for fmt in audio.AUDIO_FORMATS:
        out["speech_10s"][fmt] = _timed(
            lambda seed, fmt=fmt: audio.render_speech(TEXT_10S, voice="Maya", seed=seed, fmt=fmt), runs)
        out["sound_10s"][fmt] = _timed(
            lambda seed, fmt=fmt: audio.render_sound(SOUND_PROMPT, duration=10.0, seed=seed, fmt=fmt), runs)
    rows = [row for kind in ("speech_10s", "sound_10s") for row in out[kind].values()]
    out["worst_median_s"] = max(row["median_s"] for row in rows)
    out["worst_cpu_median_s"] = max(row["cpu_median_s"] for row in rows)
    out["target_s"] = TARGET_S
    out["met"] = out["worst_median_s"] < TARGET_S
    out["runs"] = runs
    out["cpus"] = os.cpu_count()
    out["load_average"] = {"before": load_before, "after": list(os.getloadavg())}
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))

"""Sweep expansion and validation (pure), and the Sweep handle against the fast simulator."""

from __future__ import annotations

import asyncio
import time

import pytest

from runway_nb.errors import ValidationError
from runway_nb.notebook import sweep
from runway_nb.notebook.sweep import Sweep, SweepError, check, expand, fixed, plan, split_list, split_prompts, varying

# ----------------------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------------------

def test_split_prompts() -> None:
    body = "a cat\n---\n  a dog  \n   ---   \n\n---\nthree\n----\nstill three\n--- not a separator"
    assert split_prompts(body) == ["a cat", "a dog", "three\n----\nstill three\n--- not a separator"]
    assert split_prompts("one prompt\nover two lines") == ["one prompt\nover two lines"]
    assert split_prompts("") == [None]
    assert split_prompts("\n---\n") == [None]
    assert split_prompts(None) == [None]


def test_split_list() -> None:
    assert split_list("gen4.5, veo3.1,gen4_turbo") == ["gen4.5", "veo3.1", "gen4_turbo"]
    assert split_list("1280:720") == ["1280:720"]
    assert split_list("data:image/png;base64,AAAA") == ["data:image/png;base64,AAAA"]
    with pytest.raises(ValidationError) as err:
        split_list("1,,2", option="--seed")
    assert err.value.field == "--seed"


# ----------------------------------------------------------------------------------------
# expansion
# ----------------------------------------------------------------------------------------

def test_expand_is_a_stable_cartesian_product() -> None:
    combos = expand(["a", "b"], {"model": ["gen4.5", "veo3.1"], "ratio": "1280:720", "seed": [1, 2, 3]})
    assert len(combos) == 12
    # prompts vary slowest, then the options in the order given
    assert combos[0] == {"prompt": "a", "model": "gen4.5", "ratio": "1280:720", "seed": 1}
    assert combos[1] == {"prompt": "a", "model": "gen4.5", "ratio": "1280:720", "seed": 2}
    assert combos[3]["model"] == "veo3.1"
    assert combos[6]["prompt"] == "b"
    assert [list(c) for c in combos] == [["prompt", "model", "ratio", "seed"]] * 12
    assert combos == expand(["a", "b"], {"model": ["gen4.5", "veo3.1"], "ratio": "1280:720", "seed": [1, 2, 3]})


def test_expand_drops_none_and_repeats() -> None:
    assert expand("a", {"model": "gen4.5", "ratio": None, "seed": [1, 1, 2]}) == [
        {"prompt": "a", "model": "gen4.5", "seed": 1}, {"prompt": "a", "model": "gen4.5", "seed": 2}]
    assert expand(None, {"model": "aleph2"}) == [{"model": "aleph2"}]
    assert expand(["x", "x"], {}) == [{"prompt": "x"}]


def test_expand_keeps_unhashable_values() -> None:
    img1, img2 = bytearray(b"1"), bytearray(b"2")
    combos = expand("a", {"image": [img1, img2]})
    assert [c["image"] for c in combos] == [img1, img2]
    # a list inside the list is one value (keyframes), not a sweep
    combos = expand("a", {"image": [["first.png", "last.png"]]})
    assert combos == [{"prompt": "a", "image": ["first.png", "last.png"]}]


def test_varying_and_fixed() -> None:
    combos = expand(["a", "b"], {"model": "gen4.5", "seed": [1, 2]})
    assert varying(combos) == ["prompt", "seed"]
    assert fixed(combos) == {"model": "gen4.5"}
    assert varying([]) == [] and fixed([]) == {}


# ----------------------------------------------------------------------------------------
# validation before anything is sent
# ----------------------------------------------------------------------------------------

def test_check_reports_every_bad_combination() -> None:
    combos = expand("a fox", {"model": ["gen4.5", "veo3.1"], "ratio": ["1280:720", "1920:1080"],
                              "duration": [5, 8]})
    problems = check(combos)
    bad = [(c["model"], c["ratio"], c["duration"]) for c, _ in problems]
    # gen4.5 text_to_video: 1280:720 or 720:1280, 2..10 s; veo3.1: 4, 6 or 8 s, 1920:1080 allowed
    assert bad == [("gen4.5", "1920:1080", 5), ("gen4.5", "1920:1080", 8),
                   ("veo3.1", "1280:720", 5), ("veo3.1", "1920:1080", 5)]
    fields = {e.field for _, e in problems}
    assert fields == {"ratio", "duration"}
    assert all(isinstance(e, ValidationError) for _, e in problems)


def test_check_infers_the_type_per_combination() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    planned, problems = plan(expand("x", {"model": ["gen4.5", "gen4_image"], "image": [None, png]}))
    assert problems == []
    assert [p.endpoint for p in planned] == ["image_to_video", "text_to_image"]
    planned, problems = plan([{"prompt": "x"}, {"prompt": "x", "image": png}, {"video": "https://e.com/v.mp4"}])
    assert [p.endpoint for p in planned] == ["text_to_video", "image_to_video", "video_to_video"]
    assert [p.params["model"] for p in planned] == ["gen4.5", "gen4.5", "aleph2"]
    assert planned[0].estimated_credits == 60


def test_check_type_and_required_inputs() -> None:
    problems = check([{"prompt": "x", "type": "image_to_video", "model": "gen4.5"},
                      {"prompt": "x", "model": "gen9"},
                      {"prompt": "x", "type": "text_to_sound"}])
    assert [e.field for _, e in problems] == ["promptImage", "model", "type"]
    assert "gen9" in str(problems[1][1])


def test_sweep_error_lists_all() -> None:
    problems = check(expand("x", {"model": "gen4.5", "duration": [1, 11, 5]}))
    err = SweepError(problems, 3)
    text = str(err)
    assert text.startswith("2 of 3 combination(s) are not allowed; nothing was submitted")
    assert "duration=1" in text and "duration=11" in text and "duration=5" not in text


# ----------------------------------------------------------------------------------------
# the Sweep handle (fast simulator)
# ----------------------------------------------------------------------------------------

def test_compare_submits_in_order_and_waits(runway_session, fast_sim, tmp_path, capsys) -> None:
    s = runway_session.compare(["a fox", "a cat"], model="gen4_image", seed=[1, 2], ratio="720:1280")
    assert isinstance(s, Sweep)
    assert len(s) == 4 and fast_sim.stats.creates == 4
    assert [(t.params["promptText"], t.params["seed"]) for t in s.tasks] == [
        ("a fox", 1), ("a fox", 2), ("a cat", 1), ("a cat", 2)]
    assert all(t.params["ratio"] == "720:1280" and t.params["model"] == "gen4_image" for t in s.tasks)
    assert s.varying == ["prompt", "seed"] and s.fixed == {"model": "gen4_image", "ratio": "720:1280"}
    assert s.estimated_cost == 20
    tasks = s.wait()
    assert [t.status for t in tasks] == ["SUCCEEDED"] * 4 and s.finished
    out = capsys.readouterr().out
    assert "4 SUCCEEDED" in out and out.endswith("\n")
    records = s.to_records()
    assert [r["seed"] for r in records] == [1, 2, 1, 2]
    assert records[0]["prompt"] == "a fox" and records[0]["status"] == "SUCCEEDED" and records[0]["outputs"]
    saved = s.save(tmp_path / "out")
    assert set(saved) == set(s.ids)
    assert all(p.exists() for paths in saved.values() for p in paths)
    assert "4 SUCCEEDED" in repr(s) and s.ids[0] in repr(s)


def test_sweep_wait_async_and_cancel(runway_session, fast_sim) -> None:
    s = runway_session.compare("a fox", model="gen4_image", seed=[1, 2, 3])
    s[2].cancel()
    assert s.tasks[2].status == "CANCELLED"

    async def main():
        return await s.wait_async(timeout=30)

    tasks = asyncio.run(main())
    assert [t.status for t in tasks] == ["SUCCEEDED", "SUCCEEDED", "CANCELLED"]
    assert s.cancel() == []  # nothing left unfinished

    s2 = runway_session.compare("a dog", model="gen4_image", seed=[1, 2])
    assert sorted(s2.cancel()) == sorted(s2.ids)
    assert s2.counts() == {"CANCELLED": 2}

    async def await_directly():
        return await s2

    assert [t.status for t in asyncio.run(await_directly())] == ["CANCELLED", "CANCELLED"]


def test_sweep_wait_timeout(runway_session, fast_sim) -> None:
    from runway_nb.errors import APITimeoutError as RTimeout

    fast_sim.configure(run_seconds=10_000)
    s = runway_session.compare("slow", model="gen4.5", seed=[1, 2])
    with pytest.raises(RTimeout, match="did not finish within"):
        s.wait(timeout=0.3, progress=False)
    s.cancel()


def test_to_dataframe_needs_pandas() -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            Sweep().to_dataframe()
    else:  # pragma: no cover - pandas is optional
        assert len(Sweep().to_dataframe()) == 0


def test_default_model() -> None:
    assert sweep.default_model() == "gen4.5"
    assert sweep.default_model(has_video=True) == "aleph2"
    assert sweep.default_model(has_character=True) == "act_two"
    assert sweep.default_model("text_to_image") == "gen4_image"


def test_wait_result_is_awaitable_and_throttled_reads_as_queued(runway_session, fast_sim) -> None:
    fast_sim.configure(concurrency=1, run_seconds=20)  # 0.2 s of real time per task, one at a time
    s = runway_session.compare("a fox", model="gen4_image", seed=[1, 2, 3])
    time.sleep(0.03)  # 3 simulated seconds: past PENDING, the first one running
    s.refresh()
    assert s.counts() == {"RUNNING": 1, "THROTTLED": 2}
    assert "1 RUNNING, 2 queued" in s.summary()

    async def main():
        return await s.wait(progress=False)  # blocking, but awaitable

    tasks = asyncio.run(main())
    assert [t.status for t in tasks] == ["SUCCEEDED"] * 3

"""The form panel: choices fitted to the catalog, validation on every change, submit / refuse,
uploads, history (re-run, edit), and the "copy as %%runway" text round-tripping through the
magic exactly."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from runway_nb.api import catalog
from runway_nb.errors import RateLimitError
from runway_nb.notebook.interpolate import interpolate
from runway_nb.notebook.widgets import Panel, TaskView
from runway_nb.notebook.widgets import _panel as pm
from runway_nb.notebook.widgets._panel import escape_braces, magic_text

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
IMAGE = "https://example.com/kite.png"

def call(widget: Any, method: str, args: dict | None = None, buffers: Any = (), call_id: int | None = None) -> None:
    """What the front end sends through the channel (a notification when ``call_id`` is None)."""
    widget._on_custom(widget, {"kind": "rnb:call", "id": call_id, "method": method, "args": args or {}}, list(buffers))



@pytest.fixture
def panel(runway_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Panel()


def creates(runway_session) -> int:
    return runway_session.client.simulator.stats.creates


# ---------------------------------------------------------------------- the choices
def test_defaults_and_why_submit_is_disabled(panel):
    f = panel.form
    assert (f.endpoint, f.model) == ("text_to_video", "gen4.5")
    info = catalog.get("text_to_video", "gen4.5")
    assert f.ratio == info.default_ratio and f.duration == info.default_duration
    assert [r["ratio"] for r in f.ratios] == list(info.ratios)
    assert {"ratio": "720:1280", "width": 720, "height": 1280} in f.ratios
    assert f.durations == [int(d) for d in info.durations]
    assert f.prompt_max == info.prompt_max and f.takes_prompt and f.slots == []
    assert [e[0] for e in f.endpoints] == list(catalog.ENDPOINTS)
    assert not f.valid and f.reason == "Prompt: write a prompt (this model needs one)."
    assert panel.submit() is None


def test_models_are_filtered_by_type_and_ratios_and_durations_follow_the_model(panel):
    f = panel.form
    panel.set(type="text_to_image")
    names = [m for m, _ in f.models]
    assert names == [m.model for m in catalog.models("text_to_image", include_legacy=False)]
    assert f.model == "gen4_image" and f.durations == [] and f.duration is None
    assert f.ratio in catalog.get("text_to_image", "gen4_image").ratios
    panel.set(type="image_to_video", model="veo3.1")
    assert f.durations == [4, 6, 8] and f.duration in (4, 6, 8)
    assert [r["ratio"] for r in f.ratios] == list(catalog.get("image_to_video", "veo3.1").ratios)
    panel.set(ratio="1584:672")  # not a veo3.1 ratio: the picker only offers the model's
    assert f.ratio in catalog.get("image_to_video", "veo3.1").ratios
    panel.set(type="video_upscale")
    assert not f.takes_prompt and f.ratios == [] and f.ratio == ""
    assert [s["name"] for s in f.slots] == ["video"] and f.slots[0]["required"]
    panel.set(type="character_performance")
    assert [s["name"] for s in f.slots] == ["character", "reference"]
    assert f.slots[0]["accept"] == "image/*,video/*"


def test_every_change_is_validated_with_the_catalog(panel):
    f = panel.form
    panel.set(type="image_to_video", model="gen4.5", prompt="a kite")
    assert not f.valid and f.reason.startswith("Image: ") and "promptImage is required" in f.reason
    panel.set(image=IMAGE)
    assert f.valid and f.reason == "" and f.estimate and f.estimate > 0
    panel.set(prompt="x" * 1001)
    assert not f.valid and f.reason.startswith("Prompt: ") and "1000" in f.reason
    assert f.prompt_count == 1001
    panel.set(prompt="🦊" * 500)  # 1000 UTF-16 code units, as Runway counts
    assert f.prompt_count == 1000 and f.valid
    panel.set(prompt="🦊" * 501)
    assert not f.valid
    panel.set(prompt="ok", seed=None)
    f.seed_mode = "fixed"
    assert not f.valid and f.reason.startswith("Seed:")
    panel.set(seed=12)
    assert f.valid
    panel.set(image="not a url or a file")
    assert not f.valid and f.reason.startswith("Image: ")
    f.client_rev = 41  # the browser's change counter: the verdict names the change it checked
    assert f.checked_rev == 41
    f.set_state({"prompt": "ok again", "client_rev": 42})  # as a comm message from the browser applies it
    assert f.checked_rev == 42 and f.prompt_count == len("ok again")


# ---------------------------------------------------------------------- submitting
def test_a_valid_form_submits_one_task(panel, runway_session):
    panel.set(type="image_to_video", model="gen4_turbo", ratio="720:1280", prompt="a {kite} over dunes",
              image=IMAGE, seed=7)
    before = creates(runway_session)
    call(panel.form, "submit", None)  # what the Submit button sends
    assert creates(runway_session) == before + 1
    (handle,) = panel.handles
    assert handle.params["model"] == "gen4_turbo" and handle.params["ratio"] == "720:1280"
    assert handle.params["seed"] == 7 and handle.params["promptText"] == "a {kite} over dunes"
    assert handle.params["promptImage"] == IMAGE
    assert runway_session.tasks == [handle], "registered in the session (%runway list)"
    (view,) = panel.views
    assert isinstance(view, TaskView) and view.handle is handle
    (entry,) = panel.form.history
    assert entry["n"] == 1 and entry["id"] == handle.id
    assert entry["magic"] == ("%%runway -m gen4_turbo -r 720:1280 -d 5 --seed 7 -i https://example.com/kite.png\n"
                              "a {{kite}} over dunes")
    assert "image to video" in entry["title"] and "seed 7" in entry["title"]


def test_an_invalid_form_creates_nothing(panel, runway_session):
    panel.set(type="image_to_video", model="gen4.5", prompt="a kite")  # no image
    before = creates(runway_session)
    assert panel.submit() is None
    call(panel.form, "submit", None)
    assert creates(runway_session) == before and panel.handles == [] and panel.views == []
    assert "promptImage is required" in panel.reason and panel.form.history == []


def test_server_errors_show_in_the_form(panel, runway_session, monkeypatch):
    panel.set(prompt="a kite")

    def refuse(*_: Any, **__: Any) -> None:
        raise RateLimitError("too many requests", retry_after=3)

    monkeypatch.setattr(runway_session, "generate", refuse)
    assert panel.submit() is None
    assert panel.form.error.startswith("RateLimitError")
    call(panel.form, "rerun", {"n": 9})
    assert "IndexError" in panel.form.error


def test_random_seeds_are_recorded_and_rerun_draws_again(panel, runway_session):
    panel.set(prompt="a kite")
    first = panel.submit()
    seed = first.params["seed"]
    assert panel.history[0]["combo"]["seed"] == seed and f"--seed {seed}" in panel.magic(1)
    again = panel.rerun(1)
    assert again is not first and again.params["promptText"] == "a kite"
    assert panel.history[1]["seed_mode"] == "random"
    panel.set(seed=99)
    fixed = panel.submit()
    call(panel.form, "rerun", {"n": 3})
    assert panel.handles[-1].params["seed"] == 99 == fixed.params["seed"]
    assert [v.handle for v in panel.views] == list(reversed(panel.handles)), "newest first"


def test_edit_puts_an_entry_back_in_the_form(panel):
    panel.set(type="image_to_video", model="gen4_turbo", ratio="720:1280", prompt="first", image=IMAGE, seed=5)
    panel.submit()
    panel.set(type="text_to_image", prompt="something else")
    call(panel.form, "load", {"n": 1})
    f = panel.form
    assert (f.endpoint, f.model, f.ratio, f.prompt, f.seed_mode, f.seed) == (
        "image_to_video", "gen4_turbo", "720:1280", "first", "fixed", 5)
    assert f.urls == {"image": IMAGE} and f.valid


def test_uploads_arrive_as_bytes_and_are_kept_as_files(panel, runway_session, tmp_path):
    panel.set(type="image_to_video", model="gen4.5", prompt="a kite")
    msg = {"slot": "image", "name": "../../etc/<b>kite photo.png", "mime": "image/png"}
    call(panel.form, "upload", msg, [memoryview(PNG)])
    f = panel.form
    assert f.error == ""
    up = f.uploads["image"]
    path = Path(up["path"])
    assert path.parent == Path("runway_inputs") and path.read_bytes() == PNG
    assert up["name"] == "b_kite_photo.png" and up["size"] == len(PNG)
    assert (tmp_path / "runway_inputs").is_dir() and not any(isinstance(v, bytes) for v in up.values())
    assert f.valid and f.magic.split("\n")[0].endswith(f"-i {path}")
    handle = panel.submit()
    assert handle.params["promptImage"].startswith("<image/png")
    call(f, "clear_upload", {"slot": "image"})
    assert f.uploads == {} and not f.valid


def test_bad_uploads_are_refused(panel, monkeypatch):
    f = panel.form
    call(f, "upload", {"slot": "image", "name": "a.png"}, [PNG])  # t2v takes no image
    assert "does not take" in f.error
    panel.set(type="image_to_video")
    monkeypatch.setattr(pm, "MAX_UPLOAD_BYTES", 10)
    call(f, "upload", {"slot": "image", "name": "a.png"}, [PNG])
    assert "limited to" in f.error and f.uploads == {}
    call(f, "upload", {"slot": "image", "name": "a.png"})
    assert "without its bytes" in f.error


def test_percent_runway_panel(ip, runway_session):
    panel = ip.run_line_magic("runway", "panel")
    assert isinstance(panel, Panel) and panel.form in panel.children


# ---------------------------------------------------------------------- copy as %%runway
def test_escape_braces_round_trips_through_interpolation():
    ns = {"x": "FILLED", "a": {"b": "FILLED"}, "kite": "FILLED"}
    fixed = ["{x}", "{{x}}", "{{{x}}}", "{x}}", "{{x}", '{"camera": "dolly"}', "{0} {} {", "}{x}{",
             "{a.b} and {{a.b}}", "{kite} {unknown}"]
    rng = random.Random(5)
    tokens = ["{", "}", "x", "a.b", "{{", "}}", " ", "kite", "-", "{x}"]
    texts = fixed + ["".join(rng.choice(tokens) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    for text in texts:
        assert interpolate(escape_braces(text), ns).text == text, text


def test_magic_text_writes_the_type_only_when_it_is_not_inferred():
    assert magic_text({"model": "gen4.5", "prompt": "x"}, "text_to_video") == "%%runway -m gen4.5\nx"
    assert magic_text({"model": "gen4_image", "prompt": "x", "ratio": "1024:1024"}, "text_to_image") == \
        "%%runway -m gen4_image -r 1024:1024\nx"
    assert magic_text({"model": "hailuo3", "prompt": "x", "image": IMAGE}, "text_to_video").startswith(
        "%%runway -t text_to_video -m hailuo3")
    assert magic_text({"model": "act_two", "character": "a b.png", "reference": IMAGE},
                      "character_performance") == f'%runway -m act_two --character "a b.png" --reference {IMAGE}'


PROMPTS = [
    "a kite over dunes",
    'A red fox, {"camera": "dolly", "speed": 2}, {subject} and {{literal}} and {style.name}; $HOME `ls` "quoted" \'s',
    "line one\n\n  indented line two\nthree -- not a separator",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_copy_as_runway_round_trips_through_the_magic(ip, runway_session, tmp_path, monkeypatch, prompt):
    monkeypatch.chdir(tmp_path)
    ip.user_ns["subject"] = "SHOULD NOT BE USED"
    ip.user_ns["style"] = {"name": "SHOULD NOT BE USED"}
    panel = Panel()
    panel.set(type="image_to_video", model="gen4.5", ratio="720:1280", duration=3, prompt=prompt)
    call(panel.form, "upload", {"slot": "image", "name": "kite.png"}, [PNG])
    original = panel.submit()
    assert original is not None, panel.reason
    text = panel.magic()
    assert " -i runway_inputs/" in text.split("\n")[0], "the upload, by its (relative) path"
    again = ip.run_cell(text).result
    assert again is not original and again.endpoint == original.endpoint
    assert again.params == original.params, text
    assert again.params["promptText"] == prompt.strip()


def test_copy_as_runway_line_form_and_text_to_image(ip, runway_session):
    panel = Panel()
    panel.set(type="character_performance", character=IMAGE, reference="https://example.com/take.mp4")
    act = panel.submit()
    assert panel.magic().startswith("%runway -m act_two -r 1280:720 --seed ")
    assert ip.run_cell(panel.magic()).result.params == act.params
    panel.set(type="text_to_image", model="gen4_image", ratio="1080:1440", prompt="a lighthouse", image=IMAGE)
    still = panel.submit()
    again = ip.run_cell(panel.magic()).result
    assert again.endpoint == "text_to_image" and again.params == still.params


def test_what_the_magic_cannot_read_is_flagged(panel, tmp_path):
    panel.set(prompt="first\n---\nsecond")
    panel.submit()
    assert "separator" in panel.history[0]["note"]
    (tmp_path / "my photo.png").write_bytes(PNG)
    panel.set(type="image_to_video", prompt="a kite", image=str(tmp_path / "my photo.png"))
    panel.submit()
    assert "spaces" in panel.history[1]["note"] and '-i "' in panel.magic()
    assert panel.history[1]["note"] in panel.form.history[1]["note"]


def test_bundle_is_one_module_that_renders_in_node(tmp_path, node):
    import json
    import re
    import subprocess
    import textwrap

    from runway_nb.notebook.widgets import _live as live
    from runway_nb.notebook.widgets._panel import PanelForm

    code = live.asset("panel.js").read_text()
    assert not re.search(r"\bimport\s*[{*\"'(]|\bimport\s+\w+\s+from\b", code), "one self-contained module"
    assert re.search(r"export\s*\{\s*[\w$]+ as default\s*\};?\s*$", code)  # a JS name may hold $
    css = str(PanelForm._css)
    assert str(PanelForm._esm) == code and ".rnb-panel" in css and ".rnb-btn:disabled{opacity:.6" in css
    repo = Path(__file__).resolve().parent.parent
    bundle = tmp_path / "panel.mjs"
    bundle.write_text(code)
    script = tmp_path / "check.mjs"
    script.write_text(textwrap.dedent(f"""
        import {{ installFakes, MockModel }} from {json.dumps((repo / "js/test/fake_dom.js").as_uri())};
        installFakes();
        const mod = await import({json.dumps(bundle.as_uri())});
        const model = new MockModel({{ endpoints: [["text_to_video", "Text to video"]], models: [["gen4.5", "gen4.5"]],
          ratios: [{{ ratio: "1280:720", width: 1280, height: 720 }}], durations: [5], slots: [], valid: true,
          endpoint: "text_to_video", model: "gen4.5", ratio: "1280:720", duration: 5, history: [] }});
        const el = document.createElement("div");
        const cleanup = mod.default.render({{ model, el }});
        if (el.querySelectorAll(".rnb-p-ratio").length !== 1) throw new Error("no ratio");
        if (el.querySelector(".rnb-p-submit").disabled) throw new Error("submit disabled");
        cleanup();
        console.log("ok");
    """))
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

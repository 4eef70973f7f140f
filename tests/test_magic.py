"""``%%runway`` / ``%runway`` through a real InteractiveShell that raises, on the fast simulator."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from runway_nb.client.core import Runway, TaskHandle
from runway_nb.client.keep import Keeper
from runway_nb.client.watch import SYSTEM_CLOCK
from runway_nb.notebook.magic import RunwayMagics
from runway_nb.notebook.sweep import Sweep

CANARY = "key_" + "c4n4ry" * 20


def cell(ip, line: str, body: str = "a red fox in the snow"):
    """Run ``%%runway line`` with ``body`` and return the cell's result."""
    return ip.run_cell(f"%%runway {line}\n{body}\n").result


def usage(ip, line: str, body: str = "a red fox in the snow") -> str:
    with pytest.raises(UsageError) as err:
        ip.run_cell(f"%%runway {line}\n{body}\n")
    return str(err.value)


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 80, 40)).save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------

def test_load_ext_registers_both_magics(ip) -> None:
    assert ip.find_cell_magic("runway") is not None
    assert ip.find_line_magic("runway") is not None


def test_loading_defers_heavy_imports() -> None:
    code = textwrap.dedent("""
        import sys, time
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        t = time.perf_counter()
        shell.run_line_magic("load_ext", "runway_nb")
        took = time.perf_counter() - t
        heavy = [m for m in ("httpx", "pydantic", "runway_nb.client.core", "runway_nb.client.handles",
                             "runway_nb.api.catalog", "runway_nb.sim", "PIL") if m in sys.modules]
        print(repr((took, heavy)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    took, heavy = eval(out.stdout.strip().splitlines()[-1])
    assert heavy == [], heavy
    assert took < 1.0  # generous for CI; typically a few ms without the widgets


def test_widget_formatters_load_on_the_first_display_in_a_kernel(ip_empty, monkeypatch) -> None:
    """In a kernel, load_ext registers a by-name printer; the widgets load when a handle is shown."""
    import runway_nb.notebook.widgets as widgets
    from runway_nb.notebook import magic

    shown = []

    def fake_register(shell):
        shell.display_formatter.ipython_display_formatter.for_type(TaskHandle, shown.append)
        return True

    assert TaskHandle.__module__ == magic.HANDLES_MODULE  # the printer is registered by this name
    monkeypatch.setattr(widgets, "register_formatters", fake_register)
    formatter = ip_empty.display_formatter.ipython_display_formatter
    monkeypatch.setattr(ip_empty, "kernel", object(), raising=False)
    try:
        magic.load_ipython_extension(ip_empty)
        assert formatter.deferred_printers[(magic.HANDLES_MODULE, "TaskHandle")] is magic._first_display
        handle = TaskHandle(SimpleNamespace(poll_floor=5.0, keeper=Keeper(None), clock=SYSTEM_CLOCK,
                                            created_at=lambda _task_id: None), "task-1")
        formatter(handle)
        assert shown == [handle]  # the real printer ran, on this first display already
        assert formatter.lookup(handle) == shown.append
        formatter(handle)
        assert shown == [handle, handle]
    finally:
        for key in (TaskHandle, f"{magic.HANDLES_MODULE}.AsyncTaskHandle"):
            formatter.pop(key, None)


# ----------------------------------------------------------------------------------------
# submitting
# ----------------------------------------------------------------------------------------

def test_cell_returns_a_handle_at_once(ip, runway_session, fast_sim) -> None:
    handle = ip.run_cell_magic("runway", "-m gen4.5 -r 720:1280 -d 4 --seed 42", "a red fox")
    assert isinstance(handle, TaskHandle) and not handle.finished
    assert handle.params == {"endpoint": "text_to_video", "promptText": "a red fox", "model": "gen4.5",
                             "ratio": "720:1280", "duration": 4, "seed": 42}
    assert runway_session.tasks == [handle] and fast_sim.stats.creates == 1


def test_wait_returns_a_finished_handle_with_outputs(ip, runway_session, capsys) -> None:
    handle = cell(ip, "-m gen4.5 --wait")
    assert handle.finished and handle.status == "SUCCEEDED" and handle.outputs
    assert f"runway: {handle.id}" in capsys.readouterr().out
    # Shown as Out[n]. (Checked in Out, not in `_`: IPython stops updating `_` for good once
    # anything in the process puts `_` into builtins, as gettext.install does.)
    assert any(value is handle for value in ip.user_ns["Out"].values())


def test_out_assigns_the_handle(ip, runway_session) -> None:
    result = ip.run_cell("%%runway -m gen4_image -o shot\na lighthouse\n").result
    assert ip.user_ns["shot"] is result and isinstance(result, TaskHandle)
    assert result.endpoint == "text_to_image"


@pytest.mark.parametrize("line, body, endpoint, model", [
    ("-m gen4.5", "x", "text_to_video", "gen4.5"),
    ("-m gen4.5 -i img", "x", "image_to_video", "gen4.5"),
    ("-m gen4_image", "x", "text_to_image", "gen4_image"),
    ("-m gen4_image -i img", "x", "text_to_image", "gen4_image"),
    ("", "x", "text_to_video", "gen4.5"),
    ("-i img", "x", "image_to_video", "gen4.5"),
    ("--type text-to-image", "x", "text_to_image", "gen4_image"),
    ("--video https://example.com/in.mp4", "restyle it", "video_to_video", "aleph2"),
])
def test_type_inference(ip, runway_session, line, body, endpoint, model) -> None:
    from PIL import Image

    ip.user_ns["img"] = Image.new("RGB", (64, 36), (10, 20, 30))
    handle = ip.run_cell(f"%%runway {line}\n{body}\n").result
    assert (handle.endpoint, handle.params["model"]) == (endpoint, model)
    if "gen4_image -i" in line:
        assert handle.params["referenceImages"][0]["uri"].startswith("<image/png")


def test_line_form_submits_a_task_without_a_prompt(ip, runway_session, capsys) -> None:
    from PIL import Image

    ip.user_ns["face"] = Image.new("RGB", (64, 64), (10, 20, 30))
    handle = ip.run_cell("%runway --character face --reference https://example.com/perf.mp4 -o act").result
    assert (handle.endpoint, handle.params["model"]) == ("character_performance", "act_two")
    assert handle.params["character"]["type"] == "image" and ip.user_ns["act"] is handle
    with pytest.raises(UsageError, match="prompt \\(the cell body\\)"):
        ip.run_cell("%runway -m gen4.5")
    with pytest.raises(UsageError, match="cell body is empty"):  # IPython's own check
        ip.run_cell("%%runway -m gen4.5\n")


def test_image_from_variable_path_bytes_or_url(ip, runway_session, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = png_bytes()
    (tmp_path / "frame.png").write_bytes(data)
    ip.user_ns["raw"] = data
    ip.user_ns["path"] = str(tmp_path / "frame.png")
    ip.user_ns["shots"] = SimpleNamespace(first=data)
    for option in ("-i raw", "-i path", "-i frame.png", "--image shots.first", "-i {raw}"):
        handle = ip.run_cell_magic("runway", f"-m gen4.5 {option}", "x")
        assert handle.endpoint == "image_to_video"
        assert handle.params["promptImage"].startswith("<image/png"), option
    handle = ip.run_cell_magic("runway", "-m gen4.5 -i https://example.com/a.png", "x")
    assert handle.params["promptImage"] == "https://example.com/a.png"


def test_interpolation_in_the_body(ip, runway_session, capsys) -> None:
    ip.user_ns["subject"] = SimpleNamespace(name="a red fox")
    ip.user_ns["style"] = "noir"
    body = 'Shot of {subject.name}, {style} look. {"camera": "dolly", "speed": {"x": 2}} {0} { {unknown} {{style}}'
    handle = ip.run_cell_magic("runway", "-m gen4.5", body)
    assert handle.params["promptText"] == (
        'Shot of a red fox, noir look. {"camera": "dolly", "speed": {"x": 2}} {0} { {unknown} {style}')
    err = capsys.readouterr().err
    assert "{unknown} was left as typed" in err


def test_the_line_is_not_expanded_by_ipython(ip, runway_session) -> None:
    ip.user_ns["m"] = "gen4_image"
    handle = ip.run_cell_magic("runway", "-m {m}", "x")  # our own interpolation, once
    assert handle.params["model"] == "gen4_image"
    with pytest.raises(UsageError, match=r"\$m"):
        ip.run_cell("%%runway -m $m\nx\n")  # IPython's $var expansion is off


def test_extra_params(ip, runway_session) -> None:
    handle = ip.run_cell_magic("runway", "-m veo3.1 -d 4 -p audio=false", "waves")
    assert handle.params["audio"] is False
    with pytest.raises(UsageError, match="--param: 'audio' is not KEY=VALUE"):
        ip.run_cell("%%runway -m veo3.1 -p audio\nx\n")
    with pytest.raises(UsageError, match="use the --ratio option"):
        ip.run_cell("%%runway -m veo3.1 -p ratio=1280:720\nx\n")


# ----------------------------------------------------------------------------------------
# errors: a UsageError naming the option, and nothing submitted
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, body, needles", [
    ("--bogus 1", "x", ["unrecognized arguments: --bogus"]),
    ("-m gen9", "x", ["--model:", "gen9", "not in the catalog"]),
    ("-m gen4.5 -r 1:1", "x", ["--ratio:", "ratio='1:1'", "allowed: 1280:720, 720:1280"]),
    ("-m gen4.5 -d 11", "x", ["--duration:", "duration=11", "allowed: integers from 2 to 10"]),
    ("-m gen4.5 -d soon", "x", ["--duration:", "'soon' is not a number"]),
    ("-m gen4.5 --seed -3", "x", ["--seed"]),
    ("-m gen4.5 --seed 1.5", "x", ["--seed: '1.5' is not an integer"]),
    ("-m gen4.5 --seed 99999999999", "x", ["--seed: 99999999999 is out of range"]),
    ("-m gen4.5 --type image_to_video", "x", ["--image:", "promptImage is required"]),
    ("-m gen4_turbo", "x", ["--model:", "gen4_turbo cannot be used with no input media"]),
    ("-m gen4.5 -i nothere", "x", ["--image: 'nothere' is not defined"]),
    ("-m gen4.5 -i missing/frame.png", "x", ["--image: file not found: 'missing/frame.png'"]),
    ("-m gen4.5 --type text_to_sound", "x", ["--type: 'text_to_sound' is not a task type", "text_to_video"]),
    ("-m gen4.5 --provider nope", "x", ["--provider: 'nope' is not a provider", "runway"]),
    ("-m gen4.5 -o 1x", "x", ["--out: '1x' is not a valid Python variable name"]),
    ("-m gen4.5 -o class", "x", ["--out: 'class' is not a valid Python variable name"]),
    ("-m gen4.5 --rows colour", "x", ["--rows: 'colour' is not an option name"]),
    ("-m gen4.5 --seed 1,,2", "x", ["--seed"]),
    ("-m gen4.5 -p fps=30", "x", ["--param fps: gen4.5 on text_to_video does not take the field 'fps'",
                                  "It takes: contentModeration, duration"]),
    ("-m gen4.5 -t text_to_video -i https://example.com/a.png", "x",
     ["--image: gen4.5 on text_to_video does not take an input image (promptImage)"]),
    ("-m act_two --character https://example.com/a.png --reference https://example.com/b.mp4", "smile",
     ["prompt (the cell body): act_two on character_performance does not take a prompt"]),
])
def test_bad_options_raise_usage_errors_and_submit_nothing(ip, runway_session, fast_sim, line, body,
                                                           needles) -> None:
    message = usage(ip, line, body)
    for needle in needles:
        assert needle in message, (needle, message)
    assert fast_sim.stats.creates == 0 and runway_session.tasks == []


def test_a_bad_sweep_reports_every_bad_combination_and_submits_nothing(ip, runway_session, fast_sim) -> None:
    message = usage(ip, "-m gen4.5,veo3.1 -r 1280:720,1920:1080 -d 5,8", "a\n---\nb")
    assert message.startswith("8 of 16 combination(s) are not allowed; nothing was submitted")
    assert message.count("\n  - ") == 8
    assert "prompt='a' model=gen4.5 ratio=1920:1080 duration=5: --ratio: ratio='1920:1080'" in message
    assert "model=veo3.1 ratio=1280:720 duration=5: --duration:" in message
    assert "--skip-invalid" in message
    assert fast_sim.stats.creates == 0 and runway_session.tasks == []


def test_usage_error_is_shown_without_a_traceback(ip_empty, runway_session) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    ip_empty.run_cell("%load_ext runway_nb")
    with capture_output() as captured:
        result = InteractiveShell.run_cell(ip_empty, "%%runway -m gen4.5 -r 1:1\nx\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "UsageError: --ratio:" in captured.stderr + captured.stdout
    assert "Traceback" not in captured.stderr + captured.stdout


# ----------------------------------------------------------------------------------------
# sweeps
# ----------------------------------------------------------------------------------------

def test_sweep_from_comma_lists_and_separators(ip, runway_session, fast_sim) -> None:
    result = ip.run_cell("%%runway -m gen4.5 --seed 1,2 -r 1280:720,720:1280 -o takes --yes\n"
                         "a fox\n---\na cat\n").result
    assert isinstance(result, Sweep) and ip.user_ns["takes"] is result
    assert len(result.tasks) == 8 and fast_sim.stats.creates == 8
    assert [(t.params["promptText"], t.params["seed"], t.params["ratio"]) for t in result.tasks[:3]] == [
        ("a fox", 1, "1280:720"), ("a fox", 2, "1280:720"), ("a fox", 1, "720:1280")]
    # prompts vary slowest, then model, ratio, duration, seed, ... (a fixed order, whatever the line's)
    assert result.varying == ["prompt", "ratio", "seed"]
    assert [t.id for t in runway_session.tasks] == result.ids


def test_sweep_from_a_list_variable_and_wait(ip, runway_session, capsys) -> None:
    ip.user_ns["seeds"] = [3, 4]
    result = cell(ip, "-m gen4_image --seed {seeds} --wait --rows seed")
    assert [t.params["seed"] for t in result.tasks] == [3, 4]
    assert result.finished and result.layout == {"rows": "seed"}
    assert "2 SUCCEEDED" in capsys.readouterr().out


def test_skip_invalid(ip, runway_session, fast_sim, capsys) -> None:
    result = cell(ip, "-m gen4.5 -d 5,11 --skip-invalid")
    assert len(result.tasks) == 1 and len(result.skipped) == 1 and fast_sim.stats.creates == 1
    assert "skipped 1 combination(s)" in capsys.readouterr().err


def test_large_sweeps_ask_first(ip, runway_session, fast_sim, monkeypatch, capsys) -> None:
    asked = []
    monkeypatch.setattr("builtins.input", lambda q: asked.append(q) or "n")
    assert cell(ip, "-m gen4_image --seed 1,2,3,4,5,6,7,8,9") is None
    assert "This sweep submits 9 tasks (~45 credits estimated)" in asked[0]
    assert fast_sim.stats.creates == 0 and "not submitted" in capsys.readouterr().err

    monkeypatch.setattr("builtins.input", lambda q: "y")
    assert len(cell(ip, "-m gen4_image --seed 1,2,3,4,5,6,7,8,9")) == 9

    def no_stdin(q):
        raise OSError("reading from stdin while output is captured")

    monkeypatch.setattr("builtins.input", no_stdin)
    message = usage(ip, "-m gen4_image --seed 11,12,13,14,15,16,17,18,19")
    assert "add --yes" in message and fast_sim.stats.creates == 9
    assert len(cell(ip, "-m gen4_image --seed 11,12,13,14,15,16,17,18,19 --yes")) == 9
    # credits count too: 4 x 10 s of gen4.5 = 480 credits
    message = usage(ip, "-m gen4.5 -d 10 --seed 1,2,3,4")
    assert "~480 credits" in message


# ----------------------------------------------------------------------------------------
# help
# ----------------------------------------------------------------------------------------

def test_cell_magic_help(ip, capsys) -> None:
    ip.run_cell("%%runway?")
    out = capsys.readouterr().out
    for needle in ("%%runway [-m MODEL]", "--ratio", "--image", "--out NAME", "--wait", "--type",
                   "comma list", "{name.attr}"):
        assert needle in out, needle
    doc = ip.find_cell_magic("runway").__doc__
    assert "--provider" in doc and "--save" in doc


def test_line_magic_help_and_unknown_subcommand(ip, capsys) -> None:
    ip.run_cell("%runway")
    assert "%runway list" in capsys.readouterr().out
    with pytest.raises(UsageError, match="unknown subcommand 'launch'"):
        ip.run_cell("%runway launch")


# ----------------------------------------------------------------------------------------
# %runway subcommands
# ----------------------------------------------------------------------------------------

def test_every_subcommand_has_its_own_parser() -> None:
    """One parser style: each subcommand is a function with a @magic_arguments parser named after it."""
    from runway_nb.notebook.magics.arguments import parser_of
    from runway_nb.notebook.magics.line import SUBCOMMANDS, subcommand

    assert SUBCOMMANDS == ("status", "list", "cancel", "attach", "history", "fetch", "config", "credits", "panel",
                           "help")
    for name in set(SUBCOMMANDS) - {"help"}:
        assert parser_of(subcommand(name)).prog == f"runway {name}", name


@pytest.mark.parametrize("line, needles", [
    ("%runway history --nope", ["%runway history: unrecognized arguments: --nope",
                                "usage: %runway history [--all] [--status S [S ...]] [--limit N]"]),
    ("%runway history --limit many", ["%runway history: argument --limit", "'many'"]),
    ("%runway attach --nope", ["%runway attach: unrecognized arguments: --nope",
                               "usage: %runway attach [--pending] [-o NAME] [-w] [--save [DIR]] [--no-save] [ID]"]),
    ("%runway attach a b", ["%runway attach: unrecognized arguments: b", "usage: %runway attach"]),
    ("%runway attach -o", ["%runway attach: argument -o/--out: expected one argument"]),
    ("%runway fetch --every", ["%runway fetch: unrecognized arguments: --every",
                               "usage: %runway fetch [--all] [--dir DIR] [--force] [ID ...]"]),
    ("%runway fetch --all --dir", ["%runway fetch: argument --dir/--to: expected one argument"]),
    ("%runway list --all", ["%runway list: unrecognized arguments: --all", "usage: %runway list"]),
    ("%runway config --model gen4.5", ["%runway config: unrecognized arguments: --model",
                                       "usage: %runway config [KEY=VALUE ...]"]),
])
def test_bad_subcommand_options_name_the_option_and_the_usage(ip, runway_session, line, needles) -> None:
    with pytest.raises(UsageError) as err:
        ip.run_cell(line)
    for needle in needles:
        assert needle in str(err.value), (needle, str(err.value))


def test_an_unknown_cell_option_lists_the_options(ip, runway_session, fast_sim) -> None:
    message = usage(ip, "-m gen4.5 --colour red")
    assert message.startswith("unrecognized arguments: --colour red (usage: %%runway [-m MODEL]")
    assert "[--skip-invalid]" in message and fast_sim.stats.creates == 0


def test_list(ip, runway_session) -> None:
    a = ip.run_cell_magic("runway", "-m gen4_image", "<b>bold</b> & co")
    b = ip.run_cell_magic("runway", "-m gen4.5 --seed 5", "a fox")
    table = ip.run_cell("%runway list").result
    text, html_text = repr(table), table._repr_html_()
    assert text.index(a.id) < text.index(b.id)
    assert "gen4_image" in text and "<b>bold</b> & co" in text and "5" in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html_text and "<b>bold" not in html_text
    with pytest.raises(UsageError):
        ip.run_cell("%runway list everything")


def test_status(ip, runway_session) -> None:
    with pytest.raises(UsageError, match="no tasks in this session yet"):
        ip.run_cell("%runway status")
    handle = cell(ip, "-m gen4_image --wait")
    facts = ip.run_cell("%runway status").result
    assert f"Task {handle.id}" in repr(facts) and "SUCCEEDED" in repr(facts) and "output 0" in repr(facts)
    facts = ip.run_cell(f"%runway status {handle.id}").result
    assert "gen4_image" in facts._repr_html_()
    failed = cell(ip, "-m gen4_image --wait", "something forbidden")
    text = repr(ip.run_cell(f"%runway status {failed.id}").result)
    assert "FAILED" in text and "hint" in text
    with pytest.raises(UsageError, match="no such task"):
        ip.run_cell("%runway status 00000000-0000-0000-0000-000000000000")


def test_cancel(ip, runway_session, capsys) -> None:
    one = ip.run_cell_magic("runway", "-m gen4.5", "one")
    two = ip.run_cell_magic("runway", "-m gen4.5", "two")
    three = ip.run_cell_magic("runway", "-m gen4.5", "three")
    ip.run_cell(f"%runway cancel {one.id}")
    assert one.status == "CANCELLED" and f"Cancelled task {one.id}" in capsys.readouterr().out
    ip.run_cell("%runway cancel all")
    assert two.status == three.status == "CANCELLED"
    assert "Cancelled 2 task(s)" in capsys.readouterr().out
    ip.run_cell("%runway cancel all")
    assert "No unfinished tasks" in capsys.readouterr().out
    with pytest.raises(UsageError):
        ip.run_cell("%runway cancel")


def test_attach(ip, runway_session, sim_client) -> None:
    elsewhere = sim_client.create("text_to_image", prompt="made elsewhere", model="gen4_image")
    handle = ip.run_cell(f"%runway attach {elsewhere.id} -o watched").result
    assert isinstance(handle, TaskHandle) and handle.id == elsewhere.id
    assert ip.user_ns["watched"] is handle and runway_session.tasks == [handle]
    with pytest.raises(UsageError, match="no such task"):
        ip.run_cell("%runway attach 00000000-0000-0000-0000-000000000000")
    with pytest.raises(UsageError):
        ip.run_cell(f"%runway attach {elsewhere.id} -o 2bad")


def test_config_shows_and_sets(ip, runway_session) -> None:
    facts = ip.run_cell("%runway config").result
    text = repr(facts)
    assert "sim (built-in simulator, in-process)" in text and "API key" in text
    assert "default model" in text and "(chosen from the inputs)" in text
    facts = ip.run_cell("%runway config model=gen4_image ratio=1080:1080 save=false confirm_above=3").result
    assert "gen4_image" in repr(facts) and "3 tasks" in repr(facts)
    magics = ip.magics_manager.registry["RunwayMagics"]
    assert magics.model == "gen4_image" and magics.confirm_above == 3
    handle = ip.run_cell_magic("runway", "", "a lighthouse")
    assert handle.params["model"] == "gen4_image" and handle.params["ratio"] == "1080:1080"
    ip.run_cell("%runway config model=none ratio=none")
    assert runway_session.defaults["model"] is None and magics.model is None


@pytest.mark.parametrize("line, needle", [
    ("%runway config model=gen9", "model='gen9'"),
    ("%runway config duration=soon", "duration"),
    ("%runway config provider=nope", "provider"),
    ("%runway config colour=red", "unknown setting 'colour'"),
    ("%runway config model", "not KEY=VALUE"),
    ("%runway config confirm_above=many", "not a number"),
    ("%runway config api_key=abc", "does not take keys"),
])
def test_config_errors(ip, runway_session, line, needle) -> None:
    with pytest.raises(UsageError) as err:
        ip.run_cell(line)
    assert needle in str(err.value)
    assert runway_session.defaults["model"] is None


def test_credits(ip, runway_session) -> None:
    cell(ip, "-m gen4_image --wait")
    report = ip.run_cell("%runway credits").result
    text = repr(report)
    assert "balance" in text and "gen4.5" in text and "2 at a time" in text
    assert report.fact("used today") == "gen4_image 1 task"
    assert report.fact("limits") == "2 at a time, no daily limit (each model)"
    assert "<table" in report._repr_html_() and "<svg" in report._repr_html_()


@pytest.fixture
def own_magics(ip):
    """``make(config)`` -> a RunwayMagics built from IPython config; the shell forgets it after."""
    made = []

    def make(config):
        magics = RunwayMagics(shell=ip, config=config)
        made.append(magics)
        return magics

    yield make
    for magics in made:
        if magics in ip.configurables:
            ip.configurables.remove(magics)
    ip.config.pop("RunwayMagics", None)


def test_ipython_config_defaults(ip, runway_session, own_magics) -> None:
    from traitlets.config import Config

    config = Config()
    config.RunwayMagics.model = "gen4_image"
    config.RunwayMagics.duration = 6.0
    own_magics(config)
    assert runway_session.defaults["model"] == "gen4_image" and runway_session.defaults["duration"] == 6
    ip.run_cell("%config RunwayMagics.ratio = '720:720'")  # at run time too
    assert runway_session.defaults["ratio"] == "720:720"
    handle = ip.run_cell_magic("runway", "", "a lighthouse")
    assert handle.params["model"] == "gen4_image" and handle.params["ratio"] == "720:720"
    assert "duration" not in handle.params  # images take no duration
    assert ip.run_cell_magic("runway", "-m gen4.5 -r 1280:720", "a fox").params["duration"] == 6


def test_bad_ipython_config_is_reported_not_fatal(ip, runway_session, own_magics, capsys) -> None:
    from traitlets.config import Config

    config = Config()
    config.RunwayMagics.model = "gen9"
    own_magics(config)
    assert "ignoring IPython config RunwayMagics.model" in capsys.readouterr().err
    assert runway_session.defaults["model"] is None


def test_save_option_and_setting(ip, runway_session, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNWAY_NB_OUTPUTS")  # the built-in default: ./runway_outputs beside the notebook
    runway_session.configure(save=None, save_dir=None)
    handle = cell(ip, "-m gen4_image --wait")
    assert handle.files and handle.files[0].parent == tmp_path / "runway_outputs"
    assert (tmp_path / "runway_outputs" / handle.files[0].name).exists()
    assert cell(ip, "-m gen4_image --wait --no-save").files == []
    handle = cell(ip, "-m gen4_image --wait --save takes")
    assert handle.files[0].parent == tmp_path / "takes" and (tmp_path / "takes").is_dir()
    ip.run_cell("%runway config save=./all")
    magics = ip.magics_manager.registry["RunwayMagics"]
    assert runway_session.defaults["save"] is True and magics.save is True and magics.save_dir == "./all"
    handle = cell(ip, "-m gen4_image --wait")
    assert handle.files and (tmp_path / "all").is_dir()
    with pytest.raises(UsageError, match="true, false, or a folder"):
        ip.run_cell("%runway config save=perhaps")


# ----------------------------------------------------------------------------------------
# the key never shows
# ----------------------------------------------------------------------------------------

def test_the_key_never_appears_in_any_output(ip, runway_session, fast_sim, capsys) -> None:
    client = Runway(provider="sim", api_key=CANARY, simulator=fast_sim)
    runway_session.use_client(client)
    seen = []
    with capture_output() as captured:
        handle = cell(ip, "-m gen4_image --wait")
        results = [ip.run_cell(line).result for line in (
            "%runway config", "%runway list", "%runway status", f"%runway status {handle.id}",
            "%runway credits", "%runway config model=gen4_image")]
        sweep = cell(ip, "-m gen4_image --seed 1,2 --wait")
        for obj in [handle, sweep, client, runway_session, *results]:
            seen.append(repr(obj))
            if hasattr(obj, "_repr_html_"):
                seen.append(obj._repr_html_())
        with pytest.raises(UsageError) as err:
            ip.run_cell("%%runway -m gen4.5 -r 9:9\nx\n")
        seen.append(str(err.value))
        ip.run_cell("%runway config")
    seen += [captured.stdout, captured.stderr]
    seen += [str(o.data) for o in captured.outputs]
    outerr = capsys.readouterr()
    seen += [outerr.out, outerr.err]
    assert "key_…", "sanity: the masked key is shown"
    assert any("key_…" in s for s in seen)
    for text in seen:
        assert CANARY not in text and "c4n4ryc4n4ry" not in text
    client.close()


# ----------------------------------------------------------------------------------------
# a real Jupyter kernel
# ----------------------------------------------------------------------------------------

@pytest.mark.kernel
def test_in_a_real_kernel(tmp_path) -> None:
    """load_ext is fast; a %%runway cell returns at once and shows the live task widget."""
    import os
    from pathlib import Path

    from jupyter_client.manager import start_new_kernel

    root = str(Path(__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k not in (
        "RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_NB_PROVIDER", "RUNWAYML_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["RUNWAY_NB_SIM_SPEED"] = "50"
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)

    def run(code: str) -> list[tuple[str, dict]]:
        msg_id = kc.execute(code)
        outputs = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return outputs
            outputs.append((msg["msg_type"], msg["content"]))

    try:
        run("import time")
        out = run("t = time.perf_counter()\n%load_ext runway_nb\nprint(time.perf_counter() - t)")
        took = float(next((c["text"] for t, c in out if t == "stream" and c.get("name") == "stdout"), "nan"))
        assert took < 0.5, (took, out)  # ~30 ms here; the widgets load with the first task
        out = run("%%runway -m gen4_image -o h\na lighthouse at dusk")
        # the one-line simulator notice comes first (marked as a notice, dropped on save)
        shown = [c for t, c in out if t == "display_data"
                 and not c.get("metadata", {}).get("runway_nb", {}).get("notice")]
        assert shown and "application/vnd.jupyter.widget-view+json" in shown[0]["data"], out
        assert not any(t == "error" for t, _ in out)
        out = run("h.wait(timeout=30)\nprint(h.status)")
        assert any(t == "stream" and "SUCCEEDED" in c["text"] for t, c in out)
        out = run("%%runway -m gen4.5 -r 1:1\nx")
        text = "".join(c.get("text", "") for t, c in out if t == "stream")
        assert "UsageError: --ratio:" in text and "1280:720" in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_tuple_variable_is_one_value_not_a_sweep(ip, runway_session, fast_sim) -> None:
    data = png_bytes()
    ip.user_ns["keyframes"] = (data, data)  # a list would sweep; a tuple is sent as it is
    message = usage(ip, "-m gen4.5 -i keyframes", "from first to last")
    assert message.startswith("--image: promptImage has 2 items") and fast_sim.stats.creates == 0
    ip.user_ns["frames"] = [data, data]
    assert isinstance(cell(ip, "-m gen4.5 -i frames"), TaskHandle)  # identical values: one task


def test_quoted_image_path_with_a_space(ip, runway_session, tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "my photo.png"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(path)
    handle = ip.run_cell(f'%%runway -m gen4_turbo -i "{path}"\nslow pan\n').result
    assert handle.endpoint == "image_to_video"
    assert handle.params["promptImage"].startswith("<image/png")

"""The simulator's notices: one calm line, once per process; in a kernel a muted note, not stderr."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runway_nb import Runway
from runway_nb.client import backend
from runway_nb.notebook import notice
from tests.fake_kernel import FakePub


class _KernelShell:
    def __init__(self) -> None:
        self.kernel = object()
        self.display_pub = FakePub()


@pytest.fixture
def fresh_notice(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setattr(backend, "_announced", False)
    notice.install()


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> Any:
    shell = _KernelShell()
    monkeypatch.setattr(notice, "_kernel_shell", lambda: shell)
    return shell


def test_outside_a_kernel_the_notice_is_one_line_on_stderr_once(fresh_notice, capsys) -> None:
    Runway()
    Runway()
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, once
    assert "built-in Runway simulator" in err and "RUNWAYML_API_SECRET" in err
    assert err.count("offline") == 1 and err.count("no credits") == 1, err  # said once, not twice


def test_in_a_kernel_the_notice_is_a_quiet_note_shown_once(fresh_notice, kernel, capsys) -> None:
    Runway()
    Runway()
    assert capsys.readouterr().err == ""  # nothing on stderr: no pink block saved into the notebook
    assert len(kernel.display_pub.sent) == 1
    data = kernel.display_pub.sent[0]["data"]
    assert set(data) == {"text/html", "text/plain"}
    assert "built-in Runway simulator" in data["text/plain"] and "\n" not in data["text/plain"]
    html = data["text/html"]
    assert 'class="rnb-notice"' in html and 'role="note"' in html
    assert "var(--jp-ui-font-color2" in html  # muted theme text, not an error colour
    assert "error" not in html and "stderr" not in html


def test_the_quickstart_setup_shows_one_backend_line(fresh_notice, kernel, capsys, monkeypatch) -> None:
    """The quickstart's first cell in a kernel: the simulator's note, and no second line of its own."""
    import json
    from pathlib import Path

    cells = json.loads((Path(__file__).parents[1] / "notebooks" / "01-quickstart.ipynb").read_text())["cells"]
    source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    body = source.split("client = ", 1)[1]
    namespace: dict[str, Any] = {"runway_nb": _SessionStub()}
    exec("client = " + body, namespace)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert [m["data"]["text/plain"] for m in kernel.display_pub.sent] == [
        backend.simulator_notice(namespace["client"].simulator)]


class _SessionStub:
    def get_session(self) -> Any:
        class Session:
            client = Runway()
        return Session()


def test_a_placeholder_input_is_a_quiet_note_in_a_kernel(fresh_notice, kernel, capsys, make_sim) -> None:
    client = Runway(provider="sim", simulator=make_sim())
    client.image_to_video.create(model="gen4_turbo", prompt="kite", image="https://example.com/kite.png",
                                 ratio="1280:720", duration=5)
    assert capsys.readouterr().err == ""
    notes = [m["data"]["text/plain"] for m in kernel.display_pub.sent]
    assert notes == ["runway-nb simulator: offline, so a generated placeholder stands in for "
                     "https://example.com/kite.png (promptImage)."]


def test_outside_a_kernel_a_placeholder_input_is_still_logged(fresh_notice, make_sim, caplog) -> None:
    client = Runway(provider="sim", simulator=make_sim())
    with caplog.at_level(logging.WARNING, logger="runway_nb.sim"):
        client.image_to_video.create(model="gen4_turbo", prompt="kite", image="https://example.com/kite.png",
                                     ratio="1280:720", duration=5)
    assert [r.getMessage() for r in caplog.records if "placeholder" in r.getMessage()] == [
        "runway-nb simulator: offline, so a generated placeholder stands in for https://example.com/kite.png "
        "(promptImage)."]


def test_other_simulator_warnings_still_reach_stderr_without_handlers(fresh_notice, capsys, monkeypatch) -> None:
    """The note handler on the simulator's logger must not silence its other warnings (logging's
    last resort only speaks when no handler is found)."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    logging.getLogger("runway_nb.sim").warning("runway-nb simulator: state file unreadable")
    assert "state file unreadable" in capsys.readouterr().err

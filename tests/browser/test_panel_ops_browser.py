"""The form panel in JupyterLab, in headless Chromium, on the simulator, for the operations a
plain prompt form could not submit: text to speech with a voice from the voice picker (the result
plays: its ``<audio>`` loads), then routed generation with a router from the router picker (the
result says which model the router chose: "routed to ...").

Shares the session's JupyterLab server (``lab``) and browser with the other browser tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

AUDIO_READY = """() => [...document.querySelectorAll('.rnb-panel-box .rnb-task audio')]
  .some(a => a.readyState >= 2 && isFinite(a.duration) && a.duration > 0)"""
SUBMIT_ENABLED = "() => { const b = document.querySelector('.rnb-p-submit'); return b && !b.disabled; }"


def options(page, selector: str) -> list[str]:
    return page.evaluate(f"() => [...document.querySelectorAll('{selector} option')].map(o => o.value)")


def test_the_panel_speaks_with_a_picked_voice_and_routes_with_a_picked_router(lab, page, nb_tools):
    nb_tools.write(lab, "panel_ops.ipynb", ["%load_ext runway_nb", "%runway panel"])
    nb_tools.open(page, lab, "panel_ops.ipynb")
    nb_tools.run_all(page)
    panel = page.locator(".rnb-panel").first
    panel.wait_for(timeout=60_000)
    nb_tools.idle(page)

    # Text to speech: a model with preset voices, a voice from the picker, a line, Submit.
    panel.locator(".rnb-p-type").select_option("text_to_speech")
    panel.locator(".rnb-p-model").select_option("eleven_multilingual_v2")
    page.wait_for_function("() => document.querySelectorAll('.rnb-p-voice option').length > 1", timeout=15_000)
    voices = options(page, ".rnb-p-voice")
    assert "Arjun" in voices, voices
    panel.locator(".rnb-p-voice").select_option("Arjun")
    panel.locator(".rnb-p-prompt").fill("The tide is out, so the path to the island is open.")
    page.wait_for_function(SUBMIT_ENABLED, timeout=15_000)
    panel.locator(".rnb-p-submit").click()
    page.locator(".rnb-p-entry").first.wait_for(timeout=15_000)
    assert "Arjun" in page.locator(".rnb-p-entry").first.inner_text()
    page.wait_for_function(AUDIO_READY, timeout=90_000)
    page.screenshot(path=str(Path("test-artifacts") / "panel-speech.png"))

    # Routed generation: the router picker lists the simulator's routers; pick one and submit.
    assert not panel.locator(".rnb-p-router").is_visible()
    panel.locator(".rnb-p-type").select_option("generate/image")
    page.wait_for_function("() => [...document.querySelectorAll('.rnb-p-router option')]"
                           ".some(o => o.value === 'default')", timeout=30_000)
    assert panel.locator(".rnb-p-router").is_visible()
    panel.locator(".rnb-p-router").select_option("default")
    panel.locator(".rnb-p-prompt").fill("a lighthouse on a cliff at dusk")
    page.wait_for_function(SUBMIT_ENABLED, timeout=15_000)
    assert panel.locator(".rnb-p-reason").inner_text() == ""
    panel.locator(".rnb-p-submit").click()
    page.wait_for_function("() => document.querySelectorAll('.rnb-p-entry').length === 2", timeout=15_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('.rnb-panel-box .rnb-task .rnb-routing');"
        " return v && /routed to \\S+/.test(v.textContent); }", timeout=90_000)
    routing = page.locator(".rnb-panel-box .rnb-task .rnb-routing").first.inner_text()
    assert routing.startswith("routed to "), routing
    entry = page.locator(".rnb-p-entry").first
    assert "default" in entry.inner_text()
    entry.locator(".rnb-p-copy").click()
    page.wait_for_function("() => document.querySelector('.rnb-p-copied').textContent !== ''", timeout=10_000)
    assert "--router default" in entry.locator("pre").inner_text()
    page.screenshot(path=str(Path("test-artifacts") / "panel-routed.png"))
    assert not page.errors, page.errors

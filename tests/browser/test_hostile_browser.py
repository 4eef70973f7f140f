"""Hostile content in a real browser: JupyterLab, headless Chromium, payloads everywhere.

A notebook runs tasks against an ``httpx.MockTransport`` backend (no simulator) that answers
with hostile data: a status that is an HTML payload, failure texts and codes that are XSS
vectors, output URLs with ``javascript:``, ``data:text/html``, ``vbscript:`` and friends (plus
one real ``data:image/png`` output), a task id carrying markup. Prompts and captions carry
payloads too. Every payload would set ``window.__pwned`` if it ever ran. It shows them in a
TaskView (live, then its static output), a Grid and the form Panel (prompt, history, reason).

Then, in the page: ``window.__pwned`` is undefined (after every element got mouseover, focus and
toggle events dispatched, and each view was hovered), no element in any output carries an ``on*`` attribute, no
``script``/``iframe``/``object``/``embed`` element appeared in an output, no ``src``/``href``
uses a forbidden scheme, and the payloads are visible as text. The static HTML of the same
tasks (``text/html``, what a saved notebook, nbconvert and GitHub show) is then loaded into a
page of its own and checked the same way. A control page proves the detector works: the same
kind of payload, written unescaped, does set ``window.__pwned``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

FLAG = "window.__pwned=1"
TEXT = [
    f"<script>{FLAG}</script>",
    f"<img src=x onerror={FLAG}>",
    f'"><svg onload={FLAG}>',
    f"'><svg/onload={FLAG}>",
    f'" onmouseover="{FLAG}" x="',
    f"</div></td></table><script>{FLAG}</script>",
    "<iframe srcdoc=\"<script>parent.__pwned=1</script>\"></iframe>",
    f'<a href="javascript:{FLAG}">click</a>',
    f"<details open ontoggle={FLAG}>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={FLAG}>",
    f"&lt;script&gt;{FLAG}&lt;/script&gt;",
    f"&#60;img src=x onerror={FLAG}&#62;",
    f"\u2028<script>{FLAG}</script>\u2029",
    f"{{{{constructor.constructor('{FLAG}')()}}}}",
]
URLS = [
    f"javascript:{FLAG}", f"JaVaScRiPt:{FLAG}", f" javascript:{FLAG}", f"java\tscript:{FLAG}",
    f"&#106;avascript:{FLAG}", "vbscript:msgbox(1)", f"data:text/html,<script>{FLAG}</script>",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+",
    f"data:image/svg+xml,<svg onload={FLAG}>", "file:///etc/passwd", "//evil.example/x.mp4",
    f"https://example.com/x.png'><script>{FLAG}</script>", f"<script>{FLAG}</script>",
]
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA"
       "WjR9awAAAABJRU5ErkJggg==")

SETUP = """\
import asyncio, json, uuid
import httpx
from IPython.display import display
from runway_nb import Runway
from runway_nb.notebook.session import get_session
from runway_nb.notebook.widgets import Grid
from runway_nb.notebook.widgets import Panel
from runway_nb.notebook.widgets import display_handle
from runway_nb.notebook.widgets import static_html

TEXT = json.loads({text!r})
URLS = json.loads({urls!r})
PNG = {png!r}
ANSWERS = {{}}   # task id -> the answers its GETs get, in turn (the last one repeats)

def final(prompt):
    if "[fail]" in prompt:
        return {{"status": "FAILED", "failure": " ".join(TEXT), "failureCode": TEXT[1]}}
    return {{"status": "SUCCEEDED", "output": URLS + [PNG]}}

def handler(request):
    if request.method == "POST":
        body = json.loads(request.content)
        tid = ("<svg onload=window.__pwned=1>-" if "[odd id]" in body.get("promptText", "") else "") + str(uuid.uuid4())
        # an unknown status that is itself a payload, long enough (8 polls) for the browser to show it
        ANSWERS[tid] = [{{"status": TEXT[1]}}] * 8 + [{{"status": "RUNNING", "progress": 0.5}},
                                                       final(body.get("promptText", ""))]
        return httpx.Response(200, json={{"id": tid}})
    if request.method == "DELETE":
        return httpx.Response(204)
    tid = request.url.path.rsplit("/", 1)[-1]
    if tid not in ANSWERS:  # e.g. the kernel relaying an output URL the browser could not load
        return httpx.Response(404, json={{"error": "not found"}})
    steps = ANSWERS[tid]
    answer = steps.pop(0) if len(steps) > 1 else steps[0]
    return httpx.Response(200, json={{"id": tid, "createdAt": "2024-11-06T10:00:00Z", **answer}})

client = Runway(provider="runway", api_key="test-key-not-secret", transport=httpx.MockTransport(handler),
                journal=False, poll_floor=0.3)
session = get_session()
session.use_client(client)

def create(prompt):
    return client.text_to_video.create(model="gen4.5", prompt=prompt, ratio="1280:720", duration=5)
"""

CELLS = [
    "h1 = create('[fail] ' + ' '.join(TEXT))\ndisplay_handle(h1, caption=TEXT[0])",
    "h2 = create('[odd id] ' + TEXT[2] + TEXT[4])\ndisplay_handle(h2, caption={'title': TEXT[3], 'model': TEXT[5]})",
    "h3, h4 = create(TEXT[6] + ' [fail]'), create(TEXT[7] + TEXT[12])\ngrid = Grid([h3, h4])\ndisplay(grid)",
    ("panel = Panel(session=session, upload_dir='runway_inputs')\n"
     "panel.set(type='text_to_video', model='gen4.5', prompt=TEXT[8] + ' ' + TEXT[9], ratio='1280:720', duration=5)\n"
     "h5 = panel.submit()\n"
     "panel.set(type='image_to_video', model='gen4_turbo', prompt=TEXT[10], image=URLS[0])\n"
     "display(panel)"),
    ("handles = [h1, h2, h3, h4, h5]\n"
     "while not all(h.finished for h in handles) or not grid.finished:\n"
     "    await asyncio.sleep(0.1)\n"
     "await asyncio.sleep(1.0)\n"
     "page = '<!doctype html><meta charset=utf-8><body>' + ''.join(static_html(h) for h in handles)"
     " + grid.static_html() + '</body>'\n"
     "open('hostile_static.html', 'w', encoding='utf-8').write(page)\n"
     "print('DONE', [h.status for h in handles], 'REASON', panel.reason[:60])"),
]

# Runs in the page: every element of every output gets the events an inline handler would
# need, then the DOM is audited.
AUDIT = """
(scope) => {
  const root = scope ? document.querySelectorAll(scope) : [document.body];
  const bad = [];
  const urls = [];
  const forbidden = /^(javascript:|vbscript:|data:text|data:image\\/svg|data:application|file:|\\/\\/|\\\\)/i;
  for (const r of root) {
    for (const el of [r, ...r.querySelectorAll('*')]) {
      for (const type of ['mouseover', 'mouseenter', 'mousemove', 'focus', 'toggle', 'animationstart']) {
        try { el.dispatchEvent(new Event(type, {bubbles: false})); } catch (e) {}
      }
      const tag = el.tagName.toLowerCase();
      if (['script', 'iframe', 'object', 'embed', 'frame', 'base', 'meta', 'form'].includes(tag)
          && !el.closest('head')) bad.push('element ' + tag);
      for (const a of el.attributes) {
        const name = a.name.toLowerCase();
        if (name.startsWith('on')) bad.push(tag + ' ' + name + '=' + a.value.slice(0, 60));
        if (['src', 'href', 'xlink:href', 'action', 'formaction', 'poster', 'srcdoc', 'data'].includes(name)) {
          urls.push(a.value);
          const squeezed = a.value.replace(/[\\u0000-\\u0020\\u007f-\\u009f\\u200b\\u2028\\u2029]/g, '');
          if (forbidden.test(squeezed) || name === 'srcdoc') bad.push(tag + ' ' + name + '=' + a.value.slice(0, 80));
        }
      }
    }
  }
  return {bad, urls, pwned: typeof window.__pwned !== 'undefined' || typeof window.parent.__pwned !== 'undefined'};
}
"""

OUTPUTS = ".jp-Notebook .jp-OutputArea"


def test_payloads_render_inert_in_jupyterlab(lab, page, nb_tools):
    setup = SETUP.format(text=json.dumps(TEXT), urls=json.dumps(URLS), png=PNG)
    nb_tools.write(lab, "hostile.ipynb", [setup, *CELLS])
    nb_tools.open(page, lab, "hostile.ipynb")
    nb_tools.run_all(page)

    # the hostile status is shown while the tasks run (an unknown status, kept and explained)
    page.wait_for_function("() => window.__rnbStatuses.some(s => s.toLowerCase().includes('onerror'))", timeout=60_000)
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell')[5];"
        " const o = c && c.querySelector('.jp-OutputArea'); return !!o && /DONE|Error/.test(o.innerText); }",
        timeout=90_000)
    nb_tools.idle(page)
    done = nb_tools.output_text(page, 5)
    assert "DONE ['FAILED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'SUCCEEDED']" in done, done
    page.wait_for_timeout(1500)  # any onerror/onload of a broken or loaded image has fired by now

    # hover everything a user could hover, then audit
    for box in page.locator(".rnb-task, .rnb-static, .rnb-grid, .rnb-panel").all():
        with contextlib.suppress(Exception):  # hidden or detached meanwhile
            box.hover(timeout=2_000)
    result = page.evaluate(AUDIT, OUTPUTS)
    assert not result["pwned"], "a payload ran"
    assert not result["bad"], result["bad"][:10]
    assert page.evaluate("() => window.__pwned") is None

    # the payloads are there, as text
    text = page.locator(".jp-Notebook").inner_text()
    for payload in (TEXT[0], TEXT[1], TEXT[2], TEXT[6], TEXT[8]):
        assert " ".join(payload.split()) in " ".join(text.split()), payload
    # the one real output shows; no payload URL reached a src or href
    assert any(u.startswith("data:image/png") for u in result["urls"])
    for u in result["urls"]:
        assert not u.lstrip().lower().startswith(("javascript", "vbscript", "data:text", "file:")), u
    assert page.locator(f"{OUTPUTS} script").count() == 0
    assert not page.errors, page.errors  # no page error either (a payload breaking the view)

    # The static HTML, in a page of its own (what a saved notebook, nbconvert and GitHub show).
    static = (lab.root / "hostile_static.html").read_text("utf-8")
    assert "<script" not in static.lower()  # only ever escaped
    page.set_content(static, wait_until="load")
    page.wait_for_timeout(1000)
    for box in page.locator(".rnb-static").all():
        box.hover(timeout=2_000)
    result = page.evaluate(AUDIT, None)
    assert not result["pwned"] and page.evaluate("() => window.__pwned") is None
    assert not result["bad"], result["bad"][:10]
    shown = page.locator("body").inner_text()
    assert TEXT[0] in shown and "<img src=x onerror=window.__pwned=1>" in shown
    assert any(u.startswith("data:image/png") for u in result["urls"])
    Path("test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(Path("test-artifacts") / "hostile-static.png"), full_page=True)


def test_the_detector_catches_a_payload_that_runs(page):
    """Control: the same checks fail on markup that does run a payload."""
    page.set_content(f"<div class='rnb-static'><img src=x onerror=\"{FLAG}\"></div>", wait_until="load")
    page.wait_for_function("() => window.__pwned === 1", timeout=5_000)
    result = page.evaluate(AUDIT, None)
    assert result["pwned"] and result["bad"]

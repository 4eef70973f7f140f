"""Hostile content: HTML and script payloads render inert in every view, in Python.

Payloads (classic XSS vectors, entity-encoded and Unicode variants, scheme tricks) go into every
place text or a URL can come from: the prompt and other request values (the user, or a
notebook someone shared), the failure text and code, the task id and output URLs (the server,
or a provider in between), saved file names (a task id is part of them), a caption title, the
grid's labels and header, and the panel's form, history and reasons.

Checked here, in Python (the browser test, ``tests/browser/test_hostile_browser.py``, runs the
same payloads in JupyterLab):

- the static output (``static_html``, the grid's static table): parsed with ``html.parser``,
  it holds only the elements and attributes we write (no ``<script>``, no ``on*`` attribute,
  no new element from a payload), every ``src``/``href`` passes ``safe_url`` and has no
  forbidden scheme even after entity decoding and the whitespace a browser strips, and the
  payload text is shown as text (escaped, not dropped);
- the widgets' synced traits: text traits carry the text as it came (the front end renders
  them with ``textContent``), URL traits only safe URLs (``safe_url``, http(s)/data: media,
  relative saved files); every payload URL is dropped or made a harmless relative path;
- the front-end sources never use an HTML sink (``innerHTML`` and friends, ``eval``,
  ``new Function``, handler attributes).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from runway_nb import Runway
from runway_nb.api.task import Task
from runway_nb.notebook.widgets import TaskView, safe_url, static_html, static_text
from runway_nb.notebook.widgets._urls import file_url

from . import REPO, Tally

TALLY = Tally("hostile-content")
FLAG = "window.__pwned=1"

# Text payloads: each sets window.__pwned if it ever runs.
TEXT_PAYLOADS = [
    f"<script>{FLAG}</script>",
    f"<img src=x onerror={FLAG}>",
    f'<img src="x" onerror="{FLAG}">',
    f'"><svg onload={FLAG}>',
    f"'><svg/onload={FLAG}>",
    f'" onmouseover="{FLAG}" x="',
    f"' autofocus onfocus='{FLAG}' x='",
    f"</div></figure></td></table><script>{FLAG}</script>",
    "<iframe srcdoc=\"<script>parent.__pwned=1</script>\"></iframe>",
    f'<a href="javascript:{FLAG}">click</a>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={FLAG}>",
    f"<details open ontoggle={FLAG}>",
    f"<body onload={FLAG}>",
    f"<object data=\"javascript:{FLAG}\"></object>",
    f"<style>@import 'javascript:{FLAG}';</style>",
    f"&lt;script&gt;{FLAG}&lt;/script&gt;",
    f"&#60;script&#62;{FLAG}&#60;/script&#62;",
    f"\u2028<script>{FLAG}</script>\u2029",
    f"{{{{constructor.constructor('{FLAG}')()}}}}",
    f"${{{FLAG}}}",
    f"%3Cscript%3E{FLAG}%3C/script%3E",
    f"<scr<script>ipt>{FLAG}</scr</script>ipt>",
    "\ud83e broken surrogate <b>bold</b>",
]
# URL payloads: none may reach a src or href.
URL_PAYLOADS = [
    f"javascript:{FLAG}",
    f"JaVaScRiPt:{FLAG}",
    f" javascript:{FLAG}",
    f"\tjavascript:{FLAG}",
    f"java\nscript:{FLAG}",
    f"java\tscript:{FLAG}",
    f"&#106;avascript:{FLAG}",
    f"&#x6A;avascript:{FLAG}",
    f"javascript&colon;{FLAG}",
    f"javascript%3A{FLAG}",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    f"data:text/html,<script>{FLAG}</script>",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+",
    f"data:image/svg+xml,<svg onload={FLAG}>",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9d2luZG93Ll9fcHduZWQ9MT4=",
    "file:///etc/passwd",
    "//evil.example/x.mp4",
    "\\\\evil.example\\x.mp4",
    "/etc/passwd",
    f'https://example.com/x.mp4" onerror="{FLAG}',
    f"https://example.com/x.mp4'><script>{FLAG}</script>",
    "https://example.com/x.mp4\u2028",
    f"https://user@evil.example:@x/\u0000{FLAG}",
    "blob:javascript:alert(1)",
    f"\u200bjavascript:{FLAG}",
]
GOOD_OUTPUT = "https://example.com/out/0.mp4"
ALL = TEXT_PAYLOADS + URL_PAYLOADS

ALLOWED_TAGS = {"div", "span", "strong", "code", "video", "audio", "img", "figure", "figcaption", "a", "table", "tr",
                "th", "td"}
ALLOWED_ATTRS = {"class", "style", "src", "href", "alt", "controls", "autoplay", "loop", "muted", "playsinline",
                 "preload", "download", "target", "rel", "aria-label", "data-rnb-task", "data-rnb-status",
                 "data-rnb-grid", "data-rnb-sweep-status"}
FORBIDDEN_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:image/svg", "data:application", "file:",
                     "blob:javascript")


SAFE_TRAIT_URL = re.compile(r"^(https?://|data:(image/(png|jpeg|jpg|gif|webp|avif|bmp)|video/(mp4|webm|ogg|quicktime)|audio/(mpeg|wav|x-wav|flac|ogg|mp4))[;,])",
                            re.I)


def forbidden_url(value: str) -> bool:
    """Whether a src/href value (as the browser has it: entities already decoded, once) would
    use a forbidden scheme once the browser strips whitespace and control characters."""
    squeezed = re.sub(r"[\x00-\x20\x7f-\x9f\u200b\u2028\u2029]", "", value).lower()
    return squeezed.startswith(FORBIDDEN_SCHEMES) or squeezed.startswith(("//", "\\\\", "/\\", "\\/"))


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.bad: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ALLOWED_TAGS:
            self.bad.append(f"element <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name not in ALLOWED_ATTRS:
                self.bad.append(f"attribute {name}={value!r} on <{tag}>")
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
                if forbidden_url(value) or safe_url(value) is None:
                    self.bad.append(f"{name}={value!r}")
                # a server's output is shown from an http(s) or data: URL only; a relative path
                # is a file we saved ourselves (not a server-chosen path on the notebook server)
                elif not SAFE_TRAIT_URL.match(value) and not value.startswith("runway_outputs/"):
                    self.bad.append(f"{name}={value!r} (a relative URL that is not a saved file)")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(markup: str, *, shows: list[str] = ()) -> _Audit:
    TALLY.add("static HTML documents audited")
    a = _Audit()
    a.feed(markup)
    a.close()
    assert not a.bad, f"unsafe markup: {a.bad[:5]}"
    text = "".join(a.text)
    for s in shows:
        # shown as text: the same characters, whitespace aside (\u2028 is whitespace to html.parser too)
        assert " ".join(s.split()) in " ".join(text.split()), f"{s!r} not shown as text"
    return a


def static_facts(a: _Audit) -> dict:
    return {"tags": len(a.tags), "urls": len(a.urls)}


# ---------------------------------------------------------------------------------------------
# fixtures: handles that carry payloads everywhere


@pytest.fixture
def client(clean_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = Runway(provider="runway", api_key="test-key-not-secret", journal=False,
               transport=__import__("httpx").MockTransport(lambda r: __import__("httpx").Response(500)))
    yield c
    c.close()


def hostile_handle(client: Runway, text: str, url: str, status: str = "FAILED", files: bool = False) -> Any:
    params = {"endpoint": "image_to_video", "model": text, "promptText": text, "ratio": text, "seed": text,
              "duration": text, "promptImage": url}
    handle = client.tasks.handle(text or "id", endpoint="image_to_video", params=params, estimated_cost=25)
    outputs = [url, GOOD_OUTPUT, text]
    if status == "FAILED":
        task = Task(id=text or "id", status="FAILED", failure=text, failure_code=text, outputs=[])
    else:
        task = Task(id=text or "id", status=status, outputs=outputs, progress=0.5)
    handle.task = task
    if files:  # hostile file names (a file name cannot hold "/" or NUL)
        handle.files = [Path("runway_outputs") / _file_name(f"{text[:60]}.mp4"),
                        Path("runway_outputs") / _file_name(f"{url[:60]}.png")]
    return handle


def _file_name(name: str) -> str:
    return name.replace("/", "_").replace("\x00", "") or "_"


def _payload_ids(values: list[str]) -> list[str]:
    return [f"p{i}" for i in range(len(values))]


# ---------------------------------------------------------------------------------------------
# static output


@pytest.mark.parametrize("text", TEXT_PAYLOADS + URL_PAYLOADS, ids=_payload_ids(ALL))
@pytest.mark.parametrize("status", ["FAILED", "SUCCEEDED", "RUNNING", "<b>WEIRD</b>"])
def test_static_html_is_inert(client, text, status):
    url = URL_PAYLOADS[ALL.index(text) % len(URL_PAYLOADS)]
    for files in (False, True):
        handle = hostile_handle(client, text, url, status, files=files)
        markup = static_html(handle, caption=text)
        shows = [text] if text.strip() and status == "FAILED" else []
        a = audit(markup, shows=shows)
        assert "<script" not in markup.lower()
        if status == "SUCCEEDED" and not files:
            # the one good output is there; payload URLs are not
            assert any(u.startswith(GOOD_OUTPUT) for u in a.urls), a.urls
        text_out = static_text(handle, caption=text)
        assert isinstance(text_out, str)
        TALLY.add("static cases")


@pytest.mark.parametrize("url", URL_PAYLOADS, ids=_payload_ids(URL_PAYLOADS))
def test_payload_urls_never_pass_safe_url(url):
    TALLY.add("URL payloads checked")
    got = safe_url(url)
    if got is not None:
        # acceptable survivors: an https URL whose path holds quotes (escaped wherever it is
        # written; the browser test shows it inert), or a relative path (which TaskView, Grid
        # and the static output refuse for a server's outputs; only our saved files use one)
        assert not forbidden_url(got), got
        is_http = got.lower().startswith(("http://", "https://"))
        assert is_http or not re.match(r"^[a-z][a-z0-9+.\-]*:", got, re.I), got
        TALLY.add("URL payloads passing safe_url: https with quotes" if is_http
                  else "URL payloads passing safe_url: relative path")


def test_saved_file_names_are_safe():
    """Saved files are named from the task id and the URL's suffix (both server-chosen)."""
    from runway_nb.client.outputs import filename_for as _filename_for

    for text in ALL:
        for url in [*URL_PAYLOADS, f"https://example.com/{text}", f"https://example.com/x.{text[:5]}"]:
            name = _filename_for(text, 0, url, "text/html")
            TALLY.add("saved file names checked")
            assert "/" not in name and "\\" not in name and not name.startswith("."), name
            url_ = file_url(Path("runway_outputs") / name)
            assert url_ is not None and url_.startswith("runway_outputs/") and not forbidden_url(url_), url_


def test_file_names_become_relative_encoded_paths(tmp_path):
    for text in ALL:
        for name in (f"{text}.mp4", f"{text}/x.png", f"../{text}.mp4"):
            try:
                url = file_url(Path("runway_outputs") / name)
            except ValueError:  # a NUL byte: not a file name any OS takes
                continue
            TALLY.add("file names checked")
            if url is None:
                continue
            assert safe_url(url) == url and not forbidden_url(url)
            assert not re.search(r"[\s<>\"'`]", url), url


# ---------------------------------------------------------------------------------------------
# widget traits




@pytest.mark.parametrize("text", ALL, ids=_payload_ids(ALL))
def test_task_view_traits(client, text):
    url = URL_PAYLOADS[len(text) % len(URL_PAYLOADS)]
    for status in ("FAILED", "SUCCEEDED"):
        handle = hostile_handle(client, text, url, status, files=True)
        view = TaskView(handle, watch=False, caption={"title": text, "prompt": text})
        try:
            TALLY.add("TaskView states checked")
            for u in view.outputs:
                assert SAFE_TRAIT_URL.match(u) and safe_url(u) == u and not forbidden_url(u), u
            for u in view.files:  # saved files: relative, percent-encoded, under the output folder
                assert safe_url(u) == u and not forbidden_url(u) and u.startswith("runway_outputs/"), u
            if status == "FAILED":
                assert view.failure == text and view.failure_code == text  # the text as it came
            assert view.caption.get("prompt") == text and view.caption.get("title") == text
            audit(view.static_html())
            bundle, _ = view._repr_mimebundle_()
            audit(bundle["text/html"])
            json.dumps(view.get_state(), default=str)  # what goes to the browser serialises
        finally:
            view.close()


def test_grid_static_and_traits(client, monkeypatch):
    from runway_nb.notebook.widgets import Grid

    handles = []
    for i, text in enumerate(ALL):
        url = URL_PAYLOADS[i % len(URL_PAYLOADS)]
        handles.append(hostile_handle(client, text, url, "FAILED" if i % 2 else "SUCCEEDED", files=bool(i % 3 == 0)))
    grid = Grid(handles, watch=False)
    try:
        assert grid.finished
        a = audit(grid.static_html(), shows=[t for t in TEXT_PAYLOADS if t.strip()][:5])
        TALLY.note("grid static: elements, urls", static_facts(a))
        for cell in grid.cells:
            for u in cell["outputs"]:
                assert SAFE_TRAIT_URL.match(u) and not forbidden_url(u), u
            for u in cell["files"]:
                assert safe_url(u) == u and not forbidden_url(u), u
        labels = grid.row_labels + grid.col_labels + [c["label"] for c in grid.cells]
        assert labels  # labels are plain text traits (rendered with textContent)
        bundle, _ = grid._repr_mimebundle_()
        audit(bundle["text/html"])
        TALLY.add("grid cells checked", len(grid.cells))
    finally:
        grid.close()


def test_panel_state_is_plain_text(runway_session, tmp_path, monkeypatch):
    from runway_nb.notebook.widgets import Panel

    monkeypatch.chdir(tmp_path)
    panel = Panel(session=runway_session, upload_dir=tmp_path / "in")
    for text in TEXT_PAYLOADS:
        TALLY.add("panel prompts checked")
        panel.set(type="text_to_video", model="gen4.5", prompt=text, ratio="1280:720", duration=5)
        state = panel.form.get_state()
        json.dumps(state, default=str)
        if panel.valid:
            assert text.strip()[:20] in panel.form.magic or "{" in text  # braces are escaped for %%runway
    for url in URL_PAYLOADS:
        TALLY.add("panel image URLs checked")
        panel.set(type="image_to_video", model="gen4_turbo", prompt="a fox", image=url)
        # refused before anything is sent, unless Runway's schema takes it (an https:// URL or a
        # data:image/ URI): an input is sent to the API, never loaded by a browser from the
        # form, which shows it as text
        assert (not panel.valid and panel.reason) or url.startswith(("https://", "data:image/")), url
    handle = panel.set(type="text_to_video", model="gen4.5", prompt=TEXT_PAYLOADS[0], ratio="1280:720",
                       duration=5).submit()
    assert handle is not None
    view = panel.views[0]
    assert view.caption["prompt"] == TEXT_PAYLOADS[0]
    history = panel.form.history[0]
    assert TEXT_PAYLOADS[0] in history["magic"]
    audit(view.static_html(), shows=[TEXT_PAYLOADS[0]])


# ---------------------------------------------------------------------------------------------
# front-end sources

SINKS = re.compile(r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|"
                   r"setAttribute\(\s*[\"']on|\.srcdoc\b|createContextualFragment|DOMParser")


def test_front_end_sources_have_no_html_sinks():
    sources = sorted((REPO / "js" / "src").glob("*.js"))
    assert sources
    for path in sources:
        text = path.read_text("utf-8")
        hits = [m.group(0) for m in SINKS.finditer(text)]
        assert not hits, f"{path.name}: {hits}"
        TALLY.add("front-end files scanned")
    TALLY.write()

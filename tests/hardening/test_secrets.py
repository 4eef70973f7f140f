"""Secrets: a canary API key never shows up anywhere runway-nb writes or shows.

The canary is shaped like a real key (``key_`` + 128 hex characters, built at run time so no
key-shaped string is committed). A simulator *server* is configured with it as its only valid key,
so every request really carries it and authentication is real (``provider="sim"`` with the
server's ``base_url``). Then everything is scanned for the key, and for its first and its last 16
hex characters:

- printed output (stdout/stderr of the test process), every log record at DEBUG of every logger
  (``runway_nb``, ``httpx``, ``httpcore``, the simulator's, the root's);
- reprs and strs: client (sync and async), settings, handles, tasks, the simulator and its
  settings, journal entries, the organization answer, the session, sweeps;
- widget state sent to the browser (TaskView, Grid, Panel form) and their static HTML;
- exceptions: str, repr, args, attributes, and the whole formatted traceback chain, for 401,
  404, 400, 429, 5xx, outcome unknown (500 after create, dropped connection), connection error,
  timeout, validation error and a failed task, sync and async;
- the journal: every byte of the SQLite database and its WAL/SHM files;
- saved outputs and their JSON facts file;
- a notebook executed headlessly with nbclient, the canary in the kernel's environment
  (``RUNWAYML_API_SECRET``), running ``%runway config``, a ``%%runway`` task, reprs, a 404, a
  401 and a validation error, with DEBUG logging to the cell outputs: every byte of the saved
  ``.ipynb`` (outputs, tracebacks, widget state in its metadata) and of the kernel's journal.

``%runway config`` must show the key masked (``key_…`` and its last 4 characters).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import runway_nb
from runway_nb import Runway, errors
from runway_nb.client.journal import Journal
from runway_nb.client.retry import RetryPolicy

from . import REPO, Tally

TALLY = Tally("secrets")
HEX = "c0ffee" * 21 + "ab"
CANARY = "key_" + HEX  # 128 hex characters after key_
NEEDLES = (CANARY, HEX[:16], HEX[-16:])
FAST = dict(speed=100.0, pending_seconds=0.5, run_seconds=2.0)


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (64, 36), os.urandom(64 * 36 * 3)).save(buf, format="PNG")  # > 512 bytes
    return buf.getvalue()


def scan(value: Any, where: str) -> None:
    """Fail if ``value`` (text or bytes) holds the canary or 16 of its hex characters."""
    TALLY.add("items scanned")
    if isinstance(value, (bytes, bytearray)):
        blob = bytes(value)
        for needle in NEEDLES:
            for form in (needle.encode(), needle.encode("utf-16-le")):
                assert form not in blob, f"the key (or part of it) is in {where}"
        TALLY.add("bytes scanned", len(blob))
        return
    text = value if isinstance(value, str) else repr(value)
    for needle in NEEDLES:
        assert needle not in text, f"the key (or part of it) is in {where}: …{_around(text, needle)}…"
    TALLY.add("characters scanned", len(text))


def _around(text: str, needle: str) -> str:
    i = text.find(needle)
    return text[max(0, i - 80): i].replace(needle, "<KEY>")


def scan_exception(exc: BaseException, where: str) -> None:
    TALLY.add(f"exceptions: {type(exc).__name__}")
    scan(str(exc), f"str({where})")
    scan(repr(exc), f"repr({where})")
    scan(repr(exc.args), f"{where}.args")
    scan("".join(traceback.format_exception(exc)), f"traceback of {where}")
    seen = set()
    chain: BaseException | None = exc
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        scan(str(chain), f"{where} chain {type(chain).__name__}")
        for name, attr in vars(chain).items():
            scan(repr(attr), f"{where}.{name}")
        chain = chain.__cause__ or chain.__context__


def raises(fn: Callable[[], Any], kind: type, where: str) -> BaseException:
    try:
        fn()
    except kind as exc:
        scan_exception(exc, where)
        return exc
    raise AssertionError(f"{where}: no {kind.__name__}")


async def araises(coro: Any, kind: type, where: str) -> BaseException:
    try:
        await coro
    except kind as exc:
        scan_exception(exc, where)
        return exc
    raise AssertionError(f"{where}: no {kind.__name__}")


@pytest.fixture
def server(make_sim):
    sim = make_sim(api_key=CANARY, **FAST)
    sim.start_server()
    yield sim


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("runway_nb", "runway_nb.sim", "httpx", "httpcore", "hpack", "asyncio", ""):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_canary_is_key_shaped():
    assert len(HEX) == 128 and all(c in "0123456789abcdef" for c in HEX)
    assert runway_nb.client.settings.mask_key(CANARY) == "key_…eeab"


def test_client_session_widgets_errors_logs_journal(server, clean_env, debug_logs, capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journal = Journal(tmp_path / "journal" / "journal.sqlite3")
    client = Runway(provider="sim", base_url=server.url, api_key=CANARY, journal=journal, poll_floor=0.05)
    assert not client.settings.in_process_sim  # real HTTP to a server that checks the key
    image = tmp_path / "input.png"
    image.write_bytes(png_bytes())
    try:
        # --- normal use: create, upload, wait, save; organization; async twin
        h1 = client.text_to_video.create(model="gen4.5", prompt="a fox in snow", ratio="1280:720", duration=5)
        uploaded = client.upload(str(image))  # the upload flow: POST /v1/uploads, then the storage URL
        assert uploaded.startswith("runway://")
        h2 = client.image_to_video.create(model="gen4_turbo", prompt="a kite", image=uploaded,
                                          ratio="1280:720", duration=5)
        for h in (h1, h2):
            h.wait(timeout=60)
            scan(repr(h), "repr(handle)")
            scan(repr(h.task), "repr(task)")
            scan(str(h.task), "str(task)")
            scan(h.task.summary(), "task.summary()")
            scan(json.dumps(h.task.raw), "task.raw")
            scan(repr(h.params), "handle.params")
        paths = h1.save(tmp_path / "saved")
        for p in list(tmp_path.joinpath("saved").iterdir()):
            scan(p.read_bytes(), f"saved file {p.name}")
        assert paths
        org = client.organization()
        scan(repr(org), "organization")
        for value in (client, client.settings, server, server.config.plain(), server.stats, client.simulator):
            scan(repr(value), f"repr({type(value).__name__})")
            scan(str(value), f"str({type(value).__name__})")

        async def twin() -> None:
            ac = client.to_async()
            scan(repr(ac), "repr(AsyncRunway)")
            hs = await asyncio.gather(*[ac.text_to_image.create(model="gen4_image", prompt=f"a fox {i}",
                                                                ratio="1024:1024") for i in range(3)])
            await asyncio.gather(*[h.wait(timeout=60) for h in hs])
            for h in hs:
                scan(repr(h), "repr(AsyncTaskHandle)")
            await araises(ac.get_task(str(uuid.uuid4())), errors.NotFoundError, "async 404")
            ac.policy = RetryPolicy(max_retries=0)
            server.configure(script=["503"])
            await araises(ac.get_task(hs[0].id), errors.ServerError, "async 503")
            server.configure(script=["drop"])
            await araises(ac.text_to_image.create(model="gen4_image", prompt="x", ratio="1024:1024"),
                          errors.OutcomeUnknownError, "async dropped create")
            await ac.aclose()

        asyncio.run(twin())

        # --- widgets (state that goes to the browser, and the static output)
        from runway_nb.notebook.session import get_session
        from runway_nb.notebook.widgets import Grid, Panel, TaskView

        view = TaskView(h1, watch=False)
        scan(json.dumps(view.get_state(), default=str), "TaskView state")
        scan(view.static_html(), "TaskView static HTML")
        scan(repr(view), "repr(TaskView)")
        grid = Grid([h1, h2], watch=False)
        scan(json.dumps(grid.get_state(), default=str), "Grid state")
        scan(grid.static_html() + grid.static_text(), "Grid static")
        session = get_session()
        session.reset()  # (reset closes the session's clients: it gets its own)
        session.use_client(Runway(provider="sim", base_url=server.url, api_key=CANARY, journal=journal,
                                  poll_floor=0.05))
        try:
            panel = Panel(session=session, upload_dir=tmp_path / "inputs")
            panel.set(type="text_to_video", model="gen4.5", prompt="a heron", ratio="1280:720", duration=5)
            submitted = panel.submit()
            assert submitted is not None
            submitted.wait(timeout=60)
            scan(json.dumps(panel.form.get_state(), default=str), "Panel form state")
            scan(repr(panel) + repr(panel.history), "Panel")
            sweep = session.compare(["a cat", "a dog"], model="gen4_image", ratio="1024:1024")
            sweep.wait()
            scan(repr(sweep) + sweep.summary(), "Sweep")
            scan(repr(session.tasks), "session tasks")
        finally:
            session.reset()
        view.close()
        grid.close()

        # --- every error kind
        client.policy = RetryPolicy(max_retries=0, base_delay=0.01)
        raises(lambda: client.get_task(str(uuid.uuid4())), errors.NotFoundError, "404")
        raises(lambda: client.create("text_to_video", model="gen9_future", prompt="x", ratio="1280:720",
                                     strict=False), errors.BadRequestError, "400 (server-side validation)")
        raises(lambda: client.create("text_to_video", model="gen4.5", prompt="x", ratio="1:1"),
               errors.ValidationError, "ValidationError")
        server.configure(script=["429"])
        raises(lambda: client.get_task(h1.id), errors.RateLimitError, "429")
        server.configure(script=["503"])
        raises(lambda: client.get_task(h1.id), errors.ServerError, "503")
        server.configure(script=["5xx_after"])
        raises(lambda: client.text_to_image.create(model="gen4_image", prompt="x", ratio="1024:1024"),
               errors.OutcomeUnknownError, "500 after create")
        server.configure(script=["drop"])
        raises(lambda: client.text_to_image.create(model="gen4_image", prompt="x", ratio="1024:1024"),
               errors.OutcomeUnknownError, "dropped create")
        server.configure(script=["drop_before"])
        raises(lambda: client.get_task(h1.id), errors.APIConnectionError, "connection closed unanswered")
        server.configure(run_seconds=10_000)  # (read when a task is created)
        slow = client.text_to_video.create(model="gen4.5", prompt="slow", ratio="1280:720", duration=5)
        raises(lambda: slow.wait(timeout=0.05), errors.APITimeoutError, "wait timeout")
        server.configure(run_seconds=2.0)
        failing = client.text_to_video.create(model="gen4.5", prompt="something forbidden", ratio="1280:720",
                                              duration=5)
        raises(lambda: failing.wait(timeout=60), errors.TaskFailedError, "failed task")
        server.configure(api_key="someone-else")
        raises(lambda: client.get_task(h1.id), errors.AuthenticationError, "401")
        raises(lambda: client.text_to_image.create(model="gen4_image", prompt="x", ratio="1024:1024"),
               errors.AuthenticationError, "401 on create")
        server.configure(api_key=CANARY)
        bad = Runway(provider="sim", base_url="http://127.0.0.1:9", api_key=CANARY, journal=False, max_retries=0)
        raises(lambda: bad.get_task(h1.id), errors.APIConnectionError, "connection refused")
        bad.close()
        with pytest.raises(errors.ValidationError) as info:
            Runway(provider="runway", api_key=None)  # no key at all: a clear error, no key in it
        scan_exception(info.value, "missing key")

        # --- the journal, entry by entry and byte by byte
        entries = journal.entries()
        assert len(entries) >= 10
        for entry in entries:
            scan(repr(entry) + entry.line(), "journal entry")
        journal.close()
        for path in sorted((tmp_path / "journal").iterdir()):
            scan(path.read_bytes(), f"journal file {path.name}")
    finally:
        client.close()
    # --- everything printed and logged
    out, err = capfd.readouterr()
    scan(out + err, "stdout/stderr")
    records = debug_logs.records
    assert any(r.name.startswith("httpx") for r in records), "httpx logged nothing at DEBUG?"
    for record in records:
        scan(record.getMessage(), f"log record of {record.name}")
        scan(repr(record.args), f"log args of {record.name}")
    TALLY.add("log records scanned", len(records))
    TALLY.write()


def test_magic_config_shows_the_key_masked(ip, server):
    client = Runway(provider="sim", base_url=server.url, api_key=CANARY, journal=False)
    runway_nb.notebook.session.get_session().use_client(client)
    try:
        facts = ip.run_line_magic("runway", "config")
        text = repr(facts)
        html = facts._repr_html_() if hasattr(facts, "_repr_html_") else ""
        for shown in (text, html, str(facts)):
            scan(shown, "%runway config")
        assert "key_…eeab" in text
        with pytest.raises(Exception) as info:  # keys are refused as settings (they would be saved)
            ip.run_line_magic("runway", "config api_key=abc")
        scan_exception(info.value, "%runway config api_key=")
    finally:
        client.close()
    TALLY.write()


NOTEBOOK = [
    ("import logging, sys\n"
     "handler = logging.StreamHandler(sys.stdout)\n"
     "for name in ('runway_nb', 'httpx', 'httpcore'):\n"
     "    logging.getLogger(name).setLevel(logging.DEBUG)\n"
     "    logging.getLogger(name).addHandler(handler)"),
    "%load_ext runway_nb",
    "%runway config",
    "%%runway -m gen4.5 -r 1280:720 -d 5 -o h\na fox in the snow",
    "h.wait(timeout=60)\nh",
    ("import runway_nb\nc = runway_nb.get_session().client\n"
     "print(repr(c)); print(c.settings); print(repr(h)); print(h.task); print(c.organization())"),
    "c.get_task('00000000-0000-4000-8000-000000000000')",
    "%%runway -m gen4.5 -r 1:1\nwrong ratio",
    ("import httpx, os\n"
     "_ = httpx.post(os.environ['RUNWAYML_BASE_URL'] + '/_sim/config', json={'api_key': 'someone-else'})"),
    "c.get_task(h.id)",
    "%runway list",
]


def test_executed_notebook_holds_no_key(server, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    journal = tmp_path / "kernel-journal.sqlite3"
    for name in ("RUNWAY_API_KEY", "COMETAPI_KEY", "USEAPI_TOKEN", "MAKEVID_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNWAYML_API_SECRET", CANARY)
    monkeypatch.setenv("RUNWAYML_BASE_URL", server.url)
    monkeypatch.setenv("RUNWAY_NB_PROVIDER", "sim")
    monkeypatch.setenv("RUNWAY_NB_JOURNAL", str(journal))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    scan(path.read_bytes(), "the executed notebook")
    outputs = {i: json.dumps(cell.get("outputs", [])) for i, cell in enumerate(nb.cells)}
    # it really ran: the config shows the masked key, the task succeeded, the errors are there
    assert "key_…eeab" in outputs[2] or "key_\\u2026eeab" in outputs[2], outputs[2]
    assert "SUCCEEDED" in outputs[4], outputs[4]
    assert "NotFoundError" in outputs[6], outputs[6]
    assert "ratio" in outputs[7], outputs[7]
    assert "AuthenticationError" in outputs[9], outputs[9]
    assert "HTTP Request" in outputs[3] + outputs[4] + outputs[5], "DEBUG logging reached the outputs"
    TALLY.note("executed notebook bytes", path.stat().st_size)
    for p in sorted(tmp_path.glob("kernel-journal.sqlite3*")):
        scan(p.read_bytes(), f"kernel journal {p.name}")
    assert journal.exists()
    TALLY.write()

"""What a first cell imports: the client class without the pydantic models, the model catalog,
the journal or the simulator; each loads when first used (the start-up figure is in benchmarks/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Loaded only when something needs them; none is needed to reach or make a client.
DEFERRED = ("pydantic", "runway_nb.api.task", "runway_nb.api.workflow", "runway_nb.api.resources",
            "runway_nb.api.catalog", "runway_nb.api.catalog_data", "runway_nb.api.request",
            "runway_nb.api.dialects", "runway_nb.client.journal", "runway_nb.client.archive",
            "runway_nb.client.resources", "runway_nb.client.workflows", "runway_nb.sim", "sqlite3")


def _loaded_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; it calls ``mark(label)`` to record which DEFERRED modules are loaded."""
    prelude = textwrap.dedent(f"""
        import json, sys
        _marks = {{}}
        def mark(label):
            _marks[label] = [m for m in {DEFERRED!r} if m in sys.modules]
    """)
    coda = "\nprint('MARKS' + json.dumps(_marks))\n"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "RUNWAY_NB_JOURNAL": "off"}
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code) + coda], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("MARKS"))
    marks: dict[str, list[str]] = json.loads(line[len("MARKS"):])
    return marks


def test_reaching_the_client_class_loads_no_model_catalog_or_simulator() -> None:
    marks = _loaded_after("""
        import runway_nb.client
        runway_nb.client.Runway, runway_nb.client.AsyncRunway, runway_nb.client.TaskHandle
        mark("class")
    """)
    assert marks["class"] == []


def test_each_deferred_part_loads_when_first_used() -> None:
    marks = _loaded_after("""
        import httpx
        from runway_nb.client import Runway

        def answer(request):
            return httpx.Response(200, json={"id": "t1", "status": "RUNNING", "progress": 0.5,
                                             "createdAt": "2026-01-01T00:00:00Z"})

        client = Runway(api_key="key_" + "0" * 60, base_url="http://127.0.0.1:9", journal=False,
                        transport=httpx.MockTransport(answer))
        client.text_to_image  # the endpoints are there from the start
        mark("client")
        task = client.get_task("t1")
        mark("task")
        client.prepare("text_to_image", model="gen4_image", promptText="a lighthouse", ratio="1920:1080")
        mark("prepare")
        client.voices
        mark("voices")
        assert task.status == "RUNNING"
    """)
    assert marks["client"] == []
    assert {"pydantic", "runway_nb.api.task", "runway_nb.api.dialects"} <= set(marks["task"])
    assert "runway_nb.api.catalog" not in marks["task"]
    assert {"runway_nb.api.request", "runway_nb.api.catalog_data"} <= set(marks["prepare"])
    assert "runway_nb.client.resources" not in marks["prepare"]
    assert "runway_nb.client.resources" in marks["voices"]
    assert "runway_nb.sim" not in marks["voices"]  # a client with a key never loads the simulator


def test_lazy_names_of_the_client_module_still_resolve() -> None:
    from runway_nb.api.request import Draft
    from runway_nb.client import core
    from runway_nb.client.workflows import AsyncWorkflowRun, WorkflowRun

    assert (core.WorkflowRun, core.AsyncWorkflowRun, core.Draft) == (WorkflowRun, AsyncWorkflowRun, Draft)
    assert set(core.__all__) <= set(dir(core)) | {"WorkflowRun", "AsyncWorkflowRun"}

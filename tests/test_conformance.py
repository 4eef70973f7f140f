"""Conformance of the simulator to Runway's official spec, measured with Schemathesis 4.

``python -m runway_nb.sim`` runs as a real server on a loopback port; ``schemathesis run`` (a
subprocess, bounded in examples and time) sends it requests generated from
``../shared/runway/openapi-2024-11-06.json`` and checks every answer: no server error, no response
outside the spec's schema, status or content type, no spec-valid request refused, no spec-invalid
request accepted, unsupported methods answered 405. Each failure it reports is a deviation unless
one of two explicit lists excuses it: :data:`PROSE_RULES` (spec-valid requests the simulator
refuses on purpose, because the spec states the rule only in prose) and :data:`SPEC_GAPS`
(statuses Runway answers that the spec does not document). docs/conformance.md explains both, with the spec's own words.

Operations out of the issue's scope are not tested; operations in scope that the simulator does
not implement yet are listed in :data:`NOT_YET_IMPLEMENTED`, and a probe keeps that list honest.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from shared_docs import OPENAPI_SPEC, shared_file

from runway_nb.api import catalog

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"Authorization": "Bearer conformance", "X-Runway-Version": "2024-11-06"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Out of the scope: never tested, never counted as missing (path prefixes).
OUT_OF_SCOPE = ("/v1/avatars", "/v1/avatar_conversations", "/v1/avatar_usage", "/v1/documents",
                "/v1/realtime_sessions", "/v1/organization/webapp/")

# In scope but not in the simulator yet: excluded from the run until they land. Remove an entry
# when its operation is implemented; test_not_yet_implemented_list_is_current fails until you do.
NOT_YET_IMPLEMENTED: list[str] = []  # every in-scope operation is implemented

# The run's bounds: examples per operation and phase, and a time budget for the whole run
# (fuzzing repeats until the budget is spent, so the run takes about MAX_SECONDS).
MAX_EXAMPLES = 10
MAX_SECONDS = 90  # a loaded CI machine generated 308 cases in 45 s, 513-604 on a quiet one
# fixed, so CI reruns the same cases; RUNWAY_NB_CONFORMANCE_SEED=<n> explores others
SEED = int(os.environ.get("RUNWAY_NB_CONFORMANCE_SEED") or 20241106)
CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance",
          "content_type_conformance", "positive_data_acceptance", "negative_data_rejection", "unsupported_method")


@dataclass(frozen=True)
class Excuse:
    """Failures of ``checks`` on ``operations`` that answered ``status`` with an error matching
    ``error``: expected, for the reason in ``spec_says`` (docs/conformance.md quotes it)."""

    name: str
    checks: frozenset[str]
    operations: str  # regex over "METHOD /path" (the spec's path template)
    status: int
    error: str  # regex searched in the response body
    spec_says: str
    mode: str | None = None  # "positive" or "negative": only cases generated that way
    body_absent: bool = False  # only requests sent without a body

    def covers(self, failure: Failure) -> bool:
        return (failure.check in self.checks and failure.status == self.status
                and re.fullmatch(self.operations, failure.operation) is not None
                and re.search(self.error, failure.response) is not None
                and (self.mode is None or failure.mode == self.mode)
                and (not self.body_absent or failure.body_absent))


class NewerModelsInUsage(Excuse):
    """The usage report names every model that spent credits; a router may choose a model newer
    than this spec copy's ``ModelVariant`` enum (one the official SDK's newer request types
    know, and the catalog with it). Covers a report valid in every other way."""

    def covers(self, failure: Failure) -> bool:
        if not super().covers(failure):
            return False
        known = spec_usage_models()
        try:
            report = json.loads(failure.response)
        except ValueError:
            return False
        named = {u.get("model") for day in report.get("results", []) for u in day.get("usedCredits", [])}
        named |= set(report.get("models", []))
        newer = named - known
        return bool(newer) and newer <= {m.model for m in catalog.models()}


class LengthsInUtf16Units(Excuse):
    """Runway counts ``minLength``/``maxLength`` in UTF-16 code units (an astral character such
    as 🦊 is two), JSON Schema in code points: a string of astral characters within the spec's
    limit in code points may be over it in Runway's units. Covers a refusal for a length when
    the request carries such a character."""

    def covers(self, failure: Failure) -> bool:
        astral = re.search(r"\\ud[89ab][0-9a-f]{2}", failure.request, re.IGNORECASE) or any(
            ord(c) > 0xFFFF for c in failure.request)
        return super().covers(failure) and bool(astral)


def spec_usage_models() -> set[str]:
    """The models the spec's usage report may name (its ``ModelVariant`` enum)."""
    schema = spec()["paths"]["/v1/organization/usage"]["post"]["responses"]["200"]["content"]["application/json"]
    return set(schema["schema"]["properties"]["models"]["items"]["enum"])


REFUSED = frozenset({"positive_data_acceptance", "status_code_conformance"})
CREATES = r"POST /v1/(" + "|".join(re.escape(e) for e in catalog.ENDPOINTS) + ")"

# Spec-valid requests the simulator refuses on purpose: the spec states these rules only in prose.
PROSE_RULES = (
    Excuse("runway-uri-must-name-an-upload", REFUSED,
           CREATES + r"|POST /v1/voices", 400,
           r"The runway:// URI does not match an uploaded file",
           "A Runway upload URI. See https://docs.dev.runwayml.com/assets/uploads for more information."),
    Excuse("data-uri-must-be-base64", REFUSED, CREATES + r"|POST /v1/voices", 400,
           r"Invalid data URI: it must be base64 encoded",
           "A HTTPS URL, Runway upload URI, or base64 data URI (e.g. `data:image/png;base64,...`, up to 5MB) "
           "containing an encoded image."),
    Excuse("https-url-must-parse", REFUSED, CREATES + r"|POST /v1/voices", 400, r"Invalid URL: it cannot be parsed",
           "A HTTPS URL, Runway upload URI, or base64 data URI (...) containing an encoded image."),
    Excuse("prores-profile-needs-prores", REFUSED, CREATES, 400,
           r"proresProfile is only valid when outputFormat is 'prores'",
           "The ProRes profile to use. Only valid when `outputFormat` is `prores`."),
    Excuse("adaptive-ratio-needs-references", REFUSED, CREATES, 400, r"ratio='adaptive' needs image or video",
           "Use adaptive only when image or video references are provided; text-only requests require a "
           "concrete ratio."),
    Excuse("keyframes-or-references", REFUSED, r"POST /v1/image_to_video", 400,
           r"promptImage mixes keyframes \(items with a position\) and references",
           "Use position `first`/`last` for keyframe mode, or omit position for reference images. The two "
           "modes cannot be mixed."),
    Excuse("each-keyframe-position-once", REFUSED, r"POST /v1/image_to_video", 400,
           r"promptImage gives position '\w+' more than once",
           "No two provided images may have the same `position` value."),
    Excuse("veo-last-frame-needs-a-first", REFUSED, r"POST /v1/image_to_video", 400,
           r"promptImage has only a last frame",
           "an array with a first frame and optionally a last frame. This model does not support generating "
           "with only a last frame."),
    Excuse("extend-mode-needs-a-prompt-and-no-ratio", REFUSED, r"POST /v1/video_to_video", 400,
           r"promptText is required when mode='extend'|ratio may not be given when mode='extend'",
           "`extend` continues the input video, requires `promptText`, and matches the input aspect ratio, so "
           "`ratio` may not be provided."),
    Excuse("router-slug-is-unique", REFUSED, r"POST /v1/routers", 400, r"already exists",
           "slug: A unique, URL-safe identifier for the Model Router."),
    Excuse("router-models-are-known-models", REFUSED, r"(POST|PATCH) /v1/routers(/\{id\})?", 400,
           r"unknown model", "ids: Model ids the mode applies to (ids Runway does not know are refused)."),
    Excuse("cursor-comes-from-a-previous-page", REFUSED, r"GET /v1/(routers|voices)(/\{id\}/requests)?", 400,
           r"Invalid cursor", "cursor: Cursor from a previous response to fetch the next page."),
    Excuse("router-decides-which-model-runs", REFUSED, r"POST /v1/generate/(video|image|audio)", 400,
           r"no_eligible_model|is not allowed for model|allows at most|must|is required",
           "The router picks a model from its settings; the request is then checked against that model "
           "(`no_eligible_model` when none fits, documented as a 400)."),
    Excuse("usage-window-is-at-most-90-days", REFUSED, r"POST /v1/organization/usage", 400,
           r"beforeDate must (not be before startDate|be at most 90 days after startDate)",
           "beforeDate: The end date of the usage data (...), not inclusive. (...) Must be less than or equal to "
           "90 days after the start date."),
    Excuse("upload-filename-needs-a-media-extension", REFUSED, r"POST /v1/uploads", 400,
           r"Filename must have a supported image, video or audio extension",
           "The filename of the file to upload. Must have a valid extension and be a supported media type "
           "(image, video, or audio)."),
    LengthsInUtf16Units("lengths-in-utf16-units", REFUSED, r"\S+ /v1/\S*", 400,
                        r"is \d+ characters; .* allows at (most|least)",
                        "maxLength / minLength (Runway counts them in UTF-16 code units, as JavaScript does)"),
)

# Statuses Runway answers that the spec does not document for the operation.
SPEC_GAPS = (
    Excuse("401-without-a-key", frozenset({"status_code_conformance"}), r"\S+ /v1/.*", 401,
           r"An API key is required", "securitySchemes: ApiKeyAuth, http bearer (no 401 response is documented)",
           mode="negative"),
    Excuse("400-for-a-malformed-request", frozenset({"status_code_conformance"}),
           r"(GET|DELETE) /v1/tasks/\{id\}|POST /v1/organization/usage|POST /v1/uploads", 400, r'"error"',
           "(no 400 response is documented for these operations)", mode="negative"),
    Excuse("404-for-an-unknown-task-on-delete", frozenset({"status_code_conformance"}),
           r"DELETE /v1/tasks/\{id\}", 404, r"Task not found",
           "The ID of a previously-submitted task that has not been canceled or deleted."),
    Excuse("404-for-an-unknown-id", frozenset({"status_code_conformance"}),
           r"(GET|PATCH|DELETE) /v1/(routers|voices)/\{id\}(/requests)?|GET /v1/workflow_invocations/\{id\}", 404,
           r"not found", "(no 404 response is documented for these operations)"),
    Excuse("400-for-a-malformed-resource-request", frozenset({"status_code_conformance"}),
           r"\S+ /v1/(routers|voices|workflows|workflow_invocations|avatar_videos)\S*", 400, r'"error"',
           "(no 400 response is documented for these operations)"),
    Excuse("limit-has-a-default", frozenset({"negative_data_rejection"}),
           r"GET /v1/(routers|voices)(/\{id\}/requests)?", 200, r'"data"',
           "limit: required, with `default: 50` (a request without it gets the default page size)",
           mode="negative"),
    NewerModelsInUsage("usage-names-models-newer-than-the-spec", frozenset({"response_schema_conformance"}),
                       r"POST /v1/organization/usage", 200, r'"usedCredits"',
                       "ModelVariant: an enum of the models this spec copy knew (a router may pick a newer one)"),
    Excuse("400-without-a-body", REFUSED,
           CREATES + r"|POST /v1/uploads|POST /v1/voices|POST /v1/routers", 400, r'"error"',
           "(requestBody is not marked required, but its schema requires `model` and the media fields)",
           body_absent=True),
)


@dataclass(frozen=True)
class Failure:
    check: str
    operation: str
    phase: str
    mode: str
    status: int | None
    response: str
    request: str
    body_absent: bool

    def __str__(self) -> str:
        return (f"{self.check} on {self.operation} ({self.phase}, {self.mode}): {self.status} "
                f"{self.response[:300]}\n    request: {self.request[:600]}")


@dataclass
class Run:
    failures: list[Failure]
    errors: list[str]
    operations: set[str]
    cases: int  # test cases generated, as schemathesis counts them
    seconds: float
    output: str


# ------------------------------------------------------------------ the spec's operations
def spec() -> dict:
    return json.loads(shared_file(OPENAPI_SPEC).read_text())


def operations(doc: dict) -> list[str]:
    return [f"{method.upper()} {path}" for path, item in doc["paths"].items() for method in item if method in METHODS]


def in_scope(operation: str) -> bool:
    path = operation.split(" ", 1)[1]
    return not path.startswith(OUT_OF_SCOPE)


def spec_under_test(doc: dict) -> dict:
    """The spec with only the operations under test (in scope, implemented); schemas untouched."""
    skip = set(NOT_YET_IMPLEMENTED)
    paths = {}
    for path, item in doc["paths"].items():
        kept = {key: value for key, value in item.items()
                if key not in METHODS or (in_scope(f"{key.upper()} {path}") and f"{key.upper()} {path}" not in skip)}
        if any(key in METHODS for key in kept):
            paths[path] = kept
    return {**doc, "paths": paths}


# ------------------------------------------------------------------ the simulator, a real server
@pytest.fixture(scope="module")
def sim_url(tmp_path_factory) -> Iterator[str]:
    """``python -m runway_nb.sim`` on a free loopback port, with credits enough for every create."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "runway_nb.sim", "--port", "0", "--credits", "1000000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=str(tmp_path_factory.mktemp("sim")))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+?)[ ,(]", line)
        assert match, f"the simulator did not report its URL: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def unimplemented_answer(response: httpx.Response, method: str, path: str) -> bool:
    """The simulator's answer to an operation it has no route for: its router's 404 or 405."""
    if response.status_code == 405:
        return True
    return response.status_code == 404 and response.json().get("error") == f"Not found: {method} {path}"


# ------------------------------------------------------------------ the tests
def test_operation_lists_name_spec_operations():
    ops = operations(spec())
    unknown = [op for op in NOT_YET_IMPLEMENTED if op not in ops]
    assert not unknown, f"NOT_YET_IMPLEMENTED names operations the spec does not have: {unknown}"
    outside = [op for op in NOT_YET_IMPLEMENTED if not in_scope(op)]
    assert not outside, f"NOT_YET_IMPLEMENTED names out-of-scope operations: {outside}"
    assert len(set(NOT_YET_IMPLEMENTED)) == len(NOT_YET_IMPLEMENTED), "NOT_YET_IMPLEMENTED has duplicates"


def test_not_yet_implemented_list_is_current(sim_url):
    """Every in-scope operation is implemented unless listed, and nothing listed is implemented."""
    listed, implemented, missing = set(NOT_YET_IMPLEMENTED), [], []
    with httpx.Client(base_url=sim_url, headers=HEADERS, timeout=30) as client:
        for op in filter(in_scope, operations(spec())):
            method, path = op.split(" ", 1)
            url = concrete(path)
            body = {} if method in ("POST", "PATCH", "PUT") else None
            response = client.request(method, url, json=body)
            absent = unimplemented_answer(response, method, url)
            if op in listed and not absent:
                implemented.append(f"{op} (answered {response.status_code})")
            elif op not in listed and absent:
                missing.append(op)
    assert not implemented, ("implemented now: remove from NOT_YET_IMPLEMENTED in tests/test_conformance.py "
                             f"and docs/conformance.md: {implemented}")
    assert not missing, f"in-scope operations the simulator does not implement: {missing}"


def run_schemathesis(base_url: str, schema: Path, report_dir: Path) -> Run:
    ndjson = report_dir / "events.ndjson"
    command = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; "
               "sys.argv[0] = 'schemathesis'; schemathesis()",
               "run", str(schema), "--url", base_url,
               *(arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")),
               "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_SECONDS),
               "--seed", str(SEED), "--workers", "1",  # one worker: CPython 3.11's ast is not thread-safe
               "--generation-database", "none", "--request-timeout", "30", "--no-color",
               "--report", "ndjson", "--report-ndjson-path", str(ndjson)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS + 120, cwd=str(report_dir))
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), f"schemathesis did not run (exit {done.returncode}):\n{output[-4000:]}"
    generated = re.search(r"(\d+) generated", output)
    run = Run([], [], set(), int(generated.group(1)) if generated else 0, seconds, output)
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            run.errors.append(f"{error.get('label')}: {json.dumps(error.get('value') or error)[:1500]}")
        elif "ScenarioFinished" in event:
            collect(event["ScenarioFinished"], run)
    return run


def collect(scenario: dict, run: Run) -> None:
    recorder = scenario.get("recorder") or {}
    cases = recorder.get("cases") or {}
    interactions = recorder.get("interactions") or {}
    for case_id, checks in (recorder.get("checks") or {}).items():
        case = cases.get(case_id, {}).get("value", {})
        operation = f"{case.get('method', '?')} {case.get('path', '?')}"
        run.operations.add(operation)
        for check in checks:
            if check.get("status") != "failure":
                continue
            response = (interactions.get(case_id) or {}).get("response") or {}
            content = (response.get("content") or {}).get("$base64")
            text = base64.b64decode(content).decode("utf-8", "replace") if content else ""
            run.failures.append(Failure(
                check=check["name"], operation=operation, phase=scenario.get("phase", "?"),
                mode=(case.get("meta") or {}).get("generation", {}).get("mode", "?"),
                status=response.get("status_code"), response=text,
                request=json.dumps({k: case.get(k) for k in ("query", "headers", "body") if k in case}),
                body_absent="body" not in case or case.get("body") is None))


def test_newer_models_in_a_usage_report_are_excused_only_when_the_catalog_knows_them():
    excuse = next(e for e in SPEC_GAPS if isinstance(e, NewerModelsInUsage))
    newer = sorted({m.model for m in catalog.models()} - spec_usage_models())
    assert newer, "every catalog model is in the spec's enum: the excuse is no longer needed"

    def failure(*models: str) -> Failure:
        report = {"results": [{"date": "2026-12-06", "usedCredits": [{"model": m, "amount": 5} for m in models]}],
                  "models": list(models)}
        return Failure("response_schema_conformance", "POST /v1/organization/usage", "fuzzing", "positive", 200,
                       json.dumps(report), "{}", body_absent=False)

    assert excuse.covers(failure("gen4_image", newer[0]))
    assert not excuse.covers(failure("gen4_image"))  # nothing newer: a real deviation
    assert not excuse.covers(failure("gen4_image", "no_such_model"))


def test_schemathesis_finds_no_deviation(sim_url, tmp_path):
    schema = tmp_path / "openapi-under-test.json"
    expected = spec_under_test(spec())
    schema.write_text(json.dumps(expected))
    run = run_schemathesis(sim_url, schema, tmp_path)

    excuses = PROSE_RULES + SPEC_GAPS
    deviations = [f for f in run.failures if not any(excuse.covers(f) for excuse in excuses)]
    used = sorted({excuse.name for f in run.failures for excuse in excuses if excuse.covers(f)})
    print(f"schemathesis: {len(run.operations)} operations, {run.cases} cases, {len(run.failures)} failures "
          f"({len(run.failures) - len(deviations)} excused: {', '.join(used) or 'none'}), "
          f"{len(deviations)} deviations, {len(run.errors)} errors, {run.seconds:.0f} s")

    assert not run.errors, "schemathesis reported errors:\n" + "\n".join(run.errors) + "\n" + run.output[-3000:]
    unique = list(dict.fromkeys(str(f) for f in deviations))
    assert not unique, f"{len(unique)} deviations from the spec:\n" + "\n".join(unique[:30])
    # the run really exercised every operation under test
    assert run.operations >= set(operations(expected)), sorted(set(operations(expected)) - run.operations)
    assert run.cases >= len(run.operations) * MAX_EXAMPLES

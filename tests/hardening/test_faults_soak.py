"""Faults: hundreds of tasks through heavy fault injection, each ending in its true state, none twice.

One simulator, in-process (``AsyncSimTransport``), fast clock, with every fault it can inject,
on every API request, from a fixed seed: 429 with ``Retry-After``, 502/503/504 before handling,
500 after a create was committed, connections dropped after handling, connections refused,
slow answers, and CometAPI's transient ``task_not_exist`` for just-created tasks. Through it,
``TASKS`` tasks are created and watched concurrently (``asyncio.gather``) by two async clients,
the official API and CometAPI's dialect, with small retry delays: images, videos, moderation
failures, and cancellations of running tasks (see ``KINDS``).

Then:

- every task the client created ends in the state the simulator's own store holds (status, the
  number of outputs, the failure code), cancelled ones included;
- no create is duplicated: every task in the simulator's store was either created by exactly
  one ``create`` that returned its id, or is the one task behind one ``OutcomeUnknownError``
  (a create that reached the server but got no answer). The journal's ``outcome-unknown`` rows
  are resolved against the store by their (unique) prompts, as a user would with ``%runway
  history``: each resolves to exactly one task, or to none when the answer was a 5xx given
  *before* handling (the client cannot tell those apart, which is why it says "unknown");
  ``stats.creates`` equals the creates the client believes in plus the unknowns that resolve to
  a task;
- the resolved tasks, attached by id, are watched to their end too.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from runway_nb import errors
from runway_nb.client.core import AsyncRunway
from runway_nb.client.journal import UNKNOWN, Journal
from runway_nb.client.retry import RetryPolicy
from runway_nb.sim import Simulator

from . import Tally

TALLY = Tally("faults")
TASKS = 300
FAULTS = dict(
    fault_seed=9,
    rate_429=0.10, retry_after=0.05,
    rate_5xx=0.08,
    rate_5xx_after_create=0.06,
    rate_drop=0.06,
    rate_drop_before=0.05,
    rate_slow=0.05, slow_seconds=0.2,
)
POLICY = RetryPolicy(max_retries=12, base_delay=0.01, max_delay=0.1, max_retry_after=5.0)


def run_seconds(model: str, endpoint: str, duration: float | None) -> float:
    # gemini_2.5_flash: the tasks that get cancelled, long enough (72 s real) that the cancel
    # always lands while they run (a DELETE after the end deletes a finished task instead: see
    # docs/hardening.md on what the handle then believes)
    return 3600.0 if model == "gemini_2.5_flash" else 4.0


# Per ten tasks (the simulator renders real media, so outputs are kept small: 512 px images and
# 2 s videos; moderation failures render nothing).
KINDS = ("image", "comet image", "failing video", "failing comet image", "cancelled", "video", "image",
         "comet image", "comet video", "cancelled")
EXPECTED = {"image": "SUCCEEDED", "comet image": "SUCCEEDED", "video": "SUCCEEDED", "comet video": "SUCCEEDED",
            "failing video": "FAILED", "failing comet image": "FAILED", "cancelled": "CANCELLED"}


def plan(i: int) -> dict[str, Any]:
    """Task ``i``: which client, endpoint, model and prompt (unique: it identifies the task)."""
    kind = KINDS[i % len(KINDS)]
    prompt = f"soak task #{i:04d}" + (" something forbidden" if kind.startswith("failing") else "")
    comet = "comet" in kind
    if "image" in kind:
        params = dict(model="gemini_image3.1_flash", prompt=prompt, ratio="512:512")
        return dict(kind=kind, comet=comet, endpoint="text_to_image", params=params)
    if kind == "cancelled":
        params = dict(model="gemini_2.5_flash", prompt=prompt, ratio="1344:768")
        return dict(kind=kind, comet=False, endpoint="text_to_image", params=params)
    params = dict(model="gen4.5", prompt=prompt, ratio="1280:720", duration=2)
    return dict(kind=kind, comet=comet, endpoint="text_to_video", params=params)


class _NotExistCounter(httpx.AsyncBaseTransport):
    """Counts CometAPI's ``task_not_exist`` answers on their way to the client."""

    def __init__(self, inner: httpx.AsyncBaseTransport):
        self.inner = inner
        self.not_exist = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if b"task_not_exist" in response.content:
            self.not_exist += 1
        return response


def test_hundreds_of_tasks_through_heavy_faults(tmp_path):
    started = time.perf_counter()
    sim = Simulator(speed=50.0, pending_seconds=1.0, run_seconds=run_seconds, concurrency=40,
                    comet_not_exist_seconds=100.0, **FAULTS)  # comet tasks invisible for 2 s
    journal = Journal(tmp_path / "journal.sqlite3")
    official = AsyncRunway(provider="sim", simulator=sim, journal=journal, poll_floor=0.02, announce=False)
    comet_transport = _NotExistCounter(sim.async_transport())
    comet = AsyncRunway(provider="comet", api_key="comet-test-key", transport=comet_transport,
                        journal=journal, poll_floor=0.02)
    official.policy = comet.policy = POLICY
    created: dict[int, Any] = {}
    unknown: list[int] = []
    finals: dict[int, Any] = {}

    async def one(i: int) -> None:
        p = plan(i)
        client = comet if p["comet"] else official
        try:
            handle = await client.create(p["endpoint"], **p["params"])
        except errors.OutcomeUnknownError as exc:
            assert "may have reached the server" in str(exc)
            unknown.append(i)
            return
        created[i] = handle
        if p["kind"] == "cancelled":
            await asyncio.sleep(0.05)
            await handle.cancel()
            finals[i] = handle.task
            return
        finals[i] = await handle.wait(timeout=60, raise_on_failure=False)

    async def main() -> None:
        try:
            await asyncio.gather(*[one(i) for i in range(TASKS)])
        finally:
            await official.aclose()
            await comet.aclose()

    try:
        asyncio.run(asyncio.wait_for(main(), timeout=120))
        soak_seconds = time.perf_counter() - started
        stats = sim.stats.snapshot()
        store = {t.id: t for t in list(sim.app.store._tasks.values())}  # every task, cancelled ones too

        # --- every created task ended in its true state
        for i, handle in created.items():
            view = sim.app.store.view(handle.id, include_gone=True)
            assert view is not None, f"task {i} ({handle.id}) unknown to the simulator"
            task = finals[i]
            kind = plan(i)["kind"]
            assert task.status == view.status, (i, kind, task.status, view.status)
            if view.status == "SUCCEEDED":
                assert len(task.outputs) == len(view.output_sizes) >= 1, i
            if view.status == "FAILED":
                assert task.failure_code == view.failure_code == "SAFETY.INPUT.TEXT", i
            assert task.status == EXPECTED[kind], (i, kind, task.status)
            TALLY.add(f"ended {task.status}")

        # --- no duplicates: each prompt made at most one task; every task is accounted for
        by_prompt: dict[str, list[str]] = {}
        for t in store.values():
            by_prompt.setdefault(str(t.body.get("promptText")), []).append(t.id)
        duplicates = {p: ids for p, ids in by_prompt.items() if len(ids) > 1}
        assert not duplicates, f"duplicated creates: {list(duplicates.items())[:3]}"
        created_ids = {h.id for h in created.values()}
        assert len(created_ids) == len(created)
        assert created_ids <= set(store)

        # --- outcome unknown: resolved from the journal, against the store
        rows = [e for e in journal.entries() if e.submit_state == UNKNOWN]
        assert len(rows) == len(unknown), (len(rows), len(unknown))
        resolved_to_task = []
        for row in rows:
            ids = by_prompt.get(str(row.prompt), [])
            assert len(ids) <= 1
            journal.resolve_unknown(row.rowid, ids[0] if ids else None)
            if ids:
                assert ids[0] not in created_ids
                resolved_to_task.append(ids[0])
        assert not [e for e in journal.entries() if e.submit_state == UNKNOWN]
        assert set(store) == created_ids | set(resolved_to_task), "a task the client cannot account for"
        assert stats["creates"] == len(created) + len(resolved_to_task) == len(store)

        # --- the resolved tasks, attached by id, run to their end too
        async def follow() -> list[Any]:
            client = AsyncRunway(provider="sim", simulator=sim, journal=journal, poll_floor=0.02, announce=False)
            client.policy = POLICY
            async def settle(task_id: str) -> Any:
                handle = client.tasks.handle(task_id)  # (the official route reads comet-made tasks too)
                if store[task_id].model == "gemini_2.5_flash":  # one the user meant to cancel
                    await handle.cancel()
                    return handle.task
                return await handle.wait(timeout=60, raise_on_failure=False)

            try:
                return await asyncio.gather(*[settle(t) for t in resolved_to_task])
            finally:
                await client.aclose()

        follow_started = time.perf_counter()
        followed = asyncio.run(asyncio.wait_for(follow(), timeout=60))
        TALLY.note("seconds following the resolved unknowns", round(time.perf_counter() - follow_started, 1))
        for task in followed:
            view = sim.app.store.view(task.id, include_gone=True)
            assert view is not None and task.status == view.status, (task.id, task.status, view and view.status)
            TALLY.add(f"resolved unknown ended {task.status}")
        journal_rows = Counter(e.submit_state for e in journal.entries())
        seconds = time.perf_counter() - started
    finally:
        journal.close()
        sim.close()

    TALLY.add("tasks planned", TASKS)
    TALLY.add("creates the client believes in", len(created))
    TALLY.add("OutcomeUnknownError raised", len(unknown))
    TALLY.add("unknowns resolved to a task", len(resolved_to_task))
    TALLY.add("unknowns resolved to nothing (5xx before handling)", len(unknown) - len(resolved_to_task))
    TALLY.add("simulator creates", stats["creates"])
    TALLY.add("API requests", stats["requests_total"])
    TALLY.add("comet task_not_exist answers (transient)", comet_transport.not_exist)
    for kind, n in stats["faults"].items():
        TALLY.add(f"faults injected: {kind}", n)
    TALLY.note("journal rows by submit_state", dict(journal_rows))
    TALLY.note("seconds (soak, total)", [round(soak_seconds, 1), round(seconds, 1)])
    TALLY.write()
    # the faults really were heavy, and every kind happened
    assert stats["faults"].get("429", 0) > 50 and stats["faults"].get("5xx", 0) > 50
    for kind in ("5xx_after", "drop", "drop_before"):
        assert stats["faults"].get(kind, 0) > 10, (kind, stats["faults"])
    assert len(unknown) > 10 and resolved_to_task
    assert comet_transport.not_exist > 10  # just-created comet tasks were invisible for a while

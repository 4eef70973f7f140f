"""Read each provider's task JSON into one :class:`~runway_nb.api.task.Task`.

Dialects:
- ``runway``: the official shape (``output``, ``failure``/``failureCode``, float ``progress``);
- ``comet``: CometAPI, either the official shape or its ``{code, data: {..., data: {...}}}``
  envelope with ``"NN%"`` progress, and ``task_not_exist`` for a just-created task;
- ``useapi``: useapi.net's web-app shape (``taskId``, ``artifacts[].url``, string
  ``progressRatio``, ``error`` as an object or a string, ``taskType``, ``options``);
- ``makevid``: makevid.ai's ``{"task": {...}}`` around the same web-app shape.

Every parser returns a Task or raises :class:`ResponseFormatError` (or
:class:`TaskNotVisibleError`); nothing else escapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from runway_nb.api.task import Task, normalize_status
from runway_nb.errors import ResponseFormatError, TaskNotVisibleError

DIALECTS = ("runway", "comet", "useapi", "makevid")

#: A task payload as decoded from a provider's JSON answer.
JsonObject = dict[str, Any]

_MAX_TEXT = 20_000  # failure texts longer than this are cut; a server can send anything


def parse_task(payload: object, dialect: str = "runway") -> Task:
    """Turn one provider's task JSON (already decoded) into a :class:`Task`."""
    try:
        parser = _PARSERS[dialect]
    except KeyError:
        raise ValueError(f"dialect={dialect!r} is not known; allowed: {', '.join(DIALECTS)}") from None
    if not isinstance(payload, dict):
        raise ResponseFormatError(f"expected a JSON object for a {dialect} task, got {type(payload).__name__}",
                                  body=_clip(payload))
    try:
        return parser(payload)
    except (ResponseFormatError, TaskNotVisibleError):
        raise
    except Exception as exc:  # a hostile or broken payload must not leak odd exceptions
        raise ResponseFormatError(f"could not read {dialect} task: {type(exc).__name__}: {_clip(str(exc), 300)}",
                                  body=None) from exc


# --- official ---------------------------------------------------------------------------

def _parse_runway(p: JsonObject, dialect: str = "runway") -> Task:
    task_id = _require_id(p.get("id"), dialect)
    status = _require_status(p.get("status"), dialect)
    return Task(
        id=task_id,
        status=status,
        progress=parse_progress(p.get("progress")),
        outputs=_urls(p.get("output")),
        failure=_text(p.get("failure")),
        failure_code=_text(p.get("failureCode")),
        created_at=parse_time(p.get("createdAt")),
        estimated_cost=_credits(p.get("estimatedCost")),
        cost=_credits(p.get("cost")),
        dialect=dialect,
        raw=p,
    )


# --- CometAPI ---------------------------------------------------------------------------

def _parse_comet(p: JsonObject) -> Task:
    code = p.get("code")
    if _is_not_exist(code) or _is_not_exist(p.get("message")) or _is_not_exist(p.get("error")):
        raise TaskNotVisibleError("CometAPI answered task_not_exist (a just-created task can take a few "
                                  "seconds to become visible)", status_code=404, body=_clip(p))
    if "code" in p and "data" in p:
        return _parse_comet_envelope(p)
    return _parse_runway(p, "comet")


def _parse_comet_envelope(p: JsonObject) -> Task:
    code = p.get("code")
    d = p.get("data")
    if not isinstance(d, dict):
        msg = _text(p.get("message")) or _text(code) or "no data"
        raise ResponseFormatError(f"CometAPI answered code={_clip(code, 80)!s} without task data: {msg}",
                                  body=_clip(p))
    inner: JsonObject = d["data"] if isinstance(d.get("data"), dict) else {}
    task_id = inner.get("id") or d.get("task_id") or d.get("id")
    task_id = _require_id(task_id, "comet")
    # The inner object is the official task; the outer status is CometAPI's own word for it.
    status_src = inner.get("status") if inner.get("status") is not None else d.get("status")
    status = _require_status(status_src, "comet")
    progress = parse_progress(inner.get("progress"))
    if progress is None:
        progress = parse_progress(d.get("progress"))
    outputs = _urls(inner.get("output"))
    if not outputs:
        outputs = _urls([d.get(k) for k in ("result_url", "video_url", "image_url") if d.get(k)])
    failure = _text(inner.get("failure")) or _text(d.get("fail_reason"))
    created = parse_time(inner.get("createdAt"))
    if created is None:
        created = parse_time(d.get("submit_time"))
    return Task(
        id=task_id,
        status=status,
        progress=progress,
        outputs=outputs,
        failure=failure,
        failure_code=_text(inner.get("failureCode")),
        created_at=created,
        estimated_cost=_credits(inner.get("estimatedCost")),
        cost=_credits(inner.get("cost")),
        model=_text(d.get("action")),
        dialect="comet",
        raw=p,
    )


def _is_not_exist(value: object) -> bool:
    return isinstance(value, str) and "task_not_exist" in value.lower()


# --- useapi.net / makevid.ai ------------------------------------------------------------

def _parse_webapp(p: JsonObject, dialect: str) -> Task:
    # useapi addresses a task by its long taskId ("user:…-task:<uuid>"), so that is the id
    # to GET again; makevid only has the uuid.
    task_id = _require_id(p.get("taskId") or p.get("id"), dialect)
    status = _require_status(p.get("status"), dialect)
    failure, failure_code = _webapp_error(p.get("error"))
    outputs: list[str] = []
    artifacts = p.get("artifacts")
    if isinstance(artifacts, list):
        outputs = _urls([a.get("url") for a in artifacts if isinstance(a, dict)])
    return Task(
        id=task_id,
        status=status,
        progress=parse_progress(p.get("progressRatio")),
        outputs=outputs,
        failure=failure,
        failure_code=failure_code,
        created_at=parse_time(p.get("createdAt")),
        model=_text(p.get("taskType")),
        dialect=dialect,
        raw=p,
    )


def _webapp_error(err: object) -> tuple[str | None, str | None]:
    if err is None or err == "" or err == {}:
        return None, None
    if isinstance(err, dict):
        text = next((_text(err.get(k)) for k in ("errorMessage", "message", "error") if _text(err.get(k))), None)
        code = _text(err.get("reason")) or _text(err.get("code"))
        if code is None and _text(err.get("moderation_category")):
            code = "SAFETY.INPUT"
        return text or code or "failed", code
    return _text(err), None


def _parse_useapi(p: JsonObject) -> Task:
    return _parse_webapp(p, "useapi")


def _parse_makevid(p: JsonObject) -> Task:
    inner = p.get("task")
    if inner is None:
        inner = p  # tolerate an unwrapped answer, as public makevid clients do
    if not isinstance(inner, dict):
        raise ResponseFormatError(f"makevid 'task' is {type(inner).__name__}, not an object", body=_clip(p))
    task = _parse_webapp(inner, "makevid")
    return task.model_copy(update={"raw": p})


_PARSERS: dict[str, Callable[[JsonObject], Task]] = {
    "runway": _parse_runway,
    "comet": _parse_comet,
    "useapi": _parse_useapi,
    "makevid": _parse_makevid,
}


# --- field readers ----------------------------------------------------------------------

def parse_progress(value: object) -> float | None:
    """0..1 from a float, an int, a numeric string ("0.45", "1") or a percentage ("45%")."""
    if value is None or isinstance(value, bool):
        return None
    percent = False
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith("%"):
            percent, text = True, text[:-1].strip()
        if len(text) > 40:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    if percent or number > 1.0:
        number = number / 100.0
    return min(1.0, max(0.0, number))


def parse_time(value: object) -> datetime | None:
    """ISO-8601 (with ``Z`` or an offset) or a unix timestamp; always timezone-aware."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            if value <= 0 or math.isnan(value) or value > 1e11:
                return None
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str) and 0 < len(value) <= 64:
            text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _require_id(value: object, dialect: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ResponseFormatError(f"{dialect} task has no usable id (got {_clip(value, 80)!r})")
    text = str(value)
    if len(text) > 2048:
        raise ResponseFormatError(f"{dialect} task id is {len(text)} characters long")
    return text


def _require_status(value: object, dialect: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ResponseFormatError(f"{dialect} task has no usable status (got {_clip(value, 80)!r})")
    return normalize_status(value[:200])


def _urls(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v.strip()]


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value)
    if not text.strip():
        return None
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _credits(value: object) -> float | None:
    if isinstance(value, dict):
        value = value.get("credits")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _clip(value: object, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"

"""What to do with each answer or failure: map it to our errors, or retry after a delay.

The sync and async clients run the same decisions; only their loops differ.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from runway_nb import errors

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The connection never opened, so the server cannot have seen the request: safe to resend
# even a paid create.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
TRANSPORT_ERRORS = (httpx.TransportError,)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0  # a server asking for longer than this gets an error instead

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with jitter: 0.5, 1, 2, 4, 8 s (each reduced by up to 25 %)."""
        r: float = (rng or random).random()
        return float(min(self.base_delay * (2 ** attempt), self.max_delay) * (1 - 0.25 * r))


@dataclass(frozen=True)
class Retry:
    delay: float


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        text = response.text
        return text[:2000] if text else None


def _message(body: Any, status: int) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:2000]
            nested = value.get("message") if isinstance(value, dict) else None
            if isinstance(nested, str):
                return nested[:2000]
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return f"HTTP {status}"


def is_daily_limit(body: Any) -> bool:
    return "daily" in _message(body, 429).lower()


def error_for(response: httpx.Response, what: str) -> errors.APIError:
    """The typed error for a non-2xx answer. ``what`` names the request, e.g. 'GET task abc'."""
    status = response.status_code
    body = _body(response)
    msg = f"{what}: HTTP {status}: {_message(body, status)}"
    if status == 400 or status == 422:
        issues = body.get("issues") if isinstance(body, dict) and isinstance(body.get("issues"), list) else []
        if issues:
            details = "; ".join(_issue_text(i) for i in issues[:10])
            msg = f"{msg} ({details})"
        return errors.BadRequestError(msg, status_code=status, body=body, issues=issues)
    if status == 401:
        return errors.AuthenticationError(
            msg + " — check the API key (it should look like key_ followed by 128 hex characters) "
                  "and that the base URL is the developer API (api.dev.runwayml.com)",
            status_code=status, body=body)
    if status == 403:
        return errors.PermissionDeniedError(msg, status_code=status, body=body)
    if status == 404:
        return errors.NotFoundError(msg, status_code=status, body=body)
    if status == 429:
        retry_after = retry_after_seconds(response)
        if is_daily_limit(body):
            return errors.DailyLimitError(msg + " — the daily generation limit counts a rolling 24 h window; "
                                                "retrying now will not help", body=body, retry_after=retry_after)
        return errors.RateLimitError(msg, body=body, retry_after=retry_after)
    if status >= 500:
        return errors.ServerError(msg, status_code=status, body=body)
    return errors.APIError(msg, status_code=status, body=body)


def _issue_text(issue: Any) -> str:
    if not isinstance(issue, dict):
        return str(issue)[:200]
    path = issue.get("path")
    where = ".".join(str(p) for p in path) if isinstance(path, list) and path else ""
    message = str(issue.get("message", ""))[:200]
    return f"{where}: {message}" if where else message


def decide_read(attempt: int, policy: RetryPolicy, *, response: httpx.Response | None = None,
                exc: BaseException | None = None, what: str) -> Retry | BaseException | None:
    """For GET/DELETE/uploads: None = accept the response; Retry = wait and resend; else raise it."""
    if exc is not None:
        if isinstance(exc, TRANSPORT_ERRORS) and attempt < policy.max_retries:
            return Retry(policy.backoff(attempt))
        return _transport_error(exc, what)
    assert response is not None
    if response.status_code < 400:
        return None
    err = error_for(response, what)
    if response.status_code in RETRY_STATUSES and attempt < policy.max_retries \
            and not isinstance(err, errors.DailyLimitError):
        return _retry_for(response, attempt, policy, err)
    return err


def decide_create(attempt: int, policy: RetryPolicy, *, response: httpx.Response | None = None,
                  exc: BaseException | None = None, what: str, endpoint: str) -> Retry | BaseException | None:
    """For task-creating POSTs: resend only when the server cannot have made a task."""
    if exc is not None:
        if isinstance(exc, NEVER_SENT):
            if attempt < policy.max_retries:
                return Retry(policy.backoff(attempt))
            return _transport_error(exc, what)
        return errors.OutcomeUnknownError(_unknown_text(endpoint, f"{type(exc).__name__} before an answer"),
                                          endpoint=endpoint, cause=exc)
    assert response is not None
    if response.status_code < 400:
        return None
    err = error_for(response, what)
    if isinstance(err, errors.DailyLimitError):
        return err
    if response.status_code in (408, 429):  # refused before any work: no task was made
        if attempt < policy.max_retries:
            return _retry_for(response, attempt, policy, err)
        return err
    if response.status_code >= 500:
        out = errors.OutcomeUnknownError(_unknown_text(endpoint, f"HTTP {response.status_code}"), endpoint=endpoint,
                                         cause=err)
        return out
    return err


def _retry_for(response: httpx.Response, attempt: int, policy: RetryPolicy,
               err: BaseException) -> Retry | BaseException:
    after = retry_after_seconds(response)
    if after is not None:
        if after > policy.max_retry_after:
            return err
        return Retry(after + random.random() * 0.1)
    return Retry(policy.backoff(attempt))


def _transport_error(exc: BaseException, what: str) -> BaseException:
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(f"{what}: no answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return errors.APIConnectionError(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
    return exc


def _unknown_text(endpoint: str, why: str) -> str:
    return (f"The request to create a {endpoint} task may have reached the server ({why}), but no answer "
            f"arrived. It was not sent again, because a second request could create and bill a second "
            f"task. To find out: look for the task in your Runway dashboard (dev.runwayml.com, Tasks/Usage) "
            f"or run `%runway history`; submit again only if it is not there.")

"""The error classes: names that do not shadow builtins, and the deprecated old names."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from runway_nb import errors


def test_new_names_are_also_the_builtin_exceptions() -> None:
    with pytest.raises(TimeoutError) as timeout:  # the builtin
        raise errors.APITimeoutError("no answer in time")
    assert isinstance(timeout.value, errors.RunwayError)
    assert str(timeout.value) == "no answer in time" and timeout.value.task is None

    with pytest.raises(ConnectionError) as refused:  # the builtin
        raise errors.APIConnectionError("refused", body={"why": "closed"})
    assert isinstance(refused.value, errors.APIError) and isinstance(refused.value, errors.RunwayError)
    assert str(refused.value) == "refused" and refused.value.message == "refused"
    assert refused.value.body == {"why": "closed"} and refused.value.status_code is None


def test_except_runway_error_still_catches_both() -> None:
    for exc in (errors.APITimeoutError("slow"), errors.APIConnectionError("reset")):
        with pytest.raises(errors.RunwayError):
            raise exc


def test_old_names_are_deprecated_aliases() -> None:
    with pytest.warns(DeprecationWarning, match="APITimeoutError"):
        assert errors.TimeoutError is errors.APITimeoutError
    with pytest.warns(DeprecationWarning, match="APIConnectionError"):
        assert errors.ConnectionError is errors.APIConnectionError
    with pytest.warns(DeprecationWarning):
        from runway_nb.errors import TimeoutError as OldTimeout
    assert OldTimeout is errors.APITimeoutError
    with pytest.raises(AttributeError, match="NoSuchError"):
        errors.NoSuchError  # noqa: B018 - the attribute access is the test


def test_old_names_are_not_in_the_namespace() -> None:
    assert "TimeoutError" not in vars(errors) and "ConnectionError" not in vars(errors)
    assert "TimeoutError" not in errors.__all__ and "ConnectionError" not in errors.__all__
    assert {"APITimeoutError", "APIConnectionError"} <= set(errors.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the star import must not touch the deprecated names
        namespace: dict[str, object] = {}
        exec("from runway_nb.errors import *", namespace)
    assert "TimeoutError" not in namespace and "ConnectionError" not in namespace
    assert set(errors.__all__) <= set(namespace)


def test_star_import_keeps_the_builtins_in_a_fresh_interpreter() -> None:
    code = ("import builtins\n"
            "from runway_nb.errors import *\n"
            "assert TimeoutError is builtins.TimeoutError and ConnectionError is builtins.ConnectionError\n"
            "assert issubclass(APITimeoutError, TimeoutError) and issubclass(APIConnectionError, ConnectionError)\n")
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True)


def test_task_errors_read_the_task() -> None:
    class Finished:
        id = "t-1"
        failure = "moderated"
        failure_code = "SAFETY.INPUT.TEXT"

    failed = errors.TaskFailedError(Finished())
    assert failed.failure_code == "SAFETY.INPUT.TEXT" and failed.hint == errors.failure_hint("SAFETY.INPUT")
    assert str(failed).startswith("Task t-1 failed [SAFETY.INPUT.TEXT]: moderated.")
    assert str(errors.TaskCancelledError(Finished())) == "Task t-1 was cancelled."

"""Retries and timeouts of direct calls: attempts count from 1; definition errors never retry."""

import threading
import time

import pytest

from rillet import RecoverableError, current_context, task, workflow
from rillet.errors import (
    CompileError,
    DefinitionError,
    TaskTimeoutError,
    TypeMismatchError,
    UserCodeError,
)


def test_failing_twice_then_succeeding_with_two_retries() -> None:
    attempts: list[int] = []

    @task(retries=2)
    def flaky(x: int) -> int:
        attempts.append(current_context().attempt)
        if len(attempts) < 3:
            raise RecoverableError("not yet")
        return x

    assert flaky(x=7) == 7
    assert attempts == [1, 2, 3]

    attempts.clear()

    @workflow
    def wf(x: int) -> int:
        return flaky(x=x)

    assert wf(x=8) == 8
    assert attempts == [1, 2, 3]


def test_retries_exhausted_raise_the_last_error() -> None:
    attempts: list[int] = []

    @task(retries=1)
    def always(x: int) -> int:
        attempts.append(current_context().attempt)
        raise ValueError(f"attempt {attempts[-1]}")

    with pytest.raises(ValueError, match="attempt 2"):
        always(x=1)
    assert attempts == [1, 2]

    attempts.clear()

    @workflow
    def wf(x: int) -> int:
        return always(x=x)

    with pytest.raises(UserCodeError, match="ValueError: attempt 2") as info:
        wf(x=1)
    assert isinstance(info.value.__cause__, ValueError)
    assert attempts == [1, 2]


def test_any_exception_is_retried_not_only_recoverable_error() -> None:
    attempts: list[int] = []

    @task(retries=1)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise KeyError("first")
        return "ok"

    assert flaky() == "ok" and len(attempts) == 2


def test_without_retries_there_is_one_attempt() -> None:
    attempts: list[int] = []

    @task
    def once() -> None:
        attempts.append(current_context().attempt)
        raise RecoverableError("no retries declared")

    with pytest.raises(RecoverableError):
        once()
    assert attempts == [1]


@pytest.mark.parametrize("error", [DefinitionError("bad"), CompileError("bad")])
def test_definition_errors_are_never_retried(error: Exception) -> None:
    attempts: list[int] = []

    @task(retries=3)
    def defines() -> None:
        attempts.append(1)
        raise error

    with pytest.raises(DefinitionError):
        defines()
    assert attempts == [1]


def test_a_workflow_compiled_inside_a_task_fails_once() -> None:
    attempts: list[int] = []

    @task
    def inc(x: int) -> int:
        return x + 1

    @task(retries=3)
    def builds() -> int:
        attempts.append(1)

        @workflow
        def bad(x: int) -> int:
            return inc(x="no")  # type: ignore[arg-type]

        return 0

    @workflow
    def wf() -> int:
        return builds()

    # A definition error reaches the caller as it is, like one in a dynamic's body.
    with pytest.raises(TypeMismatchError, match="node 'inc' input 'x' expects int"):
        wf()
    assert attempts == [1]


def test_the_attempt_is_back_to_one_after_a_retried_task() -> None:
    seen: list[int] = []

    @task(retries=1)
    def flaky() -> None:
        if current_context().attempt == 1:
            raise RuntimeError("again")

    @task
    def after() -> int:
        seen.append(current_context().attempt)
        return 0

    @workflow
    def wf() -> int:
        flaky()
        return after()

    wf()
    assert seen == [1]


# -- timeouts -------------------------------------------------------------------------


@task(timeout=0.2)
def sleepy(seconds: float) -> str:
    time.sleep(seconds)
    return "awake"


def test_a_task_past_its_timeout_fails_with_task_timeout_error() -> None:
    started = time.monotonic()
    with pytest.raises(TaskTimeoutError, match="ran past its timeout of 0.2s"):
        sleepy(seconds=5)
    assert time.monotonic() - started < 2
    assert sleepy(seconds=0) == "awake"
    assert isinstance(TaskTimeoutError("x"), TimeoutError)


def test_a_timeout_in_a_workflow_fails_the_workflow() -> None:
    @workflow
    def wf(seconds: float) -> str:
        return sleepy(seconds=seconds)

    with pytest.raises(UserCodeError, match="TaskTimeoutError") as info:
        wf(seconds=5)
    assert isinstance(info.value.__cause__, TaskTimeoutError)
    assert info.value.node_id == "sleepy"
    assert wf(seconds=0) == "awake"


def test_a_timed_out_attempt_is_retried() -> None:
    attempts: list[int] = []

    @task(timeout=0.2, retries=1)
    def slow_then_fast() -> int:
        attempt = current_context().attempt
        attempts.append(attempt)
        if attempt == 1:
            time.sleep(5)
        return attempt

    assert slow_then_fast() == 2
    assert attempts == [1, 2]


def test_timeouts_outside_the_main_thread() -> None:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            sleepy(seconds=5)
        except BaseException as exc:
            box["error"] = exc
        box["fast"] = sleepy(seconds=0)

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert isinstance(box["error"], TaskTimeoutError)
    assert box["fast"] == "awake"
    assert time.monotonic() - started < 2


def test_an_enclosing_deadline_that_comes_first_governs() -> None:
    @task(timeout=5)
    def inner() -> str:
        time.sleep(5)
        return "never"

    @task(timeout=0.2)
    def outer() -> str:
        return inner()

    started = time.monotonic()
    with pytest.raises(TaskTimeoutError, match=r"outer' ran past its timeout of 0.2s"):
        outer()
    assert time.monotonic() - started < 2


def test_a_nested_timeout_leaves_the_enclosing_one_armed() -> None:
    @task(timeout=0.1)
    def quick() -> str:
        return "quick"

    @task(timeout=0.3)
    def outer() -> str:
        assert quick() == "quick"
        time.sleep(5)
        return "never"

    started = time.monotonic()
    with pytest.raises(TaskTimeoutError, match=r"outer' ran past its timeout of 0.3s"):
        outer()
    assert time.monotonic() - started < 2

"""The direct runner: plans, slots, context state, sinks, failures and timeouts in memory."""

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rillet import conditional, current_context, map_task, task, workflow
from rillet.engine._attempts import attempt_runner, call_with_timeout
from rillet.engine._context import STATE, MemorySink
from rillet.engine._direct import (
    check_map_ratio,
    plan_for,
    run_detached,
    run_direct,
    task_callable,
)
from rillet.errors import TaskTimeoutError, TypeMismatchError, UserCodeError


@task
def inc(x: int) -> int:
    return x + 1


@task
def train(lr: float) -> float:
    ctx = current_context()
    ctx.log_param("lr", lr)
    ctx.log_metric("loss", 0.5, step=1)
    ctx.log_metric("loss", 0.25, step=2)
    ctx.checkpoint.write(b"epoch-2")
    return lr


@workflow
def chain(x: int) -> int:
    return inc(x=inc(x=x))


@workflow
def sub(lr: float) -> float:
    return train(lr=lr)


@workflow
def trains(lr: float) -> float:
    a = train(lr=lr)
    return sub(lr=a)


@pytest.fixture(autouse=True)
def _state_is_clean() -> Iterator[None]:
    yield
    assert STATE.sink is None
    assert STATE.node_id == ""
    assert STATE.prefix == ""
    assert STATE.attempt == 1


def test_a_plan_is_built_once_per_spec() -> None:
    plan = plan_for(chain.spec)
    assert plan_for(chain.spec) is plan
    assert plan_for(workflow(chain.fn).spec) is not plan
    assert [step.node_id for step in plan.steps] == ["inc", "inc-1"]
    assert plan.n_slots == 3  # the input and one output per node


def test_run_direct_takes_resolved_inputs() -> None:
    assert run_direct(chain.spec, {"x": 1}) == {"o0": 3}


def test_a_plain_task_is_called_as_the_function_itself() -> None:
    assert task_callable(inc) is inc.fn

    @task(retries=1)
    def retried(x: int) -> int:
        return x

    @task(timeout=1)
    def timed(x: int) -> int:
        return x

    assert task_callable(retried) is not retried.fn
    assert task_callable(timed)(x=2) == 2


def test_params_metrics_and_checkpoints_reach_the_runs_sink() -> None:
    sink = MemorySink("exec-1")
    STATE.sink = sink
    try:
        assert trains(lr=0.1) == 0.1
    finally:
        STATE.sink = None
    assert sink.params == {"train": {"lr": 0.1}, "sub/train": {"lr": 0.1}}
    assert sink.metrics["train"] == [("loss", 0.5, 1), ("loss", 0.25, 2)]
    assert sink.metrics["sub/train"] == [("loss", 0.5, 1), ("loss", 0.25, 2)]
    assert sink.checkpoints == {"train": b"epoch-2", "sub/train": b"epoch-2"}


def test_each_direct_call_has_a_memory_sink_of_its_own() -> None:
    seen: list[object] = []

    @task
    def grab() -> str:
        ctx = current_context()
        seen.append(ctx.sink)
        return ctx.execution_id

    @workflow
    def wf() -> str:
        return grab()

    ids = [wf(), wf(), grab()]
    assert all(i.startswith("local-") for i in ids)
    assert len(set(ids)) == 3  # every direct call is an execution of its own
    assert all(isinstance(s, MemorySink) for s in seen)
    assert len({id(s) for s in seen}) == 3


def test_run_detached_keeps_the_context_of_a_running_task() -> None:
    sink = MemorySink("outer")
    STATE.sink, STATE.node_id = sink, "caller"
    try:
        assert run_detached("ignored", lambda: current_context().node_id) == "caller"
    finally:
        STATE.sink, STATE.node_id = None, ""
    assert run_detached("fresh", lambda: current_context().node_id) == "fresh"


def test_state_is_restored_after_a_failure() -> None:
    @task
    def fail() -> int:
        raise RuntimeError("no")

    @workflow
    def inner() -> int:
        return fail()

    @workflow
    def wf() -> int:
        return inner()

    with pytest.raises(UserCodeError) as info:
        wf()
    assert info.value.node_id == "inner/fail"
    with pytest.raises(RuntimeError):
        fail()


def test_user_code_error_fields() -> None:
    @task
    def bad(x: int) -> int:
        raise LookupError(f"missing {x}")

    @workflow
    def wf(x: int) -> int:
        return inc(x=bad(x=x))

    with pytest.raises(UserCodeError) as info:
        wf(x=3)
    err = info.value
    assert err.node_id == "bad"
    assert err.error_type == "LookupError"
    assert err.error_message == "missing 3"
    assert err.execution_id is None
    assert isinstance(err.__cause__, LookupError)
    assert str(err) == (
        f"workflow '{wf.name}' failed at node 'bad': LookupError: missing 3"
    )


def test_interrupts_are_not_wrapped() -> None:
    @task
    def interrupted(x: int) -> int:
        raise KeyboardInterrupt

    @workflow
    def plain(x: int) -> int:
        return interrupted(x=x)

    @workflow
    def in_an_arm(x: int) -> int:
        return conditional("c").if_(x > 0).then(interrupted(x=x)).else_().then(inc(x=x))

    with pytest.raises(KeyboardInterrupt):
        plain(x=1)
    with pytest.raises(KeyboardInterrupt):
        in_an_arm(x=1)
    STATE.node_id = ""  # an interrupt leaves the run as it stood


def test_the_same_workflow_in_many_threads() -> None:
    @task
    def slow_inc(x: int) -> int:
        time.sleep(0.0005)
        assert "slow_inc" in current_context().node_id
        return x + 1

    @workflow
    def wf(x: int) -> list[int]:
        y = slow_inc(x=slow_inc(x=x))
        return map_task(slow_inc)(x=[x, y])

    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(20):
                results[i] = wf(x=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == {i: [i + 1, i + 3] for i in range(8)}


def test_a_dynamic_compile_error_is_raised_as_it_is() -> None:
    from rillet import dynamic

    @dynamic
    def bad(k: int) -> int:
        return inc(x=str(k))

    @workflow
    def wf(k: int) -> int:
        return inc(x=bad(k=k))

    with pytest.raises(TypeMismatchError):
        wf(k=1)


def test_map_ratio_check() -> None:
    check_map_ratio("m", 10, 1, 0.9, None)
    check_map_ratio("m", 0, 0, 1.0, None)
    with pytest.raises(UserCodeError, match="map node 'm': 2 of 10 elements failed, below"):
        check_map_ratio("m", 10, 2, 0.9, ValueError("x"))


# -- timeouts ---------------------------------------------------------------------------


@contextlib.contextmanager
def _enclosing_timer(handler: Any, seconds: float) -> Iterator[None]:
    """A SIGALRM handler and timer of the caller's, as an enclosing timeout sets them;
    the test's own are put back afterwards."""
    previous_handler = signal.signal(signal.SIGALRM, handler)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *previous_timer)
        signal.signal(signal.SIGALRM, previous_handler)


def test_call_with_timeout_restores_the_signal_handler_and_an_enclosing_timer() -> None:
    def handler(signum, frame):  # type: ignore[no-untyped-def]
        raise AssertionError("the enclosing timer fired")

    with _enclosing_timer(handler, 30):
        assert call_with_timeout(lambda: "done", {}, 0.5) == "done"
        with pytest.raises(TaskTimeoutError):
            call_with_timeout(lambda: time.sleep(5), {}, 0.05)
        assert signal.getsignal(signal.SIGALRM) is handler
        delay, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < delay <= 30


def test_a_task_that_catches_every_exception_still_times_out() -> None:
    swallowed: list[Exception] = []

    def stubborn() -> str:
        for _ in range(100):  # 5 s if the timeout were swallowed
            try:
                time.sleep(0.05)
            except Exception as exc:  # what many tasks do around a flaky call
                swallowed.append(exc)
        return "ran to the end"

    with pytest.raises(TaskTimeoutError, match="ran past its timeout of 0.2s"):
        call_with_timeout(stubborn, {}, 0.2)
    assert swallowed == []


def test_an_enclosing_timer_due_sooner_is_left_to_fire() -> None:
    fired: list[int] = []

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        fired.append(signum)
        raise TimeoutError("enclosing")

    with _enclosing_timer(handler, 0.1):
        with pytest.raises(TimeoutError, match="enclosing"):
            call_with_timeout(lambda: time.sleep(5), {}, 10)
        assert fired == [signal.SIGALRM]


def test_attempt_runner_counts_attempts_and_restores_the_callers() -> None:
    seen: list[int] = []

    def flaky() -> str:
        seen.append(STATE.attempt)
        if len(seen) < 3:
            raise RuntimeError("again")
        return "ok"

    STATE.attempt = 7
    try:
        assert attempt_runner(flaky, 2, None)() == "ok"
        assert STATE.attempt == 7
    finally:
        STATE.attempt = 1
    assert seen == [1, 2, 3]

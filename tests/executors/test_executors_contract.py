"""The Executor contract, run against every implementation (inline, processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tasks_for_tests as t

from rillet.executors._inline import InlineExecutor
from rillet.executors._processes import ProcessExecutor


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(max_parallel=2)
    yield executor
    executor.shutdown()


@pytest.fixture(params=["inline", "processes"])
def executor(request: pytest.FixtureRequest, pool: ProcessExecutor) -> Iterator[object]:
    if request.param == "inline":
        inline = InlineExecutor()
        yield inline
        inline.shutdown()
    else:
        yield pool


def test_success_returns_outputs_and_identity(executor, tmp_path: Path) -> None:
    before = time.time()
    r = t.run_one(executor, t.job(t.add, tmp_path, node="n3", attempt=2, inputs={"x": 2, "y": 3}))
    assert r.ok and r.outputs == 5
    assert (r.execution_id, r.node_id, r.attempt) == ("e1", "n3", 2)
    assert r.error_type is None and r.traceback is None and not r.timed_out
    assert before <= r.started_at <= r.ended_at <= time.time()
    assert isinstance(r.pid, int)
    assert executor.running() == 0


def test_user_error_has_type_message_and_traceback(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.fail, tmp_path, inputs={"x": 7}))
    assert not r.ok
    assert r.error_type == "ValueError"
    assert r.error_message == "bad input 7"
    assert "tasks_for_tests.py" in r.traceback
    assert 'raise ValueError(f"bad input {x}")' in r.traceback
    assert "rillet/executors" not in r.traceback  # starts at the user's code
    assert r.retryable and not r.timed_out


def test_definition_error_is_not_retryable(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.misdefined, tmp_path))
    assert not r.ok and r.error_type == "DefinitionError" and r.retryable is False


def test_stdout_and_stderr_are_captured_per_attempt(executor, tmp_path: Path) -> None:
    first = t.run_one(executor, t.job(t.noisy, tmp_path, inputs={"word": "one"}))
    second = t.run_one(executor, t.job(t.noisy, tmp_path, attempt=2, inputs={"word": "two"}))
    assert "out:one" in first.logs and "err:one" in first.logs
    assert "out:two" in second.logs and "err:two" in second.logs
    assert "one" not in second.logs and "two" not in first.logs


def test_checkpoint_written_by_one_attempt_is_read_by_the_next(executor, tmp_path: Path) -> None:
    first = t.run_one(executor, t.job(t.resumable, tmp_path, attempt=1))
    assert not first.ok and first.error_type == "RecoverableError" and first.retryable
    assert (tmp_path / "n0.checkpoint").read_bytes() == b"halfway"
    second = t.run_one(executor, t.job(t.resumable, tmp_path, attempt=2))
    assert second.ok and second.outputs == "halfway then done in attempt 2"


def test_params_and_metrics_come_back_with_timestamps(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.tracked, tmp_path, inputs={"lr": 0.1}))
    assert r.ok
    assert r.params == [("lr", 0.1)]
    assert [(k, v, s, i) for k, v, s, _, i in r.metrics] == [("loss", 0.5, 1, None),
                                                              ("loss", 0.25, 2, None)]
    assert all(r.started_at <= ts <= r.ended_at for *_, ts, _ in r.metrics)
    assert r.outputs == str(tmp_path / "work" / "n0" / "1")
    assert Path(r.outputs).is_dir()


def test_map_returns_results_in_order(executor, tmp_path: Path) -> None:
    xs = list(range(300))
    r = t.run_one(executor, t.job(t.inc, tmp_path, inputs={"x": xs}, mapped=("x",)))
    assert r.ok and r.outputs == [x + 1 for x in xs]


def test_map_with_fixed_inputs_and_several_mapped(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.add, tmp_path, inputs={"x": [1, 2, 3], "y": 10}, mapped=("x",)))
    assert r.outputs == [11, 12, 13]
    r = t.run_one(
        executor, t.job(t.add, tmp_path, inputs={"x": [1, 2], "y": (5, 6)}, mapped=("x", "y"))
    )
    assert r.outputs == [6, 8]


def test_map_over_nothing_is_empty(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.inc, tmp_path, inputs={"x": []}, mapped=("x",)))
    assert r.ok and r.outputs == []


def test_map_with_unequal_lengths_fails(executor, tmp_path: Path) -> None:
    r = t.run_one(
        executor, t.job(t.add, tmp_path, inputs={"x": [1, 2], "y": [1]}, mapped=("x", "y"))
    )
    assert not r.ok and r.error_type == "UserCodeError" and "different lengths" in r.error_message
    assert not r.retryable  # another attempt would meet the same inputs


def test_map_element_failure_fails_the_map(executor, tmp_path: Path) -> None:
    r = t.run_one(
        executor,
        t.job(t.fail_on_multiples_of_three, tmp_path, inputs={"x": list(range(1, 40))},
              mapped=("x",)),
    )
    assert not r.ok and r.error_type == "ValueError" and "multiple of three" in r.error_message
    assert "tasks_for_tests.py" in r.traceback


def test_map_min_success_ratio_keeps_none_for_failures(executor, tmp_path: Path) -> None:
    xs = list(range(30))
    r = t.run_one(
        executor,
        t.job(t.fail_on_multiples_of_three, tmp_path, inputs={"x": xs}, mapped=("x",),
              min_success_ratio=0.6),
    )
    assert r.ok
    assert r.outputs == [None if x % 3 == 0 else x * 10 for x in xs]


def test_map_below_min_success_ratio_fails(executor, tmp_path: Path) -> None:
    r = t.run_one(
        executor,
        t.job(t.fail_on_multiples_of_three, tmp_path, inputs={"x": list(range(30))},
              mapped=("x",), min_success_ratio=0.9),
    )
    assert not r.ok and r.error_type == "UserCodeError"
    assert "10 of 30 elements failed" in r.error_message
    assert "ValueError: 0 is a multiple of three" in r.error_message
    assert "multiple of three" in r.traceback


def test_map_logs_are_concatenated_in_order(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.noisy_element, tmp_path, inputs={"x": list(range(40))},
                                  mapped=("x",)))
    assert r.ok
    lines = [line for line in r.logs.splitlines() if line.startswith("element")]
    assert lines == [f"element {x}" for x in range(40)]


def test_timeout_ends_the_attempt(executor, tmp_path: Path) -> None:
    started = time.monotonic()
    r = t.run_one(executor, t.job(t.sleepy, tmp_path, inputs={"seconds": 30}, timeout=0.5))
    assert time.monotonic() - started < 10
    assert not r.ok and r.timed_out and r.error_type == "TaskTimeoutError" and r.retryable
    assert "timeout of 0.5s" in r.error_message


def test_timeout_not_reached(executor, tmp_path: Path) -> None:
    r = t.run_one(executor, t.job(t.sleepy, tmp_path, inputs={"seconds": 0.05}, timeout=20))
    assert r.ok and r.outputs == 0.05


def test_map_timeout(executor, tmp_path: Path) -> None:
    r = t.run_one(
        executor,
        t.job(t.sleepy, tmp_path, inputs={"seconds": [0.2] * 50}, mapped=("seconds",), timeout=0.6),
    )
    assert not r.ok and r.timed_out
    r = t.run_one(executor, t.job(t.inc, tmp_path, inputs={"x": 1}))
    assert r.ok


def test_results_of_several_jobs_all_come_back(executor, tmp_path: Path) -> None:
    jobs = [t.job(t.inc, tmp_path, node=f"n{i}", inputs={"x": i}) for i in range(6)]
    pending = list(jobs)
    results = []
    while pending or executor.running():
        while pending and executor.submit(pending[0]):
            pending.pop(0)
        results.extend(executor.wait(5))
    assert sorted((r.node_id, r.outputs) for r in results) == sorted(
        (f"n{i}", i + 1) for i in range(6)
    )


def test_wait_without_work_returns_nothing(executor) -> None:
    started = time.monotonic()
    assert executor.wait(0.05) == []
    assert executor.wait(None) == []
    assert time.monotonic() - started < 2

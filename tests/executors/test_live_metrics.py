"""``StoppableExecutor``: metrics reach a listener as the task logs them, and ``stop``
ends the running attempt (its process group on the process executor), keeping the
steps logged so far (issue 18, early stopping)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import tasks_for_tests as t
from tasks_live import stepper

from rillet.engine._protocols import OutputStreamingExecutor, StoppableExecutor
from rillet.executors._inline import InlineExecutor
from rillet.executors._processes import ProcessExecutor


@pytest.fixture(params=["inline", "processes"])
def executor(request: pytest.FixtureRequest) -> Iterator[Any]:
    ex: Any = InlineExecutor() if request.param == "inline" else ProcessExecutor(max_parallel=1)
    assert isinstance(ex, StoppableExecutor)
    yield ex
    ex.shutdown()


def test_metrics_reach_the_listener_as_they_are_logged(executor: Any, tmp_path: Path) -> None:
    seen: list[tuple[str, str, float, int | None, float]] = []
    executor.listen(lambda job, key, value, step, at: seen.append(
        (job.node_id, key, value, step, time.time() - at)))
    job = dataclasses.replace(t.job(stepper, tmp_path, inputs={
        "steps": 3, "pause": 0.0, "child_pid_file": ""}), live_metrics=True)
    r = t.run_one(executor, job)
    assert r.ok and r.outputs == 3 and not r.stopped
    assert [(n, k, v, s) for n, k, v, s, _ in seen] == [("n0", "loss", 10.0 - i, i)
                                                         for i in range(3)]
    assert [(k, v, s) for k, v, s, *_ in r.metrics] == [("loss", 10.0 - i, i) for i in range(3)]
    seen.clear()
    quiet = dataclasses.replace(job, live_metrics=False)
    assert t.run_one(executor, quiet).ok and seen == []  # only jobs that ask stream


def test_stop_ends_the_attempt_and_keeps_its_steps(executor: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "child"

    def listener(job: Any, key: str, value: float, step: int | None, at: float) -> None:
        if step == 2:
            executor.stop(job.execution_id, job.node_id, "pruned at step 2")

    executor.listen(listener)
    inline = isinstance(executor, InlineExecutor)
    job = dataclasses.replace(t.job(stepper, tmp_path, inputs={
        "steps": 50, "pause": 0.0 if inline else 1.0,
        "child_pid_file": "" if inline else str(pid_file)}), live_metrics=True)
    started = time.monotonic()
    r = t.run_one(executor, job)
    assert time.monotonic() - started < 30  # 50 steps of 1 s unless stopped
    assert not r.ok and r.stopped and not r.retryable
    assert r.error_type == "AttemptStopped" and r.error_message == "pruned at step 2"
    assert [s for _, _, s, *_ in r.metrics] == [0, 1, 2]  # the steps logged so far
    if not inline:  # the worker and the task's own child process are gone
        assert r.pid is not None and not psutil.pid_exists(r.pid)
        child = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while psutil.pid_exists(child) and psutil.Process(child).status() != "zombie":
            assert time.monotonic() < deadline, "the task's child process survived"
            time.sleep(0.05)
    again = t.run_one(executor, dataclasses.replace(job, live_metrics=False, inputs={
        "steps": 1, "pause": 0.0, "child_pid_file": ""}))
    assert again.ok  # the executor runs the next attempt (a fresh worker)


def test_output_is_kept_only_once_it_is_polled(tmp_path: Path) -> None:
    """An engine without a log file never polls: the executor keeps nothing for it
    (a platform worker's or a tuning lane's would grow with every task's output)."""
    ex = ProcessExecutor(max_parallel=1)
    try:
        assert isinstance(ex, OutputStreamingExecutor)
        assert t.run_one(ex, t.job(t.noisy, tmp_path, inputs={"word": "unseen"})).ok
        assert ex.poll_output() == []  # nothing was kept before the first poll
        assert t.run_one(ex, t.job(t.noisy, tmp_path, inputs={"word": "seen"})).ok
        printed = "".join(text for _, _, text in ex.poll_output())
        assert "out:seen" in printed and "unseen" not in printed
    finally:
        ex.shutdown()

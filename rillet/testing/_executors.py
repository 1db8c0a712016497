"""``ExecutorContract``: attempts in, results out in completion order. A subclass
provides the ``executor`` fixture; the tasks below are importable by workers."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from rillet.engine._protocols import AttemptJob, AttemptResult, Executor
from rillet.sdk._task import task


@task
def contract_add(x: int, y: int) -> int:
    return x + y


@task
def contract_fail() -> None:
    raise ValueError("boom")


def run_one(executor: Executor, job: AttemptJob, limit: float = 120.0) -> AttemptResult:
    """Submit ``job`` and wait for its result (the executor's other results ignored)."""
    deadline = time.monotonic() + limit
    while not executor.submit(job):
        executor.wait(0.05)
        assert time.monotonic() < deadline, "the executor never accepted the job"
    while time.monotonic() < deadline:
        for r in executor.wait(1.0):
            if (r.execution_id, r.node_id, r.attempt) == (job.execution_id, job.node_id,
                                                          job.attempt):
                return r
    raise AssertionError(f"no result for {job.node_id} within {limit}s")


class ExecutorContract:
    """Subclass and provide ``executor`` (a fixture yielding a started executor)."""

    @pytest.fixture
    def executor(self) -> Any:  # pragma: no cover - every subclass provides it
        raise NotImplementedError("an ExecutorContract subclass provides `executor`")

    def _job(self, fn: Any, tmp: str, node: str, **inputs: Any) -> AttemptJob:
        return AttemptJob(execution_id="e1", node_id=node, attempt=1, task=fn,
                          inputs=inputs, checkpoint_path=os.path.join(tmp, node + ".ckpt"),
                          workdir=tmp)

    def test_has_a_name_and_a_capacity(self, executor: Any) -> None:
        assert isinstance(executor.name, str) and executor.name
        cpu, mem, gpu = executor.capacity()
        assert cpu > 0 and mem > 0 and gpu >= 0

    def test_success_and_failure(self, executor: Any, tmp_path: Any) -> None:
        ok = run_one(executor, self._job(contract_add, str(tmp_path), "n1", x=2, y=3))
        assert ok.ok and ok.outputs == 5 and ok.started_at <= ok.ended_at
        bad = run_one(executor, self._job(contract_fail, str(tmp_path), "n2"))
        assert not bad.ok and bad.error_type == "ValueError" and "boom" in (
            bad.error_message or "")
        assert executor.running() == 0

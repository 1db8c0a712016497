"""Time ``SqlMetadataStore.apply`` in a home on this machine (a script, not a test).

    .venv/bin/python benchmarks/store_apply.py [N]

typical batch: 1 node upsert (1 input, 1 output: 2 lineage rows), 1 attempt
upsert and 1 artifact record, in one transaction.
chain step: what the engine writes per task of a chain: the node SUCCEEDED
with its attempt and output artifact, and the next node RUNNING with its attempt.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from rillet.engine._records import (
    ArtifactRecord,
    AttemptRecord,
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
from rillet.store import Home

NOW = time.time()


def _digest(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _node(i: int, status: NodeStatus, outputs: bool) -> NodeRecord:
    return NodeRecord(
        execution_id="e1", node_id=f"n{i}", task="m:inc", kind="task", status=status,
        attempts=1, inputs={"x": _digest(i)}, outputs={"o0": _digest(i + 1)} if outputs else {},
        started_at=NOW, ended_at=NOW if outputs else None)


def _attempt(i: int, status: NodeStatus) -> AttemptRecord:
    return AttemptRecord(execution_id="e1", node_id=f"n{i}", attempt=1, status=status,
                         executor="inline", started_at=NOW, ended_at=NOW)


def _artifact(i: int) -> ArtifactRecord:
    return ArtifactRecord(hash=_digest(i), format="json", type={"type": "int"}, size=2,
                          inline=str(i), created_at=NOW)


def typical(i: int) -> Batch:
    return Batch(nodes=[_node(i, NodeStatus.SUCCEEDED, True)],
                 attempts=[_attempt(i, NodeStatus.SUCCEEDED)], artifacts=[_artifact(i + 1)])


def chain_step(i: int) -> Batch:
    return Batch(
        nodes=[_node(i, NodeStatus.SUCCEEDED, True), _node(i + 1, NodeStatus.RUNNING, False)],
        attempts=[_attempt(i, NodeStatus.SUCCEEDED), _attempt(i + 1, NodeStatus.RUNNING)],
        artifacts=[_artifact(i + 1)])


def measure(name: str, make: Callable[[int], Batch], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.open(os.path.join(tmp, "home"))
        store = home.store
        store.apply(Batch(executions=[ExecutionRecord(
            id="e1", workflow="m:wf", source="wf.py", spec_hash="s",
            status=ExecutionStatus.RUNNING, inputs={}, created_at=NOW)],
            nodes=[_node(0, NodeStatus.RUNNING, False)]))
        batches = [make(i) for i in range(n)]
        times = []
        for batch in batches:
            t0 = time.perf_counter()
            store.apply(batch)
            times.append(time.perf_counter() - t0)
        home.close()
    ms = sorted(t * 1000 for t in times)
    print(f"{name:14s} x{n}: mean {statistics.mean(ms):.4f} ms, "
          f"median {statistics.median(ms):.4f} ms, p90 {ms[int(0.9 * n)]:.4f} ms")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    measure("typical batch", typical, count)
    measure("chain step", chain_step, count)

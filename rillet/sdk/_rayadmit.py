"""Admission against a Ray cluster: before an execution starts, every task must fit
on at least one live node (CPU, memory, GPU and custom resources)."""

from __future__ import annotations

from typing import Any

from rillet.errors import DefinitionError


def check_cluster(executor: Any, asking: list[Any]) -> None:
    """Raise ``DefinitionError`` naming the first task no node of the cluster can hold
    (checked against the executor's recent view of the nodes, and against a fresh one
    before refusing: a run after a run does not ask the cluster again)."""
    from rillet.executors._ray import unplaceable

    nodes = executor.nodes(fresh=False)
    for node in asking:
        task = node.entity
        req = task.requests
        wants = (req.cpu_cores or 0.0, req.mem_bytes or 0, req.gpu_count or 0,
                 dict(getattr(req, "custom", None) or ()))
        problem = unplaceable(*wants, nodes)
        if problem:
            nodes = executor.nodes()
            problem = unplaceable(*wants, nodes)
        if problem:
            raise DefinitionError(
                f"task '{task.name}' (node '{node.id}') {problem}; lower the request or "
                "add a bigger node to the cluster")


def cluster_summary(executor: Any) -> str:
    """One line: the cluster's nodes and their total CPU, memory and GPUs."""
    nodes = executor.nodes()
    cpu = sum(n.get("CPU", 0.0) for n in nodes)
    mem = sum(n.get("memory", 0.0) for n in nodes)
    gpu = sum(n.get("GPU", 0.0) for n in nodes)
    biggest = max((n.get("CPU", 0.0) for n in nodes), default=0.0)
    return (f"Ray cluster: {len(nodes)} node(s), cpu={cpu:g}, mem={mem / 2**30:.1f}Gi, "
            f"gpu={gpu:g} (largest node cpu={biggest:g})")


def show_cluster(max_parallel: int | None) -> None:
    """Print the cluster's capacity (``rillet run --executor ray``) to stderr."""
    import sys

    from rillet.sdk._run import make_executor

    print(f"rillet: {cluster_summary(make_executor('ray', max_parallel))}", file=sys.stderr)

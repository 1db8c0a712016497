"""What ``rillet.run()`` returns: Execution and NodeExecution, read-only views
over the store's records, decoding output values only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rillet.engine._protocols import MetadataStore
from rillet.engine._records import ArtifactRecord, ExecutionRecord, ExecutionStatus, NodeStatus
from rillet.engine._values import ValueStore


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeExecution:
    id: str
    task: str
    kind: str
    status: NodeStatus
    attempts: int
    started_at: float | None
    ended_at: float | None
    error: str | None
    source_execution: str | None
    source_node: str | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def params_and_metrics(
    store: MetadataStore, execution_id: str
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The params and metrics of an execution, by node id."""
    params: dict[str, dict[str, Any]] = {}
    for p in store.params(execution_id):
        params.setdefault(p.node_id, {})[p.key] = p.value
    metrics: dict[str, list[dict[str, Any]]] = {}
    for m in store.metrics(execution_id):
        metrics.setdefault(m.node_id, []).append(
            {"key": m.key, "value": m.value, "step": m.step, "attempt": m.attempt,
             "timestamp": m.timestamp})
    return params, metrics


class Execution:
    """One execution of a workflow, as recorded."""

    def __init__(self, record: ExecutionRecord, store: MetadataStore, values: ValueStore,
                 workflow: Any = None) -> None:
        self.record = record
        self._store = store
        self._values = values
        self._workflow = workflow
        self._outputs: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def status(self) -> ExecutionStatus:
        return self.record.status

    @property
    def error(self) -> str | None:
        return self.record.error

    @property
    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = {name: self.output(name) for name in self.record.outputs or {}}
        return self._outputs

    def output(self, name: str) -> Any:
        """One output's value, loaded from the store (decoded by the declared type)."""
        if self._outputs is not None and name in self._outputs:
            return self._outputs[name]
        types = self._workflow.interface.outputs if self._workflow is not None else {}
        return self._values.load((self.record.outputs or {})[name], types.get(name))

    def output_artifacts(self) -> dict[str, ArtifactRecord | None]:
        """Each output's artifact record (None if the store has none), read at once."""
        hashes = self.record.outputs or {}
        found = self._store.artifacts(list(hashes.values()))
        return {name: found.get(digest) for name, digest in hashes.items()}

    def artifact(self, digest: str) -> ArtifactRecord | None:
        return self._store.artifacts([digest]).get(digest)

    @property
    def artifact_root(self) -> str | None:
        """The artifact store's root, when it is a local folder (for file:// URIs)."""
        return getattr(self._values.artifacts, "root", None)

    @property
    def nodes(self) -> list[NodeExecution]:
        params, metrics = params_and_metrics(self._store, self.id)
        return [
            NodeExecution(
                id=n.node_id, task=n.task, kind=n.kind, status=n.status, attempts=n.attempts,
                started_at=n.started_at, ended_at=n.ended_at, error=n.error,
                source_execution=n.source_execution, source_node=n.source_node,
                params=params.get(n.node_id, {}), metrics=metrics.get(n.node_id, []),
            )
            for n in self._store.nodes(self.id)
        ]

    def node(self, node_id: str) -> NodeExecution:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def __repr__(self) -> str:
        return f"Execution(id={self.id!r}, status={self.status.value!r})"

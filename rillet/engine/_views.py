"""What ``rillet.run()`` returns: Execution and NodeExecution, read-only views
over the store's records, decoding output values only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rillet.engine._protocols import MetadataStore
from rillet.engine._records import (
    ArtifactRecord,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
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
    # a map node: the elements that failed in its last attempt (min_success_ratio < 1)
    failed_elements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def failed_elements(store: MetadataStore, execution_id: str,
                    nodes: list[NodeRecord]) -> dict[str, list[dict[str, Any]]]:
    """The failed elements of each map node's last attempt: ``{"index", "attempt",
    "error_type", "error", "traceback", "logs"}`` each."""
    if not any(n.kind == "map" for n in nodes):
        return {}
    last = {n.node_id: n.attempts for n in nodes}
    out: dict[str, list[dict[str, Any]]] = {}
    for e in store.map_elements(execution_id):
        if e.attempt == last.get(e.node_id) and e.status is NodeStatus.FAILED:
            out.setdefault(e.node_id, []).append({
                "index": e.map_index, "attempt": e.attempt, "error_type": e.error_type,
                "error": e.error_message, "traceback": e.traceback, "logs": e.logs})
    return out


def params_and_metrics(
    store: MetadataStore, execution_id: str, nodes: list[NodeRecord] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The params and metrics of an execution, by node id. With its ``nodes``, a CACHED
    or RECOVERED node gets those of the attempt that produced its value (the last
    attempt of its source node, in the source execution)."""
    params, metrics = _own(store, execution_id)
    sources: dict[str, list[NodeRecord]] = {}
    for n in nodes or ():
        if n.source_execution and n.source_node and n.status in _REUSED:
            sources.setdefault(n.source_execution, []).append(n)
    for source, reused in sources.items():
        their_params, their_metrics = _own(store, source)
        for n in reused:
            assert n.source_node is not None
            got_metrics = their_metrics.get(n.source_node, [])
            last = max((m["attempt"] for m in got_metrics), default=None)
            if got_metrics:
                metrics[n.node_id] = [m for m in got_metrics if m["attempt"] == last]
            if n.source_node in their_params:
                params[n.node_id] = their_params[n.source_node]
    return params, metrics


_REUSED = frozenset({NodeStatus.CACHED, NodeStatus.RECOVERED})


def _own(store: MetadataStore, execution_id: str
         ) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    params: dict[str, dict[str, Any]] = {}
    for p in store.params(execution_id):
        params.setdefault(p.node_id, {})[p.key] = p.value
    metrics: dict[str, list[dict[str, Any]]] = {}
    for m in store.metrics(execution_id):
        metric = {"key": m.key, "value": m.value, "step": m.step, "attempt": m.attempt,
                  "timestamp": m.timestamp}
        if m.map_index is not None:
            metric["map_index"] = m.map_index  # logged by this element of a map node
        metrics.setdefault(m.node_id, []).append(metric)
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
    def name(self) -> str | None:
        """The name given at run time (``rillet run --name``), if any."""
        return self.record.name

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.record.tags)

    @property
    def workflow(self) -> str:
        """The workflow's ``module:qualname``."""
        return self.record.workflow

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs it ran with, loaded from the store (by the declared types when the
        workflow is known)."""
        types = self._workflow.interface.inputs if self._workflow is not None else None
        return {name: self._values.load(digest, self._type(digest, types, name))
                for name, digest in self.record.inputs.items()}

    def _type(self, digest: str, declared: dict[str, Any] | None, name: str) -> Any:
        """The declared type of a value, or (the workflow not at hand) the one it was
        stored with."""
        if declared is not None and name in declared:
            return declared[name]
        from rillet.types._descriptor import type_of

        record = self._store.artifacts([digest]).get(digest)
        return type_of(record.type) if record is not None else Any

    @property
    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = {name: self.output(name) for name in self.record.outputs or {}}
        return self._outputs

    def output(self, name: str) -> Any:
        """One output's value, loaded from the store (decoded by the declared type)."""
        if self._outputs is not None and name in self._outputs:
            return self._outputs[name]
        types = self._workflow.interface.outputs if self._workflow is not None else None
        digest = (self.record.outputs or {})[name]
        return self._values.load(digest, self._type(digest, types, name))

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
        records = self._store.nodes(self.id)
        params, metrics = params_and_metrics(self._store, self.id, records)
        failed = failed_elements(self._store, self.id, records)
        return [
            NodeExecution(
                id=n.node_id, task=n.task, kind=n.kind, status=n.status, attempts=n.attempts,
                started_at=n.started_at, ended_at=n.ended_at, error=n.error,
                source_execution=n.source_execution, source_node=n.source_node,
                params=params.get(n.node_id, {}), metrics=metrics.get(n.node_id, []),
                failed_elements=failed.get(n.node_id, []),
            )
            for n in records
        ]

    def node(self, node_id: str) -> NodeExecution:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def __repr__(self) -> str:
        return f"Execution(id={self.id!r}, status={self.status.value!r})"

"""The JSON shapes the services return: what ``--json`` prints and the API sends.
The server's pydantic schemas mirror these (a test keeps them equal)."""

from __future__ import annotations

from typing import Any

# pydantic (the server) reads these; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict


class ExecutionSummary(TypedDict):
    execution_id: str
    workflow: str
    status: str
    created_at: float
    started_at: float | None
    ended_at: float | None
    parent_id: str | None
    error: str | None


class NodeShape(TypedDict):
    node_id: str
    task: str
    kind: str
    status: str
    attempts: int
    started_at: float | None
    ended_at: float | None
    duration: float | None
    cache_key: str | None
    source_execution: str | None
    source_node: str | None
    inputs: dict[str, str]
    outputs: dict[str, str]
    error: str | None
    params: dict[str, Any]
    metrics: list[dict[str, Any]]


class ExecutionDetail(TypedDict):
    execution_id: str
    workflow: str
    source: str
    status: str
    parent_id: str | None
    error: str | None
    inputs: dict[str, str]
    outputs: dict[str, str] | None
    created_at: float
    started_at: float | None
    ended_at: float | None
    nodes: list[NodeShape]
    # each input as JSON when kept inline, else {type, hash, size, uri, format, pickled}
    input_values: dict[str, Any]
    project: str  # where it runs: the scope the roles of a token are checked in
    domain: str


class MetricColumns(TypedDict):
    """One metric of a node: its points' steps (null: not given) and values."""

    steps: list[int | None]
    values: list[float]


class ComparedExecution(TypedDict):
    """An execution as the compare page shows it (``GET /compare``)."""

    execution_id: str
    workflow: str
    status: str
    created_at: float
    started_at: float | None
    ended_at: float | None
    inputs: dict[str, str]
    input_values: dict[str, Any]
    params: dict[str, dict[str, Any]]  # node id -> {key: value}
    metrics: dict[str, dict[str, MetricColumns]]  # node id -> {key: columns}


class UploadShape(TypedDict):
    """A file uploaded for a launch: a File input is given as its ``ref``."""

    hash: str
    name: str
    size: int
    format: str  # file
    ref: str  # artifact:<hash>


class GraphNodeShape(TypedDict):
    node_id: str
    kind: str  # task | map | dynamic | eager | workflow | branch
    task: str  # the entity it runs (module:qualname), "" for a branch


class GraphEdgeShape(TypedDict):
    source: str
    target: str


class ExecutionGraph(TypedDict):
    """An execution's DAG from its compiled IR, nodes not started included."""

    execution_id: str
    planned: bool  # false: no IR is kept for it (the recorded nodes are all there is)
    source: str | None  # recorded (workflow_specs) | registered (its bundle's workflow)
    nodes: list[GraphNodeShape]
    edges: list[GraphEdgeShape]


class AttemptLogs(TypedDict):
    execution_id: str
    node_id: str
    attempt: int
    status: str
    logs: str
    traceback: str | None


class MapElementShape(TypedDict):
    map_index: int
    status: str
    attempt: int | None  # the attempt that recorded it (None: not recorded on its own)
    value: Any  # JSON when the map's output list is inline, else None
    error: str | None  # "Type: message"
    traceback: str | None
    logs: str


class EventShape(TypedDict):
    seq: int
    execution_id: str
    node_id: str
    kind: str
    status: str
    at: float
    data: dict[str, Any]


class LineageShape(TypedDict):
    ref: str
    direction: str
    artifacts: list[dict[str, Any]]


class CacheEntryShape(TypedDict):
    key: str
    task: str
    cache_version: str
    execution_id: str
    node_id: str
    outputs: dict[str, str]
    created_at: float
    last_used_at: float
    output_values: dict[str, Any]  # as ExecutionDetail.input_values: never decoded


class ArtifactShape(TypedDict):
    hash: str
    format: str
    type: dict[str, Any]
    size: int
    uri: str | None
    inline: str | None
    created_at: float
    purged: bool


class PruneShape(TypedDict):
    """What ``rillet prune`` freed (or, with ``dry_run``, would free)."""
    dry_run: bool
    freed_bytes: int  # the stored values' bytes
    purged_artifacts: int
    executions: int
    evicted_entries: int
    orphan_files: int
    stale_temp_files: int
    by_kind: dict[str, int]  # bytes by kind: values, work folders, checkpoints, logs, ...
    kept_for_models: list[str]  # values that would go but a registered model uses
    stored_bytes: int | None  # with max_size: what the stored values take after
    max_size: int | None


class ExplanationShape(TypedDict):
    node_id: str
    task: str
    status: str  # HIT, MISS, NOT CACHED, UNKNOWN
    reason: str
    source_execution: str | None
    source_node: str | None
    changed: list[dict[str, str]]


class CacheExplainShape(TypedDict):
    workflow: str
    nodes: list[ExplanationShape]

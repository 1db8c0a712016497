"""Records the durable engine writes and reads: executions, nodes, attempts,
artifacts, cache entries, params and metrics; and the states they move through.

Plain frozen data shared by the engine, the stores and the CLI. No I/O here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ExecutionStatus(str, enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    __str__ = str.__str__  # the value, without the enum's descriptor (hot paths)


class NodeStatus(str, enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CACHED = "CACHED"
    SKIPPED = "SKIPPED"
    RECOVERED = "RECOVERED"
    ABORTED = "ABORTED"
    TIMED_OUT = "TIMED_OUT"

    __str__ = str.__str__  # the value, without the enum's descriptor (hot paths)


DONE_OK = frozenset({NodeStatus.SUCCEEDED, NodeStatus.CACHED, NodeStatus.RECOVERED})
ENDED = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.ABORTED})

# How long an owner's lease on an execution lasts past its last heartbeat (seconds).
LEASE_TTL = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord:
    """One execution of a workflow. ``inputs``/``outputs`` map names to artifact hashes."""

    id: str
    workflow: str  # module:qualname
    source: str  # the file (or module) the workflow was loaded from
    spec_hash: str
    status: ExecutionStatus
    inputs: dict[str, str]
    outputs: dict[str, str] | None = None
    error: str | None = None
    parent_id: str | None = None  # the execution this one recovers
    executor: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    owner_host: str = ""
    owner_pid: int = 0
    owner_started: float = 0.0  # the owner process's start time (to tell pid reuse)
    heartbeat_at: float | None = None
    checkpoint_scope: str = ""  # shared by an execution and its recoveries
    name: str | None = None  # given by the user (rillet run --name)
    tags: dict[str, str] = field(default_factory=dict)  # rillet run --tag K=V
    # The lease: who runs it and until when (renewed by its heartbeat; the record's
    # writer holds it). ``acquire_lease`` takes one atomically (a takeover).
    lease_owner: str = ""
    lease_expires_at: float | None = None
    abort_requested_at: float | None = None  # set by ``request_abort`` only


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRecord:
    """One node of one execution. ``inputs``/``outputs`` map names to artifact hashes."""

    execution_id: str
    node_id: str
    task: str  # module:qualname of the task ('' for branches and joins)
    kind: str
    status: NodeStatus
    attempts: int = 0
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    cache_key: str | None = None
    code_hash: str | None = None
    source_execution: str | None = None  # for CACHED / RECOVERED: where the value came from
    source_node: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptRecord:
    execution_id: str
    node_id: str
    attempt: int  # from 1
    status: NodeStatus
    executor: str
    started_at: float
    ended_at: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    logs: str = ""
    pid: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRecord:
    """A stored value, by content hash. Small values are ``inline`` JSON text; bytes at
    ``uri`` are used only when they hash to ``hash`` (``tag`` rebuilds the header)."""

    hash: str
    format: str
    type: dict[str, Any]
    size: int
    uri: str | None = None
    inline: str | None = None
    created_at: float = 0.0
    purged: bool = False
    tag: str | None = None  # the type tag the content hash starts with (None: older record)


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheEntry:
    key: str
    task: str
    cache_version: str  # the explicit cache_version, or 'code:<code hash>'
    code_parts: dict[str, str]
    input_hashes: dict[str, str]
    outputs: dict[str, str]
    execution_id: str
    node_id: str
    created_at: float
    last_used_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamRecord:
    execution_id: str
    node_id: str
    attempt: int
    key: str
    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricRecord:
    execution_id: str
    node_id: str
    attempt: int
    key: str
    value: float
    step: int | None
    timestamp: float
    map_index: int | None = None  # the element of a map node that logged it


@dataclass(frozen=True, slots=True, kw_only=True)
class MapElementRecord:
    """An element of a map node: FAILED (whose ``min_success_ratio`` let some fail), or
    SUCCEEDED in an attempt that did not (its value's hash in ``output``), for a
    recovery to take instead of running it again."""

    execution_id: str
    node_id: str
    attempt: int
    map_index: int
    status: NodeStatus
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    logs: str = ""
    output: str | None = None  # a SUCCEEDED element's value (None: the task returns none)


# (execution_id, node_id, attempt, points): the points one attempt logged, each
# (key, value, step, timestamp[, map_index]) as the sink recorded it.
MetricPoints = tuple[str, str, int, Sequence[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One state change, appended to the store's event log. ``seq`` orders the whole
    log (0 until stored); ``node_id`` is '' for the execution itself."""

    seq: int = 0
    execution_id: str
    node_id: str = ""
    kind: str  # 'execution' | 'node' | 'abort_requested' | ...
    status: str = ""
    at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Batch:
    """Everything one engine step writes, applied by the store in ONE transaction."""

    executions: list[ExecutionRecord] = field(default_factory=list)
    nodes: list[NodeRecord] = field(default_factory=list)
    attempts: list[AttemptRecord] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    cache_entries: list[CacheEntry] = field(default_factory=list)
    cache_hits: list[str] = field(default_factory=list)  # keys whose last_used_at to bump
    params: list[ParamRecord] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    # A task's metric points as its attempt returned them (one entry per attempt, not
    # per point): a task may log many thousands, and a frozen record costs ~7 us to
    # build; the store writes each entry as one packed row.
    metric_points: list[MetricPoints] = field(default_factory=list)
    map_elements: list[MapElementRecord] = field(default_factory=list)
    # Events beyond the status changes the store derives from the records above.
    events: list[Event] = field(default_factory=list)
    # (spec_hash, spec_json text) of a workflow an execution starts: kept once per hash
    # (``workflow_specs``), so its whole DAG can be drawn before its nodes run.
    specs: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.executions or self.nodes or self.attempts or self.artifacts
            or self.cache_entries or self.cache_hits or self.params or self.metrics
            or self.metric_points or self.map_elements
            or self.events or self.specs
        )


def lease_holder(stored_owner: str, stored_expires: float | None, writer: str,
                 now: float) -> str | None:
    """Who keeps ``writer`` from writing an execution record (the store's fence): the
    stored lease's owner, while that is another owner whose lease has not lapsed; None
    when the write may go (the execution is unowned, the writer holds the lease, or the
    lease lapsed with nobody taking it over, when it passes to the writer)."""
    if stored_owner in ("", writer) or stored_expires is None or stored_expires < now:
        return None
    return stored_owner


def status_events(batch: Batch, at: float, stored: dict[str, str]) -> list[Event]:
    """The events a batch implies: one per execution record whose status differs from
    the one stored (``stored``: id -> status before the batch; a heartbeat is no
    event), one per node record (each is a transition or a new attempt), repeats
    within the batch dropped; then the batch's own events. Shared by every store."""
    out: list[Event] = []
    ends: list[Event] = []  # an execution's end comes after its nodes' last changes
    last: dict[tuple[str, str], str] = {(k, ""): v for k, v in stored.items()}
    for e in batch.executions:
        status = str(e.status)  # (str: the value, without the enum's descriptor)
        if last.get((e.id, "")) != status:
            last[(e.id, "")] = status
            data: dict[str, Any] = {"error": e.error} if e.error else {}
            (ends if e.status in ENDED else out).append(Event(
                execution_id=e.id, kind="execution", status=status, at=at, data=data))
    for n in batch.nodes:
        status = str(n.status)
        if last.get((n.execution_id, n.node_id)) != status:
            last[(n.execution_id, n.node_id)] = status
            data = {"attempts": n.attempts}
            if n.error:
                data["error"] = n.error
            out.append(Event(execution_id=n.execution_id, node_id=n.node_id, kind="node",
                             status=status, at=at, data=data))
    out.extend(ends)
    out.extend(batch.events)
    return out

"""The seams of the durable engine: MetadataStore, ArtifactStore and Executor.

Small Protocols; the engine depends only on these. Implementations live in
``rillet.store``, ``rillet.artifacts`` and ``rillet.executors`` (plus in-memory
ones for tests). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from rillet.engine._records import (
    ArtifactRecord,
    AttemptRecord,
    Batch,
    CacheEntry,
    Event,
    ExecutionRecord,
    MapElementRecord,
    MetricRecord,
    NodeRecord,
    ParamRecord,
)


class RunStore(Protocol):
    """Executions, their nodes and attempts; the lease of whoever runs one; the
    append-only event log of state changes."""

    supports_listen: bool  # whether a reader can wait on new events (LISTEN/NOTIFY)

    def apply(self, batch: Batch) -> None:
        """Write everything in ``batch`` in one transaction (upserts by identity), and
        append the events it implies (``status_events``). An execution record's upsert
        keeps its ``abort_requested_at``."""

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        """Raise ``NotFound`` when absent. A unique prefix of the id is accepted."""

    def list_executions(self, limit: int = 100, *, workflow: str | None = None,
                        status: str | None = None, since: float | None = None,
                        name: str | None = None, tags: dict[str, str] | None = None,
                        before: float | None = None, project: str | None = None,
                        domain: str | None = None) -> list[ExecutionRecord]:
        """Newest first; only those of ``workflow`` (``module:qualname``, or the qualname
        alone), in ``status``, created at or after ``since``, named ``name``, carrying
        every tag of ``tags`` and in ``project`` and ``domain``, when given; ``before``
        is the ``created_at`` a page ends at."""

    def nodes(self, execution_id: str) -> list[NodeRecord]: ...

    def attempts(self, execution_id: str, node_id: str | None = None) -> list[AttemptRecord]: ...

    def heartbeat(self, execution_id: str, at: float, ttl: float = ...) -> None:
        """The owner lives: ``heartbeat_at = at`` and its lease runs to ``at + ttl``."""

    def acquire_lease(self, execution_id: str, owner: str, ttl: float,
                      now: float | None = None) -> bool:
        """Take a free, expired or own lease atomically; True when ``owner`` holds it."""

    def renew_lease(self, execution_id: str, owner: str, ttl: float,
                    now: float | None = None) -> bool:
        """Extend the lease while ``owner`` holds it (even lapsed, if nobody took it
        over); False when another owner holds it: the caller must stop."""

    def map_elements(self, execution_id: str) -> list[MapElementRecord]:
        """The failed elements of the execution's map nodes, by node, attempt, index."""

    def release_lease(self, execution_id: str, owner: str) -> None: ...

    def request_abort(self, execution_id: str, at: float) -> bool:
        """Mark an unfinished execution for abort (its owner stops at its next beat)."""

    def events(self, execution_id: str | None = None, after: int = 0,
               limit: int = 1000) -> list[Event]:
        """Events with ``seq > after``, oldest first."""

    def last_event(self) -> int:
        """The newest event's ``seq`` (0 when none)."""

    def close(self) -> None: ...


class CacheStore(Protocol):
    """Cache entries and the serialize locks of cache keys."""

    def cache_entries(self, tasks: list[str]) -> dict[str, CacheEntry]:
        """Every cache entry of these tasks, by key (one query)."""

    def cache_list(self, task: str | None = None) -> list[CacheEntry]: ...

    def cache_clear(self, task: str | None = None) -> int:
        """Delete entries (of one task, or all); return how many."""

    def reserve(self, key: str, owner: str, stale_after: float) -> str | None:
        """Take the serialize lock of a cache key; return None if taken, else the
        previous owner ('' when new). A lock older than ``stale_after`` s is taken over."""

    def release(self, key: str, owner: str) -> None: ...


class LineageStore(Protocol):
    """Stored values by hash, and which nodes wrote and read them."""

    def artifacts(self, hashes: list[str]) -> dict[str, ArtifactRecord]: ...

    def find_artifacts(self, hash_prefix: str) -> list[ArtifactRecord]: ...

    def producers(self, artifact_hash: str) -> list[NodeRecord]:
        """Node executions that output this artifact (first producer first)."""

    def consumers(self, artifact_hash: str) -> list[NodeRecord]:
        """Node executions that took this artifact as an input."""


class TrackingStore(Protocol):
    """Params and metrics that tasks logged."""

    def params(self, execution_id: str) -> list[ParamRecord]: ...

    def metrics(self, execution_id: str) -> list[MetricRecord]: ...


class MetadataStore(RunStore, CacheStore, LineageStore, TrackingStore, Protocol):
    """Every concern in one store: what an implementation provides (SQL, memory).
    Code that needs one concern asks for that protocol instead."""


class ArtifactStore(Protocol):
    """Bytes by content hash (and checkpoints by path), under one root."""

    def put(self, digest: str, data: bytes) -> str:
        """Store ``data`` under its hash; return its URI. Idempotent."""

    def get(self, uri: str) -> bytes:
        """Raise ``NotFound`` when absent; refuse a URI outside the store."""

    def delete(self, uri: str) -> None: ...

    def exists(self, uri: str) -> bool:
        """Whether the bytes at ``uri`` are there."""

    def size(self) -> int:
        """Bytes used by stored values."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptJob:
    """One attempt of one node, handed to an executor."""

    execution_id: str
    node_id: str
    attempt: int
    task: Any  # the Task object (pickled by reference: module + qualname + file)
    inputs: dict[str, Any]  # python values
    timeout: float | None = None
    cpu: float = 0.0
    mem: int = 0
    gpu: int = 0
    mapped: tuple[str, ...] = ()  # non-empty for a map node
    map_offset: int = 0  # a chunk of a map: the index of its first element in the whole map
    # The indices of the mapped inputs' elements in the whole map, when they are not
    # map_offset, map_offset + 1, ...: a map run again for the elements a failed attempt
    # or the recovered execution did not finish (the others are taken as they were)
    map_indices: tuple[int, ...] | None = None
    min_success_ratio: float = 1.0
    concurrency: int | None = None
    checkpoint_path: str = ""  # a local file holding this node's checkpoint
    # Where the checkpoint lives instead, when set: the root URL of an artifact store and
    # the checkpoint's name there (``SCOPE/NODE``), so that an attempt on another machine
    # (a worker taking an execution over) reads what the interrupted attempt saved.
    checkpoint_store: str = ""
    checkpoint_name: str = ""
    workdir: str = ""
    live_metrics: bool = False  # report each metric to the executor's listener as logged


def checkpoint_name(scope: str, node_id: str) -> str:
    """The name in an artifact store of the checkpoint of ``node_id`` in ``scope``:
    ``SCOPE/NODE``, each part percent-encoded (no id reaches outside its folder)."""
    return f"{quote(scope, safe='') or '%'}/{quote(node_id, safe='') or '%'}"


MetricPoint = (tuple[str, float, "int | None", float]
               | tuple[str, float, "int | None", float, "int | None"])


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptResult:
    execution_id: str
    node_id: str
    attempt: int
    ok: bool
    outputs: Any = None  # the task's return value (the list of results for a map)
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    timed_out: bool = False
    retryable: bool = True  # False for our own definition/type errors
    logs: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    pid: int | None = None
    params: list[tuple[str, Any]] = field(default_factory=list)
    # (key, value, step, timestamp[, map element index or None]); live (streamed)
    # points have no index
    metrics: list[MetricPoint] = field(default_factory=list)
    stopped: bool = False  # ended by Executor.stop (never retried; the node is ABORTED)
    # A map with min_success_ratio < 1: each failed element as (index, error type,
    # message, traceback, what it printed)
    element_errors: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    # A map attempt that failed (or timed out, or was stopped): the elements that
    # succeeded in it, as (index, value), for the engine to keep
    element_values: list[tuple[int, Any]] = field(default_factory=list)


class Executor(Protocol):
    """Runs attempts; results come back in completion order.

    An executor whose class sets ``reads_stored_inputs = True`` (its attempts run where
    the artifact store can be read) is sent values the engine did not compute (recovered
    inputs, outputs of cached or recovered nodes) as ``StoredInput`` references, which
    ``run_attempt`` reads, checks and decodes where the task runs."""

    name: str

    def capacity(self) -> tuple[float, int, int]:
        """(cpu cores, memory bytes, gpus) this executor may use."""

    def submit(self, job: AttemptJob) -> bool:
        """Start ``job`` if resources and slots allow; return False to be asked later."""

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        """Block until at least one attempt finished (or ``timeout``); return finished ones."""

    def running(self) -> int: ...

    def shutdown(self) -> None: ...


# (node id, attempt, text): what a running attempt printed.
OutputChunk = tuple[str, int, str]


@runtime_checkable
class OutputStreamingExecutor(Executor, Protocol):
    """An executor that hands over what running attempts print as they print it (the
    engine writes it to the execution's log file and echoes it)."""

    def poll_output(self) -> list[OutputChunk]:
        """What running (and just finished) attempts printed since the last call. It
        collects from its first call on: an executor nobody polls keeps nothing."""


# (job, key, value, step, timestamp): a metric an attempt with ``live_metrics`` just logged.
MetricListener = Callable[[AttemptJob, str, float, "int | None", float], None]


@runtime_checkable
class StoppableExecutor(Executor, Protocol):
    """An executor that reports metrics while attempts run and can stop one early
    (tuning's early stopping; see docs/tuning.md)."""

    def listen(self, listener: MetricListener | None) -> None:
        """Call ``listener`` (from inside ``wait``) for each metric a ``live_metrics``
        job logs, as it is logged."""

    def stop(self, execution_id: str, node_id: str, reason: str) -> None:
        """End the running attempt of that node now (its process, where it has one);
        its result has ``stopped=True``, the metrics logged so far and ``reason``."""

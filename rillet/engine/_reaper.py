"""Finding executions whose owner is gone, and marking them FAILED (or ABORTED, for
``rillet abort``: ``end_unowned``).

A RUNNING execution is owned by a lease in the store that its owner's heartbeat
renews (``lease_owner``, ``lease_expires_at``). The owner is gone when the lease
expired; as a fast path on the owner's own host, also as soon as its process no
longer exists (or the pid was reused), as ``rillet run``'s crash detection always
did. Executions that workers own (lease ``worker:...``) or that wait in the launch
queue are not failed here: another worker takes them over (``acquire_lease``).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time

from rillet.engine._protocols import MetadataStore
from rillet.engine._records import (
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    NodeStatus,
)
from rillet.errors import ExecutionEnded

CRASH_REASON = "the process running it ended without recording a result"
ABORT_REASON = "aborted on request"
REMOTE_HEARTBEAT_LIMIT = 60.0
WORKER_PREFIX = "worker:"  # lease owners that are workers: they take each other's over

# Executions an engine of this process is advancing now. One that this process owns
# and no longer advances (its engine gave up when the store failed) is crashed, even
# though its owner, a long-lived process, is alive.
ADVANCING: set[str] = set()


def owner_alive(record: ExecutionRecord, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    if record.owner_pid == os.getpid() and record.owner_host == socket.gethostname():
        return record.id in ADVANCING
    if record.owner_host == socket.gethostname() and record.owner_pid:
        import psutil

        try:
            proc = psutil.Process(record.owner_pid)
            return abs(proc.create_time() - record.owner_started) < 1.0 and proc.status() not in (
                psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            pass  # it exists but cannot be looked at (another user's): go by the heartbeat
    if record.lease_expires_at is not None:
        return now < record.lease_expires_at
    # Written before leases (schema 0001): go by the heartbeat.
    beat = record.heartbeat_at or record.started_at or 0.0
    return (now - beat) < REMOTE_HEARTBEAT_LIMIT


def reapable(record: ExecutionRecord) -> bool:
    """Whether the reaper may fail this execution when its owner is gone: one run by a
    process of its own, not one that workers own or that waits in a queue."""
    return _running(record) and bool(record.owner_pid) and not record.lease_owner.startswith(
        WORKER_PREFIX)


def reap(store: MetadataStore, records: list[ExecutionRecord]) -> list[ExecutionRecord]:
    """Mark crashed RUNNING executions FAILED; return the records, updated."""
    out: list[ExecutionRecord] = []
    for record in records:
        if reapable(record) and not owner_alive(record):
            # The owner may have recorded its result just before it ended, after
            # ``record`` was read: read it again now that it writes no more.
            record = store.get_execution(record.id)
            if reapable(record) and not owner_alive(record):
                try:
                    record = mark_crashed(store, record)
                except ExecutionEnded:  # its owner's end came first: that end stands
                    record = store.get_execution(record.id)
        out.append(record)
    return out


def _running(record: ExecutionRecord) -> bool:
    return record.status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED)


def mark_crashed(store: MetadataStore, record: ExecutionRecord) -> ExecutionRecord:
    return end_unowned(store, record, ExecutionStatus.FAILED, CRASH_REASON)


def end_unowned(store: MetadataStore, record: ExecutionRecord, status: ExecutionStatus,
                reason: str, now: float | None = None) -> ExecutionRecord:
    """End an execution that nobody runs any more with ``status`` (FAILED: its owner
    crashed; ABORTED: aborted with no live owner), its unfinished nodes and running
    attempts with it, and free the serialize locks its nodes held."""
    now = time.time() if now is None else now
    crashed = status is ExecutionStatus.FAILED
    ran_as = NodeStatus.FAILED if crashed else NodeStatus.ABORTED
    batch = Batch()
    nodes = store.nodes(record.id)
    for node in nodes:
        if node.status in (NodeStatus.RUNNING, NodeStatus.QUEUED):
            running = node.status is NodeStatus.RUNNING
            batch.nodes.append(dataclasses.replace(
                node, status=ran_as if running else NodeStatus.ABORTED, ended_at=now,
                error=reason if running or not crashed else None))
    for attempt in store.attempts(record.id):
        if attempt.status is NodeStatus.RUNNING:
            batch.attempts.append(dataclasses.replace(
                attempt, status=ran_as, ended_at=now,
                error_type="Crashed" if crashed else "Aborted", error_message=reason))
    updated = dataclasses.replace(record, status=status, ended_at=now, error=reason)
    batch.executions.append(updated)
    store.apply(batch)
    # Free the serialize locks it held, so that waiters take over at once.
    for node in nodes:
        if node.cache_key and node.status in (NodeStatus.RUNNING, NodeStatus.QUEUED):
            store.release(node.cache_key, f"{record.id}:{node.node_id}")
    return updated


def reap_running(store: MetadataStore, limit: int = 500) -> list[ExecutionRecord]:
    """Reap the newest ``limit`` executions that are still RUNNING or QUEUED."""
    return reap(store, [r for r in store.list_executions(limit) if _running(r)])

"""``MemoryMetadataStore``: the ``MetadataStore`` in dicts, for tests and for
embedding the durable engine without a disk.

It behaves as ``SqlMetadataStore`` does (same orderings, same refusals, params
round-tripped through JSON); the shared contract suite holds both to it. A
batch is checked before anything is written, so a refused batch leaves nothing.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

from rillet.engine._records import (
    ENDED,
    LEASE_TTL,
    ArtifactRecord,
    AttemptRecord,
    Batch,
    CacheEntry,
    Event,
    ExecutionRecord,
    ExecutionStatus,
    MapElementRecord,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
    lease_holder,
    status_events,
)
from rillet.errors import AmbiguousId, Conflict, ExecutionEnded, LeaseLost, NotFound
from rillet.store._sql import _ambiguous, param_json

_NodeKey = tuple[str, str]


class MemoryMetadataStore:
    """Records in dicts; thread-safe; forgets everything when dropped."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._executions: dict[str, ExecutionRecord] = {}
        self._nodes: dict[_NodeKey, NodeRecord] = {}
        self._seq: dict[_NodeKey, int] = {}
        self._attempts: dict[tuple[str, str, int], AttemptRecord] = {}
        self._artifacts: dict[str, ArtifactRecord] = {}
        self._cache: dict[str, CacheEntry] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._params: dict[tuple[str, str, int, str], ParamRecord] = {}
        self._metrics: list[MetricRecord] = []
        self._elements: dict[tuple[str, str, int, int], MapElementRecord] = {}
        self._events: list[Event] = []
        self._specs: dict[str, str] = {}
        self.supports_listen = False

    # -- writes ------------------------------------------------------------------------
    def apply(self, batch: Batch) -> None:
        with self._lock:
            self._check(batch)
            now = time.time()
            for e in batch.executions:  # the fence: nothing is written for a lost lease
                prev = self._executions.get(e.id)  # or over an ended execution's status
                if prev is not None and prev.status in ENDED and e.status is not prev.status:
                    raise ExecutionEnded(e.id, prev.status.value, e.status.value)
                holder = None if prev is None else lease_holder(
                    prev.lease_owner, prev.lease_expires_at, e.lease_owner, now)
                if holder is not None:
                    raise LeaseLost(e.id, e.lease_owner, holder)
            stored = {e.id: self._executions[e.id].status.value for e in batch.executions
                      if e.id in self._executions}
            # as SQL's ended fence: no row goes RUNNING under an execution that had ended
            running = [r.execution_id for r in batch.nodes if r.status is NodeStatus.RUNNING]
            running += [a.execution_id for a in batch.attempts
                        if a.status is NodeStatus.RUNNING]
            new = {e.id: e for e in batch.executions if e.id not in self._executions}
            for eid in running:  # (a new execution: by its own record, as SQL's order)
                prev = self._executions.get(eid) or new.get(eid)
                if prev is not None and prev.status in ENDED:
                    raise ExecutionEnded(eid, prev.status.value, "RUNNING")
            for e in batch.executions:
                prev = self._executions.get(e.id)
                if prev is not None:  # an upsert keeps the abort request (as in SQL)
                    e = dataclasses.replace(e, abort_requested_at=prev.abort_requested_at)
                self._executions[e.id] = e
            for art in batch.artifacts:
                old = self._artifacts.get(art.hash)
                if old is not None and old.created_at != art.created_at:
                    art = dataclasses.replace(art, created_at=old.created_at)
                self._artifacts[art.hash] = art
            seq = time.time_ns()
            for i, n in enumerate(batch.nodes):
                key = (n.execution_id, n.node_id)
                self._seq.setdefault(key, seq + i)
                self._nodes[key] = n
            for a in batch.attempts:
                self._attempts[(a.execution_id, a.node_id, a.attempt)] = a
            for c in batch.cache_entries:
                self._cache[c.key] = c
            for hit in batch.cache_hits:
                entry = self._cache.get(hit)
                if entry is not None:
                    self._cache[hit] = dataclasses.replace(entry, last_used_at=now)
            for p in batch.params:
                value = json.loads(param_json(p.value))
                self._params[(p.execution_id, p.node_id, p.attempt, p.key)] = (
                    dataclasses.replace(p, value=value))
            for m in batch.metrics:
                self._metrics.append(dataclasses.replace(m, value=float(m.value)))
            for eid, nid, attempt, points in batch.metric_points:
                self._metrics.extend(MetricRecord(
                    execution_id=eid, node_id=nid, attempt=attempt, key=p[0],
                    value=float(p[1]), step=p[2], timestamp=p[3],
                    map_index=p[4] if len(p) > 4 else None) for p in points)
            for el in batch.map_elements:
                self._elements[(el.execution_id, el.node_id, el.attempt, el.map_index)] = el
            for digest, text in batch.specs:
                self._specs.setdefault(digest, text)
            swept = self._end_unfinished(batch.executions, stored, now)
            for ev in swept + status_events(batch, now, stored):
                self._append(ev)

    def _end_unfinished(self, records: list[ExecutionRecord], stored: dict[str, str],
                        now: float) -> list[Event]:
        """As SQL's ``_end_unfinished``: an execution's end ends its nodes still QUEUED
        or RUNNING and its RUNNING attempts; the events of those nodes."""
        out: list[Event] = []
        ending = {e.id: e for e in records  # (a SUCCEEDED end is its engine's own)
                  if e.status in (ExecutionStatus.ABORTED, ExecutionStatus.FAILED)
                  and stored.get(e.id) not in {s.value for s in ENDED}}
        for eid, e in ending.items():
            ran = NodeStatus.FAILED if e.status is ExecutionStatus.FAILED else NodeStatus.ABORTED
            why = e.error or f"the execution ended {e.status.value}"
            at = e.ended_at or now
            for key, n in list(self._nodes.items()):
                if key[0] == eid and n.status in (NodeStatus.RUNNING, NodeStatus.QUEUED):
                    status = ran if n.status is NodeStatus.RUNNING else NodeStatus.ABORTED
                    self._nodes[key] = dataclasses.replace(n, status=status, ended_at=at,
                                                           error=n.error or why)
                    out.append(Event(execution_id=eid, node_id=n.node_id, kind="node",
                                     status=status.value, at=at, data={"error": why}))
            for akey, a in list(self._attempts.items()):
                if akey[0] == eid and a.status is NodeStatus.RUNNING:
                    self._attempts[akey] = dataclasses.replace(
                        a, status=ran, ended_at=at, error_type=a.error_type or "Ended",
                        error_message=a.error_message or why)
        return out

    def _append(self, ev: Event) -> None:
        seq = self._events[-1].seq + 1 if self._events else 1
        self._events.append(dataclasses.replace(
            ev, seq=seq, data=json.loads(json.dumps(ev.data, default=str))))

    def _check(self, batch: Batch) -> None:
        """Refuse what the SQL schema's foreign keys refuse, before writing anything."""
        executions = set(self._executions) | {e.id for e in batch.executions}
        for n in batch.nodes:
            if n.execution_id not in executions:
                raise Conflict(f"node {n.node_id!r} refers to unknown execution "
                               f"{n.execution_id!r}")
        nodes = set(self._nodes) | {(n.execution_id, n.node_id) for n in batch.nodes}
        children: list[Any] = [*batch.attempts, *batch.params, *batch.metrics,
                               *batch.map_elements]
        for r in children:
            if (r.execution_id, r.node_id) not in nodes:
                raise Conflict(f"{type(r).__name__} refers to unknown node "
                               f"{r.node_id!r} of execution {r.execution_id!r}")
        for eid, nid, _, _ in batch.metric_points:
            if (eid, nid) not in nodes:
                raise Conflict(f"a metric refers to unknown node {nid!r} of execution "
                               f"{eid!r}")

    def heartbeat(self, execution_id: str, at: float, ttl: float = LEASE_TTL) -> None:
        with self._lock:
            record = self._executions.get(execution_id)
            if record is None:
                raise NotFound(f"no execution {execution_id!r} in memory")
            self._executions[execution_id] = dataclasses.replace(
                record, heartbeat_at=at, lease_expires_at=at + ttl)

    def acquire_lease(self, execution_id: str, owner: str, ttl: float,
                      now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            r = self._executions.get(execution_id)
            if r is None:
                return False
            if r.lease_owner not in ("", owner) and r.lease_expires_at is not None \
                    and r.lease_expires_at >= now:
                return False
            self._executions[execution_id] = dataclasses.replace(
                r, lease_owner=owner, lease_expires_at=now + ttl, heartbeat_at=now)
            return True

    def renew_lease(self, execution_id: str, owner: str, ttl: float,
                    now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            r = self._executions.get(execution_id)
            if r is None or r.lease_owner != owner:
                return False
            self._executions[execution_id] = dataclasses.replace(
                r, lease_expires_at=now + ttl, heartbeat_at=now)
            return True

    def release_lease(self, execution_id: str, owner: str) -> None:
        with self._lock:
            r = self._executions.get(execution_id)
            if r is not None and r.lease_owner == owner:
                self._executions[execution_id] = dataclasses.replace(
                    r, lease_owner="", lease_expires_at=None)

    def request_abort(self, execution_id: str, at: float) -> bool:
        with self._lock:
            r = self._executions.get(execution_id)
            if r is None or r.abort_requested_at is not None or r.status.value not in (
                    "QUEUED", "RUNNING"):
                return False
            self._executions[execution_id] = dataclasses.replace(r, abort_requested_at=at)
            self._append(Event(execution_id=execution_id, kind="abort_requested", at=at))
            return True

    def events(self, execution_id: str | None = None, after: int = 0,
               limit: int = 1000) -> list[Event]:
        with self._lock:
            return [e for e in self._events if e.seq > after and (
                execution_id is None or e.execution_id == execution_id)][:limit]

    def last_event(self) -> int:
        with self._lock:
            return self._events[-1].seq if self._events else 0

    def reserve(self, key: str, owner: str, stale_after: float) -> str | None:
        now = time.time()
        with self._lock:
            held = self._locks.get(key)
            if held is None:
                self._locks[key] = (owner, now)
                return ""
            previous, taken_at = held
            if previous != owner and now - taken_at < stale_after:
                return None
            self._locks[key] = (owner, now)
            return previous

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            held = self._locks.get(key)
            if held is not None and held[0] == owner:
                del self._locks[key]

    def cache_clear(self, task: str | None = None) -> int:
        with self._lock:
            doomed = [k for k, c in self._cache.items() if task is None or c.task == task]
            for k in doomed:
                del self._cache[k]
            return len(doomed)

    # -- reads -------------------------------------------------------------------------
    def workflow_spec(self, spec_hash: str) -> str | None:
        """The JSON IR recorded for ``spec_hash`` (None: none recorded)."""
        with self._lock:
            return self._specs.get(spec_hash)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        with self._lock:
            record = self._executions.get(execution_id)
            if record is not None:
                return record
            ids = sorted(i for i in self._executions if execution_id and i.startswith(execution_id))
        if not ids:
            raise NotFound(f"no execution {execution_id!r} (see `rillet executions list`)")
        if len(ids) > 1:
            raise AmbiguousId(_ambiguous(execution_id, ids))
        return self._executions[ids[0]]

    def list_executions(self, limit: int = 100, *, workflow: str | None = None,
                        status: str | None = None, since: float | None = None,
                        name: str | None = None, tags: dict[str, str] | None = None,
                        before: float | None = None, project: str | None = None,
                        domain: str | None = None) -> list[ExecutionRecord]:
        if project not in (None, "default") or domain not in (None, "development"):
            return []  # a memory store runs executions of default/development only
        with self._lock:
            records = sorted(self._executions.values(), key=lambda e: (e.created_at, e.id),
                             reverse=True)

        def keep(e: ExecutionRecord) -> bool:
            return bool(
                (not workflow or e.workflow == workflow
                 or (":" not in workflow and e.workflow.endswith(":" + workflow)))
                and (not status or e.status.value == status.upper())
                and (since is None or e.created_at >= since)
                and (not name or e.name == name)
                and all(e.tags.get(k) == v for k, v in (tags or {}).items())
                and (before is None or e.created_at < before))

        return [e for e in records if keep(e)][:max(limit, 0)]

    def nodes(self, execution_id: str) -> list[NodeRecord]:
        with self._lock:
            keys = [k for k in self._nodes if k[0] == execution_id]
            keys.sort(key=lambda k: (self._seq[k], k[1]))
            return [self._nodes[k] for k in keys]

    def attempts(self, execution_id: str, node_id: str | None = None) -> list[AttemptRecord]:
        with self._lock:
            found = [a for a in self._attempts.values() if a.execution_id == execution_id
                     and (node_id is None or a.node_id == node_id)]
        if node_id is None:
            return sorted(found, key=lambda a: (a.started_at, a.node_id, a.attempt))
        return sorted(found, key=lambda a: a.attempt)

    def params(self, execution_id: str) -> list[ParamRecord]:
        with self._lock:
            return [p for k, p in sorted(self._params.items()) if k[0] == execution_id]

    def metrics(self, execution_id: str) -> list[MetricRecord]:
        with self._lock:
            return [m for m in self._metrics if m.execution_id == execution_id]

    def map_elements(self, execution_id: str) -> list[MapElementRecord]:
        with self._lock:
            return [self._elements[k] for k in sorted(self._elements)
                    if k[0] == execution_id]

    def artifacts(self, hashes: list[str]) -> dict[str, ArtifactRecord]:
        with self._lock:
            return {h: self._artifacts[h] for h in hashes if h in self._artifacts}

    def find_artifacts(self, hash_prefix: str) -> list[ArtifactRecord]:
        with self._lock:
            return [a for h, a in sorted(self._artifacts.items()) if h.startswith(hash_prefix)]

    def producers(self, artifact_hash: str) -> list[NodeRecord]:
        return self._lineage(artifact_hash, outputs=True)

    def consumers(self, artifact_hash: str) -> list[NodeRecord]:
        return self._lineage(artifact_hash, outputs=False)

    def _lineage(self, digest: str, outputs: bool) -> list[NodeRecord]:
        with self._lock:
            found = [(k, n) for k, n in self._nodes.items()
                     if digest in (n.outputs if outputs else _used(n)).values()]
            found.sort(key=lambda kn: (kn[1].ended_at is None, kn[1].ended_at or 0.0,
                                       self._seq[kn[0]], kn[0]))
        return [n for _, n in found]

    def cache_entries(self, tasks: list[str]) -> dict[str, CacheEntry]:
        wanted = set(tasks)
        with self._lock:
            return {k: c for k, c in self._cache.items() if c.task in wanted}

    def cache_list(self, task: str | None = None) -> list[CacheEntry]:
        with self._lock:
            found = [c for c in self._cache.values() if task is None or c.task == task]
        return sorted(found, key=lambda c: (c.task, c.created_at, c.key))

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "MemoryMetadataStore()"


def _used(node: NodeRecord) -> dict[str, str]:
    """The inputs a node used: none for a CACHED or RECOVERED node (it computed nothing)."""
    return {} if node.status in (NodeStatus.CACHED, NodeStatus.RECOVERED) else node.inputs

"""``MetadataStoreContract``: what every ``MetadataStore`` must do, by concern: runs
(records, filters, leases, aborts, the event log), cache and locks, lineage,
tracking. A subclass provides the ``store`` fixture (a fresh, empty store)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rillet.engine._records import (
    ArtifactRecord,
    Batch,
    CacheEntry,
    Event,
    ExecutionRecord,
    ExecutionStatus,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.errors import NotFound

_H = "ab" * 32


def execution(eid: str = "e1", created_at: float = 1.0, **kw: Any) -> ExecutionRecord:
    base: dict[str, Any] = {"workflow": "m:wf", "source": "m.py", "spec_hash": "s",
                            "status": ExecutionStatus.RUNNING, "inputs": {}}
    base.update(kw)
    return ExecutionRecord(id=eid, created_at=created_at, **base)


def node(node_id: str = "n0", eid: str = "e1", **kw: Any) -> NodeRecord:
    base: dict[str, Any] = {"task": "m:t", "kind": "task", "status": NodeStatus.QUEUED}
    base.update(kw)
    return NodeRecord(execution_id=eid, node_id=node_id, **base)


class MetadataStoreContract:
    """Subclass and provide ``store`` (a fixture yielding an empty store)."""

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - every subclass provides it
        raise NotImplementedError("a MetadataStoreContract subclass provides `store`")

    # -- runs --------------------------------------------------------------------------
    def test_execution_round_trip(self, store: Any) -> None:
        rec = execution(lease_owner="process:h:1:2.000", lease_expires_at=50.0,
                        heartbeat_at=20.0)
        store.apply(Batch(executions=[rec]))
        assert store.get_execution("e1") == rec
        with pytest.raises(NotFound):
            store.get_execution("nope")

    def test_list_filters_and_pages(self, store: Any) -> None:
        recs = [execution(f"e{i}", created_at=float(i), workflow=f"m:wf{i % 2}",
                          status=ExecutionStatus.SUCCEEDED if i % 3 else ExecutionStatus.FAILED)
                for i in range(12)]
        store.apply(Batch(executions=recs))
        assert [r.id for r in store.list_executions(3)] == ["e11", "e10", "e9"]
        page = store.list_executions(50, workflow="m:wf1", status="SUCCEEDED")
        assert [r.id for r in page] == ["e11", "e7", "e5", "e1"]
        after = store.list_executions(2, workflow="m:wf1", status="SUCCEEDED",
                                      before=page[1].created_at)
        assert [r.id for r in after] == ["e5", "e1"]
        assert store.list_executions(5, workflow="none") == []

    def test_every_state_change_is_an_event_in_order(self, store: Any) -> None:
        start = store.last_event()
        store.apply(Batch(executions=[execution()], nodes=[node()]))
        store.apply(Batch(nodes=[node(status=NodeStatus.RUNNING),
                                 node(status=NodeStatus.RUNNING)]))
        store.apply(Batch(nodes=[node(status=NodeStatus.SUCCEEDED, attempts=1)],
                          executions=[execution(status=ExecutionStatus.SUCCEEDED)]))
        events = store.events("e1", after=start)
        got = [(e.kind, e.node_id, e.status) for e in events]
        assert got == [("execution", "", "RUNNING"), ("node", "n0", "QUEUED"),
                       ("node", "n0", "RUNNING"), ("node", "n0", "SUCCEEDED"),
                       ("execution", "", "SUCCEEDED")]
        seqs = [e.seq for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > start
        assert events[-2].data["attempts"] == 1
        assert store.last_event() == seqs[-1]
        assert [e.seq for e in store.events("e1", after=seqs[2])] == seqs[3:]
        assert [e.seq for e in store.events(after=start, limit=2)] == seqs[:2]
        assert store.events("other") == []

    def test_explicit_events_in_a_batch(self, store: Any) -> None:
        store.apply(Batch(executions=[execution()]))
        store.apply(Batch(events=[Event(execution_id="e1", kind="note", at=3.0,
                                        data={"x": [1, 2]})]))
        last = store.events("e1")[-1]
        assert (last.kind, last.node_id, last.at, last.data) == ("note", "", 3.0, {"x": [1, 2]})

    def test_a_lease_has_one_owner_until_it_expires(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(status=ExecutionStatus.QUEUED)]))
        assert store.acquire_lease("e1", "worker:a", ttl=10.0, now=100.0)
        assert not store.acquire_lease("e1", "worker:b", ttl=10.0, now=105.0)
        assert store.acquire_lease("e1", "worker:a", ttl=10.0, now=105.0)  # renewal
        assert store.get_execution("e1").lease_expires_at == 115.0
        assert store.acquire_lease("e1", "worker:b", ttl=10.0, now=116.0)  # takeover
        rec = store.get_execution("e1")
        assert (rec.lease_owner, rec.lease_expires_at) == ("worker:b", 126.0)
        store.release_lease("e1", "worker:a")  # not the owner: no effect
        assert store.get_execution("e1").lease_owner == "worker:b"
        store.release_lease("e1", "worker:b")
        assert store.acquire_lease("e1", "worker:c", ttl=10.0, now=117.0)
        assert not store.acquire_lease("missing", "worker:c", ttl=1.0)

    def test_the_lease_follows_the_writer_and_keeps_the_abort_request(self, store: Any) -> None:
        mine = execution(lease_owner="worker:a", lease_expires_at=10.0)
        store.apply(Batch(executions=[mine]))
        store.request_abort("e1", 5.0)
        store.apply(Batch(executions=[dataclasses.replace(
            mine, lease_owner="worker:b", lease_expires_at=20.0, error="x")]))
        got = store.get_execution("e1")
        assert (got.lease_owner, got.lease_expires_at, got.error) == ("worker:b", 20.0, "x")
        assert got.abort_requested_at == 5.0

    def test_heartbeat_extends_the_lease(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(lease_owner="p")]))
        store.heartbeat("e1", 40.0, ttl=5.0)
        got = store.get_execution("e1")
        assert (got.heartbeat_at, got.lease_expires_at) == (40.0, 45.0)
        with pytest.raises(NotFound):
            store.heartbeat("missing", 1.0)

    def test_abort_request_once_and_only_while_unfinished(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(), execution(
            "e2", status=ExecutionStatus.SUCCEEDED)]))
        start = store.last_event()
        assert store.request_abort("e1", 7.0)
        assert not store.request_abort("e1", 8.0)
        assert not store.request_abort("e2", 7.0)
        assert store.get_execution("e1").abort_requested_at == 7.0
        # the owner's own writes keep the request
        store.apply(Batch(executions=[execution(error="still going")]))
        assert store.get_execution("e1").abort_requested_at == 7.0
        (ev,) = store.events(after=start)
        assert (ev.execution_id, ev.kind) == ("e1", "abort_requested")

    # -- the other concerns --------------------------------------------------------------
    def test_cache_locks(self, store: Any) -> None:
        assert store.reserve("k", "a", stale_after=60) == ""
        assert store.reserve("k", "b", stale_after=60) is None
        store.release("k", "a")
        assert store.reserve("k", "b", stale_after=60) == ""

    def test_cache_lineage_and_tracking(self, store: Any) -> None:
        n = node(status=NodeStatus.SUCCEEDED, outputs={"o": _H})
        entry = CacheEntry(key="k1", task="m:t", cache_version="v", code_parts={},
                           input_hashes={}, outputs={"o": _H}, execution_id="e1",
                           node_id="n0", created_at=1.0, last_used_at=1.0)
        store.apply(Batch(
            executions=[execution()], nodes=[n],
            artifacts=[ArtifactRecord(hash=_H, format="json", type={"kind": "int"}, size=1,
                                      inline="1", created_at=1.0)],
            cache_entries=[entry],
            params=[ParamRecord(execution_id="e1", node_id="n0", attempt=1, key="lr",
                                value=0.1)],
            metrics=[MetricRecord(execution_id="e1", node_id="n0", attempt=1, key="loss",
                                  value=0.5, step=1, timestamp=2.0)]))
        assert list(store.cache_entries(["m:t"])) == ["k1"]
        assert [p.node_id for p in store.producers(_H)] == ["n0"]
        assert store.artifacts([_H])[_H].inline == "1"
        assert [(p.key, p.value) for p in store.params("e1")] == [("lr", 0.1)]
        assert [(m.key, m.value) for m in store.metrics("e1")] == [("loss", 0.5)]
        assert store.cache_clear("m:t") == 1

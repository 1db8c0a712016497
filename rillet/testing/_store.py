"""``MetadataStoreContract``: what every ``MetadataStore`` must do, by concern: runs
(records, filters, leases, aborts, the event log), nodes and attempts, artifacts and
lineage, cache and locks, tracking. A subclass provides the ``store`` fixture (a fresh,
empty store)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from rillet.engine._records import (
    ArtifactRecord,
    AttemptRecord,
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
from rillet.errors import Conflict, ExecutionEnded, LeaseLost, NotFound, StoreError

H1, H2, H3 = "a1" * 32, "b2" * 32, "c3" * 32


def execution(eid: str = "e1", created_at: float = 1.0, **kw: Any) -> ExecutionRecord:
    base: dict[str, Any] = {"workflow": "m:wf", "source": "wf.py", "spec_hash": "spec",
                            "status": ExecutionStatus.RUNNING, "inputs": {"n": H1}}
    base.update(kw)
    return ExecutionRecord(id=eid, created_at=created_at, **base)


def node(node_id: str = "n0", eid: str = "e1", **kw: Any) -> NodeRecord:
    base: dict[str, Any] = {"task": "m:inc", "kind": "task", "status": NodeStatus.QUEUED}
    base.update(kw)
    return NodeRecord(execution_id=eid, node_id=node_id, **base)


def attempt(node_id: str = "n0", n: int = 1, eid: str = "e1", **kw: Any) -> AttemptRecord:
    base: dict[str, Any] = {"status": NodeStatus.RUNNING, "executor": "inline",
                            "started_at": float(n)}
    base.update(kw)
    return AttemptRecord(execution_id=eid, node_id=node_id, attempt=n, **base)


def artifact(h: str = H1, **kw: Any) -> ArtifactRecord:
    base: dict[str, Any] = {"format": "json", "type": {"type": "int"}, "size": 1,
                            "inline": "1", "created_at": 5.0}
    base.update(kw)
    return ArtifactRecord(hash=h, **base)


def entry(key: str = "k1", task: str = "m:inc", created_at: float = 1.0,
          last_used_at: float = 1.0) -> CacheEntry:
    return CacheEntry(key=key, task=task, cache_version="1", code_parts={"m:inc": "c"},
                      input_hashes={"x": H1}, outputs={"o0": H2}, execution_id="e1",
                      node_id="n0", created_at=created_at, last_used_at=last_used_at)


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

    def test_a_workflow_spec_is_kept_once_per_hash(self, store: Any) -> None:
        """The IR an execution starts with (``Batch.specs``), kept under its hash: the
        first text stays (equal hashes hold equal specs), nothing else changes."""
        store.apply(Batch(executions=[execution("e1")], specs=[("h1", '{"nodes": []}')]))
        store.apply(Batch(executions=[execution("e2")], specs=[("h1", '{"other": 1}'),
                                                                ("h2", '{"n": 2}')]))
        assert store.workflow_spec("h1") == '{"nodes": []}'
        assert store.workflow_spec("h2") == '{"n": 2}'
        assert store.workflow_spec("h3") is None
        assert store.get_execution("e2").id == "e2"

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

    def test_a_renewal_holds_only_for_the_owner(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(status=ExecutionStatus.QUEUED)]))
        assert store.acquire_lease("e1", "worker:a", ttl=10.0, now=100.0)
        assert store.renew_lease("e1", "worker:a", ttl=10.0, now=104.0)
        assert store.get_execution("e1").lease_expires_at == 114.0
        assert store.renew_lease("e1", "worker:a", ttl=10.0, now=130.0)  # lapsed, not taken
        assert store.acquire_lease("e1", "worker:b", ttl=10.0, now=150.0)  # taken over
        assert not store.renew_lease("e1", "worker:a", ttl=10.0, now=151.0)  # a must stop
        rec = store.get_execution("e1")
        assert (rec.lease_owner, rec.lease_expires_at) == ("worker:b", 160.0)
        assert not store.renew_lease("missing", "worker:a", ttl=1.0)

    def test_the_lease_follows_the_writer_and_keeps_the_abort_request(self, store: Any) -> None:
        # a's lease lapsed (at 10.0) and nobody took it: a writer may write, and the
        # lease follows it (a live lease another owner holds refuses it: see below)
        mine = execution(lease_owner="worker:a", lease_expires_at=10.0)
        store.apply(Batch(executions=[mine]))
        store.request_abort("e1", 5.0)
        store.apply(Batch(executions=[dataclasses.replace(
            mine, lease_owner="worker:b", lease_expires_at=20.0, error="x")]))
        got = store.get_execution("e1")
        assert (got.lease_owner, got.lease_expires_at, got.error) == ("worker:b", 20.0, "x")
        assert got.abort_requested_at == 5.0

    def test_a_writer_whose_live_lease_another_owner_took_writes_nothing(
            self, store: Any) -> None:
        """The store's fence: an execution record is written only by the lease's owner,
        on an unowned execution, or over a lapsed lease (then the lease passes to the
        writer, as above). A writer whose lease another owner took and holds gets
        ``LeaseLost``, and nothing of its batch is written: not its nodes, attempts or
        events either."""
        now = time.time()
        store.apply(Batch(executions=[execution(status=ExecutionStatus.QUEUED)]))
        assert store.acquire_lease("e1", "worker:a", ttl=600.0, now=now)
        mine = store.get_execution("e1")
        store.apply(Batch(executions=[mine], nodes=[node(status=NodeStatus.RUNNING)],
                          attempts=[attempt()]))  # a writes while it holds the lease
        # a stalls past its lease; b takes the execution over and holds it (not lapsed)
        assert store.acquire_lease("e1", "worker:b", ttl=600.0, now=now + 700.0)
        events = store.events("e1")
        with pytest.raises(LeaseLost, match="worker:a lost its lease"):
            store.apply(Batch(
                executions=[dataclasses.replace(mine, status=ExecutionStatus.SUCCEEDED,
                                                ended_at=now)],
                nodes=[node(status=NodeStatus.SUCCEEDED, attempts=1)],
                attempts=[attempt(status=NodeStatus.SUCCEEDED, ended_at=now)],
                params=[ParamRecord(execution_id="e1", node_id="n0", attempt=1, key="k",
                                    value=1)]))
        got = store.get_execution("e1")
        assert (got.lease_owner, got.status) == ("worker:b", ExecutionStatus.QUEUED)
        assert [n.status for n in store.nodes("e1")] == [NodeStatus.RUNNING]
        assert [a.status for a in store.attempts("e1")] == [NodeStatus.RUNNING]
        assert store.params("e1") == []
        assert store.events("e1") == events
        # the holder writes; a brand-new execution has nobody to ask
        store.apply(Batch(executions=[dataclasses.replace(got, status=ExecutionStatus.RUNNING)]))
        store.apply(Batch(executions=[execution("e2", lease_owner="worker:a")]))
        assert store.get_execution("e1").status is ExecutionStatus.RUNNING

    def test_an_ended_executions_status_is_never_overwritten(self, store: Any) -> None:
        """An execution that ended (an abort that came before its engine's end) keeps
        that status: a batch whose record would change it is refused with
        ``ExecutionEnded`` (a ``LeaseLost``: the writer stops) and nothing of it is
        written; a record with the same ended status (the engine's own abort after the
        abort service ended it) is written."""
        now = time.time()
        store.apply(Batch(executions=[execution(lease_owner="worker:a",
                                                lease_expires_at=now + 600.0)],
                          nodes=[node(status=NodeStatus.RUNNING)], attempts=[attempt()]))
        running = store.get_execution("e1")
        aborted = dataclasses.replace(running, status=ExecutionStatus.ABORTED, ended_at=now,
                                      error="aborted on request")
        store.apply(Batch(executions=[aborted]))
        events = store.events("e1")
        for late in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED,
                     ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
            with pytest.raises(ExecutionEnded, match="already ended ABORTED") as raised:
                store.apply(Batch(
                    executions=[dataclasses.replace(running, status=late, ended_at=now + 1)],
                    nodes=[node(status=NodeStatus.SUCCEEDED, attempts=1)],
                    attempts=[attempt(status=NodeStatus.SUCCEEDED, ended_at=now)],
                    params=[ParamRecord(execution_id="e1", node_id="n0", attempt=1,
                                        key="k", value=1)]))
            assert isinstance(raised.value, LeaseLost)
            assert (raised.value.ended, raised.value.written) == ("ABORTED", late.value)
        got = store.get_execution("e1")
        assert (got.status, got.ended_at, got.error) == (
            ExecutionStatus.ABORTED, now, "aborted on request")
        # the abort ended its running node and attempt with it (nothing stays RUNNING)
        assert [n.status for n in store.nodes("e1")] == [NodeStatus.ABORTED]
        assert [a.status for a in store.attempts("e1")] == [NodeStatus.ABORTED]
        assert store.params("e1") == []
        assert store.events("e1") == events
        # the same ended status again (with its nodes' end) is written, with no new event
        store.apply(Batch(executions=[dataclasses.replace(aborted, error="stopped")],
                          nodes=[node(status=NodeStatus.ABORTED)]))
        assert store.get_execution("e1").error == "stopped"
        assert [n.status for n in store.nodes("e1")] == [NodeStatus.ABORTED]
        assert [e.status for e in store.events("e1") if e.kind == "execution"] == [
            e.status for e in events if e.kind == "execution"]
        # each ended status holds the same way
        for first, then in ((ExecutionStatus.SUCCEEDED, ExecutionStatus.ABORTED),
                            (ExecutionStatus.FAILED, ExecutionStatus.SUCCEEDED)):
            eid = f"e-{first.value}"
            store.apply(Batch(executions=[execution(eid, status=first, ended_at=now)]))
            with pytest.raises(ExecutionEnded):
                store.apply(Batch(executions=[execution(eid, status=then, ended_at=now)]))
            assert store.get_execution(eid).status is first

    def test_no_node_or_attempt_goes_running_under_an_ended_execution(
            self, store: Any) -> None:
        """Once an execution has ended, a batch that would write a RUNNING node or
        attempt under it (a writer that has not seen the abort yet: a worker's engine
        between heartbeats) is refused whole with ``ExecutionEnded``: no row, no event.
        Rows of other statuses are written (the engine's own abort records its nodes
        ABORTED). An ABORTED or FAILED end itself ends the execution's QUEUED and
        RUNNING rows (a SUCCEEDED end is written by the engine that recorded them all)."""
        now = time.time()
        store.apply(Batch(executions=[execution()],
                          nodes=[node(status=NodeStatus.RUNNING, attempts=1),
                                 node("n1", status=NodeStatus.QUEUED)],
                          attempts=[attempt()]))
        aborted = dataclasses.replace(store.get_execution("e1"), status=ExecutionStatus.ABORTED,
                                      ended_at=now, error="aborted on request")
        store.apply(Batch(executions=[aborted]))
        by_id = {n.node_id: n for n in store.nodes("e1")}
        assert {k: n.status for k, n in by_id.items()} == {
            "n0": NodeStatus.ABORTED, "n1": NodeStatus.ABORTED}
        assert (by_id["n0"].ended_at, by_id["n0"].error) == (now, "aborted on request")
        (att,) = store.attempts("e1")
        assert (att.status, att.ended_at, att.error_message) == (
            NodeStatus.ABORTED, now, "aborted on request")
        kinds = [(e.kind, e.node_id, e.status) for e in store.events("e1")]
        assert kinds[-3:] == [("node", "n0", "ABORTED"), ("node", "n1", "ABORTED"),
                              ("execution", "", "ABORTED")] or kinds[-3:] == [
            ("node", "n1", "ABORTED"), ("node", "n0", "ABORTED"), ("execution", "", "ABORTED")]
        events = store.events("e1")
        late = (
            Batch(nodes=[node(status=NodeStatus.RUNNING, attempts=2)]),  # an existing node
            Batch(nodes=[node("n2", status=NodeStatus.RUNNING)]),  # a new one
            Batch(nodes=[node(status=NodeStatus.SUCCEEDED, attempts=1)],  # an attempt alone
                  attempts=[attempt(n=2)]),
            Batch(attempts=[dataclasses.replace(att, status=NodeStatus.RUNNING)]),
        )
        for batch in late:
            with pytest.raises(ExecutionEnded, match="already ended ABORTED") as raised:
                store.apply(batch)
            assert (raised.value.execution_id, raised.value.ended) == ("e1", "ABORTED")
        assert {n.node_id: n.status for n in store.nodes("e1")} == {
            "n0": NodeStatus.ABORTED, "n1": NodeStatus.ABORTED}
        assert [a.status for a in store.attempts("e1")] == [NodeStatus.ABORTED]
        assert store.events("e1") == events
        # other statuses are written: the engine recording its own abort, with output
        store.apply(Batch(nodes=[node(status=NodeStatus.ABORTED, error="stopped")],
                          attempts=[dataclasses.replace(att, logs="so far")]))
        assert store.attempts("e1")[0].logs == "so far"
        # each ended status fences; other executions are not touched
        for first in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED):
            eid = f"e-{first.value}"
            store.apply(Batch(executions=[execution(eid, status=first, ended_at=now)]))
            with pytest.raises(ExecutionEnded, match=f"already ended {first.value}"):
                store.apply(Batch(nodes=[node(eid=eid, status=NodeStatus.RUNNING)]))
            assert store.nodes(eid) == []
        store.apply(Batch(executions=[execution("e2")],
                          nodes=[node(eid="e2", status=NodeStatus.RUNNING)]))
        assert [n.status for n in store.nodes("e2")] == [NodeStatus.RUNNING]

    def test_a_batch_is_judged_by_the_status_before_it(self, store: Any) -> None:
        """A batch that ends its execution may hold RUNNING rows of it (they are judged
        by the status before the batch); the end then ends them with it: a FAILED end
        fails the running ones and aborts the queued ones. A new execution, with no
        status before, is judged by its own record."""
        store.apply(Batch(executions=[execution()], nodes=[node("q")]))
        ended = dataclasses.replace(store.get_execution("e1"), status=ExecutionStatus.FAILED,
                                    ended_at=9.0, error="node 'x' failed")
        store.apply(Batch(executions=[ended], nodes=[node(status=NodeStatus.RUNNING,
                                                          attempts=1)],
                          attempts=[attempt()]))
        assert {n.node_id: n.status for n in store.nodes("e1")} == {
            "n0": NodeStatus.FAILED, "q": NodeStatus.ABORTED}
        (att,) = store.attempts("e1")
        assert (att.status, att.error_message) == (NodeStatus.FAILED, "node 'x' failed")
        assert store.get_execution("e1").status is ExecutionStatus.FAILED
        # a new execution has no status before the batch: its own record judges
        with pytest.raises(ExecutionEnded, match="e3 already ended SUCCEEDED"):
            store.apply(Batch(executions=[execution("e3", status=ExecutionStatus.SUCCEEDED,
                                                    ended_at=9.0)],
                              nodes=[node(eid="e3", status=NodeStatus.RUNNING)]))
        with pytest.raises(NotFound):
            store.get_execution("e3")

    def test_heartbeat_extends_the_lease(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(lease_owner="p")]))
        store.heartbeat("e1", 30.0)
        assert store.get_execution("e1").heartbeat_at == 30.0
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

    def test_execution_round_trip_every_field(self, store: Any) -> None:
        full = ExecutionRecord(
            id="e-full", workflow="pkg.mod:wf", source="/src/wf.py", spec_hash="abc",
            status=ExecutionStatus.FAILED, inputs={"n": H1, "lr": H2}, outputs={"o0": H3},
            error="boom", parent_id="e0", executor="processes", created_at=1.5,
            started_at=2.5, ended_at=3.5, owner_host="host", owner_pid=123, owner_started=0.25,
            heartbeat_at=3.0, checkpoint_scope="scope")
        store.apply(Batch(executions=[full]))
        got = store.get_execution("e-full")
        assert got == full
        assert got.status is ExecutionStatus.FAILED

    def test_a_later_record_of_an_execution_replaces_every_field(self, store: Any) -> None:
        """Each record is the execution's whole state, however the store writes it
        (the SQL store updates a row it wrote with the same workflow and created_at
        without those two columns): every other field of the last one is read back."""
        first = execution(parent_id=None, executor="inline", owner_host="a", owner_pid=1,
                          owner_started=0.5, heartbeat_at=1.0, checkpoint_scope="s1",
                          name="n1", tags={"k": "v"}, lease_owner="o1",
                          lease_expires_at=5.0, started_at=1.0)
        store.apply(Batch(executions=[first]))
        moved = dataclasses.replace(  # (not ended: an ended status never changes)
            first, source="other.py", spec_hash="spec2", status=ExecutionStatus.QUEUED,
            inputs={"n": H2}, outputs={"o0": H3}, error="boom", parent_id="e0",
            executor="processes", started_at=2.0, ended_at=3.0, owner_host="b", owner_pid=2,
            owner_started=0.75, heartbeat_at=2.5, checkpoint_scope="s2", name="n2",
            tags={"k": "w"}, lease_owner="", lease_expires_at=None)
        store.apply(Batch(executions=[moved]))
        assert store.get_execution("e1") == moved
        again = dataclasses.replace(moved, status=ExecutionStatus.SUCCEEDED, error=None)
        store.apply(Batch(executions=[again]))
        assert store.get_execution("e1") == again
        renamed = dataclasses.replace(again, workflow="m:other", created_at=4.0)
        store.apply(Batch(executions=[renamed]))
        assert store.get_execution("e1") == renamed
        assert [e.id for e in store.list_executions(workflow="m:other")] == ["e1"]
        assert [e.id for e in store.list_executions(status="SUCCEEDED", since=3.5)] == ["e1"]

    def test_execution_upsert_last_wins_and_outputs_none(self, store: Any) -> None:
        store.apply(Batch(executions=[execution()]))
        done = execution(status=ExecutionStatus.SUCCEEDED, outputs={"o0": H2}, ended_at=9.0)
        store.apply(Batch(executions=[done]))
        assert store.get_execution("e1") == done
        assert store.get_execution("e1").outputs == {"o0": H2}
        # (an ended status stays: see test_an_ended_executions_status_is_never_overwritten)
        store.apply(Batch(executions=[execution("e2", outputs={"o0": H2})]))
        store.apply(Batch(executions=[execution("e2"),
                                      execution("e2", status=ExecutionStatus.ABORTED)]))
        assert store.get_execution("e2").status == "ABORTED"
        assert store.get_execution("e2").outputs is None

    def test_get_execution_by_prefix(self, store: Any) -> None:
        store.apply(Batch(executions=[execution("abc123"), execution("abd456"),
                                      execution("abc")]))
        assert store.get_execution("abd").id == "abd456"
        assert store.get_execution("abc").id == "abc"  # an exact id wins over longer ones
        with pytest.raises(StoreError, match=r"ambiguous.*abc123.*abd456"):
            store.get_execution("ab")
        with pytest.raises(NotFound):
            store.get_execution("zz")
        with pytest.raises(NotFound):
            store.get_execution("")

    def test_list_executions_newest_first(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(f"e{i}", created_at=float(i)) for i in range(5)]))
        assert [e.id for e in store.list_executions()] == ["e4", "e3", "e2", "e1", "e0"]
        assert [e.id for e in store.list_executions(limit=2)] == ["e4", "e3"]

    # -- nodes and attempts ---------------------------------------------------------
    def test_node_round_trip_and_order(self, store: Any) -> None:
        full = node("b", status=NodeStatus.CACHED, attempts=2, inputs={"x": H1},
                    outputs={"o0": H2}, cache_key="key", code_hash="code", source_execution="e0",
                    source_node="b", started_at=1.0, ended_at=2.0, error="err")
        store.apply(Batch(executions=[execution()], nodes=[node("z"), full]))
        store.apply(Batch(nodes=[node("a")]))
        store.apply(Batch(nodes=[node("z", status=NodeStatus.RUNNING)]))  # keeps its place
        got = store.nodes("e1")
        assert [n.node_id for n in got] == ["z", "b", "a"]
        assert got[1] == full and got[1].status is NodeStatus.CACHED
        assert got[0].status is NodeStatus.RUNNING
        assert store.nodes("other") == []

    def test_attempts(self, store: Any) -> None:
        store.apply(Batch(executions=[execution()], nodes=[node("n0"), node("n1")]))
        full = attempt("n0", 2, status=NodeStatus.FAILED, ended_at=3.0, error_type="ValueError",
                       error_message="bad", traceback="Traceback...", logs="out\nerr\n", pid=99)
        store.apply(Batch(attempts=[attempt("n0", 1), full, attempt("n1", 1, started_at=1.5)]))
        store.apply(Batch(attempts=[attempt("n0", 1, status=NodeStatus.FAILED)]))
        assert store.attempts("e1", "n0")[1] == full
        assert [a.attempt for a in store.attempts("e1", "n0")] == [1, 2]
        assert store.attempts("e1", "n0")[0].status is NodeStatus.FAILED
        assert [(a.node_id, a.attempt) for a in store.attempts("e1")] == [
            ("n0", 1), ("n1", 1), ("n0", 2)]
        assert store.attempts("e1", "nope") == []

    def test_a_batch_writes_many_rows_and_one_row_twice(self, store: Any) -> None:
        """Rows of one table in one batch all land, however many (the SQL store sends them
        as multi-row statements on PostgreSQL); a row written twice in a batch ends as
        its last record, as when written one after the other (an artifact keeps the
        first record's created_at, a node its place in the order)."""
        store.apply(Batch(executions=[execution()]))
        start = store.last_event()
        ids = [f"n{i:02d}" for i in range(37)]
        store.apply(Batch(
            nodes=[node(n) for n in ids] + [node("n00", status=NodeStatus.RUNNING)],
            attempts=[attempt("n00"), attempt("n00", status=NodeStatus.SUCCEEDED, ended_at=2.0),
                      *(attempt(n) for n in ids[1:])],
            artifacts=[artifact(H1), artifact(H2), artifact(H1, size=2, created_at=9.0)],
            params=[ParamRecord(execution_id="e1", node_id="n00", attempt=1, key="k", value=v)
                    for v in (1, 2)]))
        nodes = store.nodes("e1")
        assert [n.node_id for n in nodes] == ids
        assert [n.status for n in nodes[:2]] == [NodeStatus.RUNNING, NodeStatus.QUEUED]
        assert [(a.node_id, a.status) for a in store.attempts("e1")][:2] == [
            ("n00", NodeStatus.SUCCEEDED), ("n01", NodeStatus.RUNNING)]
        assert len(store.attempts("e1")) == 37
        got = store.artifacts([H1, H2])
        assert (got[H1].size, got[H1].created_at, got[H2].size) == (2, 5.0, 1)
        assert [p.value for p in store.params("e1")] == [2]
        events = store.events("e1", after=start)
        assert [(e.node_id, e.status) for e in events] == [
            *((n, "QUEUED") for n in ids), ("n00", "RUNNING")]

    def test_refuses_children_of_unknown_parents(self, store: Any) -> None:
        with pytest.raises(Conflict):
            store.apply(Batch(nodes=[node(eid="missing")]))
        store.apply(Batch(executions=[execution()]))
        with pytest.raises(Conflict):
            store.apply(Batch(attempts=[attempt("missing")]))
        with pytest.raises(Conflict):
            store.apply(Batch(artifacts=[artifact(H3)], params=[ParamRecord(
                execution_id="e1", node_id="missing", attempt=1, key="k", value=1)]))
        assert store.artifacts([H3]) == {}  # the whole batch was refused

    # -- artifacts and lineage ------------------------------------------------------
    def test_artifacts(self, store: Any) -> None:
        big = ArtifactRecord(hash=H2, format="parquet", type={"type": "dataframe"}, size=10**10,
                             uri="b2/b2b2", created_at=2.0, purged=True)
        store.apply(Batch(artifacts=[artifact(H1), big]))
        assert store.artifacts([H1, H2, H3, H1]) == {H1: artifact(H1), H2: big}
        assert store.artifacts([]) == {}
        assert [a.hash for a in store.find_artifacts("b2b2")] == [H2]
        assert [a.hash for a in store.find_artifacts("")] == [H1, H2]
        assert store.find_artifacts("ff") == []
        # written again: its content may change (stored again after a purge), not its birth
        store.apply(Batch(artifacts=[dataclasses.replace(big, purged=False, created_at=99.0)]))
        again = store.artifacts([H2])[H2]
        assert again.purged is False and again.created_at == 2.0

    def test_artifacts_many(self, store: Any) -> None:
        hashes = [f"{i:064x}" for i in range(1200)]
        store.apply(Batch(artifacts=[artifact(h) for h in hashes]))
        assert len(store.artifacts(hashes)) == 1200

    def test_lineage_both_ways(self, store: Any) -> None:
        store.apply(Batch(executions=[execution("e1"), execution("e2", created_at=2.0)]))
        store.apply(Batch(nodes=[
            node("load", outputs={"o0": H1}, status=NodeStatus.SUCCEEDED, ended_at=1.0),
            node("train", inputs={"data": H1}, status=NodeStatus.RUNNING),
        ]))
        store.apply(Batch(nodes=[
            node("train", inputs={"data": H1}, outputs={"model": H2, "copy": H2},
                 status=NodeStatus.SUCCEEDED, ended_at=2.0),
            node("eval", inputs={"model": H2, "data": H1}, status=NodeStatus.RUNNING),
            node("load", eid="e2", outputs={"o0": H1}, status=NodeStatus.CACHED, ended_at=5.0),
        ]))
        assert [(n.execution_id, n.node_id) for n in store.producers(H1)] == [
            ("e1", "load"), ("e2", "load")]
        assert [n.node_id for n in store.producers(H2)] == ["train"]  # once, with two outputs
        assert [n.node_id for n in store.consumers(H1)] == ["train", "eval"]
        assert [n.node_id for n in store.consumers(H2)] == ["eval"]
        assert store.producers(H3) == [] and store.consumers(H3) == []
        # A node's rows follow its latest record: a retry with other inputs, no outputs.
        store.apply(Batch(nodes=[node("train", inputs={"data": H3}, status=NodeStatus.RUNNING)]))
        assert store.producers(H2) == []
        assert [n.node_id for n in store.consumers(H1)] == ["eval"]
        assert [n.node_id for n in store.consumers(H3)] == ["train"]

    def test_a_cached_or_recovered_node_produced_its_value_but_used_nothing(
            self, store: Any) -> None:
        """It computed nothing: it is among the producers of its outputs (with its source),
        not among the consumers of its inputs; when it runs for real, it is."""
        store.apply(Batch(executions=[execution(), execution("e2")], nodes=[
            node("fit", inputs={"data": H1}, outputs={"o0": H2}, status=NodeStatus.SUCCEEDED,
                 ended_at=1.0),
            node("fit", eid="e2", inputs={"data": H1}, outputs={"o0": H2},
                 status=NodeStatus.CACHED, source_execution="e1", source_node="fit", ended_at=2.0),
        ]))
        assert [(n.execution_id, n.status) for n in store.producers(H2)] == [
            ("e1", NodeStatus.SUCCEEDED), ("e2", NodeStatus.CACHED)]
        assert [n.execution_id for n in store.consumers(H1)] == ["e1"]
        store.apply(Batch(nodes=[node("fit", eid="e2", inputs={"data": H1}, outputs={"o0": H2},
                                      status=NodeStatus.RECOVERED, ended_at=3.0)]))
        assert [n.execution_id for n in store.consumers(H1)] == ["e1"]
        store.apply(Batch(nodes=[node("fit", eid="e2", inputs={"data": H1}, outputs={"o0": H2},
                                      status=NodeStatus.SUCCEEDED, ended_at=4.0)]))
        assert [n.execution_id for n in store.consumers(H1)] == ["e1", "e2"]

    def test_lineage_same_node_twice_in_one_batch(self, store: Any) -> None:
        store.apply(Batch(executions=[execution()], nodes=[
            node("n", inputs={"x": H1}, status=NodeStatus.RUNNING),
            node("n", inputs={"x": H2}, outputs={"o0": H3}, status=NodeStatus.SUCCEEDED),
        ]))
        assert store.consumers(H1) == []
        assert [n.status for n in store.consumers(H2)] == [NodeStatus.SUCCEEDED]
        assert [n.node_id for n in store.producers(H3)] == ["n"]

    # -- cache ----------------------------------------------------------------------
    def test_cache_entries_by_task(self, store: Any) -> None:
        store.apply(Batch(cache_entries=[
            entry("k1", "m:a"), entry("k2", "m:a", created_at=2.0), entry("k3", "m:b")]))
        assert set(store.cache_entries(["m:a"])) == {"k1", "k2"}
        assert set(store.cache_entries(["m:a", "m:b", "m:zz"])) == {"k1", "k2", "k3"}
        assert store.cache_entries([]) == {}
        assert store.cache_entries(["m:b"])["k3"] == entry("k3", "m:b")
        assert [c.key for c in store.cache_list()] == ["k1", "k2", "k3"]
        assert [c.key for c in store.cache_list("m:b")] == ["k3"]
        store.apply(Batch(cache_entries=[entry("k1", "m:a", created_at=7.0)]))  # upsert
        assert store.cache_entries(["m:a"])["k1"].created_at == 7.0

    def test_cache_hits_bump_last_used(self, store: Any) -> None:
        store.apply(Batch(cache_entries=[entry("k1")]))
        before = time.time()
        store.apply(Batch(cache_hits=["k1", "unknown"]))
        assert store.cache_entries(["m:inc"])["k1"].last_used_at >= before

    def test_cache_clear(self, store: Any) -> None:
        store.apply(Batch(cache_entries=[entry("k1", "m:a"), entry("k2", "m:a"),
                                         entry("k3", "m:b")]))
        assert store.cache_clear("m:a") == 2
        assert store.cache_clear("m:a") == 0
        assert [c.key for c in store.cache_list()] == ["k3"]
        assert store.cache_clear() == 1
        assert store.cache_list() == []

    def test_reserve_release(self, store: Any) -> None:
        assert store.reserve("k", "me", 60.0) == ""
        assert store.reserve("k", "you", 60.0) is None
        assert store.reserve("k", "me", 60.0) == "me"  # already ours
        store.release("k", "you")  # not the holder: nothing happens
        assert store.reserve("k", "you", 60.0) is None
        store.release("k", "me")
        assert store.reserve("k", "you", 60.0) == ""

    def test_reserve_takes_over_a_stale_lock(self, store: Any) -> None:
        assert store.reserve("k", "crashed", 60.0) == ""
        time.sleep(0.02)
        assert store.reserve("k", "waiter", 0.01) == "crashed"
        assert store.reserve("k", "third", 60.0) is None
        store.release("k", "crashed")  # the old owner lost it
        assert store.reserve("k", "third", 60.0) is None

    # -- params and metrics ---------------------------------------------------------
    def test_params_and_metrics(self, store: Any) -> None:
        store.apply(Batch(executions=[execution(), execution("e2")],
                          nodes=[node("n0"), node("n1"), node("n0", eid="e2")]))
        store.apply(Batch(
            params=[
                ParamRecord(execution_id="e1", node_id="n1", attempt=1, key="lr", value=0.1),
                ParamRecord(execution_id="e1", node_id="n0", attempt=1, key="layers",
                            value=[64, 32]),
                ParamRecord(execution_id="e1", node_id="n0", attempt=1, key="opt",
                            value={"name": "adam"}),
                ParamRecord(execution_id="e2", node_id="n0", attempt=1, key="lr", value=1),
            ],
            metrics=[
                MetricRecord(execution_id="e1", node_id="n0", attempt=1, key="loss", value=0.5,
                             step=0, timestamp=1.0),
                MetricRecord(execution_id="e1", node_id="n0", attempt=1, key="loss", value=0.25,
                             step=1, timestamp=2.0),
                MetricRecord(execution_id="e1", node_id="n1", attempt=1, key="acc", value=1,
                             step=None, timestamp=3.0),
            ]))
        store.apply(Batch(params=[
            ParamRecord(execution_id="e1", node_id="n1", attempt=1, key="lr", value=0.2)]))
        params = store.params("e1")
        assert [(p.node_id, p.key, p.value) for p in params] == [
            ("n0", "layers", [64, 32]), ("n0", "opt", {"name": "adam"}), ("n1", "lr", 0.2)]
        metrics = store.metrics("e1")
        assert [(m.key, m.value, m.step) for m in metrics] == [
            ("loss", 0.5, 0), ("loss", 0.25, 1), ("acc", 1.0, None)]
        assert isinstance(metrics[2].value, float)
        assert [p.value for p in store.params("e2")] == [1]
        assert store.metrics("e2") == []

    def test_param_without_json_form_is_kept_as_text(self, store: Any) -> None:
        store.apply(Batch(executions=[execution()], nodes=[node()]))
        store.apply(Batch(params=[ParamRecord(execution_id="e1", node_id="n0", attempt=1,
                                              key="obj", value=object)]))
        assert store.params("e1")[0].value == str(object)

    def test_empty_batch_is_fine(self, store: Any) -> None:
        store.apply(Batch())
        assert store.list_executions() == []

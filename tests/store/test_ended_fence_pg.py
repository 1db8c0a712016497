"""Revision 0019 on PostgreSQL, under concurrency: a RUNNING node written while another
transaction ends its execution waits for that end (the trigger reads the execution's
row FOR SHARE) and is then refused; a write that failed in a pipeline leaves no
connection behind whose prepared statements are stale."""

from __future__ import annotations

import threading

import psycopg
import pytest

from rillet.engine._records import Batch, NodeStatus
from rillet.errors import ExecutionEnded
from rillet.store import SqlMetadataStore
from rillet.store._db import database_url
from rillet.testing._store import attempt, execution, node

TIMEOUT = 60.0


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _waiting_on_a_lock(admin: psycopg.Connection) -> bool:
    rows = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                         "'Lock' AND datname = current_database()").fetchone()
    return bool(rows and rows[0])


def test_a_running_node_waits_for_a_concurrent_end_and_is_refused(pg_url: str) -> None:
    store = SqlMetadataStore(database_url(pg_url))
    try:
        store.apply(Batch(executions=[execution()], nodes=[node("n0")]))
        ending = psycopg.connect(_libpq(pg_url))  # another process ending it, not yet committed
        admin = psycopg.connect(_libpq(pg_url), autocommit=True)
        ending.execute("UPDATE executions SET status = 'ABORTED', ended_at = 1.0 "
                       "WHERE id = 'e1'")
        got: list[BaseException | None] = []

        def write() -> None:
            try:
                store.apply(Batch(nodes=[node("n0", status=NodeStatus.RUNNING, attempts=1)],
                                  attempts=[attempt("n0")]))
                got.append(None)
            except BaseException as exc:  # checked below
                got.append(exc)

        t = threading.Thread(target=write, daemon=True)
        t.start()
        deadline = TIMEOUT
        while deadline > 0 and t.is_alive() and not _waiting_on_a_lock(admin):
            t.join(0.05)
            deadline -= 0.05
        # the write waits for the end (without FOR SHARE it would have gone through)
        assert t.is_alive(), got
        ending.commit()
        t.join(TIMEOUT)
        assert not t.is_alive()
        assert isinstance(got[0], ExecutionEnded), got
        assert (got[0].execution_id, got[0].ended) == ("e1", "ABORTED")
        assert [n.status for n in store.nodes("e1")] == [NodeStatus.QUEUED]
        assert store.attempts("e1") == []
        ending.close()
        admin.close()
    finally:
        store.close()


def test_refused_writes_leave_the_pool_usable(pg_url: str) -> None:
    """Enough refusals for psycopg to prepare the statements (it prepares a statement
    on its fifth use); each is a clean ``ExecutionEnded``, and writes go on after."""
    store = SqlMetadataStore(database_url(pg_url))
    try:
        store.apply(Batch(executions=[execution(), execution("e2")]))
        ended = store.get_execution("e1")
        store.apply(Batch(executions=[ended.__class__(**{
            **{f: getattr(ended, f) for f in ended.__dataclass_fields__},
            "status": ended.status.__class__("ABORTED"), "ended_at": 2.0})]))
        for i in range(8):
            with pytest.raises(ExecutionEnded):
                store.apply(Batch(nodes=[node(f"n{i}", status=NodeStatus.RUNNING)]))
            store.apply(Batch(nodes=[node(f"m{i}", eid="e2", status=NodeStatus.RUNNING)]))
        assert len(store.nodes("e2")) == 8 and store.nodes("e1") == []
    finally:
        store.close()

"""``PgDatabase``: the store's statements on PostgreSQL go through psycopg connections
of its own pool in autocommit mode, a write transaction's statements in one pipeline.
What the store relies on: a write is all or nothing, its errors are the store's
(``Conflict`` for a constraint), results read in the middle of a write are there
(``fetchone``, ``rowcount`` of an ``executemany``), and a connection whose write
failed goes back to the pool clean."""

from __future__ import annotations

from typing import Any

import pytest

from rillet.errors import Conflict
from rillet.store._db import PgDatabase, database_url, open_database


@pytest.fixture
def db(pg_url: str) -> Any:
    d = open_database(database_url(pg_url))
    assert isinstance(d, PgDatabase)
    with d.write() as c:
        c.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    yield d
    d.close()


def test_a_write_reads_its_own_results_midway_and_commits_once(db: Any) -> None:
    with db.write() as c:
        c.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 3)])
        assert c.execute("SELECT count(*) FROM t").fetchone() == (3,)
        assert c.execute("UPDATE t SET v = v + 10 WHERE v > ?", (1,)).rowcount == 2
        assert c.executemany("UPDATE t SET v = ? WHERE k = ?", [(0, "a"), (0, "b")]
                             ).rowcount == 2
        assert sorted(c.execute("SELECT k, v FROM t")) == [("a", 0), ("b", 0), ("c", 13)]
    assert db.read("SELECT k, v FROM t ORDER BY k") == [("a", 0), ("b", 0), ("c", 13)]
    assert db.read("SELECT k FROM t WHERE k = ?", ("zz",)) == []


def test_a_failed_statement_rolls_the_whole_write_back_as_a_conflict(db: Any) -> None:
    with db.write() as c:
        c.execute("INSERT INTO t (k, v) VALUES ('a', 1)")
    with pytest.raises(Conflict, match="duplicate key"), db.write() as c:
        c.execute("INSERT INTO t (k, v) VALUES ('b', 2)")
        c.execute("INSERT INTO t (k, v) VALUES ('a', 3)")  # fails (at the commit's sync)
        c.execute("INSERT INTO t (k, v) VALUES ('c', 4)")
    assert db.read("SELECT k, v FROM t") == [("a", 1)]
    for _ in range(3 * PgDatabase.POOL):  # every pooled connection is usable
        with db.write() as c:
            c.execute("UPDATE t SET v = v + 1 WHERE k = 'a'")
    assert db.read("SELECT v FROM t") == [(1 + 3 * PgDatabase.POOL,)]


def test_an_exception_in_the_block_rolls_back(db: Any) -> None:
    with pytest.raises(RuntimeError, match="stop"), db.write() as c:
        c.execute("INSERT INTO t (k, v) VALUES ('x', 1)")
        assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)  # inside, it is there
        raise RuntimeError("stop")
    assert db.read("SELECT count(*) FROM t") == [(0,)]
    with db.write() as c:  # and the connection it used is clean
        c.execute("INSERT INTO t (k, v) VALUES ('y', 2)")
    assert db.read("SELECT k FROM t") == [("y",)]


def test_connections_are_reused_not_opened_per_statement(db: Any) -> None:
    def backends() -> int:
        return int(db.read("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database()")[0][0])

    before = backends()
    for i in range(50):
        with db.write() as c:
            c.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"k{i}", i))
        db.read("SELECT v FROM t WHERE k = ?", (f"k{i}",))
    assert backends() <= before + 1


def test_a_connection_in_use_when_the_database_closes_is_closed_not_kept(pg_url: str) -> None:
    """A read or write still running when another thread closes the database (a store
    closed at the end of a run while a heartbeat writes) hands its connection back after
    ``close``: it is closed then, not kept open in the pool of a closed database (where
    it stayed open until garbage collection)."""
    d = open_database(database_url(pg_url))
    watcher = open_database(database_url(pg_url))
    try:
        def mine() -> int:
            return int(watcher.read("SELECT count(*) FROM pg_stat_activity WHERE "
                                    "application_name = 'rillet-close-test'")[0][0])

        with d.write() as c:
            c.execute("SET application_name = 'rillet-close-test'")
            d.close()  # meanwhile, elsewhere
        assert mine() == 0
    finally:
        watcher.close()

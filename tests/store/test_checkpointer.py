"""The SQLite home's WAL is copied into the database by a thread of the writing process
(``_db._Checkpointer``), not inside the commit that fills it; no fork of the process
happens while that thread is in SQLite."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from rillet.store import _db
from rillet.store._db import SqliteDatabase


def _db_with_table(path: Path) -> SqliteDatabase:
    db = SqliteDatabase(str(path))
    db.prepare()
    with db.write() as c:
        c.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT)")
    return db


def _wait(what: str, check: object, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_the_wal_is_checkpointed_by_a_thread_of_the_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the writer's own automatic checkpoint out of the way: only the thread can copy
    monkeypatch.setattr(_db, "WAL_AUTOCHECKPOINT_PAGES", 1_000_000)
    path = tmp_path / "home.db"
    db = _db_with_table(path)
    try:
        size = path.stat().st_size
        for i in range(_db.CHECKPOINT_EVERY + 2):
            with db.write() as c:
                c.execute("INSERT INTO t (v) VALUES (?)", ("x" * 3000,))
        cp = db._checkpointer
        assert cp is not None and cp.pid == os.getpid()
        _wait("the checkpointer to run", lambda: cp.done >= 1)
        # the rows are in the database file itself now, not only in the WAL
        assert path.stat().st_size > size + 100 * 3000
        probe = sqlite3.connect(str(path))
        log, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1:]
        probe.close()
        assert copied == log  # nothing the thread had left
        assert db.read("SELECT count(*) FROM t")[0][0] == _db.CHECKPOINT_EVERY + 2
    finally:
        db.close()
    assert not cp._thread.is_alive()  # close stops it


def test_no_fork_while_the_checkpointer_is_in_sqlite(tmp_path: Path) -> None:
    """Forks right after waking the checkpointer on a WAL it has pages to copy from:
    every child opens the database and reads it (a child forked while the thread held
    SQLite's mutexes would wait on them forever)."""
    db = _db_with_table(tmp_path / "home.db")
    try:
        for round_ in range(60):
            for _ in range(20):
                with db.write() as c:
                    c.execute("INSERT INTO t (v) VALUES (?)", ("y" * 3000,))
            db._checkpoint_soon()
            time.sleep(0.0005 * (round_ % 4))  # fork at different points of the copy
            pid = os.fork()
            if pid == 0:  # the child: a connection of its own, one read, out
                try:
                    conn = sqlite3.connect(str(tmp_path / "home.db"), timeout=5)
                    conn.execute("SELECT count(*) FROM t").fetchone()
                    conn.close()
                    os._exit(0)
                except BaseException:
                    os._exit(3)
            deadline = time.monotonic() + 20
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    assert os.waitstatus_to_exitcode(status) == 0
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    pytest.fail("a forked child hung opening the database")
                time.sleep(0.005)
        cp = db._checkpointer
        assert cp is not None and cp.done >= 1
    finally:
        db.close()


def test_an_idle_checkpointer_ends_and_the_next_commits_make_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database nobody closes (a home opened per ``rillet.run``) keeps no thread and no
    connection past ``CHECKPOINT_IDLE``; its next checkpoint starts a thread again."""
    monkeypatch.setattr(_db, "CHECKPOINT_IDLE", 0.2)
    db = _db_with_table(tmp_path / "home.db")
    try:
        for _ in range(_db.CHECKPOINT_EVERY):
            with db.write() as c:
                c.execute("INSERT INTO t (v) VALUES ('z')")
        first = db._checkpointer
        assert first is not None
        _wait("the idle thread to end", lambda: not first._thread.is_alive())
        assert first.done == 1 and not first.wake()  # ended: asks nothing
        for _ in range(_db.CHECKPOINT_EVERY):
            with db.write() as c:
                c.execute("INSERT INTO t (v) VALUES ('z')")
        second = db._checkpointer
        assert second is not None and second is not first
        _wait("the new thread's checkpoint", lambda: second.done == 1)
    finally:
        db.close()

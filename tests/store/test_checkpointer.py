"""The SQLite home's WAL is copied into the database by a thread of the writing process
(``_db._Checkpointer``), not inside the commit that fills it; no fork of the process
happens while that thread is in SQLite."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


def _fork_a_reader(path: Path) -> None:
    """Fork a child that opens the database and reads it; fail if it hangs (a child
    forked while another thread held SQLite's mutexes waits on them forever)."""
    pid = os.fork()
    if pid == 0:  # the child: a connection of its own, one read, out
        try:
            conn = sqlite3.connect(str(path), timeout=5)
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
            return
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("a forked child hung opening the database")
        time.sleep(0.002)


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
            _fork_a_reader(tmp_path / "home.db")
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


def _closing(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rillet-close"]


def test_a_close_behind_settles_the_files_in_a_thread_and_the_next_open_waits_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``close(behind=True)`` (what ``tune`` does with its home) returns before the WAL's
    checkpoint; the thread ends with the WAL copied and deleted. A connection opened to
    the same path meanwhile waits for it: the closing connection deletes the WAL by name,
    which must never be the WAL of a database made again at that path."""
    path = tmp_path / "home.db"
    db = _db_with_table(path)
    for _ in range(200):
        with db.write() as c:
            c.execute("INSERT INTO t (v) VALUES (?)", ("w" * 3000,))
    slow = threading.Event()
    real = _db._CHECKPOINTING
    monkeypatch.setattr(_db, "_CHECKPOINTING", _Held(real, slow))
    db.close(behind=True)  # returns at once: the thread waits for ``slow``
    assert (tmp_path / "home.db-wal").exists() and _closing(path)
    os.unlink(path)  # the folder's database replaced by a new one meanwhile
    os.unlink(str(path) + "-wal")
    threading.Timer(0.5, slow.set).start()  # the old close goes on in 0.5 s
    again = _db_with_table(path)  # waited for the old close before connecting
    try:
        assert not _closing(path)
        with again.write() as c:
            c.execute("INSERT INTO t (v) VALUES ('new')")
        assert (tmp_path / "home.db-wal").exists()  # the new WAL, not deleted by the old
        assert again.read("SELECT v FROM t")[0][0] == "new"
    finally:
        again.close()
    assert not (tmp_path / "home.db-wal").exists()  # a plain close settles at once


def test_the_process_exit_waits_for_a_close_behind(
        tmp_path: Path) -> None:
    """The interpreter waits for a close behind before it exits: a process that ends
    leaves its home checkpointed (no WAL left), as a plain close does."""
    code = (
        "from rillet.store._db import SqliteDatabase\n"
        f"db = SqliteDatabase({str(tmp_path / 'x.db')!r}); db.prepare()\n"
        "with db.write() as c:\n"
        "    c.execute('CREATE TABLE t (v TEXT)')\n"
        "    c.executemany('INSERT INTO t VALUES (?)', [('v' * 2000,)] * 500)\n"
        "db.close(behind=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert (tmp_path / "x.db").stat().st_size > 500 * 2000
    assert not (tmp_path / "x.db-wal").exists()
    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 500
    conn.close()


class _Held:
    """A stand-in for ``_CHECKPOINTING`` whose holder waits for ``go`` first."""

    def __init__(self, lock: Any, go: threading.Event) -> None:
        self.lock, self.go = lock, go

    def __enter__(self) -> None:
        assert self.go.wait(20)
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_no_fork_while_another_thread_is_in_sqlite(tmp_path: Path) -> None:
    """A thread writing and reading through a ``SqliteDatabase`` (a server's request
    thread) while another forks (a local worker's processes executor): every child
    opens the database and reads it. A child forked while the other thread was inside
    SQLite (holding its mutexes) would wait on them forever."""
    db = _db_with_table(tmp_path / "home.db")
    stop = threading.Event()

    def busy() -> None:
        i = 0
        while not stop.is_set():
            with db.write() as c:
                c.executemany("INSERT INTO t (v) VALUES (?)", [("b" * 500,)] * 50)
            db.read("SELECT count(*), max(length(v)) FROM t")
            i += 1
            if i % 20 == 0:
                with db.write() as c:
                    c.execute("DELETE FROM t")

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        for _ in range(150):
            _fork_a_reader(tmp_path / "home.db")
    finally:
        stop.set()
        thread.join()
        db.close()

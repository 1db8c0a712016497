"""Connections for the SQL metadata store: stdlib ``sqlite3`` for ``sqlite:///``
URLs (the embedded home's hot path), SQLAlchemy for every other URL.

The store speaks plain SQL with ``?`` parameters to a small :class:`Database`
interface; this module hides which driver runs it. It must not import
SQLAlchemy unless a non-``sqlite:///`` URL asks for it (0.2 s of import time).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from rillet.errors import Conflict, StoreError

BUSY_TIMEOUT_MS = 30_000
# A new home's page size. Every commit appends each page it changed to the WAL (a write
# of the page and one of its header): an inline one-task execution changes ~32 pages in
# its two commits, and with 2 KB pages the kernel's share of it (copying the pages) is
# ~20 % lower (0.15 vs 0.19 ms of system time an execution) for ~15 % more pages.
PAGE_SIZE = 2048
WAL_AUTOCHECKPOINT_PAGES = 4000
# Commits of one process between its background checkpoints (``_Checkpointer``): ~1,200
# WAL pages for an inline chain (~9 pages a commit), well before the writer's own
# automatic checkpoint at WAL_AUTOCHECKPOINT_PAGES, which stays as the backstop.
CHECKPOINT_EVERY = 128
# Seconds a checkpointer thread waits for work before it ends (closing its connection):
# a database nobody closes (a home opened per ``rillet.run``) leaves no thread behind.
CHECKPOINT_IDLE = 10.0


class Database(Protocol):
    url: str

    def write(self) -> Any:
        """A context manager: one write transaction (on SQLite ``BEGIN IMMEDIATE``)."""

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def table_names(self) -> list[str]: ...

    def prepare(self) -> None:
        """Set the connection up for work (WAL, ...); called once the schema is known."""

    def create_schema(self) -> bool:
        """Create the head schema if the database has no tables; False if it had some."""

    def close(self) -> None: ...


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL (``:memory:`` too), else None."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):] or ":memory:"
    if url in ("sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    return None


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), no pragmas yet."""
    return sqlite3.connect(
        path, isolation_level=None, check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000, cached_statements=256,
    )


def tune_sqlite(conn: sqlite3.Connection) -> None:
    """WAL, synchronous=NORMAL, a 30 s busy timeout, foreign keys (per connection)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
        # a new database takes PAGE_SIZE before its first page is written (an existing
        # one keeps its own: WAL mode cannot change it)
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    # Checkpoint every ~16 MB of WAL rather than 4 MB: hot pages (the tails of the
    # node and attempt tables, b-tree interiors) are copied once for more commits;
    # it cut the mean apply() by about a fifth. The WAL file is capped at 64 MB.
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    conn.execute("PRAGMA journal_size_limit = 67108864")


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, retried: the switch needs an exclusive lock and
    SQLite answers "database is locked" at once, without waiting for the busy timeout,
    while another process (say one creating the same home) holds the database."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked (switching to WAL)")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def begin_immediate(engine: Any, on_connect: Callable[[Any], None]) -> None:
    """The pysqlite recipe from the SQLAlchemy docs for a SQLAlchemy SQLite engine:
    the driver's own transaction handling off (``on_connect`` then sets the
    connection up) and ``BEGIN IMMEDIATE`` on every begin, so writers queue."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        on_connect(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _translate(exc: Exception, url: str) -> StoreError:
    text = str(exc)
    if "constraint" in text.lower():
        return Conflict(f"the metadata store at {url} refused a write: {text}")
    return StoreError(f"the metadata store at {url} failed: {text}")


class SqliteDatabase:
    """One ``sqlite3`` connection shared by this process's threads (a lock serializes).

    Writes run in ``BEGIN IMMEDIATE`` so that writers from several processes queue
    on the busy timeout instead of failing with "database is locked" mid-transaction.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._tuned = False
        self._commits = 0
        self._wrote = False  # committed a write: its close is worth a thread
        self._checkpointer: _Checkpointer | None = None
        _OPEN[id(self)] = weakref.ref(self, functools.partial(_forget, id(self)))
        try:  # connecting reads nothing and writes nothing yet
            _wait_for_close(path)
            with self._lock:  # (no fork meanwhile)
                self._conn: sqlite3.Connection | None = connect_sqlite(path)
        except sqlite3.Error as exc:
            raise _translate(exc, self.url) from exc

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None or self._pid != os.getpid():  # closed, or inherited by a fork
            self._pid = os.getpid()
            _wait_for_close(self.path)
            conn = self._conn = connect_sqlite(self.path)
            if self._tuned:
                tune_sqlite(conn)
        return conn

    def prepare(self) -> None:
        with self._lock:
            try:
                tune_sqlite(self._connection())
            except sqlite3.Error as exc:
                raise _translate(exc, self.url) from exc
            self._tuned = True

    def table_names(self) -> list[str]:
        rows = self.read("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [r[0] for r in rows if not r[0].startswith("sqlite_")]

    def create_schema(self) -> bool:
        from rillet.store._ddl import ALEMBIC_VERSION_DDL, HEAD, SQLITE_DDL

        with self.write() as conn:  # BEGIN IMMEDIATE: concurrent creators queue here
            tables = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            if conn.execute(tables).fetchone()[0]:
                return False
            for statement in SQLITE_DDL:
                conn.execute(statement)
            conn.execute(ALEMBIC_VERSION_DDL)
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))
        return True

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self.url) from exc
            try:
                yield conn
                conn.execute("COMMIT")
                self._wrote = True
                self._commits += 1
                if self._commits >= CHECKPOINT_EVERY:
                    self._commits = 0
                    self._checkpoint_soon()
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc, self.url) from exc
                raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, self.url) from exc

    def _checkpoint_soon(self) -> None:
        """Ask this process's checkpointer thread to copy the WAL into the database."""
        if self.path == ":memory:" or not self._tuned:
            return
        cp = self._checkpointer
        # (a fork's copy has no thread; an idle one has ended)
        if cp is None or cp.pid != os.getpid() or not cp.wake():
            self._checkpointer = _Checkpointer(self.path)

    def close(self, behind: bool = False) -> None:
        """Close the connection. The last connection to a database checkpoints its WAL
        into it, syncs both files and deletes the WAL (~13 ms after a 60-trial study,
        most of it waiting on the disk). ``behind``: after writes, that close runs in a
        thread (:func:`_close_behind`) and the caller goes on while the disk syncs (the
        files are settled only once it ends: for a caller that leaves the files alone,
        as ``tune`` does with the home it opened)."""
        cp, self._checkpointer = self._checkpointer, None
        if cp is not None and cp.pid == os.getpid():
            cp.stop()
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                if behind and self._wrote and self.path != ":memory:":
                    _close_behind(self.path, conn)
                else:
                    conn.close()


class AlchemyDatabase:
    """Any SQLAlchemy URL (``sqlite+pysqlite:///``, ``postgresql+psycopg://``, ...).

    Statements run as prepared driver SQL (``exec_driver_sql``); ``?`` parameters
    become ``%s`` for drivers of the format/pyformat style.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.url = url
        try:
            self._engine = create_engine(url)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open the metadata store at {url}: {exc}") from exc
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._format = self._engine.dialect.paramstyle in ("format", "pyformat")
        if self._sqlite:
            begin_immediate(self._engine, tune_sqlite)

    def prepare(self) -> None:
        pass

    def table_names(self) -> list[str]:
        from sqlalchemy import inspect

        try:
            return list(inspect(self._engine).get_table_names())
        except Exception as exc:
            raise _translate(exc, self.url) from exc

    def create_schema(self) -> bool:
        from sqlalchemy import inspect

        from rillet.store._ddl import ALEMBIC_VERSION_DDL, HEAD
        from rillet.store._schema import metadata

        with self._alchemy_write() as cursor:
            if inspect(cursor._conn).get_table_names():
                return False
            metadata.create_all(cursor._conn)
            cursor.execute(ALEMBIC_VERSION_DDL)
            cursor.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))
        return True

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._format else sql

    def write(self) -> Any:
        return self._alchemy_write()

    @contextmanager
    def _alchemy_write(self) -> Iterator[_AlchemyCursor]:
        try:
            with self._engine.begin() as conn:
                yield _AlchemyCursor(conn, self)
        except StoreError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("sqlalchemy"):
                raise _translate(exc, self.url) from exc
            raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(self._sql(sql), tuple(params))]
        except Exception as exc:
            raise _translate(exc, self.url) from exc

    def close(self) -> None:
        self._engine.dispose()


class _AlchemyCursor:
    def __init__(self, conn: Any, db: AlchemyDatabase) -> None:
        self._conn = conn
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.exec_driver_sql(self._db._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        if rows:
            return self._conn.exec_driver_sql(self._db._sql(sql), [tuple(r) for r in rows])
        return None


def database_url(url: str) -> str:
    """A SQLAlchemy URL for ``url``: ``postgresql://`` means psycopg 3 (the ``postgres``
    extra), a bare path SQLite."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{os.path.abspath(url)}"
    return url


def open_database(url: str) -> SqliteDatabase | AlchemyDatabase:
    path = sqlite_path(url)
    if path is not None:
        return SqliteDatabase(path)
    if url.startswith("postgresql+psycopg://"):
        return PgDatabase(url)
    return AlchemyDatabase(url)


class PgDatabase(AlchemyDatabase):
    """PostgreSQL through psycopg 3: SQLAlchemy creates, inspects and migrates the
    schema; the store's own statements run on psycopg connections of this class's pool
    in autocommit mode, counted in network round trips (each one, on a busy machine,
    waits for the server process to be scheduled):

    - a read is one round trip (SQLAlchemy's was three: ``BEGIN``, the query and the
      ``ROLLBACK`` of the connection's return to its pool);
    - a write transaction sends its ``BEGIN``, statements and ``COMMIT`` in one
      pipeline: one round trip, plus one for each result read in the middle
      (``fetchone``, ``rowcount``). An error surfaces at that read or at the commit,
      as the same ``StoreError``/``Conflict``, with the transaction rolled back.
    """

    POOL = 16  # idle connections kept per database object

    def __init__(self, url: str) -> None:
        super().__init__(url)
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        self._connect_args = (list(args), dict(kwargs))
        self._idle: list[Any] = []
        self._pool_lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False  # after close(), a connection checked in is closed, not kept

    def _checkout(self) -> Any:
        with self._pool_lock:
            if self._pid != os.getpid():  # inherited by a fork: those are the parent's
                self._pid, self._idle = os.getpid(), []
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        import psycopg

        args, kwargs = self._connect_args
        try:
            return psycopg.connect(*args, autocommit=True, **kwargs)
        except psycopg.Error as exc:
            raise _translate(exc, self.url) from exc

    def _checkin(self, conn: Any) -> None:
        from psycopg.pq import TransactionStatus

        if (conn.closed or conn.broken or self._pid != os.getpid()
                or conn.info.transaction_status != TransactionStatus.IDLE):
            conn.close()
            return
        with self._pool_lock:
            if not self._closed and len(self._idle) < self.POOL:
                self._idle.append(conn)
                return
        conn.close()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        conn = self._checkout()
        try:
            cur = conn.execute(self._sql(sql), tuple(params)) if params else \
                conn.execute(self._sql(sql))
            return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise _translate(exc, self.url) from exc
        finally:
            self._checkin(conn)

    @contextmanager
    def write(self) -> Iterator[_PgCursor]:
        import psycopg

        conn = self._checkout()
        done = False
        try:
            # BEGIN and COMMIT as statements of the pipeline (psycopg's own transaction
            # block waits for each); a statement that fails makes the server skip the
            # rest, COMMIT included, up to the pipeline's end: the ROLLBACK below
            with conn.pipeline() as pipeline:
                conn.execute("BEGIN")
                yield _PgCursor(conn, pipeline, self)
                conn.execute("COMMIT")
            done = True
        except psycopg.Error as exc:
            # Not kept: psycopg counts the statements the failed pipeline skipped as
            # prepared (a later use fails: 'prepared statement "_pg3_1" does not exist').
            conn.close()
            raise _translate(exc, self.url) from exc
        finally:
            if not done:
                _rollback(conn)
            self._checkin(conn)

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
            self._closed = True
        if mine:
            for conn in idle:
                conn.close()
        super().close()


def _rollback(conn: Any) -> None:
    """End a write transaction that did not commit; a connection that cannot is closed
    (its checkin then drops it)."""
    from psycopg.pq import TransactionStatus

    try:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
    except Exception:
        conn.close()


_PG_TEXTS: dict[str, str] = {}  # the store's SQL -> psycopg's (``?`` -> ``%s``)


class _PgCursor:
    """One write transaction's statements, queued in its pipeline."""

    __slots__ = ("_conn", "_db", "_pipeline", "_sink")

    def __init__(self, conn: Any, pipeline: Any, db: PgDatabase) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self._db = db
        self._sink: Any = None

    def send(self, sql: str, params: Sequence[Any]) -> None:
        """Queue a statement whose result nobody reads, on one cursor shared by all of
        them (not a cursor and its adapters per statement); an error surfaces as any
        other in the pipeline: at the next read or at the commit."""
        cur = self._sink
        if cur is None:
            cur = self._sink = self._conn.cursor()
        text = _PG_TEXTS.get(sql)
        if text is None:
            if len(_PG_TEXTS) > 4096:
                _PG_TEXTS.clear()
            text = _PG_TEXTS[sql] = self._db._sql(sql)
        cur.execute(text, tuple(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _PgResult:
        cur = self._conn.cursor()
        if params:
            cur.execute(self._db._sql(sql), tuple(params))
        else:
            cur.execute(self._db._sql(sql))
        return _PgResult(cur, self._pipeline)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> _PgResult | None:
        if not rows:
            return None
        cur = self._conn.cursor()
        cur.executemany(self._db._sql(sql), [tuple(r) for r in rows])
        return _PgResult(cur, self._pipeline)


class _PgResult:
    """A statement's result: reading it waits for the pipeline up to that statement."""

    __slots__ = ("_cur", "_pipeline")

    def __init__(self, cur: Any, pipeline: Any) -> None:
        self._cur = cur
        self._pipeline = pipeline

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return int(self._cur.rowcount)


# Held while a checkpointer or closing thread is in SQLite, and across every os.fork of
# this process (register_at_fork), as is the lock of every open ``SqliteDatabase`` (held
# while its thread is in SQLite): a child is never forked while another thread holds
# SQLite's own mutexes (it would wait on them forever at its first connection). The
# databases' locks are taken first: a thread closing one (its lock held) may wait for a
# closing thread that needs _CHECKPOINTING.
_CHECKPOINTING = threading.Lock()
# the open databases (id -> a weak reference): a dict, whose copy is one step under the
# GIL while another thread may add to it
_OPEN: dict[int, weakref.ref[SqliteDatabase]] = {}
_HELD: list[SqliteDatabase] = []


def _forget(key: int, _ref: object) -> None:
    _OPEN.pop(key, None)


def _before_fork() -> None:
    found = [ref() for ref in list(_OPEN.values())]
    for db in sorted((db for db in found if db is not None), key=id):
        db._lock.acquire()
        _HELD.append(db)
    _CHECKPOINTING.acquire()


def _after_fork() -> None:
    _CHECKPOINTING.release()
    while _HELD:
        _HELD.pop()._lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork,
                        after_in_child=_after_fork)


class _Checkpointer:
    """Copies a SQLite home's WAL into its database from a thread of its own, on its
    own connection, with ``PRAGMA wal_checkpoint(PASSIVE)`` (which waits for no lock
    and keeps no writer or reader waiting). Without it the checkpoint runs inside the
    COMMIT that fills the WAL to ``WAL_AUTOCHECKPOINT_PAGES``, and that one commit pays
    for copying the pages and syncing the database file: ~19 ms every ~400 commits of
    an inline chain, 40 us a commit on average, a sixth of the chain's time per task.
    The sqlite3 module lets go of the GIL while SQLite works, so the engine runs on."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._wake.set()  # a checkpoint was asked for when it was made
        self._state = threading.Lock()  # between an idle end and a wake
        self._ended = False
        self._stopped = False
        self.done = 0  # checkpoints run
        self._thread = threading.Thread(target=self._run, name="rillet-checkpoint",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> bool:
        """Ask for a checkpoint; False when the thread has ended (idle), asking nothing."""
        with self._state:
            if self._ended:
                return False
            self._wake.set()
            return True

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wake.wait(CHECKPOINT_IDLE):
                    with self._state:
                        if not self._wake.is_set():  # idle: end (a wake now makes another)
                            self._ended = True
                            return
                self._wake.clear()
                if self._stopped:
                    return
                try:
                    with _CHECKPOINTING:
                        if conn is None:
                            conn = sqlite3.connect(self.path, isolation_level=None,
                                                   check_same_thread=False)
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                except sqlite3.Error:
                    pass  # the writer's automatic checkpoint is the backstop
        finally:
            with self._state:
                self._ended = True
            if conn is not None:
                with _CHECKPOINTING:
                    conn.close()


# Closes running in threads (``SqliteDatabase.close``), by database path. A connection
# opened to a path waits for its close first: the closing connection, if it is the
# last, deletes the WAL by name, which must not be the WAL of a new database made at
# the same path meanwhile (a folder removed and made again).
_CLOSING: dict[str, threading.Thread] = {}
_CLOSING_LOCK = threading.Lock()


def _close_behind(path: str, conn: sqlite3.Connection) -> None:
    """``conn.close()`` in a thread of its own. Not a daemon: the interpreter's exit
    waits for it, so a process that ends leaves its database checkpointed as before.
    Held under ``_CHECKPOINTING``: no fork while it is in SQLite."""
    def run() -> None:
        try:
            with _CHECKPOINTING:
                conn.close()
        except sqlite3.Error:
            pass  # the WAL stays; the next connection recovers it
        finally:
            with _CLOSING_LOCK:
                if _CLOSING.get(path) is thread:
                    del _CLOSING[path]

    _wait_for_close(path)
    thread = threading.Thread(target=run, name="rillet-close", daemon=False)
    with _CLOSING_LOCK:
        _CLOSING[path] = thread
    thread.start()


def _wait_for_close(path: str) -> None:
    """Wait for this process's close of ``path`` in progress, if any."""
    with _CLOSING_LOCK:
        thread = _CLOSING.get(path)
    if thread is not None and thread is not threading.current_thread():
        thread.join()

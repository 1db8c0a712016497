"""The embedded home: creation, reopening, refusing what is not ours, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from rillet.engine._records import (
    AttemptRecord,
    Batch,
    CacheEntry,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
from rillet.errors import NotFound, StoreError
from rillet.store import Home
from rillet.store._ddl import HEAD


def snapshot(folder) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders)."""
    out: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = None
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


def execution(eid: str) -> ExecutionRecord:
    return ExecutionRecord(id=eid, workflow="m:wf", source="wf.py", spec_hash="s",
                           status=ExecutionStatus.RUNNING, inputs={}, created_at=time.time())


# -- a new home, reopened -------------------------------------------------------------

def test_new_home_layout(tmp_path):
    path = tmp_path / "home"
    with Home.open(str(path)) as home:
        assert home.path == str(path)
        assert set(os.listdir(path)) >= {"artifacts", "checkpoints", "home.json",
                                         "rillet.db", "work"}
        assert json.loads((path / "home.json").read_text()) == {
            "format": "rillet-home", "schema": HEAD}
        home.store.apply(Batch(executions=[execution("e1")]))
        assert home.artifacts.get(home.artifacts.put("ab" * 32, b"v")) == b"v"
    conn = sqlite3.connect(path / "rillet.db")
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_an_empty_folder_becomes_a_home(tmp_path):
    with Home.open(str(tmp_path)) as home:
        assert os.path.exists(home.db_path)


def test_a_new_home_has_small_pages_and_an_old_one_keeps_its_own(tmp_path, monkeypatch):
    """A new home's database takes ``PAGE_SIZE`` (fewer bytes per WAL frame); a home
    made with 4 KB pages (any home made before) is opened and written as it is."""
    from rillet.store import _db

    Home.open(str(tmp_path / "new")).close()
    conn = sqlite3.connect(tmp_path / "new" / "rillet.db")
    assert conn.execute("PRAGMA page_size").fetchone()[0] == _db.PAGE_SIZE == 2048
    conn.close()
    old = tmp_path / "old"
    with monkeypatch.context() as m:  # a home made before: 4 KB pages
        m.setattr(_db, "PAGE_SIZE", 4096)
        Home.open(str(old)).close()
    with Home.open(str(old)) as h:
        h.store.apply(Batch(executions=[execution("e-old")]))
        assert h.store.get_execution("e-old").id == "e-old"
    conn = sqlite3.connect(old / "rillet.db")
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    conn.close()


def test_reopen_keeps_records(tmp_path):
    with Home.open(str(tmp_path / "h")) as home:
        home.store.apply(Batch(executions=[execution("e1")]))
    with Home.open(str(tmp_path / "h"), create=False) as home:
        assert home.store.get_execution("e1").id == "e1"


def test_default_path_from_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv("RILLET_HOME", str(tmp_path / "from-env"))
    with Home.open() as home:
        assert home.path == str(tmp_path / "from-env")
    monkeypatch.delenv("RILLET_HOME")
    monkeypatch.chdir(tmp_path)
    with Home.open() as home:
        assert home.path == str(tmp_path / ".rillet")


def test_create_false_on_a_missing_home(tmp_path):
    with pytest.raises(NotFound, match="no rillet home at"):
        Home.open(str(tmp_path / "nothing"), create=False)
    assert not (tmp_path / "nothing").exists()


def test_paths_for_checkpoints_and_work(tmp_path):
    with Home.open(str(tmp_path)) as home:
        path = home.checkpoint_path("e1", "fan/n1")
        assert os.path.dirname(path) == os.path.join(home.path, "checkpoints", "e1")
        assert os.path.basename(path) == "fan%2Fn1"
        assert os.path.isdir(os.path.dirname(path))
        assert os.path.basename(home.checkpoint_path("e1", "..")) == "%2E%2E"
        assert home.checkpoint_path("e1", "a") != home.checkpoint_path("e2", "a")
        work = home.work_dir("e1")
        assert os.path.isdir(work) and work.startswith(os.path.join(home.path, "work"))
        with pytest.raises(StoreError):
            home.work_dir("")


def test_paths_with_make_false_make_no_folder(tmp_path):
    with Home.open(str(tmp_path)) as home:
        path = home.checkpoint_path("e2", "n", make=False)
        assert not os.path.exists(os.path.dirname(path))
        assert path == home.checkpoint_path("e2", "n")  # the same path, its folder made
        assert os.path.isdir(os.path.dirname(path))
        work = home.work_dir("e2", make=False)
        assert not os.path.exists(work) and work == home.work_dir("e2")
        assert os.path.isdir(work)


def test_opening_imports_no_sqlalchemy_alembic_or_fsspec(tmp_path):
    code = (
        "import sys, time\n"
        "from rillet.store import Home\n"
        "from rillet.engine._records import Batch\n"
        f"h = Home.open({str(tmp_path / 'h')!r}); h.store.apply(Batch()); h.close()\n"
        f"h = Home.open({str(tmp_path / 'h')!r}); h.store.list_executions()\n"
        "h.artifacts.put('ab' * 32, b'x')\n"
        "print([m for m in ('sqlalchemy', 'alembic', 'fsspec') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# -- refusing what is not ours --------------------------------------------------------

def refused(path, match: str) -> str:
    before = snapshot(path)
    with pytest.raises(StoreError, match=match) as info:
        Home.open(str(path))
    assert snapshot(path) == before, "a refused folder must not change"
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_foreign_folder_is_refused_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "work").mkdir()
    refused(tmp_path, "not a rillet home: the folder is not empty")


def test_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Home.open(str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("marker, match", [
    ('{"format": "other", "schema": "0001"}', "not a rillet home marker"),
    ("not json", "corrupt"),
    ('["rillet-home"]', "not a rillet home marker"),
    ('{"format": "rillet-home"}', "names no schema"),
])
def test_a_foreign_or_corrupt_marker_is_refused_untouched(tmp_path, marker, match):
    (tmp_path / "home.json").write_text(marker)
    (tmp_path / "rillet.db").write_bytes(b"")
    refused(tmp_path, match)


def test_a_database_that_is_not_sqlite_is_refused_untouched(tmp_path):
    Home.open(str(tmp_path)).close()
    (tmp_path / "rillet.db").write_bytes(b"this is not a database at all" * 200)
    refused(tmp_path, "not a rillet metadata store")


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    Home.open(str(tmp_path)).close()
    os.unlink(tmp_path / "rillet.db")
    conn = sqlite3.connect(tmp_path / "rillet.db")
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    message = refused(tmp_path, "not a rillet metadata store")
    assert "customers" in message


def test_a_newer_marker_is_refused_untouched(tmp_path):
    Home.open(str(tmp_path)).close()
    (tmp_path / "home.json").write_text('{"format": "rillet-home", "schema": "9999"}')
    refused(tmp_path, "newer rillet")


def test_a_newer_database_is_refused_untouched(tmp_path):
    with Home.open(str(tmp_path)) as home:
        home.store.apply(Batch(executions=[execution("e1")]))
    conn = sqlite3.connect(tmp_path / "rillet.db")
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    refused(tmp_path, r"newer rillet \(schema revision '9999'")


def test_an_older_schema_is_upgraded(tmp_path, monkeypatch):
    from rillet.store import _ddl, _migrate

    Home.open(str(tmp_path)).close()
    conn = sqlite3.connect(tmp_path / "rillet.db")
    conn.execute("UPDATE alembic_version SET version_num = '0000'")
    conn.commit()
    conn.close()
    (tmp_path / "home.json").write_text('{"format": "rillet-home", "schema": "0000"}')
    calls = []

    def fake_upgrade(url, revision="head"):
        calls.append(url)
        c = sqlite3.connect(url.removeprefix("sqlite:///"))
        c.execute("UPDATE alembic_version SET version_num = ?", (_ddl.HEAD,))
        c.commit()
        c.close()

    monkeypatch.setattr(_migrate, "REVISIONS", ("0000", _ddl.HEAD))
    monkeypatch.setattr(_migrate, "upgrade", fake_upgrade)
    with Home.open(str(tmp_path)) as home:
        assert calls == [home.url]
    assert json.loads((tmp_path / "home.json").read_text())["schema"] == HEAD


# -- several processes at once ---------------------------------------------------------

def _open_at(path: str, start: float, queue) -> None:
    try:
        time.sleep(max(0.0, start - time.time()))
        with Home.open(path) as home:
            home.store.apply(Batch(executions=[execution(f"e{os.getpid()}")]))
        queue.put("ok")
    except BaseException as exc:  # reported to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


def _run_all(target, args_for, n: int) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), queue)) for i in range(n)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_creation_all_succeed(tmp_path, round_):
    path = str(tmp_path / "home")
    start = time.time() + 1.5  # after every spawned interpreter is up
    results = _run_all(_open_at, lambda i: (path, start), 4)
    assert results == ["ok"] * 4
    with Home.open(path) as home:
        assert len(home.store.list_executions()) == 4


def _write_batches(path: str, worker: int, start: float, queue) -> None:
    try:
        time.sleep(max(0.0, start - time.time()))
        with Home.open(path) as home:
            store = home.store
            eid = f"w{worker}"
            store.apply(Batch(executions=[execution(eid)]))
            for i in range(200):
                now = time.time()
                store.apply(Batch(
                    nodes=[NodeRecord(execution_id=eid, node_id=f"n{i}", task="m:t",
                                      kind="task", status=NodeStatus.SUCCEEDED,
                                      inputs={"x": f"{i:064x}"}, outputs={"o0": f"{i + 1:064x}"})],
                    attempts=[AttemptRecord(execution_id=eid, node_id=f"n{i}", attempt=1,
                                            status=NodeStatus.SUCCEEDED, executor="inline",
                                            started_at=now)],
                    cache_entries=[CacheEntry(
                        key=f"k{i % 10}", task="m:t", cache_version="1", code_parts={},
                        input_hashes={}, outputs={}, execution_id=eid, node_id=f"n{i}",
                        created_at=now, last_used_at=now)],
                ))
                if i % 20 == 0:
                    if store.reserve(f"lock{i}", eid, 3600.0) is not None:
                        store.release(f"lock{i}", eid)
                    store.list_executions()
        queue.put("ok")
    except BaseException as exc:
        queue.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_writers_never_see_database_is_locked(tmp_path):
    path = str(tmp_path / "home")
    Home.open(path).close()
    start = time.time() + 1.5
    results = _run_all(_write_batches, lambda i: (path, i, start), 4)
    assert results == ["ok"] * 4
    with Home.open(path) as home:
        for w in range(4):
            assert len(home.store.nodes(f"w{w}")) == 200
            assert len(home.store.attempts(f"w{w}")) == 200
        assert len(home.store.cache_list("m:t")) == 10
        assert len(home.store.consumers(f"{5:064x}")) == 4

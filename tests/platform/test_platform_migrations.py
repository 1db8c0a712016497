"""Alembic takes a store of the previous release's schema (0001) to head, on SQLite and
on PostgreSQL, keeping its records; the platform then works on it."""

from __future__ import annotations

import sqlite3

import pytest

from rillet.engine._records import ExecutionStatus
from rillet.platform import launch, register
from rillet.platform._stores import open_stores
from rillet.store._ddl import HEAD
from rillet.store._migrate import upgrade


def _old_store(url: str) -> None:
    upgrade(url, "0001")  # the released schema, from an empty database
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.begin() as c:
        assert "registered_entities" not in inspect(c).get_table_names()
        c.execute(text(
            "INSERT INTO executions (id, workflow, source, spec_hash, status, inputs, executor, "
            "created_at, owner_host, owner_pid, owner_started, checkpoint_scope) VALUES "
            "('old1', 'm:wf', 'm.py', '', 'SUCCEEDED', '{}', 'inline', 1.0, 'h', 1, 1.0, 'old1')"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("pg_url")


def test_a_0001_store_is_upgraded_and_keeps_its_records(old_url, tmp_path, project):
    _old_store(old_url)
    stores = open_stores(db=old_url, artifacts=str(tmp_path / "artifacts"))
    try:
        assert stores.store.database.read("SELECT version_num FROM alembic_version") == [(HEAD,)]
        old = stores.store.get_execution("old1")
        assert old.status is ExecutionStatus.SUCCEEDED and old.workflow == "m:wf"
        register(str(project / "pipe.py"), store=stores.store, artifacts=stores.artifacts)
        queued = launch(stores.store, "pipe.one", inputs={"x": 1})
        assert stores.store.get_execution(queued).status is ExecutionStatus.QUEUED
    finally:
        stores.close()


def test_a_0001_home_is_upgraded_when_opened(tmp_path):
    from rillet.store import Home

    folder = tmp_path / "home"
    folder.mkdir()
    url = f"sqlite:///{folder / 'rillet.db'}"
    _old_store(url)
    (folder / "home.json").write_text('{"format": "rillet-home", "schema": "0001"}')
    with Home.open(str(folder)) as home:
        assert home.store.get_execution("old1").workflow == "m:wf"
    conn = sqlite3.connect(folder / "rillet.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"registered_entities", "launch_queue", "executions"} <= tables

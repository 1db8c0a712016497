"""The schema is written three ways (SQLAlchemy tables, the frozen SQLite DDL that
new homes use, the Alembic migrations); these tests keep them the same."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from sqlalchemy import create_engine, inspect

from rillet.engine._records import (
    ArtifactRecord,
    AttemptRecord,
    Batch,
    CacheEntry,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.errors import StoreError
from rillet.store import Home, SqlMetadataStore, _ddl, _schema, _sql
from rillet.store._migrate import alembic_config, upgrade


def describe(path) -> dict:
    """Tables, columns, keys, indexes and rowid-ness of the SQLite database at ``path``."""
    engine = create_engine(f"sqlite:///{path}")
    insp = inspect(engine)
    out = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in insp.get_columns(table)],
            "pk": insp.get_pk_constraint(table),
            "fks": sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                 tuple(f["referred_columns"]), tuple(sorted(f.get("options", {}).items())))
                for f in insp.get_foreign_keys(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"])
                              for i in insp.get_indexes(table)),
        }
    engine.dispose()
    conn = sqlite3.connect(path)
    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                  "AND name NOT LIKE 'sqlite_%'"):
        out[name]["without_rowid"] = "WITHOUT ROWID" in sql.upper()
    conn.close()
    return out


@pytest.fixture
def by_alembic(tmp_path):
    path = tmp_path / "alembic.db"
    upgrade(f"sqlite:///{path}")
    return path


def test_frozen_ddl_matches_the_tables():
    assert _ddl.SQLITE_DDL == _schema.sqlite_ddl(), (
        "rillet/store/_ddl.py is stale: run `python -m rillet.store._schema`")
    with open(_ddl.__file__) as f:
        assert _schema.render_ddl_module() == f.read()


def test_alembic_upgrade_head_equals_create_all_and_new_homes(tmp_path, by_alembic):
    created = tmp_path / "create_all.db"
    engine = create_engine(f"sqlite:///{created}")
    _schema.metadata.create_all(engine)
    engine.dispose()
    with Home.open(str(tmp_path / "home")) as home:
        home_db = home.db_path
    SqlMetadataStore(f"sqlite+pysqlite:///{tmp_path / 'alchemy.db'}").close()

    expected = describe(by_alembic)
    assert set(expected) == {t.name for t in _schema.metadata.sorted_tables} | {
        "alembic_version"}
    without_version = {k: v for k, v in expected.items() if k != "alembic_version"}
    assert describe(created) == without_version
    assert describe(home_db) == expected
    assert describe(tmp_path / "alchemy.db") == expected


def test_alembic_sees_no_difference_between_migrations_and_tables(by_alembic):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(f"sqlite:///{by_alembic}")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), _schema.metadata) == []
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert version == _ddl.HEAD


def test_revisions_list_matches_the_migrations():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == _ddl.HEAD
    oldest_first = [r.revision for r in script.walk_revisions()][::-1]
    assert list(_ddl.REVISIONS) == oldest_first


def test_upgrading_twice_is_a_no_op(tmp_path, by_alembic):
    before = describe(by_alembic)
    upgrade(f"sqlite:///{by_alembic}")
    assert describe(by_alembic) == before


@pytest.mark.parametrize("record, table, columns, extra", [
    (ExecutionRecord, _schema.executions, _sql.EXEC_COLS, {"project", "domain"}),
    (NodeRecord, _schema.node_executions, _sql.NODE_COLS, {"seq"}),
    (AttemptRecord, _schema.attempts, _sql.ATTEMPT_COLS, set()),
    (ArtifactRecord, _schema.artifacts, _sql.ARTIFACT_COLS, set()),
    (CacheEntry, _schema.cache_entries, _sql.CACHE_COLS, set()),
    (ParamRecord, _schema.params, _sql.PARAM_COLS, set()),
])
def test_records_map_one_to_one_to_tables(record, table, columns, extra):
    fields = tuple(f.name for f in dataclasses.fields(record))
    assert columns == fields
    assert {c.name for c in table.columns} == set(fields) | extra


# -- PostgreSQL: the same schema, the same refusals --------------------------------------

def _pg_state(url):
    """What Alembic sees between the tables and the database, the revision, the tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), _schema.metadata)
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            tables = sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    return diff, version, tables


def test_postgresql_gets_the_same_schema_from_alembic_and_from_a_new_store(pg_server):
    by_alembic, by_store = pg_server.url(), pg_server.url()
    upgrade(by_alembic)
    SqlMetadataStore(by_store).close()
    tables = sorted([t.name for t in _schema.metadata.sorted_tables] + ["alembic_version"])
    assert _pg_state(by_alembic) == ([], _ddl.HEAD, tables)
    assert _pg_state(by_store) == ([], _ddl.HEAD, tables)
    upgrade(by_alembic)  # a second upgrade changes nothing
    assert _pg_state(by_alembic) == ([], _ddl.HEAD, tables)


def _notified(url: str) -> list[str]:
    """The channels a LISTEN connection hears when an execution's first event is written."""
    import psycopg

    from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus

    store = SqlMetadataStore(url)
    try:
        plain = str(store.database.url).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as listener:
            listener.execute("LISTEN rillet_events")
            store.apply(Batch(executions=[ExecutionRecord(
                id="n1", workflow="m:wf", source="m.py", spec_hash="",
                status=ExecutionStatus.RUNNING, inputs={}, created_at=1.0)]))
            return [n.channel for n in listener.notifies(timeout=60, stop_after=1)]
    finally:
        store.close()


def test_postgresql_event_log_notifies_when_new_and_after_an_upgrade(pg_server):
    """Revision 0017: an insert into ``events`` NOTIFYs ``rillet_events`` (the server's
    broadcaster LISTENs), on a new store and on one upgraded from 0016."""
    new, old = pg_server.url(), pg_server.url()
    assert _notified(new) == ["rillet_events"]
    upgrade(old, "0016")
    upgrade(old)
    assert _notified(old) == ["rillet_events"]


def test_postgresql_database_of_a_newer_rillet_is_refused_untouched(pg_url):
    SqlMetadataStore(pg_url).close()
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer rillet .*'f00dfeed'.*Nothing was changed"):
        SqlMetadataStore(pg_url)
    diff, version, _ = _pg_state(pg_url)
    assert (diff, version) == ([], "f00dfeed")


def test_postgresql_database_that_is_not_rillets_is_refused_untouched(pg_url):
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match="not a rillet metadata store.*customers"):
        SqlMetadataStore(pg_url)
    assert inspect(engine).get_table_names() == ["customers"]
    engine.dispose()


def _fenced(url: str) -> bool:
    """Whether a RUNNING node under an ABORTED execution is refused (revision 0019)."""
    from rillet.errors import ExecutionEnded
    from rillet.testing._store import execution, node

    store = SqlMetadataStore(url)
    try:
        store.apply(Batch(executions=[execution(status=ExecutionStatus.ABORTED, ended_at=1.0)]))
        try:
            store.apply(Batch(nodes=[node(status=NodeStatus.RUNNING)]))
        except ExecutionEnded:
            return store.nodes("e1") == []
        return False
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_ended_fence_on_a_new_store_and_after_an_upgrade(kind, tmp_path, request):
    """Revision 0019: no RUNNING node under an ended execution, on a new store and on one
    upgraded from 0018 (SQLite: the home's frozen DDL, and Alembic's upgrade)."""
    if kind == "sqlite":
        new, old = f"sqlite:///{tmp_path / 'new.db'}", f"sqlite:///{tmp_path / 'old.db'}"
    else:
        pg = request.getfixturevalue("pg_server")
        new, old = pg.url(), pg.url()
    assert _fenced(new)
    upgrade(old, "0018")
    upgrade(old)
    assert _fenced(old)

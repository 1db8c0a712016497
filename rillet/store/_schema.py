"""The metadata schema as SQLAlchemy Core tables: the one source of truth for
Alembic migrations, ``create_all`` and the frozen SQLite DDL in ``_ddl.py``.

Imports SQLAlchemy, so nothing on the path of opening a home or running an
execution imports this module. Columns map 1:1 to the records in
``rillet.engine._records`` (dict fields as JSON text, enums as their string).

Regenerate ``_ddl.py`` after a change: ``python -m rillet.store._schema``.
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
)

# Tables written on every engine step are WITHOUT ROWID on SQLite: the primary
# key is the table, so each commit dirties fewer pages (about 10 us of ~50 us).
WITHOUT_ROWID: dict[str, Any] = {"sqlite_with_rowid": False}

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(referred_table_name)s",
    }
)


def _node_foreign_key() -> ForeignKeyConstraint:
    """The foreign key of a node's child rows (attempts, params, metrics)."""
    return ForeignKeyConstraint(
        ["execution_id", "node_id"],
        ["node_executions.execution_id", "node_executions.node_id"],
        ondelete="CASCADE",
    )


executions = Table(
    "executions", metadata,
    Column("id", String, primary_key=True),
    Column("workflow", String, nullable=False),
    Column("source", Text, nullable=False),
    Column("spec_hash", String, nullable=False),
    Column("status", String, nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: name -> artifact hash
    Column("outputs", Text),  # JSON or NULL
    Column("error", Text),
    Column("parent_id", String),
    Column("executor", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("owner_host", String, nullable=False),
    Column("owner_pid", Integer, nullable=False),
    Column("owner_started", Float, nullable=False),
    Column("heartbeat_at", Float),
    Column("checkpoint_scope", String, nullable=False),
    Column("name", String),  # rillet run --name
    Column("tags", Text),  # JSON: key -> value (NULL: none), from rillet run --tag K=V
    # 0008: the lease of whoever runs it and abort requests.
    Column("lease_owner", String, nullable=False, server_default=""),
    Column("lease_expires_at", Float),
    Column("abort_requested_at", Float),
    # 0009: the project and domain it ran in (a launch writes them; ``rillet run`` is
    # default/development). Not in ExecutionRecord: record upserts leave them alone.
    Column("project", String, nullable=False, server_default="default"),
    Column("domain", String, nullable=False, server_default="development"),
    Index(None, "created_at"),
    Index(None, "workflow", "created_at"),
    Index(None, "project", "domain", "created_at"),
)

node_executions = Table(
    "node_executions", metadata,
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("task", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: name -> artifact hash
    Column("outputs", Text, nullable=False),
    Column("cache_key", String),
    Column("code_hash", String),
    Column("source_execution", String),
    Column("source_node", String),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("error", Text),
    # Not in NodeRecord: when the node was first recorded (ns), for a stable order.
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("execution_id", "node_id"),
    ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
    **WITHOUT_ROWID,
)

attempts = Table(
    "attempts", metadata,
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("executor", String, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("error_type", String),
    Column("error_message", Text),
    Column("traceback", Text),
    Column("logs", Text, nullable=False),  # captured stdout and stderr
    Column("pid", Integer),
    PrimaryKeyConstraint("execution_id", "node_id", "attempt"),
    _node_foreign_key(),
    **WITHOUT_ROWID,
)

artifacts = Table(
    "artifacts", metadata,
    Column("hash", String, primary_key=True),
    Column("format", String, nullable=False),
    Column("type", Text, nullable=False),  # JSON type descriptor
    Column("size", BigInteger, nullable=False),
    Column("uri", Text),
    Column("inline", Text),  # JSON text of a small value
    Column("created_at", Float, nullable=False),
    Column("purged", Boolean, nullable=False),
    Column("tag", Text),  # the type tag the content hash starts with (NULL before 0002)
    **WITHOUT_ROWID,
)

# Lineage both ways: which nodes read (direction 'in') or wrote ('out') an artifact.
# A derived index of the nodes' own ``inputs``/``outputs`` (which answer "what did
# this node read and write"), kept in step by the store; so it is keyed by hash
# alone, and each engine step dirties one page of it instead of three.
node_io = Table(
    "node_io", metadata,
    Column("hash", String, nullable=False),
    Column("direction", String(3), nullable=False),  # 'in' | 'out'
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("name", String, nullable=False),
    PrimaryKeyConstraint("hash", "direction", "execution_id", "node_id", "name"),
    **WITHOUT_ROWID,
)

cache_entries = Table(
    "cache_entries", metadata,
    Column("key", String, primary_key=True),
    Column("task", String, nullable=False),
    Column("cache_version", String, nullable=False),
    Column("code_parts", Text, nullable=False),  # JSON
    Column("input_hashes", Text, nullable=False),  # JSON
    Column("outputs", Text, nullable=False),  # JSON
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=False),
    Index(None, "task"),
)

cache_locks = Table(
    "cache_locks", metadata,
    Column("key", String, primary_key=True),
    Column("owner", String, nullable=False),
    Column("taken_at", Float, nullable=False),
    **WITHOUT_ROWID,
)

params = Table(
    "params", metadata,
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("key", String, nullable=False),
    Column("value", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("execution_id", "node_id", "attempt", "key"),
    _node_foreign_key(),
    **WITHOUT_ROWID,
)

# A task's metric points, one row per attempt and batch (revision 0016 replaced the row
# per point of ``metrics``): ``points`` packs (key index, value, step, timestamp, map
# index) as little-endian float64, ``metric_keys`` names the keys (``_metricpack``).
metric_batches = Table(
    "metric_batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("metric_keys", Text, nullable=False),  # JSON list
    Column("point_count", Integer, nullable=False),
    Column("points", LargeBinary, nullable=False),
    _node_foreign_key(),
    Index(None, "execution_id", "node_id"),
)

# Tuning (rillet.tuning): a study by name, its search space and settings, and one row
# per trial. A trial's execution holds its params, metrics and logs; the row keeps
# what the sampler needs to continue the study after a restart.
studies = Table(
    "studies", metadata,
    Column("name", String, primary_key=True),
    Column("workflow", String, nullable=False),
    Column("source", Text, nullable=False),
    Column("space", Text, nullable=False),  # JSON: the search space's descriptors
    Column("objectives", Text, nullable=False),  # JSON list of metric names
    Column("directions", Text, nullable=False),  # JSON list: minimize | maximize
    Column("settings", Text, nullable=False),  # JSON: algorithm, early stopping, seed...
    Column("created_at", Float, nullable=False),
)

study_trials = Table(
    "study_trials", metadata,
    Column("study", String, nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", String, nullable=False),  # RUNNING | COMPLETE | PRUNED | FAIL
    Column("params", Text, nullable=False),  # JSON: name -> value
    Column("values", Text),  # JSON list of objective values, or NULL
    Column("intermediate", Text, nullable=False),  # JSON: [[step, value], ...]
    Column("execution_id", String),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("error", Text),
    Column("sampler_attrs", Text, nullable=False),  # JSON: the sampler's own bookkeeping
    PrimaryKeyConstraint("study", "number"),
    ForeignKeyConstraint(["study"], ["studies.name"], ondelete="CASCADE"),
)

# Registered versions (issue 14): every task, workflow and launch plan of a code bundle,
# immutable once written. ``interface`` is JSON of type descriptors (for launch forms and
# checks); ``spec`` the workflow's IR JSON; ``bundle_hash`` names the bundle artifact.
registered_entities = Table(
    "registered_entities", metadata,
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("name", String, nullable=False),  # module.function
    Column("version", String, nullable=False),
    Column("kind", String, nullable=False),  # task | workflow | launch_plan
    Column("identity", String, nullable=False),  # module:qualname of the function
    Column("interface", Text, nullable=False),  # JSON
    Column("spec", Text),  # JSON IR of a workflow
    Column("code_hash", String, nullable=False),
    Column("bundle_hash", String, nullable=False),
    Column("bundle_uri", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("project", "domain", "name", "version"),
    Index(None, "bundle_hash"),
)

# 0018: the compiled IR (``spec_json``) of each workflow that ran, content-addressed by
# its ``spec_hash`` (``executions.spec_hash``): an execution's whole DAG, nodes not
# started included, for the web UI. Written once per spec with the execution's first
# record (ON CONFLICT DO NOTHING), never updated.
workflow_specs = Table(
    "workflow_specs", metadata,
    Column("hash", String, primary_key=True),
    Column("spec", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
)

# Launched executions waiting for (or held by) a worker. A claim is a lease: its holder
# renews ``lease_expires_at`` with its heartbeat; once it lapses another worker may claim.
launch_queue = Table(
    "launch_queue", metadata,
    Column("execution_id", String, primary_key=True),
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("name", String, nullable=False),
    Column("version", String, nullable=False),
    Column("inputs", Text, nullable=False),  # JSON values, checked against the interface
    Column("state", String, nullable=False),  # queued | claimed | done
    Column("lease_owner", String),
    Column("lease_expires_at", Float),
    Column("claims", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Index(None, "state", "created_at"),
)

map_elements = Table(
    "map_elements", metadata,
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("error_type", String),
    Column("error_message", Text),
    Column("traceback", Text),
    Column("logs", Text, nullable=False),  # what the element printed
    # 0011: a SUCCEEDED element's value (its hash; NULL for a task with no output), what
    # a recovery of the map takes instead of running the element again
    Column("output", String),
    PrimaryKeyConstraint("execution_id", "node_id", "attempt", "map_index"),
    _node_foreign_key(),
    **WITHOUT_ROWID,
)

# 0008: the append-only log of state changes (what live views read). ``seq`` is the
# cursor of readers: AUTOINCREMENT on SQLite so that a number is never used twice.
events = Table(
    "events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("status", String, nullable=False),
    Column("at", Float, nullable=False),
    Column("data", Text, nullable=False),  # JSON
    ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
    Index(None, "execution_id", "seq"),
    sqlite_autoincrement=True,
)
# 0017: on PostgreSQL each insert into the log NOTIFYs ``rillet_events`` (one per
# transaction: PostgreSQL folds equal ones), so a server's broadcaster that LISTENs
# wakes at once instead of polling (``rillet.server._broadcast``). SQLite: nothing.
EVENTS_NOTIFY = (
    "CREATE OR REPLACE FUNCTION rillet_events_notify() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('rillet_events', ''); "
    "RETURN NULL; END $$",
    "CREATE TRIGGER rillet_events_notify AFTER INSERT ON events "
    "FOR EACH STATEMENT EXECUTE PROCEDURE rillet_events_notify()",
)
for _statement in EVENTS_NOTIFY:
    event.listen(events, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]

# 0019: no node or attempt row goes RUNNING under an execution that has ended
# (SUCCEEDED, FAILED, ABORTED). On PostgreSQL a trigger refuses the row (the whole
# transaction rolls back; the store raises ``ExecutionEnded``), so a writer that has not
# yet seen an abort cannot leave a RUNNING row under it, at no round trip; it reads the
# execution's row FOR SHARE: a concurrent end (which locks it FOR UPDATE) is waited for
# and then seen. On SQLite, where a write transaction keeps every other writer out,
# ``SqlMetadataStore.apply`` reads the statuses itself in the batch's transaction (one
# SELECT a batch; per-row triggers cost a chain of inline tasks 0.03 ms a task, 12%).
# ``apply`` writes a batch's node rows before the records of executions already stored,
# so a batch is judged by the status before it.
from rillet.store._sql import ENDED_FENCE_MESSAGE  # noqa: E402 (beside its triggers)

_ENDED_SQL = "('SUCCEEDED', 'FAILED', 'ABORTED')"
PG_ENDED_FENCE = (
    "CREATE OR REPLACE FUNCTION rillet_ended_fence() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE st varchar; BEGIN "
    "SELECT status INTO st FROM executions WHERE id = NEW.execution_id FOR SHARE; "
    f"IF st IN {_ENDED_SQL} THEN "
    f"RAISE EXCEPTION '{ENDED_FENCE_MESSAGE}' USING ERRCODE = 'RL001'; END IF; "
    "RETURN NEW; END $$",
    *(f"CREATE TRIGGER rillet_{table}_ended BEFORE INSERT OR UPDATE ON {table} "
      "FOR EACH ROW WHEN (NEW.status = 'RUNNING') EXECUTE PROCEDURE rillet_ended_fence()"
      for table in ("node_executions", "attempts")),
)
_FENCE_DDL = (  # (table, dialect, statement), in the order they must run
    (node_executions, "postgresql", PG_ENDED_FENCE[0]),  # the function, before its triggers
    (node_executions, "postgresql", PG_ENDED_FENCE[1]),
    (attempts, "postgresql", PG_ENDED_FENCE[2]),
)
for _table, _dialect, _statement in _FENCE_DDL:
    event.listen(_table, "after_create",
                 DDL(_statement).execute_if(dialect=_dialect))  # type: ignore[no-untyped-call]

# -- teams (revision 0009): projects, promotions, the audit trail ---------------------

# Projects other than ``default`` (which always exists and needs no row).
projects = Table(
    "projects", metadata,
    Column("name", String, primary_key=True),
    Column("description", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String, nullable=False),
)

# Every promotion of a registered version from one domain to the next (kept forever).
promotions = Table(
    "promotions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String, nullable=False),
    Column("name", String, nullable=False),
    Column("version", String, nullable=False),
    Column("from_domain", String, nullable=False),
    Column("to_domain", String, nullable=False),
    Column("bundle_hash", String, nullable=False),
    Column("who", String, nullable=False),
    Column("at", Float, nullable=False),
    Index(None, "project", "name"),
)

# Every write through the platform, with who, when, where and what changed.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("who", String, nullable=False),
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("action", String, nullable=False),
    Column("target", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Index(None, "project", "at"),
)

# -- schedules (revision 0010) ------------------------------------------------------

# Which launch plans the scheduler fires: one row per plan and project/domain, with the
# version it launches and whether it fires every missed slot after downtime.
launch_plan_states = Table(
    "launch_plan_states", metadata,
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("name", String, nullable=False),
    Column("version", String, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("catch_up", Boolean, nullable=False),
    Column("activated_at", Float, nullable=False),  # where a FixedRate's slots start
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String, nullable=False),
    PrimaryKeyConstraint("project", "domain", "name"),
)

# One row per fired slot: the primary key makes a slot fire once, whoever fires it.
schedule_fires = Table(
    "schedule_fires", metadata,
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("name", String, nullable=False),
    Column("scheduled_at", Float, nullable=False),
    Column("version", String, nullable=False),
    Column("execution_id", String, nullable=False),
    Column("fired_at", Float, nullable=False),
    Column("fired_by", String, nullable=False),
    PrimaryKeyConstraint("project", "domain", "name", "scheduled_at"),
)

# -- tokens and roles (revision 0012) ------------------------------------------------

# An API token is stored only as the sha256 of its text; ``is_admin`` may do anything.
tokens = Table(
    "tokens", metadata,
    Column("hash", String, primary_key=True),
    Column("username", String, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String, nullable=False),
    Column("revoked_at", Float),
)

# A user's role in a project: viewer < launcher < editor < admin.
roles = Table(
    "roles", metadata,
    Column("username", String, nullable=False),
    Column("project", String, nullable=False),
    Column("role", String, nullable=False),
    Column("granted_at", Float, nullable=False),
    Column("granted_by", String, nullable=False),
    PrimaryKeyConstraint("username", "project"),
)

# -- quotas (revision 0013): running executions per project and domain ---------------

project_limits = Table(
    "project_limits", metadata,
    Column("project", String, nullable=False),
    Column("domain", String, nullable=False),
    Column("max_running", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String, nullable=False),
    PrimaryKeyConstraint("project", "domain"),
)

# -- webhook deliveries (revision 0014): one row per attempt to notify a webhook ------

# ``hook`` is the webhook's index in its launch plan. Attempt 1's insert is the claim
# (the primary key), so two servers on one database never both notify an execution.
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("execution_id", String, nullable=False),
    Column("hook", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("event", String, nullable=False),
    Column("state", String, nullable=False),  # sending | delivered | failed
    Column("http_status", Integer),
    Column("error", Text),
    Column("at", Float, nullable=False),
    Column("sent_by", String, nullable=False),
    PrimaryKeyConstraint("execution_id", "hook", "attempt"),
)

# Room for later: small settings and facts about this store (key -> JSON text).
meta = Table(
    "meta", metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)


# -- models (revision 0002): the registry, its history, and served requests ----------
# Since 0015 each row belongs to a project and domain (issue 15): rows written before
# belong to ``default``/``development``.

# A model version points at a stored value (an output of a node of a succeeded
# execution): no copy, so its lineage is that execution's. Numbered per name.
model_versions = Table(
    "model_versions", metadata,
    Column("name", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("execution_id", String, nullable=False),
    Column("node_id", String, nullable=False),
    Column("output", String, nullable=False),
    Column("hash", String, nullable=False),  # the artifact the version serves
    Column("created_at", Float, nullable=False),
    Column("created_by", String, nullable=False),
    # 0015: the project and domain the model belongs to (a name is unique within them)
    Column("project", String, nullable=False, server_default="default"),
    Column("domain", String, nullable=False, server_default="development"),
    PrimaryKeyConstraint("project", "domain", "name", "version"),
    Index(None, "hash"),
)

model_aliases = Table(
    "model_aliases", metadata,
    Column("name", String, nullable=False),
    Column("alias", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String, nullable=False),
    Column("project", String, nullable=False, server_default="default"),  # 0015
    Column("domain", String, nullable=False, server_default="development"),
    PrimaryKeyConstraint("project", "domain", "name", "alias"),
)

# Every registration, alias move and serving change, with who and when.
model_history = Table(
    "model_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False),
    Column("event", String, nullable=False),  # register | alias | serve
    Column("alias", String),
    Column("version", Integer),
    Column("previous", Integer),  # the version an alias pointed at before
    Column("detail", Text, nullable=False),  # JSON
    Column("at", Float, nullable=False),
    Column("who", String, nullable=False),
    Column("project", String, nullable=False, server_default="default"),  # 0015
    Column("domain", String, nullable=False, server_default="development"),
    Index(None, "project", "domain", "name"),
)

# One row per served prediction (written in batches by the server).
model_requests = Table(
    "model_requests", metadata,
    Column("id", String, primary_key=True),
    Column("at", Float, nullable=False),
    Column("name", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("route", String, nullable=False),  # how the version was chosen
    Column("status", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("input_hash", String),
    Column("output_hash", String),
    Column("input_body", Text),  # with --log-bodies
    Column("output_body", Text),
    Column("project", String, nullable=False, server_default="default"),  # 0015
    Column("domain", String, nullable=False, server_default="development"),
    Index(None, "at"),
)


# -- run records (revision 0003): the code and environment each execution ran with ----

# Source files and environment records are stored in <home>/records by the sha256
# of their bytes (so an unchanged file costs nothing); this row names them.
run_records = Table(
    "run_records", metadata,
    Column("execution_id", String, primary_key=True),
    Column("root", Text, nullable=False),  # the folder the file paths are relative to
    Column("files", Text, nullable=False),  # JSON: relative path -> sha256 of its bytes
    Column("environment", String, nullable=False),  # sha256 of the environment JSON
    Column("created_at", Float, nullable=False),
)


def sqlite_ddl() -> tuple[str, ...]:
    """The CREATE TABLE / CREATE INDEX statements of the head schema for SQLite."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    out: list[str] = []
    for table in metadata.sorted_tables:
        out.append(" ".join(str(CreateTable(table).compile(dialect=dialect)).split()))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            out.append(" ".join(str(CreateIndex(index).compile(dialect=dialect)).split()))
    return tuple(out)


def render_ddl_module() -> str:
    """The text of ``_ddl.py`` for the head schema."""
    from rillet.store._ddl import HEAD, REVISIONS

    lines = [
        '"""The head schema as SQLite DDL, frozen from ``_schema.py`` so that creating a',
        "home imports neither SQLAlchemy nor Alembic. Generated by",
        "``python -m rillet.store._schema``; do not edit the statements by hand (a test",
        'keeps them equal to ``_schema.sqlite_ddl()``)."""',
        "",
        "# ruff: noqa: E501",
        "from __future__ import annotations",
        "",
        "# Alembic revisions of rillet/store/migrations, oldest first (a test checks them).",
        f"REVISIONS: tuple[str, ...] = {REVISIONS!r}",
        f"HEAD = {HEAD!r}",
        "",
        "ALEMBIC_VERSION_DDL = (",
        '    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "',
        '    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"',
        ")",
        "",
        "SQLITE_DDL: tuple[str, ...] = (",
    ]
    for statement in sqlite_ddl():
        lines.append(f"    {statement!r},")
    lines.append(")")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    import pathlib

    target = pathlib.Path(__file__).with_name("_ddl.py")
    target.write_text(render_ddl_module())
    sys.stdout.write(f"wrote {target}\n")

"""No node or attempt row goes RUNNING under an execution that has ended (issue 14): on
PostgreSQL, triggers on ``node_executions`` and ``attempts`` refuse such a row, so a
writer that has not yet seen an abort (a worker's engine between heartbeats) cannot
leave a RUNNING row under an ABORTED execution; the execution's row is read FOR SHARE,
so a concurrent end is waited for and then seen. On SQLite nothing changes in the
schema: a write transaction keeps every other writer out, and the store reads the
statuses in the batch's own transaction (per-row triggers cost a chain of inline tasks
12% of its time).

The SQL is written out here, not imported, so that this revision keeps meaning what it
meant (``rillet/store/_schema.py`` creates the same on a new database).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED = "('SUCCEEDED', 'FAILED', 'ABORTED')"
MESSAGE = "rillet: execution ended"
TABLES = ("node_executions", "attempts")
POSTGRES = (
    "CREATE OR REPLACE FUNCTION rillet_ended_fence() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE st varchar; BEGIN "
    "SELECT status INTO st FROM executions WHERE id = NEW.execution_id FOR SHARE; "
    f"IF st IN {ENDED} THEN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'RL001'; END IF; "
    "RETURN NEW; END $$",
    *(f"CREATE TRIGGER rillet_{table}_ended BEFORE INSERT OR UPDATE ON {table} "
      "FOR EACH ROW WHEN (NEW.status = 'RUNNING') EXECUTE PROCEDURE rillet_ended_fence()"
      for table in TABLES),
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS rillet_{table}_ended ON {table}")
        op.execute("DROP FUNCTION IF EXISTS rillet_ended_fence()")

"""Events and leases: the append-only ``events`` log of state changes; the lease
columns of ``executions`` (owner, expiry) and abort requests; indexes for pages of
executions filtered by workflow and status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("lease_owner", sa.String(), nullable=False,
                                          server_default=""))
    op.add_column("executions", sa.Column("lease_expires_at", sa.Float(), nullable=True))
    op.add_column("executions", sa.Column("abort_requested_at", sa.Float(), nullable=True))
    op.create_index(op.f("ix_executions_workflow_status_created_at"), "executions",
                    ["workflow", "status", "created_at"])
    op.create_index(op.f("ix_executions_status_created_at"), "executions",
                    ["status", "created_at"])
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"],
                                name=op.f("fk_events_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_events_execution_id_seq"), "events", ["execution_id", "seq"])


def downgrade() -> None:
    op.drop_index(op.f("ix_events_execution_id_seq"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_executions_status_created_at"), table_name="executions")
    op.drop_index(op.f("ix_executions_workflow_status_created_at"), table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("abort_requested_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")

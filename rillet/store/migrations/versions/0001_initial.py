"""Initial schema: executions, node executions, attempts, artifacts and their
lineage, cache entries and locks, params, metrics, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NODE = ["node_executions.execution_id", "node_executions.node_id"]


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.Column("inline", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("purged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_artifacts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("cache_version", sa.String(), nullable=False),
        sa.Column("code_parts", sa.Text(), nullable=False),
        sa.Column("input_hashes", sa.Text(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_entries")),
    )
    op.create_index(op.f("ix_cache_entries_task"), "cache_entries", ["task"], unique=False)
    op.create_table(
        "cache_locks",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("taken_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_locks")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("spec_hash", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("executor", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("owner_host", sa.String(), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_started", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=True),
        sa.Column("checkpoint_scope", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
    )
    op.create_index(
        op.f("ix_executions_created_at"), "executions", ["created_at"], unique=False
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "node_executions",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("cache_key", sa.String(), nullable=True),
        sa.Column("code_hash", sa.String(), nullable=True),
        sa.Column("source_execution", sa.String(), nullable=True),
        sa.Column("source_node", sa.String(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"],
            name=op.f("fk_node_executions_executions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "node_id", name=op.f("pk_node_executions")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "attempts",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("executor", sa.String(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("error_type", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id", "node_id"], _NODE,
            name=op.f("fk_attempts_node_executions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "execution_id", "node_id", "attempt", name=op.f("pk_attempts")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id", "node_id"], _NODE,
            name=op.f("fk_metrics_node_executions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index(
        op.f("ix_metrics_execution_id_node_id"), "metrics", ["execution_id", "node_id"],
        unique=False,
    )
    op.create_table(
        "node_io",
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hash", "direction", "execution_id", "node_id", "name", name=op.f("pk_node_io")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "params",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id", "node_id"], _NODE,
            name=op.f("fk_params_node_executions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "execution_id", "node_id", "attempt", "key", name=op.f("pk_params")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("params")
    op.drop_table("node_io")
    op.drop_index(op.f("ix_metrics_execution_id_node_id"), table_name="metrics")
    op.drop_table("metrics")
    op.drop_table("attempts")
    op.drop_table("node_executions")
    op.drop_table("meta")
    op.drop_index(op.f("ix_executions_created_at"), table_name="executions")
    op.drop_table("executions")
    op.drop_table("cache_locks")
    op.drop_index(op.f("ix_cache_entries_task"), table_name="cache_entries")
    op.drop_table("cache_entries")
    op.drop_table("artifacts")

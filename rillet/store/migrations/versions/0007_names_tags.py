"""Execution names and tags (``rillet run --name N --tag K=V``), the map element that
logged a metric, and the failed elements of map nodes (``map_elements``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("name", sa.String(), nullable=True))
        batch.add_column(sa.Column("tags", sa.Text(), nullable=True))
    with op.batch_alter_table("metrics") as batch:
        batch.add_column(sa.Column("map_index", sa.Integer(), nullable=True))
    op.create_table(
        "map_elements",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error_type", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id", "node_id"],
            ["node_executions.execution_id", "node_executions.node_id"],
            name=op.f("fk_map_elements_node_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("execution_id", "node_id", "attempt", "map_index",
                                name=op.f("pk_map_elements")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("map_elements")
    with op.batch_alter_table("metrics") as batch:
        batch.drop_column("map_index")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("tags")
        batch.drop_column("name")

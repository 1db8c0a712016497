"""Registered versions and the launch queue (issue 14).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registered_entities",
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("identity", sa.String(), nullable=False),
        sa.Column("interface", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=True),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("bundle_hash", sa.String(), nullable=False),
        sa.Column("bundle_uri", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("project", "domain", "name", "version",
                                name=op.f("pk_registered_entities")),
    )
    op.create_index(op.f("ix_registered_entities_bundle_hash"), "registered_entities",
                    ["bundle_hash"], unique=False)
    op.create_table(
        "launch_queue",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.Float(), nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_launch_queue")),
    )
    op.create_index(op.f("ix_launch_queue_state_created_at"), "launch_queue",
                    ["state", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_launch_queue_state_created_at"), table_name="launch_queue")
    op.drop_table("launch_queue")
    op.drop_index(op.f("ix_registered_entities_bundle_hash"), table_name="registered_entities")
    op.drop_table("registered_entities")

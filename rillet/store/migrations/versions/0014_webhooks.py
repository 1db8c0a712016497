"""Webhook notifications (issue 15): one row per attempt to deliver one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("hook", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("sent_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "hook", "attempt",
                                name=op.f("pk_webhook_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")

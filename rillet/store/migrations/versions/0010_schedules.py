"""Schedules (issue 15): which launch plans are active in each project and domain, and
one row per scheduled fire, unique by (plan, scheduled time) so that no slot fires twice.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "launch_plan_states",
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("catch_up", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("project", "domain", "name", name=op.f("pk_launch_plan_states")),
    )
    op.create_table(
        "schedule_fires",
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("scheduled_at", sa.Float(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("fired_at", sa.Float(), nullable=False),
        sa.Column("fired_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("project", "domain", "name", "scheduled_at",
                                name=op.f("pk_schedule_fires")),
    )


def downgrade() -> None:
    op.drop_table("schedule_fires")
    op.drop_table("launch_plan_states")

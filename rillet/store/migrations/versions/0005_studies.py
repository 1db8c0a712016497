"""Tuning: studies and their trials.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("space", sa.Text(), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("directions", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_studies")),
    )
    op.create_table(
        "study_trials",
        sa.Column("study", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("values", sa.Text(), nullable=True),
        sa.Column("intermediate", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sampler_attrs", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["study"], ["studies.name"],
                                name=op.f("fk_study_trials_studies"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("study", "number", name=op.f("pk_study_trials")),
    )


def downgrade() -> None:
    op.drop_table("study_trials")
    op.drop_table("studies")

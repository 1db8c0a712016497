"""Teams (issue 15): projects, the scope (project, domain) of executions, the history
of promotions and the audit trail of writes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projects")),
    )
    op.add_column("executions", sa.Column("project", sa.String(), nullable=False,
                                          server_default="default"))
    op.add_column("executions", sa.Column("domain", sa.String(), nullable=False,
                                          server_default="development"))
    op.create_index(op.f("ix_executions_project_domain_created_at"), "executions",
                    ["project", "domain", "created_at"])
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("from_domain", sa.String(), nullable=False),
        sa.Column("to_domain", sa.String(), nullable=False),
        sa.Column("bundle_hash", sa.String(), nullable=False),
        sa.Column("who", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    op.create_index(op.f("ix_promotions_project_name"), "promotions", ["project", "name"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("who", sa.String(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_project_at"), "audit_log", ["project", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_project_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_promotions_project_name"), table_name="promotions")
    op.drop_table("promotions")
    op.drop_index(op.f("ix_executions_project_domain_created_at"), table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("domain")
        batch.drop_column("project")
    op.drop_table("projects")

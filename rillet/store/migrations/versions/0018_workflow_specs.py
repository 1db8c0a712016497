"""The compiled IR of each workflow that ran (issue 16: the web UI draws an execution's
whole DAG, nodes not started included): ``workflow_specs``, the ``spec_json`` of a
workflow keyed by its ``spec_hash`` (what ``executions.spec_hash`` holds). The engine
writes it once per spec with an execution's first record; nothing updates it.

The table is written out here, not imported, so that this revision keeps meaning what
it meant (``rillet/store/_schema.py`` creates the same on a new database).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_specs",
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_workflow_specs"),
    )


def downgrade() -> None:
    op.drop_table("workflow_specs")

"""Element outputs: ``map_elements.output``, the value of an element that succeeded in
a map attempt that did not (a recovery of the map takes it instead of running the
element again).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("map_elements") as batch:
        batch.add_column(sa.Column("output", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("map_elements") as batch:
        batch.drop_column("output")

"""Models per project and domain (issue 15, point 1): the registry's versions, aliases,
history and served requests get ``project`` and ``domain``; a model name is unique
within them. Rows written before belong to ``default``/``development``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = {"model_versions": ["name", "version"], "model_aliases": ["name", "alias"]}


def _scope_columns() -> list[sa.Column[str]]:
    return [sa.Column("project", sa.String(), nullable=False, server_default="default"),
            sa.Column("domain", sa.String(), nullable=False, server_default="development")]


def upgrade() -> None:
    for table, key in _KEYS.items():
        with op.batch_alter_table(table) as batch:
            for column in _scope_columns():
                batch.add_column(column)
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["project", "domain", *key])
    with op.batch_alter_table("model_history") as batch:
        for column in _scope_columns():
            batch.add_column(column)
        batch.drop_index(op.f("ix_model_history_name"))
        batch.create_index(op.f("ix_model_history_project_domain_name"),
                           ["project", "domain", "name"], unique=False)
    with op.batch_alter_table("model_requests") as batch:
        for column in _scope_columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("model_requests") as batch:
        batch.drop_column("domain")
        batch.drop_column("project")
    with op.batch_alter_table("model_history") as batch:
        batch.drop_index(op.f("ix_model_history_project_domain_name"))
        batch.create_index(op.f("ix_model_history_name"), ["name"], unique=False)
        batch.drop_column("domain")
        batch.drop_column("project")
    for table, key in _KEYS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), key)
            batch.drop_column("domain")
            batch.drop_column("project")

"""The event log NOTIFYs on PostgreSQL (issue 14, point 6): a statement-level trigger
on ``events`` calls ``pg_notify('rillet_events', '')``, so a server's event
broadcaster (LISTEN) wakes when any process writes an event, instead of polling the
log. PostgreSQL folds equal notifications of one transaction into one. SQLite: nothing.

The SQL is written out here, not imported, so that this revision keeps meaning what it
meant (``rillet/store/_schema.py`` creates the same on a new database).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = ("CREATE OR REPLACE FUNCTION rillet_events_notify() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('rillet_events', ''); "
            "RETURN NULL; END $$")
TRIGGER = ("CREATE TRIGGER rillet_events_notify AFTER INSERT ON events "
           "FOR EACH STATEMENT EXECUTE PROCEDURE rillet_events_notify()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS rillet_events_notify ON events")
    op.execute("DROP FUNCTION IF EXISTS rillet_events_notify()")

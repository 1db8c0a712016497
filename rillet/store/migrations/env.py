"""Alembic environment for rillet's metadata store, configured from code.

``rillet.store._migrate.alembic_config`` passes an open connection (the usual
case) or a ``sqlalchemy.url``; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rillet.store._schema import metadata

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
        literal_binds=True, render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(str(config.get_main_option("sqlalchemy.url")))
        with engine.begin() as connection:
            context.configure(
                connection=connection, target_metadata=metadata, render_as_batch=True
            )
            context.run_migrations()
        engine.dispose()
        return
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

"""Which schema a database holds, creating the head schema in an empty one, and
upgrading an older one with Alembic.

Alembic (0.4 s of imports) is imported only to upgrade; new databases get the
head schema directly and their revision written into ``alembic_version``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rillet.errors import StoreError
from rillet.store._ddl import HEAD, REVISIONS

if TYPE_CHECKING:
    from rillet.store._db import Database

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def read_revision(db: Database, where: str) -> str | None:
    """The revision ``db`` is at; None when it has no tables at all.

    Raises ``StoreError`` for a database that is not rillet's, or that a newer
    rillet wrote; nothing is written either way.
    """
    for look in range(2):
        try:
            rows = db.read("SELECT version_num FROM alembic_version")
            break
        except StoreError as exc:
            try:
                tables = db.table_names()
            except StoreError:
                raise StoreError(f"{where} is not a rillet metadata store ({_reason(exc)}); "
                                 "refusing to use it") from None
            if not tables:
                return None
            if look == 0:  # a creator committed its tables (and alembic_version) just now
                continue
            raise StoreError(
                f"{where} is not a rillet metadata store: it has tables "
                f"({', '.join(sorted(tables)[:5])}) but no alembic_version; refusing to use it"
            ) from None
    if len(rows) != 1:
        raise StoreError(
            f"{where} has {len(rows)} rows in alembic_version (expected 1); refusing to use it"
        )
    revision = str(rows[0][0])
    check_known(revision, where)
    return revision


def check_known(revision: str, where: str) -> None:
    if revision not in REVISIONS:
        raise StoreError(
            f"{where} was written by a newer rillet (schema revision {revision!r}, this "
            f"rillet knows up to {HEAD!r}); upgrade rillet to use it. Nothing was changed"
        )


def _reason(exc: Exception) -> str:
    return str(exc).rsplit(": ", 1)[-1]


def ensure_schema(db: Database, where: str) -> str:
    """Refuse a foreign or newer database, create or upgrade to head; return the
    revision found before (``""`` when the database was empty)."""
    found = read_revision(db, where)
    db.prepare()
    if found is None:
        if not db.create_schema():  # somebody else created it just now
            found = read_revision(db, where) or ""
            if found != HEAD:
                upgrade(db.url)
        return ""
    if found != HEAD:
        upgrade(db.url)
    return found


def alembic_config(connection: Any = None, url: str | None = None) -> Any:
    """An Alembic ``Config`` for rillet's migrations, without any alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` in one transaction (BEGIN IMMEDIATE on SQLite,
    so that concurrent upgraders queue and the later ones find nothing to do)."""
    from alembic import command
    from sqlalchemy import create_engine

    from rillet.store._db import BUSY_TIMEOUT_MS, begin_immediate

    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        begin_immediate(engine, lambda c: c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot upgrade the metadata store at {url}: {exc}") from exc
    finally:
        engine.dispose()

"""The stores a platform command works on: the embedded home (``--home``), or a shared
metadata database and artifact store (``--db URL --artifacts URL``).

``postgresql://`` URLs get the psycopg 3 driver; an artifacts URL is a folder or any
fsspec URL (``s3://bucket/prefix``: endpoint and keys from the usual AWS variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rillet.errors import DefinitionError
from rillet.store._db import database_url


@dataclass(slots=True)
class Stores:
    """An opened metadata store and artifact store (close when done)."""

    store: Any
    artifacts: Any
    home: Any = None  # the Home when it is the embedded home

    def close(self) -> None:
        if self.home is not None:
            self.home.close()
        else:
            self.store.close()


def open_stores(home: str | None = None, db: str | None = None,
                artifacts: str | None = None, create: bool = True) -> Stores:
    from rillet.artifacts._folder import FolderArtifactStore

    if db is None and artifacts is None:
        from rillet.store._home import Home

        h = Home.open(home, create=create)
        return Stores(h.store, h.artifacts, h)
    if db is None or artifacts is None:
        raise DefinitionError("give both --db URL and --artifacts URL (or --home DIR)")
    from rillet.store._sql import SqlMetadataStore

    return Stores(SqlMetadataStore(database_url(db)), FolderArtifactStore(artifacts))

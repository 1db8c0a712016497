"""Metadata stores: the durable records of executions, nodes, attempts,
artifacts, cache entries, params and metrics; and the embedded home folder.

Importing this package imports no SQLAlchemy, Alembic or fsspec.
"""

from rillet.store._home import Home
from rillet.store._memory import MemoryMetadataStore
from rillet.store._sql import SqlMetadataStore

__all__ = ["Home", "MemoryMetadataStore", "SqlMetadataStore"]

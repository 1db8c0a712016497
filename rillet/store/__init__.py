"""The metadata store: SQLite (embedded home) and SQL databases through SQLAlchemy.

Names are loaded on first use; importing this package imports nothing else, and
no path of opening a home imports SQLAlchemy, Alembic or fsspec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rillet.store._home import Home
    from rillet.store._instance import Instance, InstanceConfig
    from rillet.store._memory import MemoryMetadataStore
    from rillet.store._sql import SqlMetadataStore

__all__ = ["Home", "Instance", "InstanceConfig", "MemoryMetadataStore", "SqlMetadataStore"]

_WHERE = {
    "Home": "rillet.store._home",
    "Instance": "rillet.store._instance",
    "InstanceConfig": "rillet.store._instance",
    "MemoryMetadataStore": "rillet.store._memory",
    "SqlMetadataStore": "rillet.store._sql",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rillet.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

"""``Instance``: the stores and the executor a deployment runs on, built from
configuration (metadata URL, artifacts URL, executor name). ``Instance.home``
is the local preset: the embedded home folder (SQLite + an artifact folder).

The server, the workers and the CLI's services all take an ``Instance``; only
``Instance.home`` knows about the home folder. Opening a home through it imports
no more than ``Home.open`` does.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from rillet.artifacts._folder import FolderArtifactStore
from rillet.errors import StoreError
from rillet.store._db import database_url
from rillet.store._home import Home, _safe_name
from rillet.store._sql import SqlMetadataStore


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceConfig:
    """Where an instance keeps its records and values, and what runs its tasks."""

    metadata_url: str  # sqlite:///PATH, a bare path (SQLite), postgresql://... (psycopg 3)
    artifacts_url: str  # a folder, file://, s3://bucket/prefix (fsspec)
    executor: str = "processes"  # a name in the executor registry
    scratch: str = ""  # a local folder for checkpoints and work dirs ('' = a temp one)


class Instance:
    """Opened stores. Use :meth:`open` or :meth:`home`; close it when done."""

    def __init__(self, *, store: SqlMetadataStore, artifacts: FolderArtifactStore,
                 executor: str, scratch: str, home: Home | None = None) -> None:
        self.store = store
        self.artifacts = artifacts
        self.executor = executor
        self.scratch = scratch
        self._home = home
        self._made: set[str] = set()

    @classmethod
    def open(cls, config: InstanceConfig) -> Instance:
        if not config.metadata_url or not config.artifacts_url:
            raise StoreError("an instance needs both a metadata URL (--db) and an "
                             "artifacts URL (--artifacts)")
        store = SqlMetadataStore(database_url(config.metadata_url))
        try:
            artifacts = FolderArtifactStore(config.artifacts_url)
        except BaseException:
            store.close()
            raise
        scratch = config.scratch or os.path.join(tempfile.gettempdir(),
                                                 f"rillet-scratch-{os.getuid()}")
        return cls(store=store, artifacts=artifacts, executor=config.executor,
                   scratch=scratch)

    @classmethod
    def home(cls, path: str | None = None, *, create: bool = True,
             executor: str = "processes") -> Instance:
        """The embedded home at ``path`` (default ``$RILLET_HOME`` or ``./.rillet``)."""
        h = Home.open(path, create=create)
        return cls(store=h.store, artifacts=h.artifacts, executor=executor,
                   scratch=h.path, home=h)

    @property
    def url(self) -> str:
        return self.store.url

    @property
    def embedded(self) -> Home | None:
        """The ``Home`` when this is the embedded home, else None."""
        return self._home

    @property
    def home_path(self) -> str | None:
        """The home folder when this is the embedded home, else None."""
        return self._home.path if self._home is not None else None

    def checkpoint_path(self, scope: str, node_id: str, *, make: bool = True) -> str:
        """As ``Home.checkpoint_path`` (``make=False``: the folder is left to the writer)."""
        if self._home is not None:
            return self._home.checkpoint_path(scope, node_id, make=make)
        return os.path.join(self._folder("checkpoints", scope, make=make), _safe_name(node_id))

    def log_path(self, execution_id: str) -> str:
        """The file the output of ``execution_id``'s tasks goes to while they run."""
        if self._home is not None:
            return self._home.log_path(execution_id)
        return os.path.join(self.scratch, "logs", _safe_name(execution_id) + ".log")

    def work_dir(self, execution_id: str, *, make: bool = True) -> str:
        """As ``Home.work_dir`` (``make=False``: the folder is left to what writes there)."""
        if self._home is not None:
            return self._home.work_dir(execution_id, make=make)
        return self._folder("work", execution_id, make=make)

    def _folder(self, kind: str, name: str, *, make: bool = True) -> str:
        folder = os.path.join(self.scratch, kind, _safe_name(name))
        if make and folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        return folder

    def engine_parts(self) -> dict[str, Any]:
        """The keyword arguments of ``Engine`` this instance provides."""
        return {"store": self.store, "artifacts": self.artifacts,
                "checkpoint_path": self.checkpoint_path, "work_dir": self.work_dir,
                "log_path": self.log_path}

    def close(self) -> None:
        if self._home is not None:
            self._home.close()
        else:
            self.store.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Instance({self.url!r}, artifacts={self.artifacts!r})"

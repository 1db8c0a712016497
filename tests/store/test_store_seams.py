"""The MetadataStore contract of ``rillet.testing`` on every implementation: SQLite
(the home's driver), PostgreSQL (a real server, tests/pgserver.py) and memory."""

from __future__ import annotations

import pytest

from rillet.store import MemoryMetadataStore, SqlMetadataStore
from rillet.testing import MetadataStoreContract


class TestSqlite(MetadataStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SqlMetadataStore(f"sqlite:///{tmp_path / 'store.db'}")
        yield s
        s.close()


class TestPostgres(MetadataStoreContract):
    @pytest.fixture
    def store(self, pg_url):
        s = SqlMetadataStore(pg_url)
        yield s
        s.close()


class TestMemory(MetadataStoreContract):
    @pytest.fixture
    def store(self):
        return MemoryMetadataStore()

"""The MetadataStore contract of ``rillet.testing``, run against every implementation:
SQLite through the stdlib driver (the home's), SQLite through SQLAlchemy, PostgreSQL (a
real server, started by ``tests/pgserver.py``) and the in-memory store; and what only
these stores can show (several handles on one database)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from rillet.store import MemoryMetadataStore, SqlMetadataStore
from rillet.testing import MetadataStoreContract


def _race(handles, take):
    """``take(handle, i)`` in one thread per handle, all released at once."""
    barrier = threading.Barrier(len(handles))

    def run(i):
        barrier.wait()
        return take(handles[i], i)

    with ThreadPoolExecutor(len(handles)) as pool:
        return list(pool.map(run, range(len(handles))))


class TestStores(MetadataStoreContract):
    @pytest.fixture(params=["sqlite", "sqlalchemy", "postgresql", "memory"])
    def store(self, request, tmp_path):
        if request.param == "sqlite":
            s = SqlMetadataStore(f"sqlite:///{tmp_path / 'store.db'}")
        elif request.param == "sqlalchemy":
            s = SqlMetadataStore(f"sqlite+pysqlite:///{tmp_path / 'store.db'}")
        elif request.param == "postgresql":
            s = SqlMetadataStore(request.getfixturevalue("pg_url"))
        else:
            s = MemoryMetadataStore()
        yield s
        s.close()

    def test_reserve_has_one_winner_among_concurrent_takers(self, store):
        """Six handles on one database (separate connections for SQL stores) take the same
        free lock, then the same stale lock, at once: exactly one wins each time."""
        others = [SqlMetadataStore(store.url) if isinstance(store, SqlMetadataStore) else store
                  for _ in range(5)]
        handles = [store, *others]
        try:
            for round_ in range(5):
                got = _race(handles, lambda h, i, k=f"free{round_}": h.reserve(k, f"o{i}", 60.0))
                assert (got.count(""), got.count(None)) == (1, 5), got
            store.reserve("stale", "crashed", 60.0)
            time.sleep(1.1)  # stale after 1 s: the winner's own lock stays fresh for 1 s
            got = _race(handles, lambda h, i: h.reserve("stale", f"o{i}", 1.0))
            assert (got.count("crashed"), got.count(None)) == (1, 5), got
        finally:
            for h in others:
                if h is not store:
                    h.close()

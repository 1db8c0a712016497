"""A real server for the API tests: uvicorn serving ``create_app`` on a free
loopback port, in a thread of the test process (so a test can look at the app's
broadcaster), on a home of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serverkit import Served, serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("served") / "home"
    with serve(home, home) as s:
        yield s


@pytest.fixture(scope="session")
def with_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server with one local worker slot (launches run in its process), started once
    for the session: register, launch and model tests share it (each in a project of
    its own, or with names of its own)."""
    root = tmp_path_factory.mktemp("workers")
    with serve(root, root / "home", workers=1) as s:
        yield s
    # the local workers were drained and stopped with the server
    assert not s.app.state.local_workers.thread.is_alive()

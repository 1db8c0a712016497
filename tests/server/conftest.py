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

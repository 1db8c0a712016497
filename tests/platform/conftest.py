"""Fixtures of the platform tests: a folder of user code to register, and the stores
(embedded home; PostgreSQL + SeaweedFS S3) the platform runs on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_code import PIPE

from rillet.platform._stores import Stores, open_stores


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with ``pipe.py`` (tasks, workflows, a launch plan)."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "pipe.py").write_text(PIPE)
    return folder


@pytest.fixture(autouse=True)
def _bundle_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RILLET_BUNDLE_CACHE", str(tmp_path / "bundles"))


@pytest.fixture
def home_stores(tmp_path: Path) -> Iterator[Stores]:
    s = open_stores(str(tmp_path / "home"))
    yield s
    s.close()


@pytest.fixture
def shared_stores(pg_url: str, s3_url: str) -> Iterator[Stores]:
    s = open_stores(db=pg_url, artifacts=s3_url)
    yield s
    s.close()

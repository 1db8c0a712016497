"""Fixtures of the first-hour tests: ``rillet`` on a fresh home in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from newuser_kit import Rillet


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    return Rillet(tmp_path / "home", tmp_path)

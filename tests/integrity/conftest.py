"""Fixtures of the integrity tests (``home`` and ``load`` come from ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file each unpickling of a ``wf_integrity.Marked`` appends a line to."""
    marks = tmp_path / "unpickled.txt"
    monkeypatch.setenv("RILLET_TEST_UNPICKLED", str(marks))
    return marks

"""Fixtures of the integrity tests: a home in a temporary folder, workflow files loaded
by path as ``rillet run`` loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import WORKFLOWS


@pytest.fixture
def load() -> Any:
    from rillet.engine._loading import load_file

    def module(file: str) -> Any:
        return load_file(str(WORKFLOWS / f"{file}.py"))

    return module


@pytest.fixture
def home(tmp_path: Path) -> str:
    return str(tmp_path / "home")


@pytest.fixture
def unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file each unpickling of a ``wf_integrity.Marked`` appends a line to."""
    marks = tmp_path / "unpickled.txt"
    monkeypatch.setenv("RILLET_TEST_UNPICKLED", str(marks))
    return marks

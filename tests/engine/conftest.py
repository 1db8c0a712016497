"""Fixtures of the engine tests: real homes in a temporary folder and the workflow files
in ``tests/workflows`` loaded by path (``cli`` and ``wf`` come from ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import WORKFLOWS


@pytest.fixture
def load() -> Any:
    """``load("wf_runs")`` -> the workflow module, imported by path as ``rillet run`` does."""
    from rillet.engine._loading import load_file

    def module(file: str) -> Any:
        return load_file(str(WORKFLOWS / f"{file}.py"))

    return module


@pytest.fixture
def home(tmp_path: Path) -> str:
    return str(tmp_path / "home")

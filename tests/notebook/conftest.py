"""Fixtures of the notebook tests: the six-step notebook (``nbkit.SIX``) written to a
temporary folder, and ``$NB_MARKS``, the file its steps mark when they run."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbkit import SIX, write_notebook


@pytest.fixture
def six(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "six.ipynb", SIX)


@pytest.fixture
def marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "marks.txt"
    monkeypatch.setenv("NB_MARKS", str(path))
    return path

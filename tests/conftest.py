"""Fixtures shared by every test folder: ``rillet`` run as a real subprocess on a
real home in a temporary folder (``cli``, ``home``), and the workflow files in
``tests/workflows`` (``wf``; ``load`` imports one by path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import WORKFLOWS, Cli
from pgserver import pg_server, pg_url  # noqa: F401 - fixtures for every folder
from seaweed import s3_server, s3_url  # noqa: F401 - fixtures for every folder


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", tmp_path)


@pytest.fixture
def wf() -> Any:
    """``wf("wf_cli", "typed")`` -> the CLI target ``/abs/path/wf_cli.py:typed``."""

    def target(file: str, name: str | None = None) -> str:
        path = str(WORKFLOWS / f"{file}.py")
        return f"{path}:{name}" if name else path

    return target


@pytest.fixture
def load() -> Any:
    """``load("wf_runs")`` -> the workflow module, imported by path as ``rillet run`` does."""
    from rillet.engine._loading import load_file

    def module(file: str) -> Any:
        return load_file(str(WORKFLOWS / f"{file}.py"))

    return module


@pytest.fixture
def home(tmp_path: Path) -> str:
    """A home folder (not created yet) in the test's temporary folder."""
    return str(tmp_path / "home")

"""Fixtures of the engine tests: real homes in a temporary folder, the workflow files in
``tests/workflows`` (loaded by path), and ``rillet`` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@dataclass
class Result:
    args: list[str]
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:
        return (f"rillet {' '.join(self.args)} -> {self.code}\n"
                f"stdout:\n{self.out}\nstderr:\n{self.err}")


def rillet_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RILLET_")}
    env.update(extra)
    return env


def start(args: list[str], cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    """Start ``rillet ARGS`` in the background (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "rillet.cli", *args], cwd=cwd,
                            env=rillet_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def run(args: list[str], cwd: Path, timeout: float = 120) -> Result:
    proc = start(args, cwd)
    out, err = proc.communicate(timeout=timeout)
    return Result(args, proc.returncode, out, err)


class Cli:
    """``cli("run", ...)`` runs rillet with ``--home`` set to this test's home."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd

    def __call__(self, *args: str, home: bool = True, timeout: float = 120) -> Result:
        full = [*args, "--home", str(self.home)] if home else list(args)
        return run(full, self.cwd, timeout)

    def raw(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``rillet ARGS`` exactly as given (no ``--home``), with extra environment."""
        proc = subprocess.run([sys.executable, "-m", "rillet.cli", *args], cwd=self.cwd,
                              env=rillet_env(**(env or {})), capture_output=True, text=True,
                              timeout=120)
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: float = 120) -> Result:
        r = self(*args, timeout=timeout)
        assert r.code == 0, str(r)
        return r

    def start(self, *args: str) -> subprocess.Popen[str]:
        return start([*args, "--home", str(self.home)], self.cwd)


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
    return str(tmp_path / "home")

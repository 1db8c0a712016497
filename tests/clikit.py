"""Running ``rillet`` as a real subprocess on a real home, for the end-to-end tests
(shared by ``tests/conftest.py`` and the issue-8 helpers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKFLOWS = Path(__file__).resolve().parent / "workflows"


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


def run_on_a_terminal(args: list[str], cwd: Path, timeout: float = 120
                      ) -> tuple[int, str, str]:
    """Run rillet with stderr on a pseudo-terminal; (exit code, stdout, the terminal's
    text without ANSI sequences)."""
    import pty
    import re
    import select

    master, slave = pty.openpty()
    env = rillet_env(TERM="xterm-256color", COLUMNS="200", LINES="60")
    proc = subprocess.Popen([sys.executable, "-m", "rillet.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for {timeout} s: {seen.decode(errors='replace')}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=timeout)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    return proc.returncode, out.decode(), text


def wait_for(what: Any, limit: float = 120.0, every: float = 0.05) -> Any:
    """Poll ``what()`` until it returns a true value; return that value."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {limit}s waiting for {what}")

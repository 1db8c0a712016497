"""Helpers of the platform tests (imported by name: every test folder has a conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
    """Poll ``check`` until it returns a true value (generous limit; no tight timings)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.05)


def start_worker(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                 log: Path | None = None) -> subprocess.Popen[bytes]:
    """``rillet worker ARGS`` in a session of its own (so its executor's processes can
    be killed with it, as when its machine dies)."""
    full = dict(os.environ if env is None else env)
    cmd = [sys.executable, "-m", "rillet.cli", "worker", *args]
    if log is None:
        return subprocess.Popen(cmd, cwd=cwd, env=full, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=cwd, env=full, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

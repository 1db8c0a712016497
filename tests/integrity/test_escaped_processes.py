"""Point 7 of issue 11: processes a task leaves behind outside its process group
(``setsid``, a double fork) end with its attempt, so nothing keeps the CLI's output or
the database open after a run."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest
from clikit import WORKFLOWS, rillet_env


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("name, code", [("leaves", 0), ("hangs", 1)])
def test_escaped_descendants_end_with_the_attempt(tmp_path, name, code):
    pids = tmp_path / "pids.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "run", f"{WORKFLOWS}/wf_escape.py:{name}",
         "--executor", "processes", "--home", str(tmp_path / "home")],
        env=rillet_env(ESCAPE_PIDS=str(pids)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    left = [int(p) for p in pids.read_text().split()]
    assert len(left) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p for p in left if _alive(p)]
    for p in alive:  # do not leave them to the rest of the suite
        os.kill(p, 9)
    assert not alive, f"left running after the run: {alive}"

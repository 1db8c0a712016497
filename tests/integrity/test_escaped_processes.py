"""Point 7 of issue 11: processes a task leaves behind outside its process group
(``setsid``, a double fork) end with its attempt, so nothing keeps the CLI's output or
the database open after a run."""

from __future__ import annotations

import gc
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


@pytest.mark.parametrize("executor", ["processes", "inline"])
@pytest.mark.parametrize("name, code", [("leaves", 0), ("hangs", 1)])
def test_escaped_descendants_end_with_the_attempt(tmp_path, name, code, executor):
    """Inline, the task runs in the CLI's own process: what it started during the
    attempt ends with it all the same."""
    pids = tmp_path / "pids.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "run", f"{WORKFLOWS}/wf_escape.py:{name}",
         "--executor", executor, "--home", str(tmp_path / "home")],
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


# the task drops its Popen without waiting (on purpose): Python warns when it is collected
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_inline_in_a_long_lived_process_ends_only_what_the_attempt_started(
        tmp_path, monkeypatch, load, home):
    """``rillet.run`` inline in this (the test's) process: the processes the task left
    are ended with its attempt; a child this process started before is left alone."""
    import rillet

    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("ESCAPE_PIDS", str(pids))
    mine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        done = rillet.run(load("wf_escape").leaves, home=home, executor="inline")
        assert done.status.value == "SUCCEEDED"
        left = [int(p) for p in pids.read_text().split()]
        assert len(left) == 2
        alive = [p for p in left if _alive(p)]
        for p in alive:  # do not leave them to the rest of the suite
            os.kill(p, 9)
        assert not alive, "left running after the attempt"
        assert mine.poll() is None, "a child from before the run was ended"
        gc.collect()  # the task's Popen: collected here, under this test's filters
    finally:
        mine.kill()
        mine.wait()

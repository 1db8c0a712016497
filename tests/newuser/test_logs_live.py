"""Logs as a task runs (issue 12, point 2): written to the execution's log file while
the attempt runs, kept when the run is interrupted (Ctrl-C) or killed, followed by
``rillet logs ID NODE -f``, and echoed live to the console with the node's id by the
processes executor (``--quiet`` silences it)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from newuser_kit import Rillet, finish, started, write

FLOW = '''
import os
import sys
import time

from rillet import task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))


@task
def talk(n: int) -> int:
    print("first line", flush=True)
    os.system("echo from a subprocess")
    print("to stderr", file=sys.stderr, flush=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(HERE, "go")) and time.time() < deadline:
        time.sleep(0.05)
    print("last line", flush=True)
    return n


@workflow
def wf(n: int = 1) -> int:
    return talk(n=n)
'''


@pytest.fixture
def target(rillet: Rillet) -> str:
    return str(write(rillet.cwd / "flow.py", FLOW)) + ":wf"


def test_a_running_attempt_is_shown_and_followed(rillet: Rillet, target: str) -> None:
    proc = rillet.start("run", target, "--executor", "processes")
    try:
        eid = started(rillet, proc)
        now = rillet("logs", eid, "talk")
        assert now.code == 0
        assert now.out.splitlines() == ["first line", "from a subprocess", "to stderr"]
        assert "still running" in now.err and "-f" in now.err
        follower = rillet.start("logs", eid, "talk", "-f")
        time.sleep(0.5)
        assert follower.poll() is None  # it waits for the attempt to end
        (rillet.cwd / "go").touch()
        out, err = follower.communicate(timeout=90)
        assert follower.returncode == 0, err
        assert out.splitlines() == ["first line", "from a subprocess", "to stderr",
                                    "last line"]
        run_out, run_err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, run_err
    # live on the console, prefixed by the node (stdout keeps only the result)
    assert "talk | first line" in run_err and "talk | last line" in run_err
    assert "first line" not in run_out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_the_output_of_an_interrupted_or_killed_attempt_is_kept(
        rillet: Rillet, target: str, sig: int) -> None:
    proc = rillet.start("run", target, "--executor", "processes",
                        ctrl_c=sig == signal.SIGINT)
    eid = started(rillet, proc)
    os.kill(proc.pid, sig)
    finish(proc)
    (listed,) = rillet.executions()
    assert listed["status"] == ("ABORTED" if sig == signal.SIGINT else "FAILED")
    r = rillet("logs", eid, "talk")
    assert r.code == 0, str(r)
    assert r.out.splitlines()[:3] == ["first line", "from a subprocess", "to stderr"]
    assert "still running" not in r.err


def test_quiet_silences_the_console(rillet: Rillet, target: str) -> None:
    (rillet.cwd / "go").touch()
    r = rillet("run", target, "--executor", "processes", "--quiet")
    assert r.code == 0, str(r)
    assert "first line" not in r.err and "talk |" not in r.err
    eid = rillet.executions()[0]["execution_id"]
    assert "last line" in rillet.ok("logs", eid, "talk").out  # still recorded

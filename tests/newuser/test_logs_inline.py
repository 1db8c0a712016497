"""Logs as a task runs on the inline executor (issue 12, point 2): what a task prints
(print, and logging to stdout/stderr) is written to the execution's log file as it
runs, kept when the attempt is interrupted (Ctrl-C, SIGKILL), fails or times out,
shown live on the console prefixed by its node (``--quiet`` silences it), and
``rillet logs ID NODE`` shows it afterwards."""

from __future__ import annotations

import os
import signal

import pytest
from newuser_kit import Rillet, finish, started, write

FLOW = '''
import logging
import os
import sys
import time

from rillet import task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
log = logging.getLogger("flow")


@task
def talk(n: int) -> int:
    print("first line", flush=True)
    log.info("a log record")
    print("to stderr", file=sys.stderr, flush=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(HERE, "go")) and time.time() < deadline:
        time.sleep(0.05)
    if os.path.exists(os.path.join(HERE, "fail")):
        raise ValueError("it broke")
    print("last line")
    return n


@task(timeout=TIMEOUT)
def slow(n: int) -> int:
    print("before the timeout", flush=True)
    time.sleep(60)
    return n


@workflow
def wf(n: int = 1) -> int:
    return talk(n=n)


@workflow
def late(n: int = 1) -> int:
    return slow(n=n)
'''

LINES = ["first line", "INFO a log record", "to stderr"]


@pytest.fixture
def target(rillet: Rillet) -> str:
    return str(write(rillet.cwd / "flow.py", FLOW.replace("TIMEOUT", "1"))) + ":wf"


def test_an_inline_task_streams_to_its_log_and_the_console(rillet: Rillet,
                                                            target: str) -> None:
    proc = rillet.start("run", target, "--executor", "inline")
    try:
        eid = started(rillet, proc)
        now = rillet("logs", eid, "talk")
        assert now.out.splitlines() == LINES
        assert "still running" in now.err
        (rillet.cwd / "go").touch()
        out, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    shown = [line for line in err.splitlines() if "line" in line or "record" in line
             or "stderr" in line]
    # on the console, live, each line prefixed by its node, none of them bare
    assert shown == [f"talk | {line}" for line in [*LINES, "last line"]], err
    assert "first line" not in out
    after = rillet.ok("logs", eid, "talk")
    assert after.out.splitlines() == [*LINES, "last line"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_the_output_of_an_interrupted_inline_attempt_is_kept(
        rillet: Rillet, target: str, sig: int) -> None:
    proc = rillet.start("run", target, "--executor", "inline", ctrl_c=sig == signal.SIGINT)
    try:
        eid = started(rillet, proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    os.kill(proc.pid, sig)
    _, err = finish(proc)
    (listed,) = rillet.executions()
    assert listed["status"] == ("ABORTED" if sig == signal.SIGINT else "FAILED"), err
    r = rillet("logs", eid, "talk")
    assert r.code == 0, str(r)
    assert r.out.splitlines() == LINES
    assert "still running" not in r.err
    if sig == signal.SIGINT:  # recorded with the attempt itself
        attempts = [n for n in rillet.show(eid)["nodes"] if n["node_id"] == "talk"]
        assert attempts and attempts[0]["status"] == "ABORTED"


def test_a_failed_inline_attempt_keeps_its_output(rillet: Rillet, target: str) -> None:
    (rillet.cwd / "go").touch()
    (rillet.cwd / "fail").touch()
    r = rillet("run", target, "--executor", "inline")
    assert r.code != 0
    assert "talk | first line" in r.err and "talk | to stderr" in r.err
    eid = rillet.executions()[0]["execution_id"]
    logs = rillet("logs", eid, "talk")
    assert logs.out.splitlines() == LINES
    assert "it broke" in logs.err


def test_a_timed_out_inline_attempt_keeps_its_output(rillet: Rillet) -> None:
    late = str(write(rillet.cwd / "flow.py", FLOW.replace("TIMEOUT", "1"))) + ":late"
    r = rillet("run", late, "--executor", "inline")
    assert r.code != 0 and "timeout" in r.err, str(r)
    assert "slow | before the timeout" in r.err
    eid = rillet.executions()[0]["execution_id"]
    assert rillet("logs", eid, "slow").out.splitlines() == ["before the timeout"]


def test_quiet_silences_an_inline_task(rillet: Rillet, target: str) -> None:
    (rillet.cwd / "go").touch()
    r = rillet("run", target, "--executor", "inline", "--quiet")
    assert r.code == 0, str(r)
    assert "first line" not in r.err and "a log record" not in r.err
    assert "talk |" not in r.err and "first line" not in r.out
    eid = rillet.executions()[0]["execution_id"]
    assert rillet.ok("logs", eid, "talk").out.splitlines() == [*LINES, "last line"]

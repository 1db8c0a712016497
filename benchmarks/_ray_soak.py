"""Nothing lost on Ray: drivers SIGKILLed at random moments over a 100-node workflow,
each execution recovered by a new driver, until the kills asked for are done.

Each driver is a real ``rillet run|recover --executor ray`` process on the cluster of
``$RAY_ADDRESS``. It is killed a random time (up to ``MAX_DELAY`` s) after one of its
nodes ran; the next driver recovers the newest execution. When an execution reaches
its end before the next kill, its outputs are checked and a new one starts. Every
task appends ``<execution id> <node id>`` to a log as it ends, and after each driver
the nodes its execution recorded SUCCEEDED are read from the store: a log line of a
later execution for one of them is a succeeded node run again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANES, STEPS = 4, 25  # 4 parallel chains of 25 tasks: 100 nodes
MAX_DELAY = 0.6  # s after a driver's first node ran, at most, before it is killed
STARTUP = 300.0  # s a driver may take before its first node runs (a loaded machine)

FLOW = f'''
import time

from rillet import current_context, task, workflow


@task
def step(log: str, lane: int, i: int, x: int, seconds: float) -> int:
    time.sleep(seconds)
    ctx = current_context()
    with open(log, "a") as f:
        f.write(f"{{ctx.execution_id}} {{ctx.node_id}}\\n")
    return x + lane * 1000 + i


@workflow
def soak(log: str, seconds: float = 0.05) -> tuple[int, int, int, int]:
    ends = []
    for lane in range({LANES}):
        x = lane
        for i in range({STEPS}):
            x = step(log=log, lane=lane, i=i, x=x, seconds=seconds)
        ends.append(x)
    return ends[0], ends[1], ends[2], ends[3]
'''


def expected() -> list[int]:
    return [lane + sum(lane * 1000 + i for i in range(STEPS)) for lane in range(LANES)]


@dataclass
class Tally:
    kills: int = 0
    recoveries: int = 0
    executions_completed: int = 0  # workflows run to their end through kills
    wrong_outputs: int = 0
    succeeded_rerun: int = 0  # nodes recorded SUCCEEDED and run again later: must be 0
    unrecorded_rerun: int = 0  # nodes that ran but were not recorded before a kill
    node_runs: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.kills} SIGKILLs, {self.recoveries} recoveries, "
                f"{self.executions_completed} workflow(s) of {LANES * STEPS} nodes completed, "
                f"{self.wrong_outputs} wrong outputs, {self.succeeded_rerun} succeeded nodes "
                f"re-run, {self.unrecorded_rerun} unrecorded nodes run again "
                f"({self.node_runs} node runs)")


def _lines(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()  # type: ignore[misc]
            if " " in line]


def _driver(argv: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "rillet.cli", *argv], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _newest(home: str) -> Any:
    from rillet.sdk._run import _open_home

    h = _open_home(home)
    try:
        return max(h.store.list_executions(), key=lambda e: e.created_at)
    finally:
        h.close()


def _succeeded(home: str, execution_id: str) -> set[str]:
    from rillet.sdk._run import _open_home

    h = _open_home(home)
    try:
        return {n.node_id for n in h.store.nodes(execution_id)
                if n.status.value == "SUCCEEDED"}
    finally:
        h.close()


def soak(kills: int, work: Path, seed: int = 19) -> Tally:
    """Kill drivers ``kills`` times; return the tally (its problems say what broke)."""
    rng = random.Random(seed)
    flow = work / "soak_flow.py"
    flow.write_text(FLOW)
    tally = Tally()
    round_no = 0
    while tally.kills < kills:
        round_no += 1
        home, log = str(work / f"home{round_no}"), work / f"log{round_no}"
        argv = ["run", f"{flow}:soak", "--executor", "ray", "--home", home, f"--log={log}"]
        done_before: set[str] = set()
        while True:
            known = {eid for eid, _ in _lines(log)}
            driver = _driver(argv, work)
            killed = _kill_later(driver, log, known, rng) if tally.kills < kills else False
            _, err = driver.communicate(timeout=STARTUP)
            record = _newest(home)
            ran = [node for eid, node in _lines(log) if eid == record.id]
            tally.node_runs += len(ran)
            again = sorted({n for n in ran if n in done_before})
            if again:
                tally.succeeded_rerun += len(again)
                tally.problems.append(f"{record.id} ran succeeded nodes again: {again[:5]}")
            succeeded = _succeeded(home, record.id)
            tally.unrecorded_rerun += len([n for n in ran if n not in succeeded])
            done_before |= succeeded
            if killed:
                tally.kills += 1
                tally.recoveries += 1
                argv = ["recover", record.id, "--executor", "ray", "--home", home]
                continue
            if driver.returncode != 0 or record.status.value != "SUCCEEDED":
                tally.problems.append(f"{record.id} ended {record.status.value} "
                                      f"(rc {driver.returncode}): {err.decode()[-800:]}")
                return tally
            tally.executions_completed += 1
            if _outputs(home, record) != expected():
                tally.wrong_outputs += 1
                tally.problems.append(f"{record.id} returned {_outputs(home, record)}, "
                                      f"not {expected()}")
            break
    return tally


def _kill_later(driver: subprocess.Popen[bytes], log: Path, known: set[str],
                rng: random.Random) -> bool:
    """SIGKILL ``driver`` a random moment after one of its nodes ran (a log line of an
    execution not in ``known``: not a late line of a killed one); False if it ended
    first."""
    deadline = time.monotonic() + STARTUP
    while not {eid for eid, _ in _lines(log)} - known:
        if driver.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise RuntimeError(f"no node ran in {STARTUP:g}s after a driver started")
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, MAX_DELAY))
    if driver.poll() is not None:
        return False
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    return True


def _outputs(home: str, record: Any) -> list[int]:
    from rillet.engine._values import ValueStore
    from rillet.sdk._run import _open_home

    h = _open_home(home)
    try:
        values = ValueStore(h.store, h.artifacts)
        return [values.load(record.outputs[f"o{i}"], int) for i in range(LANES)]
    finally:
        h.close()

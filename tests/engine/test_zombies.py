"""No zombie executions (issue 8): an execution whose owner is gone (on this host its
process no longer exists; elsewhere its heartbeat is old) is marked FAILED, with its
running nodes, the next time anything looks at it, and can then be recovered."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from issue8_kit import Rillet, write  # noqa: E402

REASON = "the process running it ended without recording a result"

FLOW = '''
import os
import time

from rillet import task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))


@task
def first(x: int) -> int:
    return x + 1


@task
def slow(x: int) -> int:
    with open(os.path.join(HERE, "slow.pid"), "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 60
    while os.path.exists(os.path.join(HERE, "block")) and time.time() < deadline:
        time.sleep(0.05)
    return x * 2


@task
def last(x: int) -> int:
    return x + 100


@workflow
def flow(x: int = 1) -> int:
    return last(x=slow(x=first(x=x)))
'''


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    write(tmp_path / "zflow.py", FLOW)
    return Rillet(tmp_path / "home", tmp_path)


def target(r: Rillet) -> str:
    return f"{r.cwd / 'zflow.py'}:flow"


def nodes(r: Rillet, eid: str) -> dict[str, dict[str, Any]]:
    return {n["node_id"]: n for n in r.show(eid)["nodes"]}


def start_and_kill(r: Rillet) -> str:
    """``rillet run`` killed with SIGKILL while ``slow`` runs; returns the execution id."""
    (r.cwd / "block").touch()
    proc = r.start("run", target(r), "--executor", "processes")
    try:
        deadline = time.time() + 30
        while not (r.cwd / "slow.pid").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "slow never started"
            time.sleep(0.05)
        while raw_node_status(r, "slow") != "RUNNING":  # recorded before it is killed
            assert time.time() < deadline, "slow was never recorded RUNNING"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    worker = int((r.cwd / "slow.pid").read_text())
    deadline = time.time() + 10  # the task's worker process does not outlive its parent
    while alive(worker):
        assert time.time() < deadline, f"worker {worker} still runs after its parent was killed"
        time.sleep(0.1)
    (r.cwd / "block").unlink()
    return str(raw_executions(r)[0]["id"])


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def raw_node_status(r: Rillet, node_id: str) -> str | None:
    import sqlite3

    db = sqlite3.connect(r.home / "rillet.db")
    try:
        row = db.execute("SELECT status FROM node_executions WHERE node_id = ?",
                         (node_id,)).fetchone()
        return None if row is None else str(row[0])
    finally:
        db.close()


def raw_executions(r: Rillet) -> list[dict[str, Any]]:
    """The execution records as stored, read without any command looking at them."""
    import sqlite3

    db = sqlite3.connect(r.home / "rillet.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute(
            "SELECT id, status, error FROM executions ORDER BY created_at DESC")]
    finally:
        db.close()


def test_a_killed_run_is_failed_at_once_and_recovers(rillet: Rillet) -> None:
    eid = start_and_kill(rillet)
    assert raw_executions(rillet)[0]["status"] == "RUNNING"  # as the killed process left it
    (listed,) = rillet.executions()  # at once: no heartbeat to wait for
    assert (listed["execution_id"], listed["status"]) == (eid, "FAILED")
    assert listed["error"] == REASON
    assert raw_executions(rillet)[0]["status"] == "FAILED"  # recorded, not only shown
    shown = nodes(rillet, eid)
    assert shown["first"]["status"] == "SUCCEEDED"
    assert shown["slow"]["status"] == "FAILED" and shown["slow"]["error"] == REASON
    assert shown["last"]["status"] in ("ABORTED", "QUEUED")  # never ran, never RUNNING
    text = rillet.ok("executions", "list").out
    assert eid in text and "FAILED" in text and "RUNNING" not in text

    body = rillet.ok("recover", eid, "--json", "--executor", "inline").json
    assert body["status"] == "SUCCEEDED" and body["outputs"]["o0"] == 104
    after = nodes(rillet, body["execution_id"])
    assert after["first"]["status"] == "RECOVERED"
    assert after["slow"]["status"] == "SUCCEEDED" and after["slow"]["attempts"] == 1
    assert after["last"]["status"] == "SUCCEEDED"


def rewrite(r: Rillet, eid: str, **changes: Any) -> None:
    """Make a finished execution look RUNNING, owned as ``changes`` say, with ``slow``
    running (written with the store's ``apply``, as an engine elsewhere would)."""
    from rillet.engine._records import LEASE_TTL, Batch, ExecutionStatus, NodeStatus
    from rillet.store._home import Home

    if "heartbeat_at" in changes:  # the owner's lease runs from its last heartbeat
        changes.setdefault("lease_expires_at", changes["heartbeat_at"] + LEASE_TTL)
    h = Home.open(str(r.home), create=False)
    try:
        store = h.store
        # The store never changes an ended execution's status (its contract): put it back
        # to RUNNING with SQL, as a process that crashed mid-run would have left it.
        with store.database.write() as c:
            c.execute("UPDATE executions SET status = 'RUNNING', ended_at = NULL "
                      "WHERE id = ?", (eid,))
        record = dataclasses.replace(store.get_execution(eid), status=ExecutionStatus.RUNNING,
                                     ended_at=None, outputs=None, **changes)
        batch = Batch()
        batch.executions.append(record)
        for node in store.nodes(eid):
            if node.node_id == "slow":
                batch.nodes.append(dataclasses.replace(
                    node, status=NodeStatus.RUNNING, ended_at=None, outputs={}))
            elif node.node_id == "last":
                batch.nodes.append(dataclasses.replace(
                    node, status=NodeStatus.QUEUED, ended_at=None, outputs={}, attempts=0))
        for attempt in store.attempts(eid):
            if attempt.node_id == "slow":
                batch.attempts.append(dataclasses.replace(
                    attempt, status=NodeStatus.RUNNING, ended_at=None))
        store.apply(batch)
    finally:
        h.close()


def finished_run(r: Rillet) -> str:
    body = r.run_json(target(r))
    assert body["status"] == "SUCCEEDED", body
    return str(body["execution_id"])


def test_a_run_on_another_host_with_an_old_heartbeat_is_failed(rillet: Rillet) -> None:
    eid = finished_run(rillet)
    rewrite(rillet, eid, owner_host="elsewhere.invalid", owner_pid=4242,
            owner_started=time.time() - 7200, heartbeat_at=time.time() - 3600)
    assert raw_executions(rillet)[0]["status"] == "RUNNING"
    shown = rillet.show(eid)  # show looks at it too
    assert shown["status"] == "FAILED" and shown["error"] == REASON
    by_id = {n["node_id"]: n for n in shown["nodes"]}
    assert by_id["slow"]["status"] == "FAILED" and by_id["slow"]["error"] == REASON
    assert by_id["first"]["status"] == "SUCCEEDED"
    (listed,) = rillet.executions()
    assert listed["status"] == "FAILED"
    body = rillet.ok("recover", eid, "--json", "--executor", "inline").json
    assert body["status"] == "SUCCEEDED"
    assert rillet.statuses(body["execution_id"]) == {
        "first": "RECOVERED", "slow": "SUCCEEDED", "last": "SUCCEEDED"}


def test_a_run_on_another_host_with_a_fresh_heartbeat_is_left_running(rillet: Rillet) -> None:
    eid = finished_run(rillet)
    rewrite(rillet, eid, owner_host="elsewhere.invalid", owner_pid=os.getpid(),
            owner_started=time.time() - 7200, heartbeat_at=time.time())
    (listed,) = rillet.executions()
    assert listed["status"] == "RUNNING" and listed["error"] is None
    assert nodes(rillet, eid)["slow"]["status"] == "RUNNING"
    r = rillet("recover", eid)
    assert r.code == 2 and "still RUNNING" in r.err, str(r)
    assert raw_executions(rillet)[0]["status"] == "RUNNING"
    assert len(raw_executions(rillet)) == 1  # nothing started


def test_a_live_owner_on_this_host_keeps_it_running_and_a_reused_pid_does_not(
        rillet: Rillet) -> None:
    me = psutil.Process(os.getpid())
    eid = finished_run(rillet)
    old_beat = time.time() - 3600  # on this host the process, not the heartbeat, decides
    rewrite(rillet, eid, owner_host=socket.gethostname(), owner_pid=me.pid,
            owner_started=me.create_time(), heartbeat_at=old_beat)
    assert rillet.executions()[0]["status"] == "RUNNING"
    # the same pid, started at another time: another process that reused the pid
    rewrite(rillet, eid, owner_host=socket.gethostname(), owner_pid=me.pid,
            owner_started=me.create_time() - 1000, heartbeat_at=time.time())
    (listed,) = rillet.executions()
    assert listed["status"] == "FAILED" and listed["error"] == REASON


# -- the reaper on its own, over the in-memory store ------------------------------------


def dead_pid() -> tuple[int, float]:
    """The pid and start time of a process that has ended."""
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return proc.pid, started


def running_record(**owner: Any) -> Any:
    from rillet.engine._records import ExecutionRecord, ExecutionStatus

    now = time.time()
    return ExecutionRecord(id="e1", workflow="m:wf", source="m.py", spec_hash="",
                           status=ExecutionStatus.RUNNING, inputs={}, created_at=now,
                           started_at=now, heartbeat_at=now, **owner)


def test_the_reaper_never_overwrites_a_result_recorded_just_before_the_owner_ended() -> None:
    from rillet.engine._reaper import reap
    from rillet.engine._records import Batch, ExecutionStatus
    from rillet.store._memory import MemoryMetadataStore

    pid, started = dead_pid()
    seen = running_record(owner_host=socket.gethostname(), owner_pid=pid, owner_started=started)
    store = MemoryMetadataStore()
    done = dataclasses.replace(seen, status=ExecutionStatus.SUCCEEDED, ended_at=time.time())
    store.apply(Batch(executions=[done]))  # what the owner wrote after ``seen`` was read
    (after,) = reap(store, [seen])
    assert after.status is ExecutionStatus.SUCCEEDED
    assert store.get_execution("e1").status is ExecutionStatus.SUCCEEDED
    store = MemoryMetadataStore()  # (an ended status never changes in a store)
    store.apply(Batch(executions=[seen]))  # and when it did not, it is reaped
    (after,) = reap(store, [seen])
    assert (after.status, after.error) == (ExecutionStatus.FAILED, REASON)
    assert store.get_execution("e1").status is ExecutionStatus.FAILED


def test_an_owner_that_cannot_be_looked_at_is_judged_by_its_heartbeat(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rillet.engine._reaper import owner_alive

    def denied(pid: int) -> Any:
        raise psutil.AccessDenied(pid)

    monkeypatch.setattr(psutil, "Process", denied)
    here = {"owner_host": socket.gethostname(), "owner_pid": 1, "owner_started": 0.0}
    assert owner_alive(running_record(**here))
    old = dataclasses.replace(running_record(**here), heartbeat_at=time.time() - 3600)
    assert not owner_alive(old)


def test_a_long_inline_task_does_not_stop_the_heartbeat(load, home, monkeypatch):
    """The inline executor runs a task in the engine's own thread: a thread of the
    engine keeps beating meanwhile, so another host does not take it for dead."""
    import rillet
    from rillet.engine import _durable, _runstate

    monkeypatch.setattr(_runstate, "HEARTBEAT_EVERY", 0.1)
    monkeypatch.setattr(_durable, "HEARTBEATS", _runstate.Heartbeats())  # a fresh thread
    execution = rillet.run(load("wf_beat").beats, home=home, executor="inline", where=home,
                           seconds=1.0)
    assert execution.status == "SUCCEEDED"
    assert execution.outputs["o0"] >= 0.5  # beats went on while the task slept for 1 s

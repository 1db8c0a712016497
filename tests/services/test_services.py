"""The service layer on a real home: the instance presets, executions as the CLI and
the API show them, abort of queued and of running executions, the event log."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import psutil
import pytest
from clikit import wait_for

from rillet.engine._records import (
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
from rillet.errors import Conflict, NotFound, StoreError
from rillet.services import abort, events, execution_detail, list_executions
from rillet.store import Instance, InstanceConfig


def queued(eid: str = "q1", workflow: str = "m:wf", created_at: float = 1.0) -> ExecutionRecord:
    return ExecutionRecord(id=eid, workflow=workflow, source="m.py", spec_hash="",
                           status=ExecutionStatus.QUEUED, inputs={}, created_at=created_at)


def test_instance_from_config_and_the_home_preset(tmp_path: Path) -> None:
    cfg = InstanceConfig(metadata_url=f"sqlite:///{tmp_path / 'm.db'}",
                         artifacts_url=str(tmp_path / "art"), executor="inline",
                         scratch=str(tmp_path / "scratch"))
    with Instance.open(cfg) as inst:
        assert inst.executor == "inline" and inst.home_path is None
        assert inst.work_dir("e/1").startswith(str(tmp_path / "scratch" / "work"))
        assert os.path.isdir(inst.work_dir("e/1"))
        assert os.path.dirname(inst.checkpoint_path("s", "n")).endswith("checkpoints/s")
        inst.store.apply(Batch(executions=[queued()]))
        assert [s["execution_id"] for s in list_executions(inst)] == ["q1"]
    with Instance.home(str(tmp_path / "home")) as inst:
        assert inst.home_path == str(tmp_path / "home")
        assert inst.url.startswith("sqlite:///") and inst.url.endswith("rillet.db")
    with pytest.raises(NotFound):
        Instance.home(str(tmp_path / "absent"), create=False)
    with pytest.raises(StoreError, match="artifacts URL"):
        Instance.open(InstanceConfig(metadata_url="sqlite://", artifacts_url=""))


def test_instance_takes_the_database_urls_the_workers_take(tmp_path: Path, pg_server) -> None:
    """``rillet server --db`` accepts what ``rillet worker --db`` does: a bare path
    (SQLite) and a plain ``postgresql://`` URL (psycopg 3, the postgres extra)."""
    art = str(tmp_path / "art")
    with Instance.open(InstanceConfig(metadata_url=str(tmp_path / "m.db"),
                                      artifacts_url=art)) as inst:
        assert inst.url == f"sqlite:///{tmp_path / 'm.db'}"
    plain = pg_server.url(driver="postgresql")
    with Instance.open(InstanceConfig(metadata_url=plain, artifacts_url=art)) as inst:
        inst.store.apply(Batch(executions=[queued()]))
        assert [s["execution_id"] for s in list_executions(inst)] == ["q1"]


def test_list_filters_and_detail(tmp_path: Path) -> None:
    with Instance.home(str(tmp_path / "home")) as inst:
        inst.store.apply(Batch(executions=[
            queued("a1", "m:a", 1.0), queued("b1", "m:b", 2.0), queued("a2", "m:a", 3.0)]))
        assert [s["execution_id"] for s in list_executions(inst, workflow="m:a")] == [
            "a2", "a1"]
        assert list_executions(inst, status="SUCCEEDED") == []
        with pytest.raises(ValueError):
            list_executions(inst, status="BOGUS")
        detail = execution_detail(inst, "b1")
        assert detail["status"] == "QUEUED" and detail["nodes"] == []
        with pytest.raises(NotFound):
            execution_detail(inst, "zz")


def test_abort_a_queued_execution_ends_it_and_logs_it(tmp_path: Path) -> None:
    with Instance.home(str(tmp_path / "home")) as inst:
        inst.store.apply(Batch(
            executions=[queued()],
            nodes=[NodeRecord(execution_id="q1", node_id="n0", task="m:t", kind="task",
                              status=NodeStatus.QUEUED)]))
        start = inst.store.last_event()
        shown = abort(inst, "q1")
        assert shown["status"] == "ABORTED"
        assert [n.status for n in inst.store.nodes("q1")] == [NodeStatus.ABORTED]
        kinds = [(e["kind"], e["node_id"], e["status"]) for e in events(inst, "q1", after=start)]
        assert kinds == [("abort_requested", "", ""), ("node", "n0", "ABORTED"),
                         ("execution", "", "ABORTED")]
        with pytest.raises(Conflict, match="already ended ABORTED"):
            abort(inst, "q1")


def test_abort_without_a_live_owner_frees_the_locks_of_its_nodes(tmp_path: Path) -> None:
    """Its owner gone, abort ends a running execution here, and a serialize lock its
    running node held is free for the next taker (as when the reaper fails one)."""
    with Instance.home(str(tmp_path / "home")) as inst:
        running = dataclasses.replace(queued(), status=ExecutionStatus.RUNNING)
        inst.store.apply(Batch(
            executions=[running],
            nodes=[NodeRecord(execution_id="q1", node_id="n0", task="m:t", kind="task",
                              status=NodeStatus.RUNNING, cache_key="k")]))
        assert inst.store.reserve("k", "q1:n0", stale_after=3600) == ""
        assert abort(inst, "q1")["status"] == "ABORTED"
        (node,) = inst.store.nodes("q1")
        assert (node.status, node.error) == (NodeStatus.ABORTED, "aborted on request")
        assert inst.store.reserve("k", "another", stale_after=3600) == ""


def test_rillet_abort_kills_a_running_attempt_and_ends_aborted(cli, wf, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    proc = cli.start("run", wf("wf_platform", "slow"), "--marker", str(marker), "--json")
    try:
        pid = int(wait_for(lambda: marker.exists() and marker.read_text()))
        with Instance.home(str(cli.home), create=False) as inst:
            (eid,) = wait_for(lambda: [s["execution_id"] for s in list_executions(inst)
                                       if s["status"] == "RUNNING"])
        r = cli("abort", eid, "--json")
        assert r.code == 0 and r.json["execution_id"] == eid, str(r)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, (out, err)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    shown = cli.ok("executions", "show", eid, "--json").json
    assert shown["status"] == "ABORTED"
    assert [n["status"] for n in shown["nodes"]] == ["ABORTED"]
    again = cli("abort", eid)
    assert again.code == 2 and "already ended ABORTED" in again.err

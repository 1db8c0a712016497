"""An abort that arrives between a worker's claim of a launched execution and its
engine's end: the execution ends ABORTED and stays so (the worker looks before it runs
anything; the store refuses any write over an ended status, so the engine's end cannot
turn ABORTED into SUCCEEDED). The worker is held at a point by a real event, not a sleep."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from platformkit import wait_until

from rillet.engine._records import NodeStatus
from rillet.platform import Worker, launch, register
from rillet.platform import _worker as worker_module
from rillet.platform._stores import Stores, open_stores
from rillet.services import abort
from rillet.store import Instance, InstanceConfig

HOLD = 120.0  # the longest a held worker waits for the test (never reached when it passes)


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    db = (str(tmp_path / "meta.db") if request.param == "sqlite"
          else request.getfixturevalue("pg_url"))
    art = str(tmp_path / "artifacts")
    s = open_stores(db=db, artifacts=art)
    inst = Instance.open(InstanceConfig(metadata_url=db, artifacts_url=art))
    yield s, inst
    inst.close()
    s.close()


class Gate:
    """Holds the worker's thread at one point until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.open = threading.Event()

    def hold(self) -> None:
        self.reached.set()
        assert self.open.wait(HOLD), "the test never opened the gate"


def _run_one(s: Stores) -> threading.Thread:
    w = Worker(s.store, s.artifacts, executor="inline")
    t = threading.Thread(target=w.run, kwargs={"max_executions": 1}, daemon=True)
    t.start()
    return t


def _check_aborted(s: Stores, execution_id: str) -> None:
    record = s.store.get_execution(execution_id)
    assert record.status.value == "ABORTED", record
    running = (NodeStatus.RUNNING, NodeStatus.QUEUED)
    assert [n.node_id for n in s.store.nodes(execution_id) if n.status in running] == []
    assert [a.node_id for a in s.store.attempts(execution_id)
            if a.status is NodeStatus.RUNNING] == []
    ends = [e.status for e in s.store.events(execution_id) if e.kind == "execution"
            and e.status in ("SUCCEEDED", "FAILED", "ABORTED")]
    assert ends == ["ABORTED"]  # one end, never followed by another


def test_an_abort_while_the_worker_loads_the_bundle_runs_nothing(
        stores: Any, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held after the claim, while the bundle loads (before the engine starts): the
    abort ends the execution (no live owner process), and the worker runs none of it."""
    s, inst = stores
    gate = Gate()
    load = worker_module.load_workflow

    def held_load(folder: str, identity: str) -> Any:
        gate.hold()
        return load(folder, identity)

    monkeypatch.setattr(worker_module, "load_workflow", held_load)
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    (tmp_path / "marker.go").write_text("")  # nothing waits, were it to run
    eid = launch(s.store, "pipe.chain", inputs={"x": 1, "marker": str(marker)})
    t = _run_one(s)
    assert gate.reached.wait(HOLD)
    assert abort(inst, eid)["status"] == "ABORTED"
    gate.open.set()
    t.join(HOLD)
    assert not t.is_alive()
    _check_aborted(s, eid)
    assert not marker.exists()  # no task ran


def test_an_abort_just_before_the_engine_starts_is_not_overwritten_by_its_end(
        stores: Any, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held after the worker's own look, just before its engine starts: the engine's
    writes are refused by the store (the execution ended ABORTED), so its end cannot
    overwrite the abort; it stops and the worker goes on to the next launch."""
    s, inst = stores
    gate = Gate()

    class HeldEngine(worker_module.Engine):
        def execute(self, *args: Any, **kw: Any) -> Any:
            gate.hold()
            return super().execute(*args, **kw)

    monkeypatch.setattr(worker_module, "Engine", HeldEngine)
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    (tmp_path / "marker.go").write_text("")  # were the engine to go on, it would end
    eid = launch(s.store, "pipe.chain", inputs={"x": 1, "marker": str(marker)})
    w = Worker(s.store, s.artifacts, executor="inline")
    t = threading.Thread(target=w.run, kwargs={"max_executions": 2}, daemon=True)
    t.start()
    assert gate.reached.wait(HOLD)
    assert abort(inst, eid)["status"] == "ABORTED"
    gate.open.set()
    # the worker goes on: a launch after it runs to its end
    after = launch(s.store, "pipe.one", inputs={"x": 4})
    t.join(HOLD)
    assert not t.is_alive()
    _check_aborted(s, eid)
    assert s.store.get_execution(after).status.value == "SUCCEEDED"
    ran = marker.read_text().split() if marker.exists() else []
    assert "last" not in ran  # stopped at its first write, before the chain's end


def test_an_abort_racing_the_engines_end_never_changes_the_end(
        stores: Any, project: Path) -> None:
    """The other order: the engine ended first; the abort is then a Conflict (409) and
    the recorded end stays."""
    from rillet.errors import Conflict

    s, inst = stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    eid = launch(s.store, "pipe.one", inputs={"x": 1})
    t = _run_one(s)
    t.join(HOLD)
    wait_until(lambda: s.store.get_execution(eid).status.value == "SUCCEEDED",
               what="the execution to end")
    with pytest.raises(Conflict, match="already ended SUCCEEDED"):
        abort(inst, eid)
    assert s.store.get_execution(eid).status.value == "SUCCEEDED"

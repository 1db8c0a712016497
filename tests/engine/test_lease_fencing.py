"""A fenced engine (``Engine(lease_owner=...)``, a platform worker's) renews its lease on
the execution at its heartbeat; when another owner took the lease over, it stops its
running attempts, writes nothing more and raises ``LeaseLost``."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from rillet.engine._durable import Engine
from rillet.engine._records import NodeStatus
from rillet.engine._runstate import LeaseLost
from rillet.sdk._run import make_executor, source_of
from rillet.store._home import Home

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402


def _wait_until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return got


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_an_engine_whose_lease_is_taken_over_stops_and_writes_nothing(load, home, tmp_path,
                                                                      executor):
    mod = load("wf_lease")
    h = Home.open(home)
    engine = Engine(store=h.store, artifacts=h.artifacts, executor=make_executor(executor),
                    checkpoint_path=h.checkpoint_path, work_dir=h.work_dir,
                    lease_owner="worker:a", lease_ttl=3.0)
    marker = tmp_path / "marker"
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["record"] = engine.execute(mod.held, {"marker": str(marker)},
                                           source=source_of(mod.held), execution_id="e-lease")
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: any(n.node_id == "hold" and n.status is NodeStatus.RUNNING
                                for n in h.store.nodes("e-lease")), "hold to be recorded")
        assert h.store.get_execution("e-lease").lease_owner == "worker:a"
        if executor == "inline":
            # The task blocks the engine's thread (its worker's thread would renew the
            # lease; none here): once the lease lapses, worker b takes the execution over.
            _wait_until(lambda: h.store.acquire_lease("e-lease", "worker:b", 3600.0),
                        "the lease to lapse and worker b to take it")
            (tmp_path / "marker.go").write_text("")  # the engine sees the loss after it
        else:  # the engine beats while its attempt runs: take its lease away in the store
            with h.store.database.write() as c:
                c.execute("UPDATE executions SET lease_owner = 'worker:b', "
                          "lease_expires_at = ? WHERE id = 'e-lease'", (time.time() + 3600,))
        thread.join(timeout=120)
        assert not thread.is_alive(), "the engine did not stop"
    finally:
        (tmp_path / "marker.go").write_text("")
        thread.join(timeout=120)
        engine.executor.shutdown()
    assert isinstance(out.get("error"), LeaseLost), out
    record = h.store.get_execution("e-lease")
    assert (record.lease_owner, record.status.value) == ("worker:b", "RUNNING")
    nodes = {n.node_id: n.status for n in h.store.nodes("e-lease")}
    assert nodes["hold"] is NodeStatus.RUNNING  # its end was never written
    assert nodes.get("after", NodeStatus.QUEUED) is NodeStatus.QUEUED  # nor "after" started
    assert "after" not in lines(str(marker))
    if executor == "processes":  # its running attempt was killed
        (pid,) = [int(ln.split()[1]) for ln in lines(str(marker)) if ln.startswith("hold")]
        assert pid != os.getpid()
        _wait_until(lambda: _gone(pid), "the attempt's process to end")
    h.close()


class _TakenAfterTheCheck:
    """A store whose lease renewal, once armed, answers "held" and then lets worker b
    take the lease over, and answers "held" from then on: the engine passes its own
    check, and only the store's fence stands between it and b's execution."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.armed = False
        self.taken = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def renew_lease(self, execution_id: str, owner: str, ttl: float,
                    now: float | None = None) -> bool:
        if not self.armed:
            return bool(self._store.renew_lease(execution_id, owner, ttl, now))
        if not self.taken.is_set():
            with self._store.database.write() as c:
                c.execute("UPDATE executions SET lease_owner = 'worker:b', "
                          "lease_expires_at = ? WHERE id = ?", (time.time() + 3600, execution_id))
            self.taken.set()
        return True


def test_a_write_after_the_engines_check_is_refused_by_the_store(load, home, tmp_path):
    """Between a fenced engine's lease check and its write another worker takes the
    execution over: the store refuses the write (``LeaseLost``), nothing of the batch is
    written, the engine stops its attempts; b's lease and records stand."""
    mod = load("wf_lease")
    h = Home.open(home)
    store = _TakenAfterTheCheck(h.store)
    engine = Engine(store=store, artifacts=h.artifacts,  # type: ignore[arg-type]
                    executor=make_executor("processes"), checkpoint_path=h.checkpoint_path,
                    work_dir=h.work_dir, lease_owner="worker:a", lease_ttl=1.5)
    marker = tmp_path / "marker"
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["record"] = engine.execute(mod.held, {"marker": str(marker)},
                                           source=source_of(mod.held), execution_id="e-fence")
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: any(n.node_id == "hold" and n.status is NodeStatus.RUNNING
                                for n in h.store.nodes("e-fence")), "hold to be recorded")
        store.armed = True
        assert store.taken.wait(60), "the engine never renewed its lease"
        (tmp_path / "marker.go").write_text("")  # hold ends: the engine writes its end
        thread.join(timeout=120)
        assert not thread.is_alive(), "the engine did not stop"
    finally:
        (tmp_path / "marker.go").write_text("")
        thread.join(timeout=120)
        engine.executor.shutdown()
    assert isinstance(out.get("error"), LeaseLost), out
    record = h.store.get_execution("e-fence")
    assert (record.lease_owner, record.status.value) == ("worker:b", "RUNNING")
    nodes = {n.node_id: n.status for n in h.store.nodes("e-fence")}
    assert nodes["hold"] is NodeStatus.RUNNING  # its end was refused with the batch
    assert nodes.get("after", NodeStatus.QUEUED) is NodeStatus.QUEUED
    assert [a.status for a in h.store.attempts("e-fence", "hold")] == [NodeStatus.RUNNING]
    h.close()

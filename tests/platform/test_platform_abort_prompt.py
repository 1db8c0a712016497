"""An abort reaches the worker running the execution at once, not at its engine's next
heartbeat: on PostgreSQL by LISTEN (``request_abort`` NOTIFYs ``rillet_abort``, here from
another connection), on the embedded home by the process's own signal
(``services.abort``). The heartbeat is set to an hour, so only the signal can stop the
task; its process must then end (polled, with a generous limit)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from platformkit import wait_until

from rillet.engine import _runstate
from rillet.engine._records import NodeStatus
from rillet.platform import Worker, launch, register
from rillet.services import abort
from rillet.store import Instance, InstanceConfig, SqlMetadataStore
from rillet.store._db import database_url

FLOW = '''
import os
import time

from rillet import task, workflow


@task
def nap(path: str) -> int:
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    time.sleep(600)
    return 1


@workflow
def napping(path: str) -> int:
    return nap(path=path)
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def inst(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    db = (str(tmp_path / "meta.db") if request.param == "sqlite"
          else request.getfixturevalue("pg_url"))
    with Instance.open(InstanceConfig(metadata_url=db, artifacts_url=str(tmp_path / "art"))) as i:
        yield i


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1:2]
                           for line in f)
    except FileNotFoundError:
        return False


def test_an_abort_stops_the_running_task_at_once(inst: Instance, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runstate, "HEARTBEAT_EVERY", 3600.0)  # no heartbeat's look
    code = tmp_path / "code"
    code.mkdir()
    (code / "naps.py").write_text(FLOW)
    register(str(code / "naps.py"), store=inst.store, artifacts=inst.artifacts)
    pid_file = tmp_path / "nap.pid"
    eid = launch(inst.store, "naps.napping", inputs={"path": str(pid_file)})
    w = Worker(inst.store, inst.artifacts, executor="processes", lease=36_000.0)
    t = threading.Thread(target=w.run, kwargs={"max_executions": 1}, daemon=True)
    t.start()
    try:
        wait_until(pid_file.exists, timeout=120, what="the task to start")
        pid = int(pid_file.read_text())
        assert _alive(pid)
        if inst.store.url.startswith("postgresql"):  # another process's abort: NOTIFY only
            other = SqlMetadataStore(database_url(inst.store.url))
            try:
                assert other.request_abort(eid, time.time())
            finally:
                other.close()
        else:  # the server's own abort (services.abort) in the worker's process
            abort(inst, eid)
        wait_until(lambda: not _alive(pid), timeout=60, what="the task's process to end")
        t.join(60)
        assert not t.is_alive()
    finally:
        w.stop()
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), 9)
    record = inst.store.get_execution(eid)
    assert record.status.value == "ABORTED", record
    assert [n.status for n in inst.store.nodes(eid)] == [NodeStatus.ABORTED]
    assert [a.status for a in inst.store.attempts(eid)] == [NodeStatus.ABORTED]

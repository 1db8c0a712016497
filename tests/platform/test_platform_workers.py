"""Workers: exclusive claims under a lease, takeover after a worker dies (no succeeded
node runs again), wake-ups without a polling interval, SIGTERM drains; two workers on
PostgreSQL + SeaweedFS S3 running executions launched at once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from clikit import run
from platformkit import start_worker, wait_until

from rillet.engine._records import NodeStatus
from rillet.engine._values import ValueStore
from rillet.platform import Worker, claim, launch, queue_state, register, versions
from rillet.platform import _worker as worker_module
from rillet.platform._queue import finish
from rillet.platform._stores import open_stores


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "meta.db")
    return request.getfixturevalue("pg_url")


def _status(stores, execution_id):
    return stores.store.get_execution(execution_id).status.value


def _output(stores, execution_id):
    record = stores.store.get_execution(execution_id)
    return ValueStore(stores.store, stores.artifacts).load(record.outputs["o0"], int)


def _attempts(stores, execution_id, node_id):
    return [(a.attempt, a.status.value, a.error_type)
            for a in stores.store.attempts(execution_id, node_id)]


def test_claims_are_exclusive(db_url, tmp_path, project):
    art = str(tmp_path / "artifacts")
    main = open_stores(db=db_url, artifacts=art)
    register(str(project / "pipe.py"), store=main.store, artifacts=main.artifacts)
    launched = {launch(main.store, "pipe.one", inputs={"x": i}) for i in range(30)}
    got: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def claimer(n: int) -> None:
        mine = open_stores(db=db_url, artifacts=art)  # a connection of its own
        try:
            start.wait()
            while (c := claim(mine.store, f"w{n}", 60.0)) is not None:
                got.append(c.execution_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(got) == sorted(launched)  # each exactly once
    assert {queue_state(main.store, i)[0] for i in launched} == {"claimed"}
    main.close()


def test_a_lapsed_lease_is_claimed_again_and_the_old_holder_cannot_finish(home_stores,
                                                                          project):
    s = home_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    execution_id = launch(s.store, "pipe.one", inputs={"x": 1})
    first = claim(s.store, "a", 0.5)
    assert first is not None and first.claims == 1
    assert claim(s.store, "b", 30.0) is None  # held
    second = wait_until(lambda: claim(s.store, "b", 30.0), what="the lease to lapse")
    assert second.execution_id == execution_id and second.claims == 2
    finish(s.store, "a", execution_id)  # the old holder is no longer the owner
    assert queue_state(s.store, execution_id) == ("claimed", "b", 2)
    finish(s.store, "b", execution_id)
    assert queue_state(s.store, execution_id)[0] == "done"


def test_a_bundle_that_cannot_load_fails_its_execution_and_the_worker_goes_on(
        home_stores, project, tmp_path):
    s = home_stores
    (entity,) = [e for e in register(str(project / "pipe.py"), store=s.store,
                                     artifacts=s.artifacts) if e.name == "pipe.one"]
    s.artifacts.delete(entity.bundle_uri)
    cache = str(tmp_path / "worker-cache")  # nothing unpacked there yet
    lost = launch(s.store, "pipe.one", inputs={"x": 1})
    w = Worker(s.store, s.artifacts, executor="inline", cache=cache)
    assert w.run(max_executions=1) == 1
    record = s.store.get_execution(lost)
    assert record.status.value == "FAILED" and "NotFound" in (record.error or "")
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)  # stores it again
    ok = launch(s.store, "pipe.one", inputs={"x": 1})
    assert Worker(s.store, s.artifacts, executor="inline", cache=cache).run(
        max_executions=1) == 1
    assert _status(s, ok) == "SUCCEEDED" and _output(s, ok) == 2


def _shared_args(pg_url, s3_url):
    return ["--db", pg_url, "--artifacts", s3_url]


def test_notify_wakes_a_postgresql_worker_for_a_launch_from_another_process(
        shared_stores, pg_url, s3_url, project, monkeypatch):
    monkeypatch.setattr(worker_module, "IDLE_WAIT", 3600.0)  # only a wake-up can start it
    s = shared_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    w = Worker(s.store, s.artifacts, executor="inline")
    t = threading.Thread(target=w.run, kwargs={"max_executions": 1}, daemon=True)
    t.start()
    wait_until(lambda: w._listener is not None, what="the worker to LISTEN")
    r = run(["launch", "pipe.one", "--x", "6", *_shared_args(pg_url, s3_url)], cwd=project)
    assert r.code == 0, r
    t.join(timeout=120)
    assert not t.is_alive()
    (execution_id,) = [e.id for e in s.store.list_executions()]
    assert _status(s, execution_id) == "SUCCEEDED" and _output(s, execution_id) == 7


def test_two_workers_run_20_executions_launched_at_once(shared_stores, pg_url, s3_url,
                                                        project, tmp_path):
    s = shared_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    workers = [start_worker([*_shared_args(pg_url, s3_url), "--concurrency", "2"],
                            cwd=project, log=tmp_path / f"w{i}.log") for i in range(2)]
    try:
        # Both have installed their SIGTERM handler before anything is launched (on a
        # loaded machine the first could otherwise run all 20 while the second is still
        # importing, and the SIGTERM at the end would kill it: exit -15).
        for i in range(2):
            wait_until(lambda i=i: ": ready" in (tmp_path / f"w{i}.log").read_text(),
                       what=f"worker {i} to be ready")
        ids: dict[str, int] = {}
        lock = threading.Lock()

        def fire(i: int) -> None:
            mine = open_stores(db=pg_url, artifacts=s3_url)
            try:
                execution_id = launch(mine.store, "pipe.chain", inputs={"x": i})
                with lock:
                    ids[execution_id] = i
            finally:
                mine.close()

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(ids) == 20
        def ended() -> bool:
            states = {e: _status(s, e) for e in ids}
            failed = [s.store.get_execution(e).error for e, st in states.items()
                      if st == "FAILED"]
            assert not failed, failed
            return all(st == "SUCCEEDED" for st in states.values())

        wait_until(ended, timeout=240, what="20 executions")
        for execution_id, i in ids.items():
            assert _output(s, execution_id) == (i + 1) * 2 * 10
            assert queue_state(s.store, execution_id)[0] == "done"
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=120) for w in workers]
    logs = "\n".join((tmp_path / f"w{i}.log").read_text() for i in range(2))
    assert codes == [0, 0], logs


def test_a_killed_worker_is_taken_over_and_no_succeeded_node_runs_again(
        shared_stores, pg_url, s3_url, project, tmp_path):
    s = shared_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    args = [*_shared_args(pg_url, s3_url), "--lease", "2"]
    first = start_worker(args, cwd=project, log=tmp_path / "w1.log")
    execution_id = launch(s.store, "pipe.chain", inputs={"x": 4, "marker": str(marker)})
    try:
        wait_until(lambda: marker.exists() and marker.read_text() == "inc\nslow\n",
                   what="the first worker to run inc and start slow")
        # slow may start before inc's result is committed (the engine dispatches, then
        # flushes the step): wait for the record rather than race it.
        wait_until(lambda: {n.node_id: n.status for n in s.store.nodes(execution_id)}.get(
            "inc") is NodeStatus.SUCCEEDED, what="inc to be recorded SUCCEEDED")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the machine dies: worker and its processes
        first.wait(timeout=60)
    (tmp_path / "marker.go").write_text("")
    second = start_worker(args, cwd=project, log=tmp_path / "w2.log")
    try:
        wait_until(lambda: _status(s, execution_id) == "SUCCEEDED", timeout=300,
                   what="the second worker to finish the execution")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=120) == 0
    assert marker.read_text().splitlines() == ["inc", "slow", "slow", "last"]
    assert _output(s, execution_id) == 100
    nodes = {n.node_id: n for n in s.store.nodes(execution_id)}
    assert {k: n.status for k, n in nodes.items()} == {
        "inc": NodeStatus.SUCCEEDED, "slow": NodeStatus.SUCCEEDED, "last": NodeStatus.SUCCEEDED}
    assert queue_state(s.store, execution_id)[2] == 2  # claimed twice
    assert _attempts(s, execution_id, "inc") == [(1, "SUCCEEDED", None)]
    # the dead worker's attempt keeps its number and record; the new one is the next
    assert _attempts(s, execution_id, "slow") == [(1, "FAILED", "WorkerLost"),
                                                  (2, "SUCCEEDED", None)]


def test_a_paused_worker_that_lost_its_lease_stops_and_the_other_finishes_once(
        shared_stores, pg_url, s3_url, project, tmp_path):
    """One lease: the execution's. A worker paused longer than its lease (here: its
    lease expired in the store while it is stopped) is taken over; when it wakes, its
    engine finds the lease gone, kills its attempts and writes nothing: the execution is
    finished once, by the other worker, and no succeeded node runs twice."""
    s = shared_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    args = [*_shared_args(pg_url, s3_url), "--lease", "3"]
    first = start_worker(args, cwd=project, log=tmp_path / "w1.log")
    execution_id = launch(s.store, "pipe.chain", inputs={"x": 4, "marker": str(marker)})
    workers = [first]
    try:
        wait_until(lambda: marker.exists() and marker.read_text() == "inc\nslow\n",
                   what="the first worker to run inc and start slow")
        wait_until(lambda: {n.node_id: n.status for n in s.store.nodes(execution_id)}.get(
            "inc") is NodeStatus.SUCCEEDED, what="inc to be recorded SUCCEEDED")
        os.killpg(first.pid, signal.SIGSTOP)  # the machine hangs: worker and its attempts
        assert s.store.get_execution(execution_id).lease_owner.startswith("worker:")
        with s.store.database.write() as c:  # ...longer than its lease
            c.execute("UPDATE executions SET lease_expires_at = 0 WHERE id = ?",
                      (execution_id,))
        workers.append(start_worker(args, cwd=project, log=tmp_path / "w2.log"))
        wait_until(lambda: marker.read_text().count("slow") == 2,
                   what="the second worker to take over and start slow")
        (tmp_path / "marker.go").write_text("")  # both attempts of slow may end now
        wait_until(lambda: _status(s, execution_id) == "SUCCEEDED", timeout=300,
                   what="the second worker to finish the execution")
        finished = s.store.get_execution(execution_id)
        os.killpg(first.pid, signal.SIGCONT)  # the first wakes up
        wait_until(lambda: "lost its lease" in (tmp_path / "w1.log").read_text(),
                   what="the first worker to find its lease taken")
    finally:
        os.killpg(first.pid, signal.SIGCONT)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=120) for w in workers]
    logs = "\n".join((tmp_path / f"w{i}.log").read_text() for i in (1, 2))
    assert codes == [0, 0], logs
    assert marker.read_text().splitlines() == ["inc", "slow", "slow", "last"], logs
    after = s.store.get_execution(execution_id)  # nothing the first wrote after it woke
    assert (after.status.value, after.lease_owner, after.ended_at) == (
        "SUCCEEDED", finished.lease_owner, finished.ended_at)
    assert f":{workers[1].pid}:" in finished.lease_owner  # the second worker's
    assert _output(s, execution_id) == 100
    nodes = {n.node_id: n.status for n in s.store.nodes(execution_id)}
    assert nodes == {"inc": NodeStatus.SUCCEEDED, "slow": NodeStatus.SUCCEEDED,
                     "last": NodeStatus.SUCCEEDED}
    assert queue_state(s.store, execution_id)[0] == "done"
    assert _attempts(s, execution_id, "slow") == [(1, "FAILED", "WorkerLost"),
                                                  (2, "SUCCEEDED", None)]


def test_sigterm_drains(home_stores, project, tmp_path):
    s = home_stores
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    home = s.home.path
    worker = start_worker(["--home", home], cwd=project, log=tmp_path / "w.log")
    running = launch(s.store, "pipe.chain", inputs={"x": 1, "marker": str(marker)})
    wait_until(lambda: marker.exists() and "slow" in marker.read_text(), what="slow to start")
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the signal is handled; what is launched now must wait for another worker
    waiting = launch(s.store, "pipe.one", inputs={"x": 1})
    (tmp_path / "marker.go").write_text("")
    assert worker.wait(timeout=120) == 0, (tmp_path / "w.log").read_text()
    assert _status(s, running) == "SUCCEEDED" and _output(s, running) == 40
    assert _status(s, waiting) == "QUEUED" and queue_state(s.store, waiting)[0] == "queued"
    assert "draining" in (tmp_path / "w.log").read_text()
    assert versions(s.store, "pipe.one")

"""Many ``rillet run`` processes on one home at once: all succeed, none sees
"database is locked", and a ``serialize=True`` value is computed once."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402

import rillet  # noqa: E402


def finish(procs):
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert "database is locked" not in err.lower(), err
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"
        results.append(json.loads(out))
    return results


def test_two_concurrent_runs_on_one_home(cli, wf):
    procs = [cli.start("run", wf("wf_concurrency", "hundred"), "--seed", str(seed), "--json")
             for seed in (1, 2)]
    first, second = finish(procs)
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert first["execution_id"] != second["execution_id"]
    # 9 chains: (seed + c) + 10 increments each.
    assert first["outputs"] == {"o0": sum(1 + c + 10 for c in range(9))}
    assert second["outputs"] == {"o0": sum(2 + c + 10 for c in range(9))}
    listed = cli.ok("executions", "list", "--json").json
    assert {e["execution_id"]: e["status"] for e in listed} == {
        first["execution_id"]: "SUCCEEDED", second["execution_id"]: "SUCCEEDED"}


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_ten_concurrent_executions_of_a_hundred_nodes(cli, wf, executor):
    procs = [cli.start("run", wf("wf_concurrency", "hundred"), "--seed", str(seed), "--json",
                       "--executor", executor)
             for seed in range(10)]
    results = finish(procs)
    assert [r["status"] for r in results] == ["SUCCEEDED"] * 10
    assert [r["outputs"]["o0"] for r in results] == [
        sum(seed + c + 10 for c in range(9)) for seed in range(10)]
    for r in results[:3]:
        nodes = cli.ok("executions", "show", r["execution_id"], "--json").json["nodes"]
        assert len(nodes) == 100
        assert {n["status"] for n in nodes} == {"SUCCEEDED"}


def test_serialize_computes_once_across_concurrent_runs(cli, wf, tmp_path):
    marker = tmp_path / "marker.txt"
    procs = [cli.start("run", wf("wf_concurrency", "once"), "--x", "5", "--marker", str(marker),
                       "--seconds", "1.5", "--json") for _ in range(2)]
    results = finish(procs)
    assert [r["outputs"] for r in results] == [{"o0": 5000}] * 2
    (computed,) = lines(str(marker))  # one computation, by one of the two
    producer_id = computed.split()[0]
    by_id = {r["execution_id"]: r for r in results}
    assert producer_id in by_id and len(by_id) == 2
    (waiter_id,) = set(by_id) - {producer_id}

    producer = cli.ok("executions", "show", producer_id, "--json").json
    waiter = cli.ok("executions", "show", waiter_id, "--json").json
    (made,) = producer["nodes"]
    (hit,) = waiter["nodes"]
    assert made["status"] == "SUCCEEDED" and made["attempts"] == 1
    assert hit["status"] == "CACHED" and hit["attempts"] == 0
    assert (hit["source_execution"], hit["source_node"]) == (producer_id, "expensive")
    # The two really overlapped: the waiter began before the value existed.
    assert waiter["created_at"] < made["ended_at"]


def wait_for_lines(path, n, timeout=30.0):
    deadline = time.monotonic() + timeout
    while len(lines(str(path))) < n:
        assert time.monotonic() < deadline, f"fewer than {n} lines in {path}"
        time.sleep(0.01)


def test_serialize_a_waiter_takes_over_when_the_computation_fails(cli, wf, tmp_path):
    marker, flag = tmp_path / "marker.txt", tmp_path / "flag"
    flag.write_text("fail once")
    args = ("run", wf("wf_concurrency", "once_fragile"), "--x", "3", "--marker", str(marker),
            "--flag", str(flag), "--json")
    holder = cli.start(*args)
    wait_for_lines(marker, 1)
    waiter = cli.start(*args)
    out, err = holder.communicate(timeout=60)
    assert holder.returncode == 1, err
    assert json.loads(out)["status"] == "FAILED"
    (result,) = finish([waiter])
    assert result["status"] == "SUCCEEDED" and result["outputs"] == {"o0": 3000}
    first, second = lines(str(marker))
    assert second == f"{result['execution_id']} computes 3" != first
    (node,) = cli.ok("executions", "show", result["execution_id"], "--json").json["nodes"]
    assert node["status"] == "SUCCEEDED"  # it computed the value itself


@pytest.mark.slow
def test_serialize_a_waiter_takes_over_when_the_holder_is_killed(cli, wf, tmp_path):
    marker = tmp_path / "marker.txt"
    args = ("run", wf("wf_concurrency", "once"), "--x", "4", "--marker", str(marker),
            "--seconds", "2", "--json")
    holder = cli.start(*args)
    wait_for_lines(marker, 1)
    waiter = cli.start(*args)
    time.sleep(0.5)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    started = time.monotonic()
    (result,) = finish([waiter])
    assert time.monotonic() - started < 30  # not the hour a lock is kept for
    assert result["status"] == "SUCCEEDED" and result["outputs"] == {"o0": 4000}
    assert lines(str(marker))[1:] == [f"{result['execution_id']} computes 4"]
    # And the value is now cached for everybody.
    third = cli.ok("run", *args[1:]).json
    (node,) = cli.ok("executions", "show", third["execution_id"], "--json").json["nodes"]
    assert (node["status"], node["source_execution"]) == ("CACHED", result["execution_id"])


class _LateLockStore:
    """A store seen by a waiter whose cache read came just before the holder committed
    its value: the first lock is refused, and cache entries stay unseen until the next
    lock is granted (a holder writes its entry before it releases its lock)."""

    def __init__(self, store):
        self._store, self._hidden, self._reserves = store, True, 0

    def __getattr__(self, name):
        return getattr(self._store, name)

    def cache_entries(self, tasks):
        return {} if self._hidden else self._store.cache_entries(tasks)

    def reserve(self, key, owner, stale_after):
        self._reserves += 1
        if self._reserves == 1:
            return None  # somebody else holds it
        got = self._store.reserve(key, owner, stale_after)
        self._hidden = False
        return got


def test_serialize_a_waiter_granted_the_lock_after_the_value_exists_takes_the_hit(load, home,
                                                                                   tmp_path):
    from rillet.engine._durable import Engine
    from rillet.sdk._run import make_executor, source_of
    from rillet.store._home import Home

    marker = tmp_path / "marker.txt"
    mod = load("wf_concurrency")
    first = rillet.run(mod.once, home=home, executor="inline", x=7, marker=str(marker),
                       seconds=0.0)
    h = Home.open(home)
    engine = Engine(store=_LateLockStore(h.store), artifacts=h.artifacts,
                    executor=make_executor("inline"), checkpoint_path=h.checkpoint_path,
                    work_dir=h.work_dir)
    record = engine.execute(mod.once, {"x": 7, "marker": str(marker), "seconds": 0.0},
                            source=source_of(mod.once))
    assert record.status.value == "SUCCEEDED"
    (node,) = h.store.nodes(record.id)
    assert (node.status.value, node.source_execution) == ("CACHED", first.id)
    assert len(lines(str(marker))) == 1  # computed once, by the first run


class _LockWitness:
    """A store that writes down, when a serialize lock is taken, what the store then
    knows of the taker: its execution's owner and the node's cache key."""

    def __init__(self, store):
        self._store, self.seen = store, []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def reserve(self, key, owner, stale_after):
        execution_id, node_id = owner.split(":", 1)
        record = self._store.get_execution(execution_id)
        nodes = {n.node_id: n for n in self._store.nodes(execution_id)}
        self.seen.append((record.status.value, record.owner_pid,
                          nodes[node_id].cache_key if node_id in nodes else None, key))
        return self._store.reserve(key, owner, stale_after)


def test_a_serialize_lock_is_taken_only_once_its_taker_is_on_record(load, home, tmp_path):
    """So that the reaper can free it if the taker dies before it records anything
    more (waiters would otherwise wait for the one-hour stale limit)."""
    from rillet.engine._durable import Engine
    from rillet.sdk._run import make_executor, source_of
    from rillet.store._home import Home

    mod = load("wf_concurrency")
    h = Home.open(home)
    witness = _LockWitness(h.store)
    engine = Engine(store=witness, artifacts=h.artifacts, executor=make_executor("inline"),
                    checkpoint_path=h.checkpoint_path, work_dir=h.work_dir)
    record = engine.execute(mod.once, {"x": 2, "marker": str(tmp_path / "m"), "seconds": 0.0},
                            source=source_of(mod.once))
    assert record.status.value == "SUCCEEDED"
    ((status, pid, recorded_key, key),) = witness.seen
    assert (status, pid, recorded_key) == ("RUNNING", os.getpid(), key)

"""The durable engine on a PostgreSQL metadata store (a real server): the same
engine, unchanged, records executions, caches across executions, keeps params and
metrics and lineage, and makes two concurrent executions compute a
``serialize=True`` value once."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402

from rillet.artifacts._folder import FolderArtifactStore  # noqa: E402
from rillet.engine._durable import Engine  # noqa: E402
from rillet.engine._records import ExecutionStatus, NodeStatus  # noqa: E402
from rillet.executors._inline import InlineExecutor  # noqa: E402
from rillet.sdk._run import make_executor, source_of  # noqa: E402
from rillet.store import SqlMetadataStore  # noqa: E402


@pytest.fixture
def pg_store(pg_url):
    store = SqlMetadataStore(pg_url)
    yield store
    store.close()


def engine_on(store, tmp_path, executor):
    folders = tmp_path / "checkpoints", tmp_path / "work"
    for folder in folders:
        folder.mkdir(exist_ok=True)
    return Engine(store=store, artifacts=FolderArtifactStore(str(tmp_path / "artifacts")),
                  executor=executor,
                  checkpoint_path=lambda scope, node: str(folders[0] / f"{scope}-{node}"),
                  work_dir=lambda eid: str(folders[1]))


def run(engine, workflow, **inputs):
    return engine.execute(workflow, inputs, source=source_of(workflow))


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_an_execution_is_recorded_and_its_values_cached(load, pg_store, tmp_path, executor):
    mod = load("wf_runs")
    marker = str(tmp_path / "marker.txt")
    engine = engine_on(pg_store, tmp_path, make_executor(executor))
    first = run(engine, mod.cached, x=3, marker=marker)
    assert first.status == ExecutionStatus.SUCCEEDED
    assert lines(marker) == ["square 3", "plus 9 3"]
    second = run(engine, mod.cached, x=3, marker=marker)
    assert second.status == ExecutionStatus.SUCCEEDED and second.id != first.id
    assert lines(marker) == ["square 3", "plus 9 3"]  # nothing computed again

    recorded = {e.id: e for e in pg_store.list_executions()}
    assert {recorded[first.id].status, recorded[second.id].status} == {"SUCCEEDED"}
    assert recorded[first.id].outputs == recorded[second.id].outputs
    made = {n.node_id: n for n in pg_store.nodes(first.id)}
    hits = {n.node_id: n for n in pg_store.nodes(second.id)}
    assert {n.status for n in made.values()} == {NodeStatus.SUCCEEDED}
    assert {(n.status, n.source_execution) for n in hits.values()} == {
        (NodeStatus.CACHED, first.id)}
    assert [a.attempt for a in pg_store.attempts(first.id, "square")] == [1]
    assert {e.task for e in pg_store.cache_list()} == {"wf_runs:square", "wf_runs:plus"}

    (out,) = recorded[first.id].outputs.values()  # lineage: 12 <- plus <- square
    (producer,) = [p for p in pg_store.producers(out) if p.execution_id == first.id]
    assert producer.node_id == "plus"
    assert {p.node_id for p in pg_store.consumers(made["square"].outputs["o0"])} == {"plus"}


def test_params_and_metrics(load, pg_store, tmp_path):
    mod = load("wf_runs")
    record = run(engine_on(pg_store, tmp_path, InlineExecutor()), mod.train, lr=0.5, steps=2)
    assert record.status == ExecutionStatus.SUCCEEDED
    assert {(p.key, p.value) for p in pg_store.params(record.id)} == {
        ("lr", 0.5), ("optimizer", "sgd")}
    assert [(m.key, m.value, m.step) for m in pg_store.metrics(record.id)] == [
        ("loss", 0.5, 0), ("loss", 0.25, 1)]


def test_serialize_computes_once_across_concurrent_executions(load, pg_url, tmp_path):
    """Two executions, each with its own store connection and executor, start the
    same ``serialize=True`` task at once: one computes, the other takes the hit."""
    mod = load("wf_concurrency")
    marker = str(tmp_path / "marker.txt")
    stores = [SqlMetadataStore(pg_url) for _ in range(2)]
    records = [None, None]
    barrier = threading.Barrier(2)

    def go(i):
        engine = engine_on(stores[i], tmp_path, InlineExecutor())
        barrier.wait()
        records[i] = run(engine, mod.once, x=6, marker=marker, seconds=1.0)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert [r.status for r in records] == [ExecutionStatus.SUCCEEDED] * 2
        (computed,) = lines(marker)
        producer = computed.split()[0]
        (waiter,) = {r.id for r in records} - {producer}
        (hit,) = stores[0].nodes(waiter)
        assert (hit.status, hit.source_execution) == (NodeStatus.CACHED, producer)
        assert stores[0].list_executions()[0].outputs == stores[0].list_executions()[1].outputs
    finally:
        for s in stores:
            s.close()


def test_prune_purges_what_only_an_old_execution_refers_to(load, pg_store, tmp_path):
    from sqlalchemy import create_engine

    from rillet.store._prune import prune

    mod = load("wf_runs")
    engine = engine_on(pg_store, tmp_path, InlineExecutor())
    old = run(engine, mod.pipeline, n=4, k=3)
    new = run(engine, mod.pipeline, n=5, k=3)
    db = create_engine(pg_store.url)
    with db.begin() as conn:  # as if it had run two days ago
        conn.exec_driver_sql("UPDATE executions SET created_at = created_at - 172800 "
                             "WHERE id = %s", (old.id,))
    db.dispose()
    only_old = set(old.inputs.values()) - set(new.inputs.values())
    only_old |= {h for n in pg_store.nodes(old.id) for h in n.outputs.values()}
    kept = set(new.inputs.values()) | {h for n in pg_store.nodes(new.id)
                                       for h in n.outputs.values()}
    only_old -= kept
    assert only_old and kept

    report = prune(pg_store, engine.artifacts, older_than=86400.0, max_size=None)
    assert report.executions == 1
    assert set(report.purged) == only_old
    purged = {h: pg_store.find_artifacts(h)[0].purged for h in only_old | kept}
    assert purged == {h: h in only_old for h in only_old | kept}
    assert pg_store.get_execution(old.id).status == "SUCCEEDED"  # the record stays

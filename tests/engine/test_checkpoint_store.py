"""An engine given ``checkpoint_store`` (an artifact store's root: a platform worker's)
keeps checkpoints there, not in its local checkpoint files: a retried attempt, and a
map's elements, resume from what the store holds; the local path stays unused."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rillet.artifacts import FolderArtifactStore
from rillet.engine._durable import Engine
from rillet.engine._protocols import checkpoint_name
from rillet.sdk._run import make_executor, source_of
from rillet.store._home import Home

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402


def _engine(h: Home, executor: str, shared: str) -> Engine:
    return Engine(store=h.store, artifacts=h.artifacts, executor=make_executor(executor),
                  checkpoint_path=h.checkpoint_path, work_dir=h.work_dir,
                  checkpoint_store=shared)


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_retry_resumes_from_the_checkpoint_in_the_artifact_store(load, home, tmp_path,
                                                                   executor):
    mod = load("wf_attempts")
    shared = str(tmp_path / "shared-artifacts")
    marker = tmp_path / "marker.txt"
    h = Home.open(home)
    engine = _engine(h, executor, shared)
    try:
        record = engine.execute(mod.resumes, {"n": 6, "marker": str(marker)},
                                source=source_of(mod.resumes))
    finally:
        engine.executor.shutdown()
    assert record.status.value == "SUCCEEDED"
    assert lines(str(marker))[4] == "attempt 2 starts at 3"
    scope = record.checkpoint_scope
    assert FolderArtifactStore(shared).get_checkpoint(checkpoint_name(scope, "resumable")) \
        == b"3"
    assert not os.path.exists(h.checkpoint_path(scope, "resumable"))  # not on this machine
    h.close()


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_each_map_element_keeps_its_checkpoint_in_the_artifact_store(load, home, tmp_path,
                                                                     executor):
    mod = load("wf_mapckpt")
    shared = str(tmp_path / "shared-artifacts")
    h = Home.open(home)
    engine = _engine(h, executor, shared)
    xs = [10, 20, 30]
    try:
        record = engine.execute(mod.saves, {"xs": xs}, source=source_of(mod.saves))
    finally:
        engine.executor.shutdown()
    assert record.status.value == "SUCCEEDED"
    store = FolderArtifactStore(shared)
    (node,) = h.store.nodes(record.id)
    for i, x in enumerate(xs):
        name = checkpoint_name(record.checkpoint_scope, f"{node.node_id}[{i}]")
        assert store.get_checkpoint(name) == f"element {i} saw {x}".encode()
    h.close()

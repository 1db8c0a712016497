"""The registry on a PostgreSQL metadata store (a real server): versions, aliases,
history, load, the request log and prune's kept values, as on the embedded home."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from rillet.artifacts._folder import FolderArtifactStore
from rillet.engine._durable import Engine
from rillet.errors import NotFound
from rillet.executors._inline import InlineExecutor
from rillet.models._requestlog import RequestLog
from rillet.sdk._run import source_of
from rillet.services._model_registry import Registry
from rillet.services._model_requests import request_lineage
from rillet.store import SqlMetadataStore
from rillet.store._prune import prune


def test_the_registry_on_postgresql(pg_url: str, tmp_path: Path, wf_models: Any) -> None:
    store = SqlMetadataStore(pg_url)
    artifacts = FolderArtifactStore(str(tmp_path / "artifacts"))
    for folder in ("checkpoints", "work"):
        (tmp_path / folder).mkdir()
    engine = Engine(store=store, artifacts=artifacts, executor=InlineExecutor(),
                    checkpoint_path=lambda s, n: str(tmp_path / "checkpoints" / f"{s}-{n}"),
                    work_dir=lambda e: str(tmp_path / "work"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [engine.execute(wf_models.training, {"n": 3, "scale": s},
                               source=source_of(wf_models.training)) for s in (2.0, 5.0)]
    r = Registry(store, artifacts)
    try:
        assert r.register("churn", execution=runs[0].id, node="train",
                          alias="production") == 1
        assert r.register("churn", execution=runs[1].id, node="train") == 2
        assert r.set_alias("churn", "production", 2) == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert r.load("churn@production").scale == 5.0
        assert [(e.event, e.version, e.previous) for e in r.history("churn")] == [
            ("register", 1, None), ("alias", 1, None), ("register", 2, None),
            ("alias", 2, 1)]
        with pytest.raises(NotFound, match="has no version 3"):
            r.set_alias("churn", "production", 3)
        log = RequestLog(store.database)
        log.add(("req1", 1.0, "churn", 2, "primary", 200, 0.1, "a", "b", None, None))
        log.close()
        found = request_lineage(r, "req1")
        assert found["model_version"]["version"] == 2
        assert found["artifacts"][0]["produced_by"][0]["node_id"] == "train"
        report = prune(store, artifacts, older_than=0.0, max_size=None)
        kept = {v.hash for v in r.versions("churn")}
        assert kept <= set(report.kept_for_models)
        assert not kept & set(report.purged)
    finally:
        store.close()

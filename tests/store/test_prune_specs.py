"""``rillet prune`` removes the compiled workflows (``workflow_specs``, revision 0018)
that no execution names any more, whatever the age asked for, and keeps every spec an
execution names; a dry run counts them and removes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rillet.artifacts._folder import FolderArtifactStore
from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
from rillet.store._prune import prune
from rillet.store._sql import SqlMetadataStore

SPEC = '{"nodes": ["a", "b"]}'


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_prune_removes_the_workflow_specs_no_execution_names(
        tmp_path: Path, request: pytest.FixtureRequest, db: str) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}" if db == "sqlite" else \
        request.getfixturevalue("pg_url")
    store = SqlMetadataStore(url)
    blobs = FolderArtifactStore(str(tmp_path / "artifacts"))
    now = time.time()
    try:
        store.apply(Batch(executions=[ExecutionRecord(
            id=f"named-{db}", workflow="m:wf", source="wf.py", spec_hash=f"kept-{db}",
            status=ExecutionStatus.SUCCEEDED, inputs={}, created_at=now, started_at=now,
            ended_at=now + 1)], specs=[(f"kept-{db}", SPEC)]))
        # a spec whose execution is gone (or was never written): an orphan
        store.apply(Batch(specs=[(f"orphan-{db}", SPEC), (f"orphan2-{db}", SPEC + " ")]))
        dry = prune(store, blobs, older_than=None, max_size=0, dry_run=True)
        assert dry.orphan_specs >= 2
        assert store.workflow_spec(f"orphan-{db}") == SPEC
        report = prune(store, blobs, older_than=30 * 86400.0, max_size=None)
        assert report.orphan_specs == dry.orphan_specs
        assert report.by_kind["workflow specs"] >= 2 * len(SPEC) + 1
        assert store.workflow_spec(f"orphan-{db}") is None
        assert store.workflow_spec(f"orphan2-{db}") is None
        assert store.workflow_spec(f"kept-{db}") == SPEC  # an execution names it
        again = prune(store, blobs, older_than=30 * 86400.0, max_size=None)
        assert again.orphan_specs == 0 and "workflow specs" not in again.by_kind
    finally:
        store.close()


def test_a_spec_pruned_by_another_process_is_written_again_by_a_store_that_wrote_it(
        tmp_path: Path) -> None:
    """A long-lived store (a server's, a notebook's ``rillet.run``) that wrote a spec
    writes it again with its next execution once a prune elsewhere removed it."""
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    store, other = SqlMetadataStore(url), SqlMetadataStore(url)
    blobs = FolderArtifactStore(str(tmp_path / "artifacts"))
    now = time.time()

    def execution(eid: str) -> ExecutionRecord:
        return ExecutionRecord(id=eid, workflow="m:wf", source="wf.py", spec_hash="s1",
                               status=ExecutionStatus.SUCCEEDED, inputs={}, created_at=now,
                               started_at=now, ended_at=now + 1)
    try:
        store.apply(Batch(executions=[execution("e1")], specs=[("s1", SPEC)]))
        with other.database.write() as c:
            c.execute("DELETE FROM executions WHERE id = 'e1'")
        prune(other, blobs, older_than=30 * 86400.0, max_size=None)
        assert other.workflow_spec("s1") is None  # an orphan, pruned
        store.apply(Batch(executions=[execution("e2")], specs=[("s1", SPEC)]))
        assert other.workflow_spec("s1") == SPEC
    finally:
        store.close()
        other.close()

"""``rillet prune --older-than`` removes the checkpoints that the artifact store keeps
(a platform worker's, under ``checkpoints/SCOPE/NODE``) with the executions it prunes,
except a scope that a kept execution shares (a recovery resumes from its parent's
checkpoints); on a home (``prune_home``) and on S3 (``prune`` with a SQL store)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from rillet.artifacts._folder import FolderArtifactStore
from rillet.engine._protocols import checkpoint_name
from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
from rillet.store._home import Home
from rillet.store._prune import prune, prune_home
from rillet.store._sql import SqlMetadataStore

DAY = 86400.0


def _execution(eid: str, age_days: float, *, scope: str | None = None,
               status: ExecutionStatus = ExecutionStatus.SUCCEEDED) -> ExecutionRecord:
    at = time.time() - age_days * DAY
    ended = status not in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED)
    return ExecutionRecord(id=eid, workflow="m:wf", source="wf.py", spec_hash="", status=status,
                           inputs={}, created_at=at, started_at=at,
                           ended_at=at + 1 if ended else None,
                           checkpoint_scope=scope if scope is not None else eid)


def _setup(store: Any, blobs: FolderArtifactStore) -> dict[str, str]:
    """Executions and their stored checkpoints; returns scope -> a checkpoint's name."""
    store.apply(Batch(executions=[
        _execution("old", 40),  # pruned: its checkpoints go
        _execution("parent", 40),  # pruned, but its recovery is kept: they stay
        _execution("recovery", 1, scope="parent"),
        _execution("new", 1),  # kept
        _execution("stuck", 40, status=ExecutionStatus.QUEUED),  # not ended: kept
    ]))
    names = {}
    for scope in ("old", "parent", "new", "stuck"):
        for node in ("train", "sub/fit[3]"):
            names[scope] = name = checkpoint_name(scope, node)
            blobs.put_checkpoint(name, b"x" * 1000)
    return names


def _stored(blobs: FolderArtifactStore, names: dict[str, str]) -> set[str]:
    return {scope for scope, name in names.items() if blobs.get_checkpoint(name) is not None}


def test_prune_removes_the_stored_checkpoints_of_pruned_executions_on_a_home(
        tmp_path: Path) -> None:
    h = Home.open(str(tmp_path / "home"))
    try:
        names = _setup(h.store, h.artifacts)
        dry = prune_home(h, older_than=30 * DAY, max_size=None, dry_run=True)
        assert dry.by_kind["checkpoints"] == 2000  # old's two; nothing removed yet
        assert _stored(h.artifacts, names) == {"old", "parent", "new", "stuck"}
        report = prune_home(h, older_than=30 * DAY, max_size=None)
        assert report.by_kind["checkpoints"] == 2000
        assert _stored(h.artifacts, names) == {"parent", "new", "stuck"}
        again = prune_home(h, older_than=30 * DAY, max_size=None)
        assert again.by_kind["checkpoints"] == 0
    finally:
        h.close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_prune_removes_the_stored_checkpoints_of_pruned_executions_on_s3(
        tmp_path: Path, s3_url: str, request: pytest.FixtureRequest, db: str) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}" if db == "sqlite" else \
        request.getfixturevalue("pg_url")
    store = SqlMetadataStore(url)
    blobs = FolderArtifactStore(s3_url)
    try:
        names = _setup(store, blobs)
        dry = prune(store, blobs, older_than=30 * DAY, max_size=None, dry_run=True)
        assert dry.by_kind["stored checkpoints"] == 2000
        assert _stored(blobs, names) == {"old", "parent", "new", "stuck"}
        report = prune(store, blobs, older_than=30 * DAY, max_size=None)
        assert report.by_kind["stored checkpoints"] == 2000
        assert _stored(blobs, names) == {"parent", "new", "stuck"}
        assert blobs.get_checkpoint(checkpoint_name("parent", "train")) == b"x" * 1000
    finally:
        store.close()


def test_rillet_prune_on_the_platforms_stores(tmp_path: Path, s3_url: str, pg_url: str) -> None:
    """``rillet prune --db URL --artifacts URL``: the team path's values and stored
    checkpoints, as on a home; half a configuration is one line, exit 2."""
    from click.testing import CliRunner

    from rillet.cli._app import cli

    store = SqlMetadataStore(pg_url)
    blobs = FolderArtifactStore(s3_url)
    try:
        names = _setup(store, blobs)
    finally:
        store.close()
    runner = CliRunner()
    args = ["prune", "--older-than", "30d", "--db", pg_url, "--artifacts", s3_url]
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "stored checkpoints 2000 bytes" in dry.output
    assert _stored(blobs, names) == {"old", "parent", "new", "stuck"}
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "freed 0 bytes: 0 stored values of 2 executions" in done.output
    assert "stored checkpoints 2000 bytes" in done.output
    assert _stored(blobs, names) == {"parent", "new", "stuck"}
    half = runner.invoke(cli, ["prune", "--older-than", "30d", "--db", pg_url])
    assert half.exit_code == 2
    assert "give both --db URL and --artifacts URL" in half.output

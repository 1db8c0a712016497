"""``rillet prune`` racing an execution that produces a value an old execution also
produced: the running execution keeps its value, whichever commits first."""

from __future__ import annotations

import sqlite3

import rillet
from rillet.engine._durable import Engine
from rillet.sdk._run import make_executor, source_of
from rillet.store._home import Home
from rillet.store._prune import prune

DAY = 86400.0


def _age_two_days(home: str, execution_id: str) -> None:
    """Make an execution look created two days ago, so that ``older_than=DAY`` prunes it."""
    db = sqlite3.connect(f"{home}/rillet.db")
    with db:
        db.execute("UPDATE executions SET created_at = created_at - ? WHERE id = ?",
                   (2 * DAY, execution_id))
    db.close()


class _PruneAfterPut:
    """Artifact folder that runs a prune right after the execution finds (or writes)
    the bytes of a value and before it commits the value's record: the window in which
    prune sees the value referenced by the old execution alone."""

    def __init__(self, home: Home) -> None:
        self._home, self._artifacts = home, home.artifacts
        self.reports: list = []

    def __getattr__(self, name):
        return getattr(self._artifacts, name)

    def put(self, digest, data):
        uri = self._artifacts.put(digest, data)
        if not self.reports:
            other = Home.open(self._home.path)  # another process's handle, in effect
            self.reports.append(prune(other.store, other.artifacts, older_than=DAY,
                                      max_size=None))
            other.close()
        return uri


def test_a_value_purged_while_an_execution_records_it_again_is_kept(load, home):
    mod = load("wf_big")
    old = rillet.run(mod.make_big, home=home, executor="inline", n=2000)
    _age_two_days(home, old.id)

    h = Home.open(home)
    racing = _PruneAfterPut(h)
    engine = Engine(store=h.store, artifacts=racing, executor=make_executor("inline"),
                    checkpoint_path=h.checkpoint_path, work_dir=h.work_dir)
    record = engine.execute(mod.make_big, {"n": 2000}, source=source_of(mod.make_big))
    assert record.status.value == "SUCCEEDED"
    (digest,) = h.store.get_execution(record.id).outputs.values()
    (report,) = racing.reports
    assert report.executions == 1 and digest in report.purged  # it did purge the value
    (artifact,) = h.store.find_artifacts(digest)
    assert not artifact.purged
    assert h.artifacts.exists(artifact.uri)  # the bytes are there again
    assert len(h.artifacts.get(artifact.uri)) == artifact.size


class _StoreRecordingAgain:
    """The store as prune sees it, where an execution records the purged value again
    (as producing it anew does) after prune's purge and before its bytes are removed."""

    def __init__(self, store, again) -> None:
        self._store, self._again, self._writes = store, again, 0
        self.database = self

    def __getattr__(self, name):
        return getattr(self._store, name)

    def read(self, sql, params=()):
        return self._store.database.read(sql, params)

    def write(self):
        self._writes += 1
        if self._writes == 2:  # the purge is committed; the removal of bytes comes next
            self._again()
        return self._store.database.write()


def test_a_value_recorded_again_between_purge_and_removal_keeps_its_bytes(load, home):
    import dataclasses

    from rillet.engine._records import Batch

    mod = load("wf_big")
    old = rillet.run(mod.make_big, home=home, executor="inline", n=3000)
    _age_two_days(home, old.id)
    h = Home.open(home)
    (digest,) = h.store.get_execution(old.id).outputs.values()
    (record,) = h.store.find_artifacts(digest)

    def again():
        assert h.store.find_artifacts(digest)[0].purged  # prune has purged it
        h.store.apply(Batch(artifacts=[dataclasses.replace(record, purged=False)]))

    report = prune(_StoreRecordingAgain(h.store, again), h.artifacts, older_than=DAY,
                   max_size=None)
    assert digest in report.purged
    (now,) = h.store.find_artifacts(digest)
    assert not now.purged
    assert h.artifacts.exists(now.uri)  # its bytes were not removed

"""Point 5 of issue 11: prune is safe to kill (a later prune reclaims what a killed one
left), keeps what a recoverable execution needs, and refuses a damaged database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import rillet
from rillet.store._home import Home
from rillet.store._prune import prune

DAY = 86400.0


def _age(home: str, execution_id: str, seconds: float = 2 * DAY) -> None:
    db = sqlite3.connect(f"{home}/rillet.db")
    with db:
        db.execute("UPDATE executions SET created_at = created_at - ? WHERE id = ?",
                   (seconds, execution_id))
        db.execute("UPDATE artifacts SET created_at = created_at - ?", (seconds,))
    db.close()


class _KilledAfter:
    """The artifact folder of a prune that is killed after removing ``n`` values' bytes."""

    def __init__(self, artifacts, n: int) -> None:
        self._artifacts, self._n = artifacts, n

    def __getattr__(self, name):
        return getattr(self._artifacts, name)

    def delete(self, uri):
        if self._n <= 0:
            raise KeyboardInterrupt  # as a SIGKILL would stop it: nothing after runs
        self._n -= 1
        self._artifacts.delete(uri)


def _files(home: str) -> set[str]:
    return {str(p) for p in Path(home, "artifacts").rglob("*") if p.is_file()}


def test_a_later_prune_reclaims_what_a_killed_prune_left(load, home):
    mod = load("wf_big")  # no cache: an old execution's values are all it keeps
    runs = [rillet.run(mod.make_big, home=home, executor="inline", n=2000 + i)
            for i in range(4)]
    for r in runs:
        _age(home, r.id)
    with Home.open(home) as h:
        before = _files(home)
        with pytest.raises(KeyboardInterrupt):
            prune(h.store, _KilledAfter(h.artifacts, 1), older_than=DAY, max_size=None)
        left = _files(home)
        assert len(before) - len(left) == 1  # killed after one value
        db = sqlite3.connect(f"{home}/rillet.db")
        purged = db.execute("SELECT count(*) FROM artifacts WHERE purged AND uri IS NOT NULL"
                            ).fetchone()[0]
        db.close()
        assert purged >= 4
        # Nothing new is old enough for it: still, it removes the bytes left behind.
        report = prune(h.store, h.artifacts, older_than=100 * DAY, max_size=None)
        assert report.purged_artifacts == 0
        assert len(before) - len(_files(home)) == purged


def test_a_failed_execution_within_the_window_keeps_its_inputs(load, home):
    mod = load("wf_integrity")
    old = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    _age(home, old.id)
    # the same input, in an execution that fails now (recoverable)
    failed = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    db = sqlite3.connect(f"{home}/rillet.db")
    with db:
        db.execute("UPDATE executions SET status = 'FAILED' WHERE id = ?", (failed.id,))
        db.execute("UPDATE node_executions SET status = 'FAILED' WHERE execution_id = ?",
                   (failed.id,))
    db.close()
    assert old.record.inputs == failed.record.inputs
    with Home.open(home) as h:
        report = prune(h.store, h.artifacts, older_than=DAY, max_size=None)
        assert report.executions == 1
        assert not set(failed.record.inputs.values()) & set(report.purged)
    again = rillet.recover(failed.id, home=home, executor="inline")
    assert again.status == "SUCCEEDED" and again.outputs == {"o0": 5}


pytestmark = pytest.mark.filterwarnings("ignore::rillet.types.PickleFallbackWarning")


def test_prune_refuses_a_damaged_database(cli, wf):
    target = wf("wf_integrity", "summed")
    for n in range(1000, 1030):
        cli.ok("run", target, "--n", str(n), "--executor", "inline")
    files = {p: p.read_bytes() for p in (cli.home / "artifacts").rglob("*") if p.is_file()}
    db_file = cli.home / "rillet.db"
    conn = sqlite3.connect(db_file)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(db_file.read_bytes())
    for p in range(count // 2, count):  # scribble over the second half's pages
        data[p * page + 8: p * page + 40] = b"\xff" * 32
    db_file.write_bytes(bytes(data))
    r = cli("prune", "--older-than", "0s")
    assert r.code == 2, str(r)
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert "damaged" in r.err or "malformed" in r.err or "not a rillet" in r.err, r.err
    assert {p: p.read_bytes() for p in files} == files  # nothing deleted


def test_prune_sweeps_orphan_value_files_and_stale_temp_files(cli, wf):
    """A value file no record names (a run killed between its put and its commit) and a
    temp file of an unfinished write, both older than the grace period (an hour), are
    removed and counted; younger ones (a run going on now) and anything else stay."""
    import os
    import time

    target = wf("wf_integrity", "summed")
    cli.ok("run", target, "--n", "1000", "--executor", "inline")
    root = cli.home / "artifacts"
    (recorded,) = [p for p in root.rglob("*") if p.is_file()]  # the list[int] value
    hour_ago = time.time() - 2 * 3600

    def made(name: str, data: bytes, old: bool) -> Path:
        path = root / "ab" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        if old:
            os.utime(path, (hour_ago, hour_ago))
        return path

    orphan = made("c" * 62, b"x" * 300, old=True)
    young_orphan = made("d" * 62, b"y" * 300, old=False)
    stale_temp = made(f".{'e' * 62}.{'0' * 16}.tmp", b"z" * 200, old=True)
    young_temp = made(f".{'f' * 62}.{'1' * 16}.tmp", b"w" * 200, old=False)
    other = made("notes.txt", b"mine", old=True)
    os.utime(recorded, (hour_ago, hour_ago))  # old, but its record names it
    every = [recorded, orphan, young_orphan, stale_temp, young_temp, other]

    dry = cli.ok("prune", "--older-than", "100d", "--dry-run").out
    assert "would remove 1 value files no record names and 1 temp files" in dry, dry
    assert "orphan values 300 bytes" in dry and "temp files 200 bytes" in dry, dry
    assert all(p.exists() for p in every)  # a dry run removes nothing

    real = cli.ok("prune", "--older-than", "100d").out
    assert "removed 1 value files no record names and 1 temp files" in real, real
    assert not orphan.exists() and not stale_temp.exists()
    assert all(p.exists() for p in (recorded, young_orphan, young_temp, other))
    again = cli.ok("run", target, "--n", "1000", "--executor", "inline", "--json").json
    assert again["outputs"] == {"o0": sum(1999000 + i for i in range(1000))}
    shown = cli.ok("executions", "show", again["execution_id"], "--json").json
    assert [n["status"] for n in shown["nodes"]] == ["CACHED", "CACHED"]
    assert "value files" not in cli.ok("prune", "--older-than", "100d").out  # none left

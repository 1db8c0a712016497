"""Point 3 of issue 11: a store or artifact failure during a run ends the execution
FAILED (exit 1), keeps what succeeded, and the execution is recoverable at once, also in
the long-lived process that ran it."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3

import pytest

import rillet
from rillet.engine._durable import Engine
from rillet.engine._reaper import reap
from rillet.errors import StoreError
from rillet.sdk._run import make_executor, source_of
from rillet.store._home import Home


class _FailingPuts:
    """The home's artifact folder, failing every put after the first ``ok`` with ``err``."""

    def __init__(self, artifacts, ok: int, err: int) -> None:
        self._artifacts, self._ok, self._err = artifacts, ok, err

    def __getattr__(self, name):
        return getattr(self._artifacts, name)

    def put(self, digest, data):
        if self._ok <= 0:
            raise OSError(self._err, os.strerror(self._err))
        self._ok -= 1
        return self._artifacts.put(digest, data)


def _engine(h: Home, artifacts=None, store=None) -> Engine:
    return Engine(store=store or h.store, artifacts=artifacts or h.artifacts,
                  executor=make_executor("inline"), checkpoint_path=h.checkpoint_path,
                  work_dir=h.work_dir)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_artifact_folder_fails_the_execution(load, home, err):
    mod = load("wf_integrity")
    h = Home.open(home)
    # numbers(n) writes its list as a file: that put fails; nothing else is a file
    record = _engine(h, _FailingPuts(h.artifacts, 0, err)).execute(
        mod.summed, {"n": 1000}, source=source_of(mod.summed))
    assert record.status.value == "FAILED"
    assert os.strerror(err) in record.error
    stored = h.store.get_execution(record.id)
    assert stored.status.value == "FAILED"
    (node,) = [n for n in h.store.nodes(record.id) if n.node_id == "numbers"]
    assert node.status.value == "FAILED" and os.strerror(err) in node.error
    # recoverable at once, in this same (long-lived) process
    again = rillet.recover(record.id, home=home, executor="inline")
    assert again.status == "SUCCEEDED"
    assert again.outputs == {"o0": sum(1999000 + i for i in range(1000))}
    h.close()


def test_nodes_that_succeeded_stay_succeeded_and_are_recovered(load, home):
    mod = load("wf_integrity")
    h = Home.open(home)
    # make(3) and make(4) write pickles: the second put fails
    record = _engine(h, _FailingPuts(h.artifacts, 1, errno.ENOSPC)).execute(
        mod.marked, {"n": 3, "m": 4}, source=source_of(mod.marked))
    assert record.status.value == "FAILED"
    states = {n.node_id: n.status.value for n in h.store.nodes(record.id)}
    assert "SUCCEEDED" in states.values() and "FAILED" in states.values(), states
    again = rillet.recover(record.id, home=home, executor="inline")
    assert again.status == "SUCCEEDED" and again.outputs == {"o0": 7}
    assert "RECOVERED" in [n.status.value for n in again.nodes]
    h.close()


class _StoreFailingFrom:
    """The metadata store, whose ``apply`` fails (disk full) from the ``n``-th call on."""

    def __init__(self, store, n: int) -> None:
        self._store, self._n = store, n

    def __getattr__(self, name):
        return getattr(self._store, name)

    def apply(self, batch):
        self._n -= 1
        if self._n <= 0:
            raise StoreError("database or disk is full")
        return self._store.apply(batch)


def test_when_even_the_end_cannot_be_written_the_execution_is_reaped_in_this_process(
        load, home):
    mod = load("wf_integrity")
    h = Home.open(home)
    engine = _engine(h, store=_StoreFailingFrom(h.store, 2))
    with pytest.raises(StoreError, match="could not record its end"):
        engine.execute(mod.summed, {"n": 1000}, source=source_of(mod.summed))
    (running,) = h.store.list_executions()
    assert running.status.value == "RUNNING" and running.owner_pid == os.getpid()
    # This process no longer advances it: the next reader reaps it, and it recovers.
    (reaped,) = reap(h.store, [running])
    assert reaped.status.value == "FAILED"
    again = rillet.recover(running.id, home=home, executor="inline")
    assert again.status == "SUCCEEDED"
    h.close()


def test_a_cached_value_behind_a_symlink_out_of_the_home_fails_with_exit_1(cli, wf, tmp_path):
    target = wf("wf_integrity", "summed")
    cli.ok("run", target, "--n", "1000", "--executor", "inline")
    db = sqlite3.connect(cli.home / "rillet.db")
    (outputs,) = db.execute("SELECT outputs FROM node_executions WHERE node_id = 'numbers'"
                            ).fetchone()
    (uri,) = db.execute("SELECT uri FROM artifacts WHERE hash = ?",
                        (json.loads(outputs)["o0"],)).fetchone()
    db.close()
    folder = cli.home / "artifacts" / uri.split("/")[0]
    outside = tmp_path / "outside"
    shutil.move(str(folder), outside)
    folder.symlink_to(outside, target_is_directory=True)
    r = cli("run", target, "--n", "1000", "--executor", "inline")
    assert r.code == 1, str(r)
    assert "Traceback" not in r.err
    assert "outside" in r.err
    shown = cli("executions", "list", "--json").json
    assert shown[0]["status"] == "FAILED"


# -- the same on a real file system: the artifact folder on a tiny tmpfs of its own ----


@pytest.fixture
def small_artifacts(cli):
    """A home whose ``artifacts`` folder is a 1 MiB tmpfs (the database stays on the
    test's disk), where this test may mount one; yields the home's path."""
    import subprocess

    from missing import missing

    cli.ok("run", wf_path("wf_integrity", "summed"), "--n", "10", "--executor", "inline")
    artifacts = cli.home / "artifacts"
    aside = cli.home.parent / "artifacts-aside"
    shutil.move(str(artifacts), aside)
    artifacts.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(artifacts)],
                          capture_output=True)
    if made.returncode != 0:
        missing(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")  # CI is root
    try:
        for entry in aside.iterdir():
            shutil.move(str(entry), artifacts / entry.name)
        yield cli.home
    finally:
        subprocess.run(["umount", "-l", str(artifacts)], check=False)


def wf_path(module: str, name: str) -> str:
    from clikit import WORKFLOWS

    return f"{WORKFLOWS}/{module}.py:{name}"


def _fill(folder) -> None:
    """Write into ``folder`` until its file system is full."""
    try:
        with open(folder / "filler", "wb") as f:
            while True:
                f.write(b"x" * 65536)
                f.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    try:  # the last blocks, a byte at a time
        with open(folder / "filler", "ab") as f:
            while True:
                f.write(b"x")
                f.flush()
    except OSError:
        pass


def _remount(folder, how: str) -> None:
    import subprocess

    subprocess.run(["mount", "-o", f"remount,{how}", str(folder)], check=True)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_real_full_or_read_only_artifact_folder_fails_the_execution_not_the_cli(
        cli, small_artifacts, fault):
    """``numbers(n=1000)`` writes its list as a file onto a file system that is full (or
    mounted read-only): the node fails with the cause, the execution ends FAILED, the
    CLI exits 1 with one line; once there is room again it is recovered, and a fresh
    run gives the same output."""
    artifacts = small_artifacts / "artifacts"
    target = wf_path("wf_integrity", "summed")
    if fault == "full":
        _fill(artifacts)
    else:
        _remount(artifacts, "ro")
    r = cli("run", target, "--n", "1000", "--executor", "inline")
    if fault == "full":
        os.unlink(artifacts / "filler")
    else:
        _remount(artifacts, "rw")
    assert r.code == 1, str(r)
    assert "Traceback" not in r.err
    cause = "No space left on device" if fault == "full" else "Read-only file system"
    assert cause in r.err, str(r)
    (failed,) = [e for e in cli("executions", "list", "--json").json
                 if e["status"] == "FAILED"]
    nodes = {n["node_id"]: n for n in cli("executions", "show", failed["execution_id"],
                                          "--json").json["nodes"]}
    assert nodes["numbers"]["status"] == "FAILED" and cause in nodes["numbers"]["error"]
    again = cli("recover", failed["execution_id"], "--json")
    assert again.code == 0, str(again)
    assert again.json["status"] == "SUCCEEDED"
    assert again.json["outputs"]["o0"] == sum(1999000 + i for i in range(1000))
    fresh = cli("run", target, "--n", "1000", "--executor", "inline", "--json")
    assert fresh.code == 0 and fresh.json["outputs"] == again.json["outputs"], str(fresh)


def test_in_a_long_lived_process_a_full_artifact_folder_fails_one_execution(
        load, small_artifacts):
    """``rillet.run`` in this process: the execution that met the full disk ends FAILED
    (the engine goes on), and it is recoverable at once in this same process."""
    mod = load("wf_integrity")
    home = str(small_artifacts)
    artifacts = small_artifacts / "artifacts"
    _fill(artifacts)
    try:
        first = rillet.run(mod.marked, home=home, executor="inline", n=13, m=14)
    finally:
        os.unlink(artifacts / "filler")
    assert first.status.value == "FAILED"
    assert "No space left on device" in (first.record.error or "")
    again = rillet.recover(first.id, home=home, executor="inline")
    assert again.status == "SUCCEEDED" and again.outputs == {"o0": 27}

"""Points 6 and 8 of issue 11: the home's shape is checked, and bad input gets one line
(never a traceback); ``--json`` never prints Infinity or NaN."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from missing import missing


def _one_line(r) -> None:
    """Exit 2 with one error line (a usage error also shows click's usage lines)."""
    assert r.code == 2, str(r)
    assert "Traceback" not in r.err, str(r)
    lines = r.err.strip().splitlines()
    if lines[0].startswith("Usage:"):
        lines = [line for line in lines if line.startswith("Error:")]
    assert len(lines) == 1, str(r)


def test_json_nested_500_deep_is_one_line(cli, wf):
    deep = '{"a":' * 500 + "1" + "}" * 500
    r = cli("run", wf("wf_badinput", "anything"), "--x", deep, "--executor", "inline")
    _one_line(r)
    assert "--x" in r.err and "nested more than 100 levels" in r.err
    assert len(r.err) < 400  # named, not echoed whole


def test_a_long_input_is_named_not_echoed(cli, wf):
    long = "[" + ",".join(["1"] * 5000) + ',"x"]'
    r = cli("run", wf("wf_badinput", "ints"), "--x", long, "--executor", "inline")
    _one_line(r)
    assert "--x" in r.err and len(r.err) < 400
    deep = "[" * 500 + "]" * 500
    r = cli("run", wf("wf_badinput", "ints"), "--x", deep, "--executor", "inline")
    _one_line(r)
    assert "--x" in r.err and len(r.err) < 400


@pytest.mark.parametrize("args", [
    ["executions", "list", "--limit", "99999999999999999999"],
    ["executions", "list", "--limit", "99999999999999999999", "--json"],
    ["logs", "abc", "n", "--attempt", "99999999999999999999"],
])
def test_huge_numbers_are_one_line(cli, args):
    _make_home(cli)
    _one_line(cli(*args))


def test_json_never_prints_infinity_or_nan(cli, wf):
    body = cli.ok("run", wf("wf_badinput", "unbounded"), "--executor", "inline", "--json")
    for text in (body.out,
                 cli.ok("executions", "show", body.json["execution_id"], "--json").out):
        assert "Infinity\n" not in text.replace('"Infinity"', "").replace('"-Infinity"', "")
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in --json output"))
    assert body.json["outputs"]["o0"] == "Infinity"


# -- the home's shape ----------------------------------------------------------------


def _make_home(cli) -> None:
    from clikit import WORKFLOWS

    cli.ok("run", f"{WORKFLOWS}/wf_badinput.py:ints", "--x", "[1]", "--executor", "inline")


def _old_marker(home: Path) -> None:
    past = time.time() - 3600
    os.utime(home / "home.json", (past, past))


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_a_home_whose_database_is_gone_is_refused_not_recreated(cli, damage):
    _make_home(cli)
    db = cli.home / "rillet.db"
    for extra in ("rillet.db-wal", "rillet.db-shm"):
        (cli.home / extra).unlink(missing_ok=True)
    if damage == "missing":
        db.unlink()
    else:
        db.write_bytes(b"")
    _old_marker(cli.home)
    r = cli("executions", "list")
    _one_line(r)
    assert damage in r.err and "refusing" in r.err
    assert (db.exists() and db.stat().st_size == 0) if damage == "empty" else not db.exists()


def test_a_folder_with_only_a_backup_marker_is_not_adopted(cli):
    cli.home.mkdir()
    (cli.home / ".home.json.bak").write_text('{"format": "rillet-home", "schema": "0001"}')
    r = cli("executions", "list")
    _one_line(r)
    assert "not a rillet home" in r.err
    assert sorted(p.name for p in cli.home.iterdir()) == [".home.json.bak"]


def test_artifacts_being_a_file_is_one_line(cli):
    _make_home(cli)
    import shutil

    shutil.rmtree(cli.home / "artifacts")
    (cli.home / "artifacts").write_text("not a folder")
    r = cli("executions", "list")
    _one_line(r)
    assert "artifacts is a file" in r.err


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A 2 MiB tmpfs, where this test may mount one (root with CAP_SYS_ADMIN)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        missing(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")  # CI is root
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_home_is_one_line(cli, wf, tmpfs):
    home = tmpfs / "home"
    target = wf("wf_integrity", "summed")
    r = cli.raw("run", target, "--n", "10", "--executor", "inline", "--home", str(home))
    assert r.code == 0, str(r)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    r = cli.raw("run", target, "--n", "11", "--executor", "inline", "--home", str(home))
    _one_line(r)
    assert "read-only" in r.err or "readonly" in r.err
    r = cli.raw("run", target, "--n", "11", "--executor", "inline", "--home",
                str(tmpfs / "new"))
    _one_line(r)
    assert "Read-only" in r.err or "read-only" in r.err


def test_a_full_disk_is_one_line(cli, wf, tmpfs):
    home = tmpfs / "home"
    target = wf("wf_integrity", "summed")
    r = cli.raw("run", target, "--n", "10", "--executor", "inline", "--home", str(home))
    assert r.code == 0, str(r)
    try:
        with open(tmpfs / "fill", "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    except OSError:  # the disk is full
        pass
    r = cli.raw("run", target, "--n", "3000", "--executor", "inline", "--home", str(home))
    assert r.code in (1, 2) and "Traceback" not in r.err, str(r)
    assert len(r.err.strip().splitlines()) <= 2, str(r)
    assert "full" in r.err or "No space" in r.err, str(r)
    os.unlink(tmpfs / "fill")  # space again: nothing is left RUNNING, and it recovers
    listed = cli.raw("executions", "list", "--json", "--home", str(home))
    assert listed.code == 0, str(listed)
    assert "RUNNING" not in {e["status"] for e in json.loads(listed.out)}

"""``rillet prune [--older-than AGE] [--max-size SIZE] [--dry-run]`` (issue 8): the
values of old executions are purged (records, hashes and lineage stay, and a purged
value says so), least recently used cache entries are evicted to a size, and nothing
a kept execution or a kept cache entry references is removed."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from issue8_kit import Rillet, write  # noqa: E402

FLOW = '''
import pandas as pd

from rillet import task, workflow


@task
def make(n: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n)), "tag": [tag] * n})


@task(cache=True)
def summarize(df: pd.DataFrame) -> list[str]:
    return [f"{t}-{x}" for t, x in zip(df["tag"], df["x"])]


@task
def shared(n: int) -> list[int]:
    return list(range(n))


@task
def check(xs: list[str], ys: list[int]) -> int:
    return len(xs) + len(ys)


@workflow
def flow(n: int = 3000, tag: str = "a") -> pd.DataFrame:
    df = make(n=n, tag=tag)
    check(xs=summarize(df=df), ys=shared(n=n))
    return df
'''

# The same workflow over plain lists (no pandas to import in every process).
LIST_FLOW = (FLOW.replace("import pandas as pd\n\n", "")
             .replace('pd.DataFrame({"x": list(range(n)), "tag": [tag] * n})',
                      '[f"{tag}{x:06d}" for x in range(n)]')
             .replace("pd.DataFrame", "list[str]")
             .replace('zip(df["tag"], df["x"])', "zip(df, df)"))
DAY = 86400.0


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    write(tmp_path / "pflow.py", LIST_FLOW)
    return Rillet(tmp_path / "home", tmp_path)


def target(r: Rillet) -> str:
    return f"{r.cwd / 'pflow.py'}:flow"


def run(r: Rillet, tag: str) -> str:
    body = r.run_json(target(r), "--tag", tag)
    assert body["status"] == "SUCCEEDED", body
    return str(body["execution_id"])


def outputs(r: Rillet, eid: str) -> dict[str, str]:
    """node -> the hash of its output."""
    return {n["node_id"]: n["outputs"].get("o0", "") for n in r.show(eid)["nodes"]}


def blob(r: Rillet, digest: str) -> Path:
    path = r.home / "artifacts" / digest[:2] / digest[2:]
    return path


def stored(r: Rillet) -> set[str]:
    return {p.parent.name + p.name for p in (r.home / "artifacts").rglob("*") if p.is_file()}


def backdate(r: Rillet, *eids: str, days: float = 2) -> None:
    """Make executions look ``days`` old (as if run then)."""
    db = sqlite3.connect(r.home / "rillet.db")
    with db:
        db.executemany("UPDATE executions SET created_at = created_at - ?, "
                       "started_at = started_at - ?, ended_at = ended_at - ? WHERE id = ?",
                       [(days * DAY, days * DAY, days * DAY, e) for e in eids])
    db.close()


def freed(out: str) -> tuple[int, int, int, int]:
    m = re.search(r"free[sd]? (\d+) bytes: (\d+) stored values of (\d+) executions, "
                  r"(\d+) cache entr", out)
    assert m, out
    return int(m[1]), int(m[2]), int(m[3]), int(m[4])


def test_old_values_are_purged_and_what_is_referenced_is_kept(rillet: Rillet) -> None:
    from rillet import run
    from rillet.engine._loading import load_file
    from rillet.errors import RilletError

    write(rillet.cwd / "pflow.py", FLOW)  # DataFrames, stored as parquet files
    flow = load_file(str(rillet.cwd / "pflow.py")).flow
    old = run(flow, home=str(rillet.home), executor="inline", tag="a")
    new = run(flow, home=str(rillet.home), executor="inline", tag="b")
    o_old, o_new = outputs(rillet, old.id), outputs(rillet, new.id)
    assert o_old["shared"] == o_new["shared"]  # one value, used by both
    for digest in (o_old["make"], o_old["summarize"], o_old["shared"], o_new["make"]):
        assert blob(rillet, digest).is_file()  # large values are files
    show_before = rillet.show(old.id)
    backdate(rillet, old.id)

    res = rillet.ok("prune", "--older-than", "1d")
    size, values, executions, entries = freed(res.out)
    assert (executions, entries) == (1, 0) and values >= 2
    assert size >= blob_size_floor(3000)
    assert not blob(rillet, o_old["make"]).exists()  # only the old execution used it
    assert blob(rillet, o_old["summarize"]).is_file()  # a kept cache entry refers to it
    assert blob(rillet, o_old["shared"]).is_file()  # a kept execution refers to it
    for digest in (o_new["make"], o_new["summarize"]):
        assert blob(rillet, digest).is_file()

    with pytest.raises(RilletError, match="pruned"):
        old.outputs  # noqa: B018
    assert list(new.outputs["o0"]["tag"].unique()) == ["b"]
    # the record, the hashes and the lineage stay
    after = rillet.show(old.id)
    assert after["status"] == "SUCCEEDED"
    assert after["outputs"] == show_before["outputs"]
    assert [(n["node_id"], n["outputs"]) for n in after["nodes"]] == [
        (n["node_id"], n["outputs"]) for n in show_before["nodes"]]
    lineage = rillet.ok("lineage", f"{old.id}:summarize", "--json").json
    assert o_old["summarize"] in str(lineage) and o_old["make"] in str(lineage)
    # recovering it says what is missing, in one line
    r = rillet("recover", old.id)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, str(r)
    assert f"cannot recover execution {old.id}: its input 'tag'" in r.err and "pruned" in r.err
    # the cache entry still serves a new run of the old inputs
    body = rillet.run_json(target(rillet), "--tag", "a")
    assert body["status"] == "SUCCEEDED"
    assert rillet.statuses(body["execution_id"])["summarize"] == "CACHED"


def test_an_old_execution_whose_process_died_is_reaped_then_pruned(rillet: Rillet) -> None:
    old = run(rillet, "a")
    made = outputs(rillet, old)["make"]
    assert made in stored(rillet)
    dead = subprocess.Popen(["true"])
    dead.wait()
    db = sqlite3.connect(rillet.home / "rillet.db")
    with db:  # as if its `rillet run` had been killed two days ago, mid-execution
        db.execute("UPDATE executions SET status = 'RUNNING', ended_at = NULL, "
                   "owner_host = ?, owner_pid = ?, owner_started = 1.0 WHERE id = ?",
                   (socket.gethostname(), dead.pid, old))
    db.close()
    backdate(rillet, old)
    res = rillet.ok("prune", "--older-than", "1d")
    assert freed(res.out)[2] == 1  # counted among the old executions, not kept as running
    shown = rillet.show(old)
    assert shown["status"] == "FAILED" and "ended without recording" in shown["error"], shown
    assert made not in stored(rillet)


def blob_size_floor(n: int) -> int:
    return n  # a DataFrame of n rows takes more than n bytes


def test_dry_run_prints_the_same_and_removes_nothing(rillet: Rillet) -> None:
    old = run(rillet, "a")
    run(rillet, "b")
    backdate(rillet, old)
    files = stored(rillet)
    db = (rillet.home / "rillet.db").stat()
    dry = rillet.ok("prune", "--older-than", "1d", "--max-size", "1", "--dry-run")
    assert dry.out.startswith("would free")
    assert stored(rillet) == files
    st = (rillet.home / "rillet.db").stat()
    assert (st.st_size, st.st_mtime_ns) == (db.st_size, db.st_mtime_ns)
    assert len(rillet.ok("cache", "list", "--json").json) == 2
    real = rillet.ok("prune", "--older-than", "1d", "--max-size", "1")
    assert real.out.startswith("freed")
    assert freed(real.out) == freed(dry.out)
    assert len(stored(rillet)) < len(files)


def test_max_size_evicts_the_least_recently_used_entries_first(rillet: Rillet) -> None:
    eids = [run(rillet, tag) for tag in ("a", "b", "c")]
    summary = {tag: outputs(rillet, e)["summarize"] for tag, e in zip("abc", eids)}
    again = run(rillet, "a")  # a's entry is now the most recently used
    assert rillet.statuses(again)["summarize"] == "CACHED"
    backdate(rillet, *eids, again)
    one = blob(rillet, summary["a"]).stat().st_size
    res = rillet.ok("prune", "--older-than", "1d", "--max-size", str(int(one * 1.5)))
    assert freed(res.out)[3] == 2
    assert blob(rillet, summary["a"]).is_file()
    assert not blob(rillet, summary["b"]).exists()
    assert not blob(rillet, summary["c"]).exists()
    assert stored(rillet) == {summary["a"]}
    (entry,) = rillet.ok("cache", "list", "--json").json
    assert entry["outputs"]["o0"] == summary["a"]
    # the evicted entries are gone: b runs again, a still hits
    body = rillet.run_json(target(rillet), "--tag", "b")
    assert rillet.statuses(body["execution_id"])["summarize"] == "SUCCEEDED"
    body = rillet.run_json(target(rillet), "--tag", "a")
    assert rillet.statuses(body["execution_id"])["summarize"] == "CACHED"


def test_max_size_never_evicts_entries_whose_values_kept_executions_hold(
        rillet: Rillet) -> None:
    for tag in ("a", "b"):
        run(rillet, tag)
    files = stored(rillet)
    res = rillet.ok("prune", "--max-size", "1")
    assert freed(res.out) == (0, 0, 0, 0), res.out
    assert stored(rillet) == files
    assert len(rillet.ok("cache", "list", "--json").json) == 2  # the cache is intact


def test_values_of_an_old_execution_that_a_kept_recovery_reuses_are_kept(
        rillet: Rillet) -> None:
    old = run(rillet, "a")
    o_old = outputs(rillet, old)
    rec = rillet.ok("recover", old, "--json", "--executor", "inline").json["execution_id"]
    assert set(rillet.statuses(rec).values()) == {"RECOVERED"}
    backdate(rillet, old)
    res = rillet.ok("prune", "--older-than", "1d")
    assert freed(res.out)[1] == 0, res.out
    for node in ("make", "summarize", "shared"):
        assert blob(rillet, o_old[node]).is_file(), node
    # the kept recovery can itself be recovered from a later node
    body = rillet.ok("recover", rec, "--from", "check", "--json", "--executor", "inline").json
    assert body["status"] == "SUCCEEDED"


def test_bad_arguments_exit_2(rillet: Rillet) -> None:
    run(rillet, "a")
    for args in ([], ["--older-than", "soon"], ["--max-size", "big"]):
        r = rillet("prune", *args)
        assert r.code == 2 and r.err.startswith("error:"), str(r)
    r = Rillet(rillet.cwd / "nohome", rillet.cwd)("prune", "--older-than", "1d")
    assert r.code == 2 and "no rillet home" in r.err
    assert not (rillet.cwd / "nohome").exists()




RANDOM = '''
import random

from rillet import task, workflow


@task
def draw(n: int) -> list[float]:
    return [random.random() for _ in range(n)]


@task
def count(xs: list[float]) -> int:
    return len(xs)


@workflow
def sample(n: int = 3000) -> int:
    return count(xs=draw(n=n))
'''


def test_a_recovery_recomputes_what_was_pruned(rillet: Rillet) -> None:
    """Same inputs, other values: the old execution's inputs stay (a kept one uses them),
    its own values go; recovering it computes them again instead of failing."""
    write(rillet.cwd / "sample.py", RANDOM)
    wf = f"{rillet.cwd / 'sample.py'}:sample"
    old = rillet.run_json(wf)["execution_id"]
    rillet.run_json(wf)
    backdate(rillet, old)
    assert freed(rillet.ok("prune", "--older-than", "1d").out)[1] == 1
    body = rillet.ok("recover", old, "--from", "count", "--json", "--executor", "inline").json
    assert body["status"] == "SUCCEEDED" and body["outputs"]["o0"] == 3000
    assert rillet.statuses(body["execution_id"]) == {"draw": "SUCCEEDED", "count": "SUCCEEDED"}

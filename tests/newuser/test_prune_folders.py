"""``rillet prune`` frees the working folders and checkpoints of the executions it
prunes, keeps a checkpoint a kept recovery could still use, and reports the bytes
freed by kind (issue 12, point 4); with no limit it says what it would do and how to
choose one (point 12)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from newuser_kit import Rillet, write

FLOW = '''
import os

from rillet import current_context, task, workflow


@task
def work(n: int, fail: bool) -> int:
    ctx = current_context()
    print("working on", n, flush=True)
    with open(os.path.join(ctx.working_directory, "scratch.bin"), "wb") as f:
        f.write(b"s" * 50_000)
    ctx.checkpoint.write(b"c" * 20_000)
    if fail:
        raise ValueError("asked to fail")
    return n


@workflow
def wf(n: int = 1, fail: bool = False) -> int:
    return work(n=n, fail=fail)
'''


def backdate(home: Path, *eids: str, days: float = 2) -> None:
    db = sqlite3.connect(home / "rillet.db")
    with db:
        db.executemany("UPDATE executions SET created_at = created_at - ? WHERE id = ?",
                       [(days * 86400, e) for e in eids])
    db.close()


def run(rillet: Rillet, *args: str, executor: str = "inline") -> dict:
    target = str(write(rillet.cwd / "flow.py", FLOW)) if not (rillet.cwd / "flow.py").exists() \
        else str(rillet.cwd / "flow.py")
    r = rillet("run", f"{target}:wf", *args, "--executor", executor, "--json")
    assert r.code in (0, 1), str(r)
    return r.json


def by_kind(out: str) -> dict[str, int]:
    line = next(line for line in out.splitlines() if line.startswith("by kind:"))
    found = re.findall(r"([a-z ]+?) (\d+) bytes", line[8:].split("(")[0])
    return {k.strip(): int(v) for k, v in found}


def test_prune_frees_work_folders_and_checkpoints_of_pruned_executions(
        rillet: Rillet) -> None:
    old = run(rillet, "--n", "1", executor="processes")["execution_id"]
    new = run(rillet, "--n", "2", executor="processes")["execution_id"]
    home = rillet.home
    assert (home / "work" / old).is_dir() and (home / "checkpoints" / old).is_dir()
    assert (home / "logs" / f"{old}.log").is_file()
    backdate(home, old)
    dry = rillet.ok("prune", "--older-than", "1d", "--dry-run")
    kinds = by_kind(dry.out)
    assert kinds["work folders"] >= 50_000 and kinds["checkpoints"] >= 20_000
    assert kinds["logs"] > 0
    assert (home / "work" / old).is_dir()  # a dry run removes nothing
    real = rillet.ok("prune", "--older-than", "1d")
    assert by_kind(real.out) == kinds
    assert not (home / "work" / old).exists() and not (home / "checkpoints" / old).exists()
    assert not (home / "logs" / f"{old}.log").exists()
    assert (home / "work" / new).is_dir() and (home / "checkpoints" / new).is_dir()
    assert (home / "logs" / f"{new}.log").is_file()
    again = rillet.ok("prune", "--older-than", "1d")
    assert by_kind(again.out) == {"values": 0, "work folders": 0, "checkpoints": 0,
                                  "logs": 0}


def test_a_checkpoint_a_kept_recovery_could_use_is_kept(rillet: Rillet) -> None:
    failed = run(rillet, "--fail", "true")
    assert failed["status"] == "FAILED"
    eid = failed["execution_id"]
    recovered = rillet("recover", eid, "--executor", "inline", "--json")
    assert recovered.code == 1, str(recovered)  # fails again: still recoverable
    backdate(rillet.home, eid)
    rillet.ok("prune", "--older-than", "1d")
    assert not (rillet.home / "work" / eid).exists()  # its own scratch space is freed
    assert (rillet.home / "checkpoints" / eid).is_dir()  # the recovery shares this scope
    backdate(rillet.home, recovered.json["execution_id"])
    rillet.ok("prune", "--older-than", "1d")
    assert not (rillet.home / "checkpoints" / eid).exists()


def test_prune_without_a_limit_says_what_it_would_do(rillet: Rillet) -> None:
    run(rillet)
    r = rillet("prune")
    assert r.code == 2, str(r)
    assert "this home holds 1 executions" in r.out and "work folders" in r.out
    assert "--older-than AGE" in r.err and "--max-size SIZE" in r.err
    assert "--dry-run" in r.err and len(r.err.strip().splitlines()) == 1
    assert any((rillet.home / "work").iterdir())  # nothing was removed

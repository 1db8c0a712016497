"""Recovering a map re-runs only its elements that did not succeed (issue 12, point
10 c): each element that succeeded in a failed map attempt is recorded (its value in
the value store, a SUCCEEDED ``map_elements`` row with its hash); ``rillet recover``
and the map's own retries take those and run the rest."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from newuser_kit import Rillet, write

from rillet.store._home import Home

# Each element appends a line to runs/ELEMENT when it runs; element 3 fails while the
# file `broken` exists. The value of an element depends on nothing but its input.
FLOW = '''
import os
from pathlib import Path

from rillet import map_task, task, workflow

HERE = Path(__file__).parent


@task(retries=RETRIES)
def score(x: int) -> dict[str, int]:
    runs = HERE / "runs"
    runs.mkdir(exist_ok=True)
    with open(runs / str(x), "a") as f:
        f.write("ran\\n")
    if x == 3 and (HERE / "broken").exists():
        raise ValueError(f"element {x} is broken")
    return {"x": x, "square": x * x}


@task
def xs(n: int) -> list[int]:
    return list(range(n))


@workflow
def wf(n: int = 8) -> list[RESULT]:
    return map_task(score, min_success_ratio=RATIO)(x=xs(n=n))
'''


def flow(cwd: Path, *, retries: int = 0, ratio: float = 1.0) -> str:
    result = "dict[str, int]" if ratio == 1.0 else "dict[str, int] | None"
    text = (FLOW.replace("RETRIES", str(retries)).replace("RATIO", repr(ratio))
            .replace("RESULT", result))
    return str(write(cwd / "flow.py", text)) + ":wf"


def runs(cwd: Path, n: int) -> list[int]:
    """How many times each element ran."""
    folder = cwd / "runs"
    return [len((folder / str(i)).read_text().splitlines()) if (folder / str(i)).exists()
            else 0 for i in range(n)]


def element_rows(rillet: Rillet, execution_id: str) -> list[tuple[int, int, str, bool]]:
    """(attempt, index, status, has an output hash) of the map's element rows."""
    home = Home.open(str(rillet.home))
    try:
        return [(e.attempt, e.map_index, e.status.value, e.output is not None)
                for e in home.store.map_elements(execution_id)]
    finally:
        home.close()


EXPECTED = [{"x": i, "square": i * i} for i in range(8)]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_recovering_a_failed_map_runs_only_the_elements_that_did_not_succeed(
        rillet: Rillet, executor: str) -> None:
    target = flow(rillet.cwd)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", executor, "--max-parallel", "2", "--json")
    assert first.code != 0 and first.json["status"] == "FAILED", str(first)
    eid = first.json["execution_id"]
    before = runs(rillet.cwd, 8)
    assert before[3] == 1
    succeeded = [i for i in range(8) if before[i] and i != 3]
    assert succeeded, before  # at least the elements before 3 (inline: exactly those)
    if executor == "inline":
        assert before == [1, 1, 1, 1, 0, 0, 0, 0]
    rows = element_rows(rillet, eid)
    assert [(i, s, h) for _, i, s, h in rows] == [(i, "SUCCEEDED", True) for i in succeeded]
    # the failed element is not shown as a failed element of a ratio-1 map, and the
    # succeeded ones are not shown as failed
    (node,) = [n for n in rillet.show(eid)["nodes"] if n["kind"] == "map"]
    assert node["failed_elements"] == []

    (rillet.cwd / "broken").unlink()
    second = rillet("recover", eid, "--executor", executor, "--json")
    assert second.code == 0, str(second)
    assert second.json["outputs"]["o0"] == EXPECTED
    after = runs(rillet.cwd, 8)
    # what succeeded did not run again; element 3 and those never reached ran once more
    assert after == [1 if i in succeeded else before[i] + 1 for i in range(8)], (before, after)

    # a recovery of the recovery reuses the map whole; the recovery recorded the
    # elements it took, so a chain of recoveries finds them too
    rid = second.json["execution_id"]
    taken = [(i, s) for a, i, s, h in element_rows(rillet, rid) if h]
    assert taken == [(i, "SUCCEEDED") for i in succeeded]


def test_a_recovery_chain_takes_elements_recorded_two_executions_back(rillet: Rillet) -> None:
    """Fail, recover (element 3 fails again, other elements done), recover again: each
    element ran exactly once, element 3 three times."""
    target = flow(rillet.cwd)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", "inline", "--json")
    assert first.json["status"] == "FAILED", str(first)
    second = rillet("recover", first.json["execution_id"], "--executor", "inline", "--json")
    assert second.json["status"] == "FAILED", str(second)
    assert runs(rillet.cwd, 8) == [1, 1, 1, 2, 0, 0, 0, 0]
    (rillet.cwd / "broken").unlink()
    third = rillet("recover", second.json["execution_id"], "--executor", "inline", "--json")
    assert third.code == 0, str(third)
    assert third.json["outputs"]["o0"] == EXPECTED
    assert runs(rillet.cwd, 8) == [1, 1, 1, 3, 1, 1, 1, 1]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_map_below_its_ratio_keeps_what_succeeded_for_the_recovery(
        rillet: Rillet, executor: str) -> None:
    """min_success_ratio 1.0 > 7/8: the map fails with 7 elements done; the recovery
    runs element 3 alone, and the ratio is still judged over all 8."""
    target = flow(rillet.cwd, ratio=0.99)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", executor, "--json")
    assert first.json["status"] == "FAILED", str(first)
    assert runs(rillet.cwd, 8) == [1, 1, 1, 1, 1, 1, 1, 1]
    eid = first.json["execution_id"]
    rows = element_rows(rillet, eid)
    assert sorted((i, s) for _, i, s, _ in rows) == [
        (i, "FAILED" if i == 3 else "SUCCEEDED") for i in range(8)]
    again = rillet("recover", eid, "--executor", executor, "--json")
    # element 3 fails again: 1 of 8 failed is still below 0.99, and said so over all 8
    assert again.json["status"] == "FAILED", str(again)
    assert runs(rillet.cwd, 8) == [1, 1, 1, 2, 1, 1, 1, 1]
    (rillet.cwd / "broken").unlink()
    last = rillet("recover", again.json["execution_id"], "--executor", executor, "--json")
    assert last.code == 0, str(last)
    assert last.json["outputs"]["o0"] == EXPECTED
    assert runs(rillet.cwd, 8) == [1, 1, 1, 3, 1, 1, 1, 1]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_retry_of_a_map_runs_only_the_elements_that_failed(
        rillet: Rillet, executor: str) -> None:
    target = flow(rillet.cwd, retries=2)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", executor, "--max-parallel", "2", "--json")
    assert first.json["status"] == "FAILED", str(first)
    counts = runs(rillet.cwd, 8)
    assert counts[3] == 3  # three attempts
    # no element that succeeded ran again (those after 3 may never have started)
    assert counts[:3] == [1, 1, 1] and all(c <= 1 for c in counts[4:]), counts
    if executor == "inline":
        assert counts == [1, 1, 1, 3, 0, 0, 0, 0]
    # once it works, the next recovery runs element 3 and those never reached, once
    (rillet.cwd / "broken").unlink()
    again = rillet("recover", first.json["execution_id"], "--executor", executor, "--json")
    assert again.code == 0, str(again)
    assert again.json["outputs"]["o0"] == EXPECTED
    assert runs(rillet.cwd, 8) == [1, 1, 1, 4, 1, 1, 1, 1]


def test_a_recovered_element_whose_value_is_gone_runs_again(rillet: Rillet) -> None:
    """An element's value is checked through the value store like any recovered value:
    one pruned since (or missing) is computed again."""
    target = flow(rillet.cwd)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", "inline", "--json")
    eid = first.json["execution_id"]
    home = Home.open(str(rillet.home))
    try:
        one = [e for e in home.store.map_elements(eid) if e.map_index == 1][0]
        assert one.output is not None
    finally:
        home.close()
    with sqlite3.connect(rillet.home / "rillet.db") as db:
        assert db.execute("UPDATE artifacts SET purged = 1 WHERE hash = ?",
                          (one.output,)).rowcount == 1
    (rillet.cwd / "broken").unlink()
    second = rillet("recover", eid, "--executor", "inline", "--json")
    assert second.code == 0, str(second)
    assert second.json["outputs"]["o0"] == EXPECTED
    assert runs(rillet.cwd, 8) == [1, 2, 1, 2, 1, 1, 1, 1]


# Elements 0-3 end at once; 4 and 5 wait for the file `go`.
HELD = '''
import os
import time
from pathlib import Path

from rillet import map_task, task, workflow

HERE = Path(__file__).parent


@task
def score(x: int) -> int:
    runs = HERE / "runs"
    runs.mkdir(exist_ok=True)
    with open(runs / str(x), "a") as f:
        f.write("ran\\n")
    deadline = time.time() + 120
    while x >= 4 and not (HERE / "go").exists() and time.time() < deadline:
        time.sleep(0.05)
    return x * 10


@workflow
def wf(xs: list[int]) -> list[int]:
    return map_task(score)(x=xs)
'''


def test_a_run_killed_mid_map_keeps_the_elements_that_finished(rillet: Rillet) -> None:
    """The processes executor tells the engine which chunks of a running map ended; once
    the map has run a second they are recorded as they end, so a SIGKILL of the whole
    run loses only the elements still running."""
    target = str(write(rillet.cwd / "flow.py", HELD)) + ":wf"
    proc = rillet.start("run", target, "--executor", "processes", "--max-parallel", "2",
                        "--xs", "[0,1,2,3,4,5]")
    try:
        deadline = time.time() + 90
        eid, kept = "", []
        while time.time() < deadline and kept != [0, 1, 2, 3]:
            assert proc.poll() is None, proc.communicate()
            listed = rillet("executions", "list", "--json")
            if listed.code == 0 and listed.json:
                eid = str(listed.json[0]["execution_id"])
                kept = sorted(i for _, i, s, h in element_rows(rillet, eid)
                              if s == "SUCCEEDED" and h)
            time.sleep(0.2)
        assert kept == [0, 1, 2, 3], kept
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert runs(rillet.cwd, 6) == [1, 1, 1, 1, 1, 1]
    (rillet.cwd / "go").touch()
    again = rillet("recover", eid, "--executor", "processes", "--json")
    assert again.code == 0, str(again)
    assert again.json["outputs"]["o0"] == [0, 10, 20, 30, 40, 50]
    assert runs(rillet.cwd, 6) == [1, 1, 1, 1, 2, 2]


def test_a_run_killed_mid_map_on_inline_keeps_the_elements_that_finished(
        rillet: Rillet) -> None:
    """Inline, the map runs in the engine's own thread; the engine's heartbeat thread
    records the elements that finished once the map has run a second, so a SIGKILL in
    the middle of the map loses only the element running (4) and those not reached."""
    target = str(write(rillet.cwd / "flow.py", HELD)) + ":wf"
    proc = rillet.start("run", target, "--executor", "inline", "--xs", "[0,1,2,3,4,5]")
    try:
        deadline = time.time() + 90
        eid, kept = "", []
        while time.time() < deadline and kept != [0, 1, 2, 3]:
            assert proc.poll() is None, proc.communicate()
            listed = rillet("executions", "list", "--json")
            if listed.code == 0 and listed.json:
                eid = str(listed.json[0]["execution_id"])
                kept = sorted(i for _, i, s, h in element_rows(rillet, eid)
                              if s == "SUCCEEDED" and h)
            time.sleep(0.2)
        assert kept == [0, 1, 2, 3], kept
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert runs(rillet.cwd, 6) == [1, 1, 1, 1, 1, 0]
    (rillet.cwd / "go").touch()
    again = rillet("recover", eid, "--executor", "inline", "--json")
    assert again.code == 0, str(again)
    assert again.json["outputs"]["o0"] == [0, 10, 20, 30, 40, 50]
    assert runs(rillet.cwd, 6) == [1, 1, 1, 1, 2, 1]



def test_prune_keeps_the_element_values_a_kept_execution_took_and_frees_a_pruned_ones(
        rillet: Rillet) -> None:
    """Kept element values are known to prune: those a recoverable (kept) execution
    recorded stay, even when the execution that computed them is pruned; once every
    execution that recorded them is pruned, they are reclaimed."""
    target = flow(rillet.cwd)
    (rillet.cwd / "broken").write_text("")
    first = rillet("run", target, "--executor", "inline", "--json")
    assert first.json["status"] == "FAILED", str(first)
    second = rillet("recover", first.json["execution_id"], "--executor", "inline", "--json")
    assert second.json["status"] == "FAILED", str(second)
    eid, rid = first.json["execution_id"], second.json["execution_id"]
    home = Home.open(str(rillet.home))
    try:
        kept = sorted({e.output for e in home.store.map_elements(rid) if e.output})
    finally:
        home.close()
    assert len(kept) == 3  # elements 0, 1 and 2, taken from the first execution

    def age(sql: str, *params: object) -> None:
        with sqlite3.connect(rillet.home / "rillet.db") as db:
            db.execute(sql, params)

    def purged() -> list[bool]:
        with sqlite3.connect(rillet.home / "rillet.db") as db:
            marks = ", ".join("?" * len(kept))
            return [bool(p) for (p,) in db.execute(
                f"SELECT purged FROM artifacts WHERE hash IN ({marks}) ORDER BY hash", kept)]

    two_days_ago = time.time() - 2 * 86400
    age("UPDATE executions SET created_at = ? WHERE id = ?", two_days_ago, eid)
    age("UPDATE artifacts SET created_at = ?", two_days_ago)
    assert rillet("prune", "--older-than", "1d").code == 0
    assert purged() == [False, False, False]  # the kept recovery took them
    (rillet.cwd / "broken").unlink()
    third = rillet("recover", rid, "--executor", "inline", "--json")
    assert third.code == 0, str(third)
    assert runs(rillet.cwd, 8) == [1, 1, 1, 3, 1, 1, 1, 1]  # 0-2 were not run again

    # every execution that recorded them pruned: reclaimed, however new the values
    age("UPDATE executions SET created_at = ?", two_days_ago)
    age("UPDATE artifacts SET created_at = ?", time.time())
    assert rillet("prune", "--older-than", "1d").code == 0
    assert purged() == [True, True, True]

"""``rillet recover EXEC_ID [--from NODE ...]`` (issue 8): a recovery reuses every node
that succeeded unless its code changed since (the file as it is now) or it is named by
``--from`` or lies downstream of one that re-runs; on succeeded, failed, aborted and
crashed executions. Tasks append their name to ``marks.txt``, so what really ran is known."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from issue8_kit import Rillet, edit, write  # noqa: E402

FLOW = '''
import os
import time

from rillet import conditional, task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))


def mark(name: str) -> None:
    with open(os.path.join(HERE, "marks.txt"), "a") as f:
        f.write(name + "\\n")


def flag(name: str) -> bool:
    return os.path.exists(os.path.join(HERE, name))


def double(x: int) -> int:
    return x * 2


def unrelated(x: int) -> int:
    return x


@task
def a(x: int) -> int:
    mark("a")
    return x + 1


@task(cache=True)
def b(x: int) -> int:
    mark("b")
    return double(x)


@task
def c(x: int) -> int:
    mark("c")
    deadline = time.time() + 60
    while flag("block") and time.time() < deadline:
        time.sleep(0.05)
    return x + 100


@task
def d(p: int, q: int) -> int:
    mark("d")
    if flag("fail"):
        raise RuntimeError("d was told to fail")
    return p + q


@task
def e(x: int) -> int:
    mark("e")
    return x * 10


@task
def pos(x: int) -> int:
    mark("pos")
    return x


@task
def neg(x: int) -> int:
    mark("neg")
    return -x


@workflow
def inner(x: int) -> int:
    return e(x=x)


@workflow
def flow(x: int = 1) -> int:
    y = a(x=x)
    total = d(p=b(x=y), q=c(x=x))
    return inner(x=total)


@workflow
def pick(x: int = 1) -> int:
    return conditional("sign").if_(x > 0).then(pos(x=x)).else_().then(neg(x=x))
'''

NODES = {"a", "b", "c", "d", "inner/e", "inner"}


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    write(tmp_path / "flow.py", FLOW)
    return Rillet(tmp_path / "home", tmp_path)


def target(r: Rillet, name: str = "flow") -> str:
    return f"{r.cwd / 'flow.py'}:{name}"


def marks(r: Rillet) -> list[str]:
    """The tasks that ran since the last call."""
    path = r.cwd / "marks.txt"
    if not path.exists():
        return []
    ran = path.read_text().split()
    path.unlink()
    return sorted(ran)


def run(r: Rillet, name: str = "flow", code: int = 0) -> str:
    body = r.run_json(target(r, name))
    assert body["status"] == ("SUCCEEDED" if code == 0 else "FAILED"), body
    return str(body["execution_id"])


def recover(r: Rillet, eid: str, *args: str) -> tuple[dict[str, object], dict[str, dict]]:
    res = r.ok("recover", eid, *args, "--json", "--executor", "inline")
    body = res.json
    assert body["status"] == "SUCCEEDED", body
    shown = r.show(body["execution_id"])
    assert shown["parent_id"] == eid
    return body, {n["node_id"]: n for n in shown["nodes"]}


def check(nodes: dict[str, dict], reran: set[str]) -> None:
    """``reran`` ran again (SUCCEEDED, with an attempt); every other task node RECOVERED."""
    assert set(nodes) == NODES, nodes
    for node_id, n in nodes.items():
        if node_id == "inner":  # the subworkflow's own record follows its node
            assert n["status"] == ("SUCCEEDED" if "inner/e" in reran else "RECOVERED")
        elif node_id in reran:
            assert n["status"] == "SUCCEEDED" and n["attempts"] >= 1, (node_id, n)
        else:
            assert n["status"] == "RECOVERED" and n["attempts"] == 0, (node_id, n)
            assert n["source_execution"] is not None


def test_from_a_node_reruns_it_and_what_follows_on_a_succeeded_execution(
        rillet: Rillet) -> None:
    eid = run(rillet)
    assert marks(rillet) == ["a", "b", "c", "d", "e"]
    body, nodes = recover(rillet, eid, "--from", "b")  # b is cached: it runs anyway
    assert body["outputs"]["o0"] == 1050
    check(nodes, {"b", "d", "inner/e"})
    assert marks(rillet) == ["b", "d", "e"]
    _, nodes = recover(rillet, eid, "--from", "c", "--from", "inner")
    check(nodes, {"c", "d", "inner/e"})
    assert marks(rillet) == ["c", "d", "e"]
    _, nodes = recover(rillet, eid, "--from", "inner")  # a subworkflow: its nodes re-run
    check(nodes, {"inner/e"})
    assert marks(rillet) == ["e"]
    _, nodes = recover(rillet, eid)  # nothing named, nothing changed: all reused
    check(nodes, set())
    assert marks(rillet) == []


def test_an_edited_helper_reruns_its_task_and_what_follows(rillet: Rillet) -> None:
    eid = run(rillet)
    assert marks(rillet) == ["a", "b", "c", "d", "e"]
    edit(rillet.cwd / "flow.py", "def unrelated(x: int) -> int:\n    return x",
         "def unrelated(x: int) -> int:\n    return x + 0")
    _, nodes = recover(rillet, eid)
    check(nodes, set())
    edit(rillet.cwd / "flow.py", "return x * 2", "return x * 3")
    body, nodes = recover(rillet, eid)
    assert body["outputs"]["o0"] == (2 * 3 + 101) * 10  # the code as the file holds it now
    check(nodes, {"b", "d", "inner/e"})
    assert marks(rillet) == ["b", "d", "e"]


def test_a_failed_execution_recovers_from_the_failed_node_or_an_earlier_one(
        rillet: Rillet) -> None:
    (rillet.cwd / "fail").touch()
    eid = run(rillet, code=1)
    assert rillet.statuses(eid)["d"] == "FAILED"
    assert marks(rillet) == ["a", "b", "c", "d"]
    (rillet.cwd / "fail").unlink()
    body, nodes = recover(rillet, eid)
    assert body["outputs"]["o0"] == 1050
    check(nodes, {"d", "inner/e"})
    assert marks(rillet) == ["d", "e"]
    _, nodes = recover(rillet, eid, "--from", "c")
    check(nodes, {"c", "d", "inner/e"})
    assert marks(rillet) == ["c", "d", "e"]


def wait_for(r: Rillet, want: dict[str, str]) -> str:
    """The id of the running execution once its nodes are in the states ``want``."""
    deadline = time.time() + 30
    while time.time() < deadline:
        listed = r("executions", "list", "--json")
        if listed.code == 0 and listed.json:
            eid = listed.json[0]["execution_id"]
            st = r.statuses(eid)
            if all(st.get(k) == v for k, v in want.items()):
                return str(eid)
        time.sleep(0.1)
    raise AssertionError(f"the run never reached {want}")


def stop_while_c_runs(r: Rillet, sig: signal.Signals) -> str:
    """Run the flow, send ``sig`` to ``rillet run`` once a and b are done and c is
    running; the execution's id."""
    (r.cwd / "block").touch()
    proc = r.start("run", target(r), "--executor", "processes",
                   ctrl_c=sig is signal.SIGINT)
    try:
        eid = wait_for(r, {"a": "SUCCEEDED", "b": "SUCCEEDED", "c": "RUNNING"})
        os.kill(proc.pid, sig)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    (r.cwd / "block").unlink()
    return eid


def test_a_crashed_execution_recovers_from_a_node(rillet: Rillet) -> None:
    eid = stop_while_c_runs(rillet, signal.SIGKILL)
    (listed,) = rillet.executions()
    assert listed["status"] == "FAILED"
    assert marks(rillet) == ["a", "b", "c"]
    body, nodes = recover(rillet, eid, "--from", "b")
    assert body["outputs"]["o0"] == 1050
    check(nodes, {"b", "c", "d", "inner/e"})  # c never finished: it runs again
    assert marks(rillet) == ["b", "c", "d", "e"]


def test_an_aborted_execution_recovers(rillet: Rillet) -> None:
    eid = stop_while_c_runs(rillet, signal.SIGINT)  # Ctrl-C
    (listed,) = rillet.executions()
    assert listed["status"] == "ABORTED", listed
    assert marks(rillet) == ["a", "b", "c"]
    body, nodes = recover(rillet, eid)
    assert body["outputs"]["o0"] == 1050
    check(nodes, {"c", "d", "inner/e"})
    assert marks(rillet) == ["c", "d", "e"]


def test_from_a_conditional_reruns_the_arm_it_takes(rillet: Rillet) -> None:
    eid = run(rillet, "pick")
    assert marks(rillet) == ["pos"]
    before = rillet.statuses(eid)
    (sign,) = [k for k in before if k.startswith("sign") and "pos" not in k]
    body, _ = recover(rillet, eid, "--from", sign)
    assert body["outputs"]["o0"] == 1
    assert marks(rillet) == ["pos"]
    _, _ = recover(rillet, eid)
    assert marks(rillet) == []


def test_an_unknown_from_node_exits_2_naming_the_nodes(rillet: Rillet) -> None:
    eid = run(rillet)
    before = rillet.executions()
    r = rillet("recover", eid, "--from", "nope")
    assert r.code == 2, str(r)
    assert "'nope'" in r.err
    for node in ("a", "b", "c", "d", "inner/e"):
        assert node in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert rillet.executions() == before  # nothing started
    r = rillet("recover", "0000000000000000")
    assert r.code == 2 and "0000000000000000" in r.err, str(r)

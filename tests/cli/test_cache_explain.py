"""``rillet cache explain FILE.py:WORKFLOW`` (issue 8): before a run, which nodes
will hit the cache (and where the value came from) and why the others will not,
writing nothing to the home."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from issue8_kit import Rillet, edit, write  # noqa: E402

FLOW = '''
from rillet import Cache, map_task, task, workflow


def scale(x: int) -> int:
    return x * 3


@task(cache=True)
def load(n: int) -> list[int]:
    return list(range(n))


@task(cache=True)
def scaled(xs: list[int]) -> list[int]:
    return [scale(x) for x in xs]


@task(cache=Cache(version="1"))
def total(xs: list[int]) -> int:
    return sum(xs)


@task(cache=True)
def label(name: str) -> str:
    return name.upper()


@task(cache=True)
def combine(parts: list[int]) -> int:
    return sum(parts)


@task(cache=True)
def inc(x: int) -> int:
    return x + 1


@task
def report(t: int, l: str) -> str:
    return f"{l}={t}"


@workflow
def twice(x: int) -> int:
    return inc(x=inc(x=x))


@workflow
def flow(n: int = 5, name: str = "run") -> str:
    xs = load(n=n)
    t = total(xs=scaled(xs=xs))
    bumped = map_task(inc)(x=xs)
    c = combine(parts=[t, twice(x=n), total(xs=bumped)])
    return report(t=c, l=label(name=name))
'''

CACHED_NODES = ["load", "scaled", "total", "map-inc", "total-1", "twice/inc", "twice/inc-1",
                "combine", "label"]


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    write(tmp_path / "flow.py", FLOW)
    return Rillet(tmp_path / "home", tmp_path)


def target(r: Rillet, name: str = "flow") -> str:
    return f"{r.cwd / 'flow.py'}:{name}"


def snapshot(r: Rillet) -> dict[str, Any]:
    """What a command that writes nothing leaves as it was."""
    db = r.home / "rillet.db"
    files = sorted(str(p.relative_to(r.home)) for p in (r.home / "artifacts").rglob("*"))
    st = db.stat()
    return {"db": (st.st_size, st.st_mtime_ns), "artifacts": files,
            "executions": r.executions(), "cache": r.ok("cache", "list", "--json").json}


def first_run(r: Rillet) -> str:
    body = r.run_json(target(r))
    assert body["status"] == "SUCCEEDED", body
    assert body["outputs"]["o0"] == "RUN=" + str(30 + 7 + 15), body
    return str(body["execution_id"])


def test_a_fully_cached_workflow_explains_every_node_as_a_hit_and_writes_nothing(
        rillet: Rillet) -> None:
    eid = first_run(rillet)
    before = snapshot(rillet)
    explained = rillet.explain(target(rillet))
    for node in CACHED_NODES:
        e = explained[node]
        assert e["status"] == "HIT", e
        assert (e["source_execution"], e["source_node"]) == (eid, node), e
        assert f"execution {eid} node {node}" in e["reason"]
    assert explained["report"]["status"] == "NOT CACHED"
    assert "no cache" in explained["report"]["reason"]
    text = rillet.ok("cache", "explain", target(rillet)).out
    rows = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert "HIT" in rows["combine"] and eid in rows["combine"]
    assert "NOT CACHED" in rows["report"]
    time.sleep(0.05)
    assert snapshot(rillet) == before
    # and the run that follows does what was said
    body = rillet.run_json(target(rillet))
    statuses = rillet.statuses(body["execution_id"])
    assert all(statuses[n] == "CACHED" for n in CACHED_NODES), statuses
    assert statuses["report"] == "SUCCEEDED"


def test_a_changed_input_is_named_and_what_depends_on_it_is_unknown(rillet: Rillet) -> None:
    eid = first_run(rillet)
    before = snapshot(rillet)
    explained = rillet.explain(target(rillet), "--n", "6")
    load = explained["load"]
    assert load["status"] == "MISS"
    assert "input(s) n differ" in load["reason"], load
    assert load["source_execution"] == eid  # the closest entry
    for node in ("scaled", "total", "map-inc", "total-1", "combine"):
        assert explained[node]["status"] == "UNKNOWN", explained[node]
    assert "load" in explained["scaled"]["reason"]
    # inc(6) was computed by the first run's second inc: a hit, from there
    assert explained["twice/inc"]["status"] == "HIT"
    assert explained["twice/inc"]["source_node"] == "twice/inc-1"
    assert explained["twice/inc-1"]["status"] == "MISS"
    assert explained["label"]["status"] == "HIT"  # does not depend on n
    explained = rillet.explain(target(rillet), "--name", "other")
    assert explained["label"]["status"] == "MISS"
    assert "input(s) name differ" in explained["label"]["reason"]
    assert all(explained[n]["status"] == "HIT" for n in CACHED_NODES if n != "label")
    assert snapshot(rillet) == before


def test_an_edited_helper_is_named_with_its_file(rillet: Rillet) -> None:
    eid = first_run(rillet)
    edit(rillet.cwd / "flow.py", "return x * 3", "return x * 4")
    explained = rillet.explain(target(rillet))
    e = explained["scaled"]
    assert e["status"] == "MISS"
    assert e["reason"].startswith("code changed"), e
    assert "flow:scale" in e["reason"] and str(rillet.cwd / "flow.py") in e["reason"]
    assert {"name": "flow:scale", "file": str(rillet.cwd / "flow.py"),
            "change": "changed"} in e["changed"]
    assert [c["name"] for c in e["changed"]] == ["flow:scale"]  # only what changed
    assert (e["source_execution"], e["source_node"]) == (eid, "scaled")
    assert explained["load"]["status"] == "HIT"
    assert explained["total"]["status"] == "UNKNOWN"
    assert "scaled" in explained["total"]["reason"]
    assert explained["combine"]["status"] == "UNKNOWN"
    assert explained["total-1"]["status"] == "HIT"
    predicted = {n: e["status"] for n, e in explained.items()}
    body = rillet.run_json(target(rillet))
    assert body["outputs"]["o0"] == "RUN=" + str(40 + 7 + 15)
    ran = rillet.statuses(body["execution_id"])
    assert {n for n, s in ran.items() if s == "CACHED"} == {
        n for n, s in predicted.items() if s == "HIT"}


def test_a_bumped_cache_version_is_named(rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "flow.py", 'Cache(version="1")', 'Cache(version="2")')
    explained = rillet.explain(target(rillet))
    for node in ("total", "total-1"):
        assert explained[node]["status"] == "MISS"
        assert "cache version changed" in explained[node]["reason"]
        assert "1 -> 2" in explained[node]["reason"]
    assert explained["scaled"]["status"] == "HIT"
    assert explained["combine"]["status"] == "UNKNOWN"


def test_an_empty_home_misses_everything_with_a_reason(rillet: Rillet) -> None:
    rillet.home.mkdir()
    write(rillet.cwd / "other.py", "print('unrelated')\n")
    r = rillet("cache", "explain", target(rillet))
    assert r.code == 2 and "no rillet home" in r.err  # a folder, but not a home
    assert list(rillet.home.iterdir()) == []
    rillet.home.rmdir()
    r = rillet("cache", "explain", target(rillet))
    assert r.code == 2 and "no rillet home" in r.err
    assert not rillet.home.exists()  # explaining never creates a home


def test_bad_inputs_and_names_exit_2(rillet: Rillet) -> None:
    first_run(rillet)
    r = rillet("cache", "explain", target(rillet), "--n", "many")
    assert r.code == 2 and "--n" in r.err and "int" in r.err, str(r)
    r = rillet("cache", "explain", target(rillet), "--epochs", "3")
    assert r.code == 2 and "--epochs" in r.err, str(r)
    r = rillet("cache", "explain", target(rillet, "nope"))
    assert r.code == 2 and "flow" in r.err, str(r)


CHAIN = '''
from rillet import task, workflow


@task(cache=True)
def inc(x: int) -> int:
    return x + 1


@workflow
def chain(x: int = 0) -> int:
    for _ in range(200):
        x = inc(x=x)
    return x
'''


def test_a_fully_cached_200_node_workflow_explains_all_hits(tmp_path: Path) -> None:
    write(tmp_path / "chain.py", CHAIN)
    r = Rillet(tmp_path / "home", tmp_path)
    body = r.run_json(f"{tmp_path / 'chain.py'}:chain")
    assert body["outputs"]["o0"] == 200
    started = time.perf_counter()
    explained = r.explain(f"{tmp_path / 'chain.py'}:chain")
    took = time.perf_counter() - started
    assert len(explained) == 200
    assert {e["status"] for e in explained.values()} == {"HIT"}
    assert explained["inc-199"]["source_execution"] == body["execution_id"]
    if os.environ.get("RILLET_REPORT_TIMES"):
        print(f"cache explain, 200 cached nodes, whole process: {took:.3f} s")

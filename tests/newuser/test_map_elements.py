"""Map tasks (issue 12, point 10): metrics logged inside elements carry the element's
index; a map that succeeded under ``min_success_ratio`` shows which elements failed,
with their errors and what they printed."""

from __future__ import annotations

import pytest
from newuser_kit import Rillet, write

import rillet as rl

FLOW = '''
from rillet import current_context, map_task, task, workflow


@task
def score(x: int) -> int:
    print(f"scoring {x}", flush=True)
    current_context().log_metric("x", float(x))
    if x % 4 == 3:
        raise ValueError(f"bad element {x}")
    return x * 10


@task
def xs(n: int) -> list[int]:
    return list(range(n))


@workflow
def wf(n: int = 8) -> list[int | None]:
    return map_task(score, min_success_ratio=0.5)(x=xs(n=n))
'''


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_failed_elements_are_shown_with_errors_and_logs(rillet: Rillet, executor: str) -> None:
    target = str(write(rillet.cwd / "flow.py", FLOW)) + ":wf"
    r = rillet("run", target, "--executor", executor, "--json")
    assert r.code == 0, str(r)
    assert r.json["outputs"]["o0"] == [0, 10, 20, None, 40, 50, 60, None]
    eid = r.json["execution_id"]
    (node,) = [n for n in rillet.show(eid)["nodes"] if n["kind"] == "map"]
    assert node["status"] == "SUCCEEDED"
    failed = node["failed_elements"]
    assert [e["index"] for e in failed] == [3, 7]
    assert failed[0]["error_type"] == "ValueError" and failed[0]["error"] == "bad element 3"
    assert "bad element 3" in failed[0]["traceback"]
    assert failed[0]["logs"] == "scoring 3\n" and failed[1]["logs"] == "scoring 7\n"
    # metrics carry the element that logged them
    assert sorted((m["map_index"], m["value"]) for m in node["metrics"]) == [
        (i, float(i)) for i in range(8)]
    text = rillet.ok("executions", "show", eid).out
    map_id = node["node_id"]
    assert f"{map_id}[3] FAILED: ValueError: bad element 3" in text
    logs = rillet.ok("logs", eid, f"{map_id}[7]")
    assert logs.out == "scoring 7\n" and "bad element 7" in logs.err
    ex = rl.execution(eid, home=str(rillet.home))
    assert [e["index"] for e in ex.node(map_id).failed_elements] == [3, 7]

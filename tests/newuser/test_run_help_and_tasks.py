"""``rillet run FILE.py:WF --help`` lists that workflow's inputs with types and
defaults, and ``rillet run FILE.py:TASK`` runs a single task (issue 12, point 9)."""

from __future__ import annotations

import pytest
from newuser_kit import Rillet, write

FLOW = '''
from datetime import timedelta

from rillet import task, workflow


@task
def scale(xs: list[int], factor: float = 2.0, wait: timedelta = timedelta(seconds=5)) -> float:
    """Multiply the sum."""
    if factor < 0:
        raise ValueError("negative factor")
    return sum(xs) * factor


@workflow
def wf(xs: list[int], factor: float = 2.0, verbose: bool = False) -> float:
    """Scale a list of numbers."""
    return scale(xs=xs, factor=factor)
'''


@pytest.fixture
def flow(rillet: Rillet) -> str:
    return str(write(rillet.cwd / "flow.py", FLOW))


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_workflows_inputs(rillet: Rillet, flow: str, flag: str) -> None:
    r = rillet("run", f"{flow}:wf", flag)
    assert r.code == 0, str(r)
    lines = {line.split()[0]: line for line in r.out.splitlines() if line.startswith("  --")}
    assert set(lines) == {"--xs", "--factor", "--verbose"}
    assert "list[int]" in lines["--xs"] and "required" in lines["--xs"]
    assert "float" in lines["--factor"] and "default 2.0" in lines["--factor"]
    assert "bool" in lines["--verbose"] and "default false" in lines["--verbose"]
    assert "Scale a list of numbers." in r.out and "Outputs: o0: float" in r.out
    assert not rillet.home.exists()  # nothing ran


def test_help_of_a_task_and_of_the_command(rillet: Rillet, flow: str) -> None:
    r = rillet.ok("run", f"{flow}:scale", "--help")
    assert "--wait" in r.out and "timedelta" in r.out and "30m" in r.out
    plain = rillet.ok("run", "--help")
    assert "Usage: rillet run" in plain.out and "--executor" in plain.out


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_single_task_runs_and_is_recorded(rillet: Rillet, flow: str, executor: str) -> None:
    r = rillet("run", f"{flow}:scale", "--xs", "1,2,3", "--factor", "10", "--json",
               "--executor", executor)
    assert r.code == 0, str(r)
    assert r.json["outputs"] == {"o0": 60.0}
    (listed,) = rillet.executions()
    assert listed["workflow"] == "flow:scale"
    assert [n["node_id"] for n in rillet.show(r.json["execution_id"])["nodes"]] == ["scale"]


def test_a_failed_task_run_recovers(rillet: Rillet, flow: str) -> None:
    r = rillet("run", f"{flow}:scale", "--xs", "1", "--factor", "-1", "--json",
               "--executor", "inline")
    assert r.code == 1 and "negative factor" in r.json["error"], str(r)
    again = rillet("recover", r.json["execution_id"], "--factor", "3", "--json",
                   "--executor", "inline")
    assert again.code == 0, str(again)
    assert again.json["outputs"] == {"o0": 3.0}


def test_an_unknown_name_says_workflow_or_task(rillet: Rillet, flow: str) -> None:
    r = rillet("run", f"{flow}:nope")
    assert r.code == 2 and "no workflow or task named 'nope'" in r.err and "wf" in r.err

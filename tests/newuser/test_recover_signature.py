"""Recovery after the workflow changed (issue 12, points 1 and 12): the recorded inputs
are checked against the workflow's interface as it is now, and a missing or misfit
input is named in one line; ``rillet recover ID --INPUT VALUE`` supplies or overrides
inputs; a workflow file that is gone is said to be gone."""

from __future__ import annotations

from newuser_kit import Rillet, edit, write

FLOW = '''
from rillet import task, workflow


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def boom(v: int, fail: bool) -> int:
    if fail:
        raise ValueError("asked to fail")
    return v


@workflow
def wf(x: int = 1, fail: bool = True) -> int:
    return boom(v=add(x=x, y=10), fail=fail)
'''


def failed_run(rillet: Rillet) -> str:
    target = str(write(rillet.cwd / "flow.py", FLOW)) + ":wf"
    r = rillet("run", target, "--x", "5", "--executor", "inline", "--json")
    assert r.code == 1, str(r)
    return str(r.json["execution_id"])


def one_line_error(rillet: Rillet, *args: str) -> str:
    before = rillet.executions()
    r = rillet("recover", *args, "--executor", "inline")
    assert r.code == 2, str(r)
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, str(r)
    assert rillet.executions() == before  # nothing new was recorded
    return r.err


def test_a_required_input_added_since_is_named(rillet: Rillet) -> None:
    eid = failed_run(rillet)
    edit(rillet.cwd / "flow.py", "def wf(x: int = 1, fail: bool = True)",
         "def wf(scale: int, x: int = 1, fail: bool = True)")
    err = one_line_error(rillet, eid)
    assert "'scale'" in err and "--scale" in err and "int" in err


def test_an_input_whose_type_changed_is_named(rillet: Rillet) -> None:
    eid = failed_run(rillet)
    edit(rillet.cwd / "flow.py", "def wf(x: int = 1,", "def wf(x: list[int] = [1],")
    edit(rillet.cwd / "flow.py", "def add(x: int, y: int) -> int:\n    return x + y",
         "def add(x: list[int], y: int) -> int:\n    return sum(x) + y")
    err = one_line_error(rillet, eid)
    assert "'x'" in err and "recorded as int" in err and "list[int]" in err and "--x" in err


def test_recover_supplies_and_overrides_inputs(rillet: Rillet) -> None:
    eid = failed_run(rillet)
    edit(rillet.cwd / "flow.py", "def wf(x: int = 1, fail: bool = True)",
         "def wf(scale: int, x: int = 1, fail: bool = True)")
    edit(rillet.cwd / "flow.py", "return boom(v=add(x=x, y=10), fail=fail)",
         "return boom(v=add(x=x, y=scale), fail=fail)")
    r = rillet("recover", eid, "--scale", "100", "--fail", "false", "--executor", "inline",
               "--json")
    assert r.code == 0, str(r)
    assert r.json["outputs"]["o0"] == 105  # x=5 recorded, scale and fail given now
    shown = rillet.show(r.json["execution_id"])
    assert shown["parent_id"] == eid


def test_recover_refuses_an_unknown_or_unreadable_input(rillet: Rillet) -> None:
    eid = failed_run(rillet)
    assert "--nope" in one_line_error(rillet, eid, "--nope", "1")
    assert "--x" in one_line_error(rillet, eid, "--x", "five")


def test_recovering_an_execution_whose_file_is_gone_says_so(rillet: Rillet) -> None:
    eid = failed_run(rillet)
    (rillet.cwd / "flow.py").unlink()
    err = one_line_error(rillet, eid)
    assert "flow.py" in err and "gone" in err and "ModuleNotFoundError" not in err

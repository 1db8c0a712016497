"""Inputs on the command line (issue 12, points 5 and 12): a repeated scalar input is
refused and a repeated list input appends; a bare ``--n`` says the value is missing;
``--xs 1,2`` is a list; ``--limit -1`` is refused; durations read ``1h``, ``30m``,
``2d`` wherever a ``timedelta`` input is read."""

from __future__ import annotations

import pytest
from newuser_kit import Rillet, write

FLOW = '''
from datetime import timedelta

from rillet import task, workflow


@task
def show(n: int, xs: list[int], wait: timedelta, loud: bool) -> str:
    return f"n={n} xs={xs} wait={wait.total_seconds():g} loud={loud}"


@workflow
def wf(n: int = 1, xs: list[int] = [0], wait: timedelta = timedelta(0),
       loud: bool = False) -> str:
    return show(n=n, xs=xs, wait=wait, loud=loud)
'''


@pytest.fixture
def target(rillet: Rillet) -> str:
    return str(write(rillet.cwd / "flow.py", FLOW)) + ":wf"


def out(rillet: Rillet, target: str, *args: str) -> str:
    r = rillet.ok("run", target, *args, "--executor", "inline", "--json")
    return str(r.json["outputs"]["o0"])


def refused(rillet: Rillet, target: str, *args: str) -> str:
    r = rillet("run", target, *args, "--executor", "inline")
    assert r.code == 2, str(r)
    assert r.out == "" and len(r.err.strip().splitlines()) == 1, str(r)
    assert not rillet.home.exists()  # nothing was created
    return r.err


def test_a_repeated_scalar_input_is_refused(rillet: Rillet, target: str) -> None:
    err = refused(rillet, target, "--n", "5", "--n", "6")
    assert "--n" in err and "2 times" in err and "int" in err


def test_a_repeated_list_input_appends(rillet: Rillet, target: str) -> None:
    assert "xs=[1, 2, 3]" in out(rillet, target, "--xs", "1", "--xs", "2", "--xs=3")


@pytest.mark.parametrize("text", ["1,2", "1, 2", "[1,2]", "[1, 2]"])
def test_a_list_is_json_or_separated_by_commas(rillet: Rillet, target: str,
                                                text: str) -> None:
    assert "xs=[1, 2]" in out(rillet, target, "--xs", text)


def test_a_bad_list_says_how_to_give_one(rillet: Rillet, target: str) -> None:
    err = refused(rillet, target, "--xs", "1,two")
    assert "--xs" in err and "list[int]" in err and "[1,2]" in err


def test_a_bare_input_that_is_not_a_bool_says_the_value_is_missing(
        rillet: Rillet, target: str) -> None:
    err = refused(rillet, target, "--n")
    assert "--n" in err and "no value" in err and "int" in err
    assert "loud=True" in out(rillet, target, "--loud")  # a bare bool is true


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("30m", 1800), ("2d", 172800), ("1h30m", 5400), ("90", 90),
    ("1.5s", 1.5), ("1:00:00", 3600)])
def test_durations_accept_units(rillet: Rillet, target: str, text: str,
                                seconds: float) -> None:
    assert f"wait={seconds:g}" in out(rillet, target, "--wait", text)


def test_a_bad_duration_is_explained(rillet: Rillet, target: str) -> None:
    err = refused(rillet, target, "--wait", "soon")
    assert "--wait" in err and "30m" in err


def test_durations_in_cache_explain_too(rillet: Rillet, target: str) -> None:
    rillet.ok("run", target, "--wait", "2h", "--executor", "inline")
    r = rillet.ok("cache", "explain", target, "--wait", "2h", "--json")
    assert r.json["workflow"].endswith(":wf")
    bad = rillet("cache", "explain", target, "--wait", "later")
    assert bad.code == 2 and "--wait" in bad.err


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_a_limit_below_one_is_refused(rillet: Rillet, target: str, limit: str) -> None:
    rillet.ok("run", target, "--executor", "inline")
    r = rillet("executions", "list", "--limit", limit)
    assert r.code == 2, str(r)
    assert "--limit" in r.err

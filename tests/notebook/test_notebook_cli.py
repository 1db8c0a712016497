"""``rillet run NOTEBOOK.ipynb`` and ``rillet notebook show`` as real subprocesses
(issue 20, points 1 and 5)."""

from __future__ import annotations

from pathlib import Path

from clikit import Cli
from nbkit import STEP_CELL, edit_cell, write_notebook

STEPS = ["load", "clean", "features", "target", "train", "evaluate"]


def test_run_a_notebook_with_inputs_then_show_what_hits(six: Path, cli: Cli) -> None:
    shown = cli.ok("notebook", "show", str(six), "--json").json
    assert [s["name"] for s in shown["steps"]] == STEPS
    assert all(s["cache"] == "MISS" for s in shown["steps"])
    assert shown["workflow"] == "six_ipynb:six"
    assert shown["inputs"]["threshold"] == {"type": "float", "default": 0.5, "value": 0.5}
    steps = {s["name"]: s for s in shown["steps"]}
    assert steps["load"]["cells"] == [5, 6]
    assert steps["evaluate"]["inputs"]["weights"] == {"type": "list[float]", "from": "train"}
    assert steps["evaluate"]["inputs"]["threshold"] == {"type": "float", "from": None}
    assert steps["train"]["outputs"] == {"w": "Any", "weights": "list[float]"}
    assert steps["target"]["after"] == ["features"]
    assert shown["outputs"] == {"w": "train", "pred": "evaluate", "accuracy": "evaluate"}

    ran = cli.ok("run", str(six), "--n", "30", "--json")
    body = ran.json
    assert body["status"] == "SUCCEEDED"
    assert 0.0 <= body["outputs"]["accuracy"] <= 1.0
    assert "warning: " in ran.err and "'%load_ext autoreload'" in ran.err  # named, one line

    after = cli.ok("notebook", "show", str(six), "--n", "30", "--json").json
    assert {s["name"]: s["cache"] for s in after["steps"]} == dict.fromkeys(STEPS, "HIT")
    other = cli.ok("notebook", "show", str(six), "--json").json  # n = 40: load and after
    assert {s["name"]: s["cache"] for s in other["steps"]}["load"] == "MISS"

    edit_cell(six, STEP_CELL["train"], "rcond=None", "rcond=1e-12")
    text = cli.ok("notebook", "show", str(six), "--n", "30").out
    rows = {line.split()[0]: line for line in text.splitlines()[3:-1]}
    assert "HIT" in rows["features"] and "MISS" in rows["train"]
    assert "code changed: six_ipynb:train" in rows["train"]
    assert "UNKNOWN" in rows["evaluate"] and "depends on train" in rows["evaluate"]
    assert text.splitlines()[0] == f"notebook {six}: workflow six_ipynb:six"
    assert text.splitlines()[-1] == "outputs: w <- train, pred <- evaluate, accuracy <- evaluate"


def test_a_bad_notebook_exits_2_with_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = write_notebook(tmp_path / "bad.ipynb", [("y = x + 1", ["step:a"])])
    for args in (("run", str(bad)), ("notebook", "show", str(bad))):
        r = cli(*args)
        assert r.code == 2, str(r)
        assert r.err.strip().splitlines() == [
            f"error: {bad}: cell 1 (step 'a'): variable 'x' is used before any step assigns it"]
    r = cli("run", str(tmp_path / "missing.ipynb"))
    assert r.code == 2 and "no such file" in r.err
    r = cli("notebook", "show", str(tmp_path / "six.py"))
    assert r.code == 2 and "expected NOTEBOOK.ipynb" in r.err


def test_a_failed_notebook_run_is_recovered_with_the_fixed_cell(cli: Cli, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "fix.ipynb", [
        ("n = 3", ["parameters"]),
        ("a = n + 1", ["step:first"]),
        ("b = a / 0", ["step:second"]),
    ])
    failed = cli("run", str(nb), "--json")
    assert failed.code == 1, str(failed)
    exec_id = failed.json["execution_id"]
    edit_cell(nb, 3, "a / 0", "a / 2")
    recovered = cli.ok("recover", exec_id, "--json").json
    assert recovered["status"] == "SUCCEEDED" and recovered["outputs"] == {"b": 2.0}


def test_a_notebook_run_is_recorded_diffed_and_reproduced(cli: Cli, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "rec.ipynb", [
        ("n = 3", ["parameters"]),
        ("a = [i * 2 for i in range(n)]", ["step:first"]),
        ("b = sum(a)", ["step:second"]),
    ])
    first = cli.ok("run", str(nb), "--json").json["execution_id"]
    reproduced = cli.ok("reproduce", first, "--json").json
    assert reproduced["match"] is True and reproduced["status"] == "SUCCEEDED"
    edit_cell(nb, 3, "b = sum(a)", "b = sum(a) + 1")
    second = cli.ok("run", str(nb), "--json").json["execution_id"]
    diff = cli.ok("diff", first, second).out
    assert "--- a/rec.ipynb" in diff and '+    "b = sum(a) + 1"' in diff

"""tune(): each algorithm is Optuna's, each trial a durable execution (issue 18, 1)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from clikit import WORKFLOWS

from rillet import Choice, DefinitionError, Float, Int, tune
from rillet.engine._loading import load_file
from rillet.store._home import Home


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_file(str(WORKFLOWS / "wf_tune.py"))


def _executions(home: str) -> dict[str, Any]:
    h = Home.open(home)
    try:
        return {e.id: e for e in h.store.list_executions(limit=1000)}
    finally:
        h.close()


def test_grid_covers_its_grid_exactly(wf: Any, tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    space = {"x": Float(0.0, 0.4, step=0.2), "y": Int(1, 2), "kind": Choice(["a", "b"])}
    study = tune(wf.bowl, space, objective="loss", algorithm="grid", home=home,
                 executor="inline", name="grid")
    seen = sorted((t.params["x"], t.params["y"], t.params["kind"]) for t in study.trials)
    assert seen == sorted(itertools.product([0.0, 0.2, 0.4], [1, 2], ["a", "b"]))
    assert all(t.state == "COMPLETE" for t in study.trials)
    assert study.best.params == {"x": 0.2, "y": 1, "kind": "a"}
    assert study.best.value == pytest.approx(0.01 + 0.1)
    # each trial is a durable execution of the workflow with the sampled inputs
    executions = _executions(home)
    assert {t.execution_id for t in study.trials} <= set(executions)
    assert all(executions[t.execution_id].status.value == "SUCCEEDED" for t in study.trials)


def test_grid_needs_a_step_for_floats(wf: Any, tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="give Float 'x' a step"):
        tune(wf.bowl, {"x": Float(0.0, 1.0)}, objective="loss", algorithm="grid",
             home=str(tmp_path / "h"), executor="inline")


def _params(study: Any) -> list[dict[str, Any]]:
    return [t.params for t in study.trials]


def test_a_seeded_tpe_run_is_reproducible(wf: Any, tmp_path: Path) -> None:
    space = {"x": Float(0.0, 1.0), "y": Int(0, 5), "kind": Choice(["a", "b"])}
    runs = [tune(wf.bowl, space, objective="loss", algorithm="tpe", seed=7, max_trials=14,
                 home=str(tmp_path / f"h{i}"), executor="inline", name="tpe")
            for i in range(2)]
    assert _params(runs[0]) == _params(runs[1])
    assert [t.value for t in runs[0].trials] == [t.value for t in runs[1].trials]
    other = tune(wf.bowl, space, objective="loss", algorithm="tpe", seed=8, max_trials=14,
                 home=str(tmp_path / "h3"), executor="inline", name="tpe")
    assert _params(other) != _params(runs[0])


@pytest.mark.parametrize("algorithm", ["random", "cmaes", "tpe"])
def test_each_algorithm_samples_within_the_space(wf: Any, tmp_path: Path,
                                                 algorithm: str) -> None:
    space = {"x": Float(0.01, 1.0, log=True), "y": Int(0, 4, step=2)}
    study = tune(wf.bowl, space, objective="loss", algorithm=algorithm, seed=1, max_trials=8,
                 home=str(tmp_path / "h"), executor="inline", name=algorithm)
    assert len(study.trials) == 8
    for t in study.trials:
        assert 0.01 <= t.params["x"] <= 1.0 and t.params["y"] in (0, 2, 4)
        assert t.value == pytest.approx((t.params["x"] - 0.3) ** 2 + 0.1 * t.params["y"])
    assert study.best.value == min(t.value for t in study.trials)
    assert study.record.settings["algorithm"] == algorithm


def test_maximize_picks_the_largest(wf: Any, tmp_path: Path) -> None:
    study = tune(wf.bowl, {"y": Int(0, 3)}, objective="loss", direction="maximize",
                 algorithm="grid", home=str(tmp_path / "h"), executor="inline")
    assert study.best.params == {"y": 3}


def test_multi_objective_gives_the_pareto_front(wf: Any, tmp_path: Path) -> None:
    space = {"x": Float(0.0, 1.0), "y": Int(0, 3)}
    study = tune(wf.bowl, space, objective=["loss", "cost"], direction=["minimize", "minimize"],
                 max_trials=16, seed=3, home=str(tmp_path / "h"), executor="inline",
                 name="multi")
    assert study.record.settings["algorithm"] == "nsga2"
    done = [t for t in study.trials if t.state == "COMPLETE"]
    assert len(done) == 16
    front = {t.number for t in study.best_trials}

    def dominates(a: Any, b: Any) -> bool:
        return all(x <= y for x, y in zip(a.values, b.values)) and a.values != b.values

    expected = {b.number for b in done if not any(dominates(a, b) for a in done)}
    assert front == expected and front
    with pytest.raises(ValueError, match="best_trials"):
        study.best  # noqa: B018


def test_bad_arguments_are_one_line_errors(wf: Any, tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    cases = [
        (dict(space={"nope": Int(0, 1)}, objective="loss"), "not an input of the workflow"),
        (dict(space={"x": Float(0, 1)}, objective="loss", algorithm="anneal"),
         "unknown algorithm 'anneal'"),
        (dict(space={"x": Float(0, 1)}, objective=["loss", "cost"], direction="up"),
         "give 'minimize' or 'maximize'"),
        (dict(space={"x": Float(0, 1)}, objective=["loss", "cost"], early_stopping="median"),
         "early stopping works on one objective"),
        (dict(space={"x": Float(0, 1)}, objective="loss", parallel=2, executor="inline"),
         "parallel trials need the 'processes' executor"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DefinitionError, match=message) as info:
            tune(wf.bowl, home=home, name="bad", **kwargs)
        assert "\n" not in str(info.value)


def test_a_missing_metric_fails_the_trial_with_its_name(wf: Any, tmp_path: Path) -> None:
    study = tune(wf.bowl, {"x": Float(0, 1)}, objective="accuracy", max_trials=2,
                 home=str(tmp_path / "h"), executor="inline")
    assert [t.state for t in study.trials] == ["FAIL", "FAIL"]
    assert "logged no metric 'accuracy'" in (study.trials[0].error or "")
    with pytest.raises(ValueError, match="no COMPLETE trial"):
        study.best  # noqa: B018

"""A notebook becomes a workflow: steps from tags, inputs and outputs from the code,
the same values as a real kernel running it top to bottom (issue 20, points 1-4)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nbkit import node_outputs, read_marks, run_with_kernel, write_notebook

import rillet
import rillet.notebook
from rillet.notebook import NotebookWarning


def load_six(path: Path) -> rillet.notebook.NotebookWorkflow:
    with pytest.warns(NotebookWarning) as caught:
        wf = rillet.notebook.load(path)
    texts = sorted(str(w.message) for w in caught)
    assert len(texts) == 2
    assert "cell 5 (step 'load')" in texts[0] and "'%load_ext autoreload'" in texts[0]
    assert "cell 6 (step 'load')" in texts[1] and "'!echo loaded'" in texts[1]
    return wf


def test_the_dag_inputs_and_outputs_are_as_written(six: Path) -> None:
    wf = load_six(six)
    assert isinstance(wf, rillet.Workflow)
    assert wf.name == "six_ipynb:six"
    assert wf.interface.inputs == {"n": int, "seed": int, "threshold": float}
    assert wf.interface.defaults == {"n": 40, "seed": 7, "threshold": 0.5}
    steps = {s.name: s for s in wf.plan.steps}
    assert [s.name for s in wf.plan.steps] == ["load", "clean", "features", "target", "train",
                                               "evaluate"]
    assert steps["load"].numbers == [5, 6]  # the untagged cell belongs to load
    expected_inputs = {
        "load": {"seed": None, "n": None},
        "clean": {"raw": "load"},
        "features": {"clean_df": "clean"},
        "target": {"clean_df": "clean"},
        "train": {"features": "features", "labels": "target"},
        "evaluate": {"features": "features", "weights": "train", "threshold": None,
                     "labels": "target"},
    }
    assert {name: s.inputs for name, s in steps.items()} == expected_inputs
    assert {name: s.outputs for name, s in steps.items()} == {
        "load": ["raw"], "clean": ["clean_df"], "features": ["features"],
        "target": ["labels"], "train": ["w", "weights"], "evaluate": ["pred", "accuracy"],
    }
    assert wf.plan.outputs == {"w": "train", "pred": "evaluate", "accuracy": "evaluate"}
    # The compiled DAG: bindings follow the data, after: adds an ordering without data.
    nodes = {n.id: n for n in wf.spec.nodes}
    assert set(nodes) == set(steps)
    assert nodes["target"].upstream == ("clean", "features")
    assert {k: (b.kind, b.ref, b.output) for k, b in nodes["target"].inputs.items()} == {
        "clean_df": ("node", "clean", "clean_df")}
    assert {k: (b.kind, b.ref) for k, b in nodes["evaluate"].inputs.items()} == {
        "features": ("node", "features"), "weights": ("node", "train"),
        "threshold": ("input", "threshold"), "labels": ("node", "target")}
    # Typed from annotations, else Any (stored in the value's own format, or pickled).
    train = nodes["train"].entity.interface
    assert train.outputs["weights"] == list[float]
    assert nodes["clean"].entity.interface.outputs["clean_df"] is pd.DataFrame
    assert nodes["features"].entity.interface.outputs["features"] is __import__("typing").Any
    assert nodes["evaluate"].entity.interface.inputs["threshold"] is float
    # Every step is a cached task named module:step.
    assert all(n.entity.cache is not None for n in nodes.values())
    assert nodes["load"].entity.name == "six_ipynb:load"


def test_outputs_equal_a_kernel_running_the_notebook_top_to_bottom(
        six: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NB_MARKS", raising=False)
    wf = load_six(six)
    names = ["raw", "clean_df", "features", "labels", "w", "weights", "pred", "accuracy"]
    kernel = run_with_kernel(six, names, tmp_path)
    home = tmp_path / "home"
    ex = rillet.run(wf, home=str(home), executor="processes")
    assert ex.status.value == "SUCCEEDED", ex.error
    produced = {name: value for outs in node_outputs(home, ex.id, wf).values()
                for name, value in outs.items()}
    assert sorted(produced) == sorted(names)
    for name in names:
        _assert_same(produced[name], kernel[name], name)
    assert ex.outputs["accuracy"] == kernel["accuracy"]
    np.testing.assert_array_equal(ex.outputs["pred"], kernel["pred"])
    direct = wf()  # a direct call: the same values, in memory
    assert direct.accuracy == kernel["accuracy"]
    # current_context() inside a step: metrics and params are recorded per node.
    nodes = {n.id: n for n in ex.nodes}
    assert [m["value"] for m in nodes["evaluate"].metrics if m["key"] == "accuracy"] == [
        kernel["accuracy"]]
    assert nodes["evaluate"].params == {"threshold": 0.5}
    assert [m["value"] for m in nodes["train"].metrics] == [float(len(kernel["labels"]))]


def _assert_same(got: object, want: object, name: str) -> None:
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, obj=name)  # type: ignore[arg-type]
    elif isinstance(want, np.ndarray):
        np.testing.assert_array_equal(got, want, err_msg=name)  # type: ignore[arg-type]
    else:
        assert got == want, name


def test_independent_steps_run_in_parallel_and_after_orders_them(
        six: Path, tmp_path: Path, marks: Path) -> None:
    wf = load_six(six)
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="processes")
    assert ex.status.value == "SUCCEEDED", ex.error
    nodes = {n.id: n for n in ex.nodes}
    # target needs only clean's data, but its after: tag makes it wait for features.
    assert nodes["target"].started_at >= nodes["features"].ended_at
    assert read_marks(marks) == sorted(["load", "clean", "features", "target", "train",
                                        "evaluate"])


def test_without_after_the_independent_steps_overlap(tmp_path: Path) -> None:
    """Two steps that share no data run at once on the process executor."""
    nb = write_notebook(tmp_path / "par.ipynb", [
        ("import time", ["imports"]),
        ("n = 1", ["parameters"]),
        ("t0 = time.time()\ntime.sleep(2.5)\na = n + 1\nta = (t0, time.time())", ["step:left"]),
        ("t0 = time.time()\ntime.sleep(2.5)\nb = n + 2\ntb = (t0, time.time())",
         ["step:right"]),
        ("total = a + b", ["step:join"]),
    ])
    wf = rillet.notebook.load(nb)
    assert {s.name: s.inputs for s in wf.plan.steps}["join"] == {"a": "left", "b": "right"}
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="processes", max_parallel=2)
    assert ex.status.value == "SUCCEEDED", ex.error
    ta, tb = ex.outputs["ta"], ex.outputs["tb"]
    assert ta[0] < tb[1] and tb[0] < ta[1], (ta, tb)  # the two intervals overlap
    assert ex.outputs["total"] == 5


def test_unannotated_values_without_a_format_are_pickled_with_a_warning_naming_them(
        tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "pk.ipynb", [
        ("class Box:\n    def __init__(self, v):\n        self.v = v\n", ["functions"]),
        ("box = Box(3)\nplain = 4", ["step:make"]),
        ("value = box.v + plain", ["step:use"]),
    ])
    wf = rillet.notebook.load(nb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert wf().value == 7
        wf()
    ours = [str(w.message) for w in caught if issubclass(w.category, NotebookWarning)]
    assert len(ours) == 1  # once, naming the step and the variable; not for plain ints
    assert "step 'make' output 'box'" in ours[0] and "pk_ipynb.Box" in ours[0]


def test_loading_the_same_notebook_again_gives_the_same_workflow(six: Path) -> None:
    first = load_six(six)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotebookWarning)
        assert rillet.notebook.load(six) is first

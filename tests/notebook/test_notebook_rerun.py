"""The cache follows the cells: an edited cell re-runs its step and what depends on it,
counted by side effects; a comment changes nothing (issue 20)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from nbkit import STEP_CELL, edit_cell, read_marks

import rillet
import rillet.notebook
from rillet.notebook import NotebookWarning

ALL = sorted(STEP_CELL)


def run(path: Path, home: Path, executor: str = "processes", **inputs: object) -> rillet.Execution:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotebookWarning)
        wf = rillet.notebook.load(path)
    ex = rillet.run(wf, home=str(home), executor=executor, **inputs)
    assert ex.status.value == "SUCCEEDED", ex.error
    return ex


@pytest.mark.parametrize("executor", ["processes", "inline"])
def test_an_edited_cell_reruns_its_step_and_downstream_only(
        six: Path, tmp_path: Path, marks: Path, executor: str) -> None:
    home = tmp_path / "home"
    first = run(six, home, executor)
    assert read_marks(marks) == ALL
    run(six, home, executor)
    assert read_marks(marks) == []  # nothing changed: every step is a cache hit
    # A comment and blank lines in a step's cell: the syntax tree is the same.
    edit_cell(six, STEP_CELL["clean"], "_mark('clean')", "# tidy\n\n_mark('clean')  # note")
    again = run(six, home, executor)
    assert read_marks(marks) == []
    assert {n.id: n.status.value for n in again.nodes} == dict.fromkeys(ALL, "CACHED")
    # Code that changes features' values: features re-runs, then train and evaluate,
    # which use them; target runs after features (after:) but reads nothing from it.
    edit_cell(six, STEP_CELL["features"], "zscore(clean_df.y.to_numpy())",
              "zscore(clean_df.y.to_numpy()) * 2")
    edited = run(six, home, executor)
    assert read_marks(marks) == ["evaluate", "features", "train"]
    statuses = {n.id: n.status.value for n in edited.nodes}
    assert statuses == {"load": "CACHED", "clean": "CACHED", "target": "CACHED",
                        "features": "SUCCEEDED", "train": "SUCCEEDED", "evaluate": "SUCCEEDED"}
    assert edited.outputs["accuracy"] != first.outputs["accuracy"] or \
        list(edited.outputs["w"]) != list(first.outputs["w"])


def test_an_edit_that_keeps_the_values_stops_at_its_step(
        six: Path, tmp_path: Path, marks: Path) -> None:
    home = tmp_path / "home"
    run(six, home)
    read_marks(marks)
    edit_cell(six, STEP_CELL["clean"], "reset_index(drop=True)",
              "reset_index(drop=True).copy()")
    run(six, home)
    assert read_marks(marks) == ["clean"]  # its output is the same value: the rest hit


def test_editing_a_helper_reruns_only_the_steps_that_use_it(
        six: Path, tmp_path: Path, marks: Path) -> None:
    home = tmp_path / "home"
    run(six, home)
    read_marks(marks)
    edit_cell(six, 3, "return (a - a.mean()) / a.std()", "return (a - a.mean()) / a.std(ddof=1)")
    run(six, home)
    assert read_marks(marks) == ["evaluate", "features", "train"]


def test_a_parameter_given_another_value_reruns_the_steps_that_read_it(
        six: Path, tmp_path: Path, marks: Path) -> None:
    home = tmp_path / "home"
    run(six, home)
    read_marks(marks)
    run(six, home, threshold=0.25)
    assert read_marks(marks) == ["evaluate"]

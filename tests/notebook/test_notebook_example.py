"""examples/notebook_pipeline.ipynb: a kernel running it top to bottom and rillet running
it as a workflow agree; an edited cell re-runs its step and downstream only."""

from __future__ import annotations

import shutil
from pathlib import Path

from nbkit import edit_cell, run_with_kernel

import rillet
import rillet.notebook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notebook_pipeline.ipynb"


def test_the_example_notebook_runs_as_a_workflow(tmp_path: Path) -> None:
    nb = tmp_path / "notebook_pipeline.ipynb"
    shutil.copy(EXAMPLE, nb)
    kernel = run_with_kernel(nb, ["rmse", "r2", "weights"], tmp_path)
    assert kernel["r2"] > 0.95  # the data is linear with noise: the fit is good
    wf = rillet.notebook.load(nb)
    assert [s.name for s in wf.plan.steps] == ["write_csv", "load", "clean", "featurize",
                                               "train", "evaluate"]
    assert wf.plan.outputs == {"rmse": "evaluate", "r2": "evaluate"}
    home = tmp_path / "home"
    ex = rillet.run(wf, home=str(home))
    assert ex.status.value == "SUCCEEDED", ex.error
    assert ex.outputs == {"rmse": kernel["rmse"], "r2": kernel["r2"]}
    nodes = {n.id: n for n in ex.nodes}
    assert [m["value"] for m in nodes["evaluate"].metrics if m["key"] == "rmse"] == [
        kernel["rmse"]]
    assert len([m for m in nodes["train"].metrics if m["key"] == "train_mse"]) == 10

    edit_cell(nb, 11, "if epoch % 20 == 0:", "if epoch % 40 == 0:")  # logging only
    ex = rillet.run(rillet.notebook.load(nb), home=str(home))
    statuses = {n.id: n.status.value for n in ex.nodes}
    assert statuses == {"write_csv": "CACHED", "load": "CACHED", "clean": "CACHED",
                        "featurize": "CACHED", "train": "SUCCEEDED", "evaluate": "CACHED"}

"""A notebook step's output registered as a model, and loaded in another process like
any task output (issue 20, point 4, with the models issue)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

from nbkit import write_notebook

import rillet
import rillet.notebook
from rillet import models


def test_a_step_output_is_registered_and_served_as_a_model(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "fit.ipynb", [
        ("class Line:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n\n"
         "    def predict(self, xs):\n        return [self.a * x + self.b for x in xs]",
         ["functions"]),
        ("slope: float = 2.0", ["parameters"]),
        ("xs = [0.0, 1.0, 2.0, 3.0]\nys = [slope * x + 1.0 for x in xs]", ["step:data"]),
        ("n = len(xs)\nmx, my = sum(xs) / n, sum(ys) / n\n"
         "a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / "
         "sum((x - mx) ** 2 for x in xs)\n"
         "model = Line(a, my - a * mx)", ["step:fit"]),
    ])
    home = tmp_path / "home"
    wf = rillet.notebook.load(nb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Line has no format of its own: pickled, warned
        ex = rillet.run(wf, home=str(home), executor="inline")
    assert ex.status.value == "SUCCEEDED", ex.error
    version = models.register("line", execution=ex.id, node="fit", output="model",
                              alias="production", home=str(home))
    assert version == 1
    assert models.load("line@production", home=str(home)).predict([10.0]) == [21.0]
    # A fresh process finds the notebook's class through the execution's source.
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "from rillet import models\n"
            f"print(models.load('line@production', home={str(home)!r}).predict([5.0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[11.0]"

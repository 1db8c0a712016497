"""Issue 20 with the platform: ``rillet register nb.ipynb`` packs the notebook into a
bundle, the server describes it (its steps and workflow), and a worker launched on it
loads the notebook from the unpacked bundle and runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from serverkit import Served, load_model_in_a_fresh_process

from rillet import Remote
from rillet.platform._bundle import pack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebook"))
from nbkit import write_notebook  # noqa: E402

CELLS = [
    ("import math", ["imports"]),
    ("def square(x):\n    return x * x", ["functions"]),
    ("n: int = 3\nscale: float = 1.5", ["parameters"]),
    ("xs = [square(i) for i in range(n)]", ["step:make"]),
    "the notebook's prose",
    ("total: int = sum(xs)", ["step:add"]),
    ("root: float = scale * math.sqrt(total)", ["step:finish", "after:add"]),
]


def test_a_notebook_packs_as_a_module_of_the_bundle(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "stats.ipynb", CELLS)
    bundle = pack(str(nb))
    assert bundle.modules == ("stats_ipynb",)
    assert pack(str(nb)).digest == bundle.digest  # deterministic, like a .py file
    # In a plain folder, a notebook at the top is a module beside the .py files.
    (tmp_path / "helpers.py").write_text("x = 1\n")
    assert pack(str(tmp_path)).modules == ("helpers", "stats_ipynb")


def test_register_a_notebook_launch_it_and_a_worker_runs_it(with_workers: Served,
                                                            tmp_path: Path) -> None:
    from rillet.cli._app import cli

    nb = write_notebook(tmp_path / "stats.ipynb", CELLS)
    r = CliRunner().invoke(cli, ["project", "create", "notebooks", "--server",
                                 with_workers.url])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["register", str(nb), "--server", with_workers.url,
                                 "--project", "notebooks", "--json"])
    assert r.exit_code == 0, r.output
    found = {e["name"]: e for e in json.loads(r.output)}
    assert set(found) == {"stats_ipynb.stats", "stats_ipynb.make", "stats_ipynb.add",
                          "stats_ipynb.finish"}
    wf = found["stats_ipynb.stats"]
    assert wf["kind"] == "workflow"
    assert set(wf["interface"]["inputs"]) == {"n", "scale"}
    assert wf["interface"]["defaults"] == {"n": 3, "scale": 1.5}
    assert set(wf["interface"]["outputs"]) == {"root"}
    # The registered version runs its own bundle: an edit here after registering is
    # not what the worker runs.
    write_notebook(nb, [*CELLS[:-1], ("root: float = -1.0", ["step:finish", "after:add"])])
    with Remote(with_workers.url) as remote:
        done = remote.launch("stats_ipynb.stats", project="notebooks", n=4,
                             scale=2.0).wait(timeout=120)
        assert done.status.value == "SUCCEEDED", done.record.error
        assert done.output("root") == pytest.approx(2.0 * 14 ** 0.5)
        nodes = {n.id: n.status.value for n in done.nodes}
        assert nodes == {"make": "SUCCEEDED", "add": "SUCCEEDED", "finish": "SUCCEEDED"}
        assert done.record.source.startswith("bundle:")
        # The defaults of the parameters cell are the launch's defaults.
        again = remote.launch("stats_ipynb.stats", project="notebooks").wait(timeout=120)
        assert again.status.value == "SUCCEEDED", again.record.error
        assert again.output("root") == pytest.approx(1.5 * 5 ** 0.5)
        bad = with_workers.client.post("/api/v1/launch", json={
            "name": "stats_ipynb.stats", "project": "notebooks", "inputs": {"n": "four"}})
        assert bad.status_code == 400 and "n" in bad.json()["error"], bad.text


def test_a_model_from_a_registered_notebook_loads_on_the_servers_home(
        with_workers: Served, tmp_path: Path) -> None:
    """A step's output (a dataclass defined in the functions cell) registered as a model
    through the server loads in a fresh process on the server's home: the registry
    unpacks the execution's bundle and loads its notebook to find the class."""
    nb = write_notebook(tmp_path / "liner.ipynb", [
        ("from dataclasses import dataclass", ["imports"]),
        ("@dataclass\nclass Line:\n    slope: float\n    intercept: float\n\n"
         "    def predict(self, xs):\n        return [self.slope * x + self.intercept "
         "for x in xs]", ["functions"]),
        ("slope: float = 2.0", ["parameters"]),
        ("model: Line = Line(slope, 1.0)", ["step:fit"]),
    ])
    with Remote(with_workers.url) as remote:
        remote.create_project("nbmodels")
        remote.register(str(nb), project="nbmodels")
        done = remote.launch("liner_ipynb.liner", project="nbmodels",
                             slope=3.0).wait(timeout=120)
        assert done.status.value == "SUCCEEDED", done.record.error
        assert remote.models_in("nbmodels").register("liner", execution=done.id, node="fit",
                                                     output="model") == 1
    shown = load_model_in_a_fresh_process(with_workers, "liner/1",
                                          "type(m).__name__, m.predict([2.0])", tmp_path,
                                          project="nbmodels")
    assert shown == "Line [7.0]"

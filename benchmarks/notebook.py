"""Notebooks as workflows (issue 20): compiling a notebook, and re-running one after an edit.

Workloads:

    compile   ``rillet.notebook.load`` of a 200-code-cell notebook (an imports, two
              functions and a parameters cell, 49 steps of 4 cells each reading the
              step before), compiled afresh each round: read with nbformat, syntax
              trees, data flow, generated module, tasks, workflow. Baseline (plain
              column): ``nbformat.read`` plus ``compile()`` of every cell, the floor of
              reading and parsing it. Target: <= 0.3 s.
    rerun     a 10-step chain, each step sleeping 0.2 s (work), run with
              ``rillet.run`` (processes) in a fresh home; then one middle cell is edited
              (same value, other code) and the notebook run again: the steps that run
              again (target: 1) and the second run's wall time. Baseline (plain
              column): the first, full run. Peer: ``nbclient`` running the edited
              notebook top to bottom in a fresh kernel, what "Restart & Run All" costs.

    python benchmarks/notebook.py [--workloads compile,rerun] [--rounds 5]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

WORKLOADS = ("compile", "rerun")
TARGETS = {"compile": 0.3, "rerun_steps": 1}
STEPS_200 = 49  # 4 setup cells + 49 steps x 4 cells = 200 code cells


def notebook_200(path: Path) -> Path:
    nb = new_notebook()
    cells = [
        ("import math\nimport statistics", ["imports"]),
        ("def scale(v, k):\n    return [x * k for x in v]", ["functions"]),
        ("def clip(v, top):\n    return [min(x, top) for x in v]", []),
        ("n = 10\nk: float = 1.5", ["parameters"]),
    ]
    prev = "base"
    for i in range(STEPS_200):
        cur = f"v{i}"
        first = f"{cur} = [x + 1 for x in range(n)]" if i == 0 else f"{cur} = scale({prev}, k)"
        cells += [
            (f"# step {i}\n{first}", [f"step:s{i}"]),
            (f"{cur}_sum = sum({cur})\nif {cur}_sum > 1e9:\n    {cur} = [1.0] * n", []),
            (f"{cur}_mean = statistics.fmean({cur})", []),
            (f"{cur}_top = max({cur}) if {cur} else math.nan", []),
        ]
        prev = cur
    for source, tags in cells:
        cell = new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    assert len(nb.cells) == 200
    nbformat.write(nb, str(path))
    return path


def notebook_chain(path: Path, steps: int = 10) -> Path:
    nb = new_notebook()
    cells = [("import time", ["imports"]), ("start = 1", ["parameters"])]
    prev = "start"
    for i in range(steps):
        cells.append((f"time.sleep(0.2)\nx{i} = {prev} + 1", [f"step:s{i}"]))
        prev = f"x{i}"
    for source, tags in cells:
        cell = new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def bench_compile(rounds: int, folder: Path) -> dict[str, Any]:
    import rillet.notebook

    path = notebook_200(folder / "two_hundred.ipynb")

    def plain() -> None:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            compile(cell.source, "<cell>", "exec")

    def ours() -> None:
        sys.modules.pop("two_hundred_ipynb", None)  # compile afresh, not the loaded module
        wf = rillet.notebook.load(path)
        assert len(wf.spec.nodes) == STEPS_200

    base, value = [], []
    for _ in range(rounds):
        base.append(h.once(plain))
        value.append(h.once(ours))
    return {"compile": statistics.median(value), "compile_plain": statistics.median(base)}


def bench_rerun(folder: Path) -> dict[str, Any]:
    import rillet
    import rillet.notebook

    path = notebook_chain(folder / "chain10.ipynb")
    home = folder / "home"
    t0 = time.perf_counter()
    first = rillet.run(rillet.notebook.load(path), home=str(home))
    full = time.perf_counter() - t0
    assert first.status.value == "SUCCEEDED", first.error
    nb = nbformat.read(str(path), as_version=4)
    (cell,) = [c for c in nb.cells if "x3 = x2 + 1" in c.source]
    cell.source = cell.source.replace("x3 = x2 + 1", "x3 = 1 + x2")
    nbformat.write(nb, str(path))
    t0 = time.perf_counter()
    again = rillet.run(rillet.notebook.load(path), home=str(home))
    rerun = time.perf_counter() - t0
    assert again.status.value == "SUCCEEDED", again.error
    reran = [n.id for n in again.nodes if n.status.value == "SUCCEEDED"]
    from nbclient import NotebookClient

    t0 = time.perf_counter()
    NotebookClient(nbformat.read(str(path), as_version=4), timeout=120,
                   kernel_name="python3").execute()
    kernel = time.perf_counter() - t0
    return {"rerun": rerun, "rerun_full": full, "rerun_steps": len(reran),
            "rerun_which": reran, "nbclient": kernel}


def main(argv: list[str] | None = None) -> int:
    args, names = h.script_args(
        argv, __doc__, workloads=WORKLOADS, profiles=(), rounds=5,
        peers="(nbclient is always measured beside the rerun)", results="notebook.json",
    )
    machine = h.machine_info()
    h.print_machine("rillet notebook benchmark", machine)
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "compile" in names:
            res.update(bench_compile(args.rounds, Path(tmp)))
        if "rerun" in names:
            res.update(bench_rerun(Path(tmp)))
    rows = []
    if "compile" in res:
        rows.append(h.Row("compile 200-cell notebook", "s", res["compile"], TARGETS["compile"],
                          baseline=res["compile_plain"],
                          note="plain: nbformat.read + compile() of each cell"))
    if "rerun" in res:
        rows.append(h.Row("rerun after editing 1 of 10 steps", "steps", res["rerun_steps"],
                          TARGETS["rerun_steps"], note=f"re-ran {res['rerun_which']}"))
        rows.append(h.Row("rerun after editing 1 of 10 steps", "s", res["rerun"],
                          baseline=res["rerun_full"], peers={"nbclient": res["nbclient"]},
                          note="plain: the first, full run; nbclient: Restart & Run All"))
    print()
    h.print_table(rows, peers=["nbclient"] if "rerun" in res else [])
    h.write_results(args.json, {"machine": machine, **res}, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

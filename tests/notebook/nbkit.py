"""Writing notebooks for the tests, running them with a real kernel (nbclient), and
reading a durable execution's node outputs back."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

Cells = list[tuple[str, list[str]] | str]  # (code, tags), or a markdown string


def write_notebook(path: Path, cells: Cells) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for cell in cells:
        if isinstance(cell, str):
            nb.cells.append(new_markdown_cell(cell))
            continue
        source, tags = cell
        code = new_code_cell(source)
        if tags:
            code.metadata["tags"] = list(tags)
        nb.cells.append(code)
    nbformat.write(nb, str(path))
    return path


def edit_cell(path: Path, number: int, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in cell ``number`` (1-based) of the notebook."""
    nb = nbformat.read(str(path), as_version=4)
    cell = nb.cells[number - 1]
    assert old in cell.source, cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, str(path))


def run_with_kernel(path: Path, names: list[str], workdir: Path) -> dict[str, Any]:
    """Run the notebook top to bottom in a real IPython kernel; the values of ``names``
    at the end (pickled out of the kernel by one more cell)."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    dump = workdir / "kernel-values.pkl"
    nb.cells.append(new_code_cell(
        "import pickle as _p\n"
        f"with open({str(dump)!r}, 'wb') as _f:\n"
        f"    _p.dump({{_k: globals()[_k] for _k in {names!r}}}, _f)\n"
    ))
    managers: list[Any] = []

    class Client(NotebookClient):  # type: ignore[misc]
        """Gives a loaded machine 60 s (not 5) for the kernel to shut down, and keeps the
        kernel manager so the kernel's process is reaped here: jupyter_client gives up
        waiting for a killed kernel after 5 s and drops its Popen unreaped, and a later
        test's garbage collection raised "ResourceWarning: subprocess ... is still running"."""

        def create_kernel_manager(self) -> Any:
            km = super().create_kernel_manager()
            km.shutdown_wait_time = 60.0
            managers.append(km)
            return km

    client = Client(nb, timeout=120, kernel_name="python3",
                    resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    finally:
        for km in managers:
            process = getattr(km.provisioner, "process", None)
            if process is not None:
                process.wait(timeout=120)
    with open(dump, "rb") as fh:
        values: dict[str, Any] = pickle.load(fh)
    return values


def node_outputs(home: Path, execution_id: str, workflow: Any) -> dict[str, dict[str, Any]]:
    """Every node's outputs of a durable execution, as Python values."""
    from rillet.engine._values import ValueStore
    from rillet.store._home import Home

    h = Home.open(str(home), create=False)
    values = ValueStore(h.store, h.artifacts)
    out: dict[str, dict[str, Any]] = {}
    for record in h.store.nodes(execution_id):
        types = workflow.spec.node(record.node_id).outputs
        out[record.node_id] = {name: values.load(digest, types.get(name))
                               for name, digest in record.outputs.items()}
    return out


# The six-step notebook of the tests: a parameters cell, an after: tag, magic and shell
# lines, an untagged cell, a markdown cell; every step appends its name to the file
# named by $NB_MARKS when it runs, so re-runs are counted by their side effects.
SIX: Cells = [
    "# Six steps\nA notebook that the tests turn into a workflow.",
    ("import os\nimport numpy as np\nimport pandas as pd\nfrom rillet import current_context",
     ["imports"]),
    ("def zscore(a):\n    return (a - a.mean()) / a.std()\n\n\n"
     "def _mark(step):\n    path = os.environ.get('NB_MARKS')\n    if path:\n"
     "        with open(path, 'a') as fh:\n            fh.write(step + '\\n')",
     ["functions"]),
    ("n = 40\nseed = 7\nthreshold: float = 0.5", ["parameters"]),
    ("%load_ext autoreload\n_rng = np.random.default_rng(seed)\n"
     "raw = pd.DataFrame({'x': _rng.normal(size=n), 'y': _rng.normal(size=n)})\n"
     "_mark('load')", ["step:load"]),
    ("# an untagged cell: it belongs to load\nraw['x'] = raw['x'] * 2\n!echo loaded", []),
    ("clean_df: pd.DataFrame = raw[raw.x.abs() < 3].reset_index(drop=True)\n_mark('clean')",
     ["step:clean"]),
    ("features = np.column_stack([zscore(clean_df.x.to_numpy()), "
     "zscore(clean_df.y.to_numpy())])\n_mark('features')", ["step:features"]),
    ("labels = (clean_df.y > 0).astype(int).to_numpy()\n_mark('target')",
     ["step:target", "after:features"]),
    ("w, *_ = np.linalg.lstsq(features, labels, rcond=None)\n"
     "weights: list[float] = [float(v) for v in w]\n"
     "current_context().log_metric('n_train', float(len(labels)))\n_mark('train')",
     ["step:train"]),
    ("pred = features @ np.array(weights)\n"
     "accuracy = float(((pred > threshold).astype(int) == labels).mean())\n"
     "current_context().log_metric('accuracy', accuracy)\n"
     "current_context().log_param('threshold', threshold)\n_mark('evaluate')",
     ["step:evaluate"]),
]
STEP_CELL = {"load": 5, "clean": 7, "features": 8, "target": 9, "train": 10, "evaluate": 11}


def read_marks(path: Path) -> list[str]:
    if not path.exists():
        return []
    steps = path.read_text().split()
    path.unlink()
    return sorted(steps)

"""Issue 20 on the shared platform: a notebook registered as a version (its bundle in
SeaweedFS S3, its entities in PostgreSQL) is run by a `rillet worker` process with the
processes executor: the worker unpacks the bundle, loads the notebook from it, and its
executor processes find each step again by the notebook's path and source digest."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from platformkit import start_worker, wait_until

from rillet.engine._values import ValueStore
from rillet.platform import launch, register
from rillet.platform._teams import create_project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebook"))
from nbkit import write_notebook  # noqa: E402

CELLS = [
    ("import statistics", ["imports"]),
    ("n: int = 5", ["parameters"]),
    ("xs = [float(i * i) for i in range(n)]", ["step:make"]),
    ("mean: float = statistics.fmean(xs)", ["step:average"]),
    ("spread: float = max(xs) - min(xs)", ["step:width"]),
]


def test_a_registered_notebook_runs_on_a_worker_process(shared_stores, pg_url, s3_url,
                                                        tmp_path: Path) -> None:
    s = shared_stores
    folder = tmp_path / "code"
    folder.mkdir()
    write_notebook(folder / "squares.ipynb", CELLS)
    create_project(s.store, "nbp")
    found = {e.name: e for e in register(str(folder / "squares.ipynb"), store=s.store,
                                         artifacts=s.artifacts, project="nbp")}
    assert set(found) == {"squares_ipynb.squares", "squares_ipynb.make",
                          "squares_ipynb.average", "squares_ipynb.width"}
    assert set(found["squares_ipynb.squares"].interface["outputs"]) == {"mean", "spread"}
    execution_id = launch(s.store, "squares_ipynb.squares", project="nbp", inputs={"n": 4})
    log = tmp_path / "w.log"
    worker = start_worker(["--db", pg_url, "--artifacts", s3_url, "--executor", "processes"],
                          cwd=tmp_path, log=log)
    try:
        def ended() -> bool:
            return s.store.get_execution(execution_id).status.value in ("SUCCEEDED", "FAILED")

        wait_until(ended, timeout=240, what="the notebook's execution")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=120)
    record = s.store.get_execution(execution_id)
    assert record.status.value == "SUCCEEDED", (record.error, log.read_text())
    assert code == 0, log.read_text()
    values = ValueStore(s.store, s.artifacts)
    assert values.load(record.outputs["mean"], float) == 3.5  # (0 + 1 + 4 + 9) / 4
    assert values.load(record.outputs["spread"], float) == 9.0
    assert {n.node_id for n in s.store.nodes(execution_id)} == {"make", "average", "width"}

"""The web UI in a browser (issue 16): Debian's chromium, driven by playwright-core
(``ui/e2e/bench.mjs``), against a real ``rillet server`` process on a home that holds
100,000 executions, an execution of 1,000 nodes and a running one of 1,000 nodes whose
last nodes this script ends one by one.

- ``dag``: navigation to the 1,000-node execution until its DAG is painted (target
  <= 1 s); baseline: the API's answer for that execution, fetched from the page.
- ``list``: navigation to ``/`` until the first page of rows is shown; then ``older``:
  "Older" clicked until the next page's rows are shown (target <= 200 ms); baseline:
  one page fetched from the API.
- ``filter``: the status filter changed until its rows are shown (target <= 300 ms);
  baseline: that query fetched from the API.
- ``live``: a node's end recorded in the store (its event's ``at``) until the page
  shows it (target <= 300 ms); no baseline (the server polls the store every 50 ms
  for events that other processes write).
- ``assets``: what the first load of ``/`` fetches, gzipped (target <= 500 KB);
  baseline: the same files raw.
- ``compare``: navigation to ``/compare`` of ``--compare`` executions (each a node
  with params and two metrics of ``--steps`` steps) until the table and every chart's
  canvas are shown (target <= 1 s, the issue's "staying responsive with 100 runs");
  baseline: the page's one request (``GET /compare``), fetched from the page. Then ``toggle``:
  a metric's checkbox unticked then ticked again until its chart is drawn again
  (target <= 100 ms, an interaction's budget); no baseline.

The executions are written through the store (``MetadataStore.apply``), as an engine
writes them; the server reads them as it reads any. Medians over ``--rounds``.

    python benchmarks/ui_bench.py [--executions 100000] [--nodes 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (
    REPO_ROOT,
    RESULTS_DIR,
    Row,
    machine_info,
    print_machine,
    print_table,
    write_results,
)

UI = REPO_ROOT / "ui"
STATIC = REPO_ROOT / "rillet" / "ui_static"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WORKFLOWS = [f"bench_ui:workflow_{k}" for k in range(20)]
STATUSES = ["SUCCEEDED"] * 16 + ["FAILED"] * 3 + ["ABORTED"]
WIDTH = 50  # nodes per layer of the big DAG


def missing() -> str | None:
    """Why the browser benchmark cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (Node 20)"
    if not (UI / "node_modules" / "playwright-core").is_dir():
        return "ui/node_modules is missing: run `make ui`"
    if not (STATIC / "index.html").is_file():
        return "the UI is not built (rillet/ui_static): run `make ui`"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (`make chromium` installs it)"
    return None


def _dag_nodes(execution_id: str, count: int, t0: float, running_tail: int) -> list[Any]:
    """``count`` nodes in layers of WIDTH: node (l, j) reads the outputs of (l-1, j) and
    (l-1, j+1). The last ``running_tail`` nodes are RUNNING (no outputs yet)."""
    from rillet.engine._records import NodeRecord, NodeStatus

    nodes = []
    for i in range(count):
        layer, j = divmod(i, WIDTH)
        inputs = {} if layer == 0 else {
            "a": f"h-{execution_id}-{(layer - 1) * WIDTH + j}",
            "b": f"h-{execution_id}-{(layer - 1) * WIDTH + (j + 1) % WIDTH}"}
        running = i >= count - running_tail
        nodes.append(NodeRecord(
            execution_id=execution_id, node_id=f"step_{layer}_{j}", task="bench_ui:step",
            kind="task", status=NodeStatus.RUNNING if running else NodeStatus.SUCCEEDED,
            attempts=1, inputs=inputs,
            outputs={} if running else {"o": f"h-{execution_id}-{i}"},
            started_at=t0 + layer, ended_at=None if running else t0 + layer + 0.5))
    return nodes


def seed(home: Path, executions: int, nodes: int, compare: int, steps: int
         ) -> dict[str, Any]:
    """The home's executions; returns the ids of the big one and the live one (its last
    layer RUNNING)."""
    from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
    from rillet.platform._stores import open_stores

    rng = random.Random(16)
    now = time.time()
    stores = open_stores(str(home))
    store = stores.store
    records = []
    for i in range(executions):
        created = now - 3600 - (executions - i) * 60.0  # one a minute, the newest an hour ago
        status = ExecutionStatus(rng.choice(STATUSES))
        records.append(ExecutionRecord(
            id=f"{rng.getrandbits(64):016x}", workflow=rng.choice(WORKFLOWS),
            source="bench_ui.py", spec_hash="s", status=status, inputs={},
            created_at=created, started_at=created + 1, ended_at=created + 30,
            error="ValueError: bench" if status is ExecutionStatus.FAILED else None))
        if len(records) == 20_000:
            store.apply(Batch(executions=records))
            records = []
    if records:
        store.apply(Batch(executions=records))
    big = ExecutionRecord(id="b1g0000000000000", workflow="bench_ui:big", source="bench_ui.py",
                          spec_hash="s", status=ExecutionStatus.SUCCEEDED, inputs={},
                          created_at=now - 120, started_at=now - 119, ended_at=now - 60)
    live = ExecutionRecord(id="11fe000000000000", workflow="bench_ui:big", source="bench_ui.py",
                           spec_hash="s", status=ExecutionStatus.RUNNING, inputs={},
                           created_at=now - 30, started_at=now - 29)
    store.apply(Batch(executions=[big], nodes=_dag_nodes(big.id, nodes, now - 119, 0)))
    store.apply(Batch(executions=[live], nodes=_dag_nodes(live.id, nodes, now - 29, WIDTH)))
    compared = seed_compared(store, compare, steps, now)
    closer = getattr(stores.home, "close", None)
    if closer is not None:
        closer()
    return {"big": big.id, "live": live.id, "compare": compared}


def seed_compared(store: Any, count: int, steps: int, now: float) -> list[str]:
    """``count`` executions of one node that logged params and two metrics (``loss``,
    ``accuracy``) at ``steps`` steps each, as a training task would; their ids."""
    from rillet.engine._records import (
        Batch,
        ExecutionRecord,
        ExecutionStatus,
        MetricRecord,
        NodeRecord,
        NodeStatus,
        ParamRecord,
    )

    ids = [f"c0{i:014x}" for i in range(count)]
    for i, eid in enumerate(ids):
        lr = 0.001 * (1 + i % 10)
        at = now - 600 + i
        metrics = [MetricRecord(execution_id=eid, node_id="train", attempt=1, key=key,
                                value=value, step=step, timestamp=at + step / 1000)
                   for step in range(steps)
                   for key, value in (("loss", 2.0 / (1 + lr * step) + 0.01 * (i % 7)),
                                      ("accuracy", 1 - 1 / (1 + lr * step * (1 + i % 3))))]
        store.apply(Batch(
            executions=[ExecutionRecord(
                id=eid, workflow="bench_ui:train", source="bench_ui.py", spec_hash="s",
                status=ExecutionStatus.SUCCEEDED, inputs={}, created_at=at,
                started_at=at, ended_at=at + 60)],
            nodes=[NodeRecord(execution_id=eid, node_id="train", task="bench_ui:fit",
                              kind="task", status=NodeStatus.SUCCEEDED, attempts=1, inputs={},
                              outputs={}, started_at=at, ended_at=at + 60)],
            params=[ParamRecord(execution_id=eid, node_id="train", attempt=1, key=key,
                                value=value)
                    for key, value in (("lr", lr), ("batch", 32 * (1 + i % 4)))],
            metrics=metrics))
    return ids


def end_live_nodes(home: Path, live: str, names: list[str], pace: float) -> list[tuple[str, float]]:
    """End these RUNNING nodes of the live execution one by one; return (node, event at)
    of each."""
    from rillet.engine._records import Batch, NodeStatus
    from rillet.platform._stores import open_stores

    store = open_stores(str(home)).store
    running = [n for n in store.nodes(live) if n.status is NodeStatus.RUNNING
               and n.node_id in names]
    for n in running:
        time.sleep(pace)  # pacing, so that each change is seen on its own
        now = time.time()
        store.apply(Batch(nodes=[_ended(n, now)]))
    ended = {n.node_id for n in running}
    return [(e.node_id, e.at) for e in store.events(live, limit=100_000)
            if e.node_id in ended and e.status == "SUCCEEDED"]


def _ended(node: Any, now: float) -> Any:
    from dataclasses import replace

    from rillet.engine._records import NodeStatus

    return replace(node, status=NodeStatus.SUCCEEDED, ended_at=now,
                   outputs={"o": f"h-{node.execution_id}-{node.node_id}"})


def serve(home: Path, tmp: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "server", "--home", str(home), "--workers", "0",
         "--port", "0"], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if not line.startswith("rillet server on http://"):
        proc.kill()
        raise SystemExit(f"ui_bench: the server did not start: {line}{proc.stderr.read()}")
    return proc, line.split()[3]


def browse(url: str, ids: dict[str, Any], args: argparse.Namespace,
           home: Path) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    """Run bench.mjs; end the live nodes when it says READY; its RESULT line."""
    env = {**os.environ, "RILLET_URL": url, "CHROMIUM": CHROMIUM, "RILLET_BENCH": json.dumps(
        {**ids, "rounds": args.rounds, "nodes": args.nodes, "live_nodes": args.live_nodes,
         "only": args.workloads.split(",") if args.workloads else None})}
    proc = subprocess.Popen(["node", "e2e/bench.mjs"], cwd=UI, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    recorded: list[tuple[str, float]] = []
    for line in proc.stdout:
        if line.startswith("READY live"):
            recorded = end_live_nodes(home, ids["live"], line.split()[2:], pace=0.4)
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        else:
            print(f"  {line.rstrip()}", flush=True)
    proc.wait(timeout=600)
    if proc.returncode != 0 or not result:
        told = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"ui_bench: the browser run failed:\n{told}")
    return result, recorded


def gzipped(paths: list[str]) -> tuple[int, int]:
    """(raw, gzipped) bytes of the built files that these URL paths name."""
    raw = packed = 0
    for path in paths:
        file = STATIC / ("index.html" if path in ("", "/") else path.lstrip("/"))
        if not file.is_file():
            continue
        data = file.read_bytes()
        raw += len(data)
        packed += len(gzip.compress(data, compresslevel=9))
    return raw, packed


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--live-nodes", type=int, default=10, help="at most, of those in view")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", type=int, default=100, help="executions compared")
    parser.add_argument("--steps", type=int, default=1000, help="steps of each metric")
    parser.add_argument("--workloads", default="",
                        help="a subset of dag,list,live,compare (profiling)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "ui_bench.json")
    args = parser.parse_args(argv)
    machine = machine_info()
    print_machine("ui_bench", machine)
    why = missing()
    if why is not None:
        print(f"ui_bench: skipped: {why}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        started = time.perf_counter()
        ids = seed(home, args.executions, args.nodes, args.compare, args.steps)
        print(f"seeded {args.executions:,} executions, two of {args.nodes:,} nodes and "
              f"{args.compare} with {args.steps:,}-step metrics in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        proc, url = serve(home, Path(tmp))
        try:
            result, recorded = browse(url, ids, args, home)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    shown: dict[str, float] = result.get("live_shown", {})
    lags = [(shown[node] / 1000 - at) * 1000 for node, at in recorded if node in shown]
    raw, packed = gzipped(result["first_load"])
    result = {"dag": [], "dag_api": [], "list": [], "older": [], "page_api": [], "filter": [],
              "filter_api": [], "compare": [], "compare_api": [], "toggle": [], **result}
    rows = [
        Row("dag painted (1,000 nodes)", "ms", median(result["dag"]), 1000,
            median(result["dag_api"]), note="baseline: the API's answer, fetched"),
        Row("list: first page shown", "ms", median(result["list"]), None,
            median(result["page_api"]), note=f"{args.executions:,} executions"),
        Row("list: next page (Older)", "ms", median(result["older"]), 200,
            median(result["page_api"]), note="baseline: one page fetched"),
        Row("list: status filter", "ms", median(result["filter"]), 300,
            median(result["filter_api"]), note="baseline: that query fetched"),
        Row("live: node end shown", "ms", median(lags), 300, None,
            note=f"max {max(lags):.0f} ms over {len(lags)} in view" if lags else "none seen"),
        Row("first-load assets, gzipped", "KB", packed / 1000, 500, raw / 1000,
            note="baseline: raw"),
        Row(f"compare {args.compare} runs: table and charts", "ms", median(result["compare"]),
            1000, median(result["compare_api"]),
            note=f"2 metrics x {args.steps:,} steps; baseline: its answer fetched"),
        Row("compare: a metric toggled, redrawn", "ms", median(result["toggle"]), 100, None,
            note=f"{args.compare} curves of {args.steps:,} points"),
    ]
    print()
    print_table(rows)
    write_results(args.json, {"machine": machine, "raw": result, "live_lags_ms": lags}, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

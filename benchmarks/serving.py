"""Model serving and metric logging (issue 17's targets).

Workloads:

    throughput  ``rillet serve`` of a trivial model (``predict`` returns its input), one
                small row per request, 16 keep-alive connections on loopback from this
                process (``_loadgen``), request recording on: requests/s and p99 latency
                (median of rounds). With ``--peers``, ``mlflow models serve`` of the
                equivalent pyfunc model (``.bench/mlflow``, ``make bench`` creates it) is
                measured by the same load generator in the same run.
    alias       ``rillet models alias`` moved while the server answers a steady load:
                seconds from the move until the new version answers, and failed
                requests (must be 0).
    metrics     a task that logs 10,000 metric points through ``rillet.run`` against
                the same task logging none: the time added to the task's attempt (ms,
                the target) and to the whole ``rillet.run``, which also writes them.

    python benchmarks/serving.py [--peers] [--workloads throughput,alias,metrics]
                                 [--workers N] [--requests N]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _loadgen import load

ROW = json.dumps({"inputs": [[1.0, 2.0, 3.0, 4.0]]}).encode()
MLFLOW = h.REPO_ROOT / ".bench" / "mlflow"
WORKLOADS = ("throughput", "alias", "metrics")


def flow() -> Any:
    from rillet.engine._loading import load_file

    return load_file(str(Path(__file__).resolve().parent / "_serving_flow.py"))


def make_home() -> Path:
    """A home with versions 1 and 2 of 'echo'; production -> 1."""
    import rillet
    from rillet import models

    home = Path(tempfile.mkdtemp(prefix="rillet-bench-serve-")) / "home"
    wf = flow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tag in (1, 2):
            ex = rillet.run(wf.echo, home=str(home), executor="inline", tag=tag)
            models.register("echo", execution=ex.id, node="make_echo", home=str(home))
    models.set_alias("echo", "production", version=1, home=str(home))
    return home


def start_rillet(home: Path, workers: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "serve", "echo@production", "--port", "0",
         "--workers", str(workers), "--home", str(home)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 1.0)[0]:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            if line.startswith("serving "):
                return proc, int(line.split("http://127.0.0.1:")[1].split()[0])
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"rillet serve did not start: {proc.stderr.read()}")  # type: ignore[union-attr]


def start_mlflow(workers: int) -> tuple[subprocess.Popen[str], int, Path]:
    folder = Path(tempfile.mkdtemp(prefix="rillet-bench-mlflow-"))
    port = h.free_port()
    proc = subprocess.Popen(
        [str(MLFLOW / "bin" / "python"), str(h.BENCH_DIR / "peers" / "mlflow_serve.py"),
         str(folder / "model"), str(port), str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,  # mlflow runs `uvicorn` from PATH: its venv's
        env={**os.environ, "PATH": f"{MLFLOW / 'bin'}{os.pathsep}{os.environ['PATH']}"})
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                if r.status == 200:
                    return proc, port, folder
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    stop(proc)
    raise RuntimeError("mlflow models serve did not start")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (PermissionError, ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(port: int, total: int, rounds: int, check: Any,
            path: str = "/predict") -> dict[str, Any]:
    """Median requests/s and p50/p99 (ms) over ``rounds`` rounds of ``total`` requests."""
    warm = load(port, ROW, 500, concurrency=16, path=path)
    assert not warm.errors and all(a.status == 200 for a in warm.answers), warm.answers[:1]
    check(warm.answers[0].body)
    results = []
    for _ in range(rounds):
        r = load(port, ROW, total, concurrency=16, path=path)
        failed = [a for a in r.answers if a.status != 200]
        if r.errors or failed:
            raise RuntimeError(f"{len(r.errors)} connection errors, {len(failed)} failed")
        results.append(r)
    results.sort(key=lambda r: r.rate)
    mid = results[len(results) // 2]
    return {"rate": mid.rate, "p50_ms": mid.percentile(50) * 1000,
            "p99_ms": mid.percentile(99) * 1000,
            "rates": [round(r.rate) for r in results]}


def throughput(args: argparse.Namespace, home: Path) -> tuple[list[h.Row], dict[str, Any]]:
    proc, port = start_rillet(home, args.workers)
    db = sqlite3.connect(home / "rillet.db")
    before = db.execute("SELECT count(*) FROM model_requests").fetchone()[0]
    try:
        ours = measure(port, args.requests, args.rounds,
                       lambda body: json.loads(body)["version"] == 1 or sys.exit("bad answer"))
    finally:
        stop(proc)
    recorded = db.execute("SELECT count(*) FROM model_requests").fetchone()[0] - before
    expected = 500 + args.requests * args.rounds
    data: dict[str, Any] = {"rillet": ours, "recorded": recorded, "sent": expected}
    peer: dict[str, Any] = {}
    if args.peers:
        if (MLFLOW / ".installed").exists():
            mproc, mport, folder = start_mlflow(args.workers)
            try:
                peer = measure(mport, args.requests, args.rounds, path="/invocations",
                               check=
                               lambda body: "predictions" in json.loads(body)
                               or sys.exit(f"mlflow answered {body!r}"))
            finally:
                stop(mproc)
                shutil.rmtree(folder, ignore_errors=True)
            data["mlflow"] = peer
        else:
            print("mlflow: .bench/mlflow is missing (make bench creates it); skipped")
    per_request = 1000.0 / ours["rate"]
    rows = [
        h.Row("serve, c=16, recording on", "ms/request (1/rate)", per_request, target=0.5,
              peers={"mlflow": 1000.0 / peer["rate"]} if peer else {},
              note=f"{ours['rate']:,.0f} req/s"
              + (f" vs mlflow {peer['rate']:,.0f} req/s ({ours['rate'] / peer['rate']:.1f}x)"
                 if peer else "")),
        h.Row("serve p99, c=16", "ms", ours["p99_ms"], target=15.0,
              peers={"mlflow": peer["p99_ms"]} if peer else {},
              note=f"p50 {ours['p50_ms']:.2f} ms"),
        h.Row("requests recorded", "missing", float(expected - recorded), target=0.0,
              note=f"{recorded:,} of {expected:,}"),
    ]
    if peer:
        rows.append(h.Row("mlflow rate / rillet rate", "ratio", peer["rate"] / ours["rate"],
                          target=0.2, note=">= 5x mlflow's requests/s"))
    return rows, data


def alias_move(args: argparse.Namespace, home: Path) -> tuple[list[h.Row], dict[str, Any]]:
    from rillet import models

    models.set_alias("echo", "production", version=1, home=str(home))
    proc, port = start_rillet(home, args.workers)
    times = []
    failures = 0
    try:
        load(port, ROW, 300, concurrency=4)
        for target in (2, 1, 2, 1, 2):
            answers: list[Any] = []
            background = threading.Thread(
                target=lambda a=answers: load(port, ROW, 3000, concurrency=8, answers=a))
            background.start()
            while len(answers) < 300:
                time.sleep(0.005)
            t0 = time.perf_counter()
            models.set_alias("echo", "production", version=target, home=str(home))
            while True:
                (a,) = load(port, ROW, 1, concurrency=1).answers
                if json.loads(a.body)["version"] == target:
                    break
            times.append(time.perf_counter() - t0)
            background.join()
            failures += sum(1 for a in answers if a.status != 200) + (3000 - len(answers))
    finally:
        stop(proc)
    rows = [h.Row("alias move -> new version serving", "s", statistics.median(times),
                  target=1.0, note=f"max {max(times):.3f} s over {len(times)} moves"),
            h.Row("failed requests during the moves", "count", float(failures), target=0.0,
                  note="5 moves under a load of 3,000 requests at c=8 each")]
    return rows, {"seconds": times, "failed": failures}


def metrics(args: argparse.Namespace) -> tuple[list[h.Row], dict[str, Any]]:
    """The task's own attempt (``log_points``: start to end, as recorded) and the whole
    ``rillet.run`` (which also writes the points, after the attempt), with and without
    10,000 points."""
    import rillet

    wf = flow()
    base = Path(tempfile.mkdtemp(prefix="rillet-bench-metrics-"))
    runs: dict[int, list[float]] = {10_000: [], 0: []}
    tasks: dict[int, list[float]] = {10_000: [], 0: []}
    try:
        for i in range(args.rounds * 2 + 1):
            for n in (10_000, 0):
                home = base / f"h{i}-{n}"
                t0 = time.perf_counter()
                ex = rillet.run(wf.logging, home=str(home), executor="inline", n=n)
                runs[n].append(time.perf_counter() - t0)
                assert ex.status == "SUCCEEDED"
                tasks[n].append(ex.node("log_points").duration or 0.0)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    # The least of each (interleaved rounds): on a shared machine, noise only adds.
    in_task = (min(tasks[10_000]) - min(tasks[0])) * 1000
    end_to_end = (min(runs[10_000]) - min(runs[0])) * 1000
    rows = [h.Row("10,000 log_metric: added to the task", "ms", in_task, target=20.0,
                  baseline=min(tasks[0]) * 1000,
                  note="the attempt's duration; MLflow's client: one HTTP call per point"),
            h.Row("10,000 log_metric: added to rillet.run", "ms", end_to_end,
                  baseline=min(runs[0]) * 1000,
                  note="with writing the points (one packed row per attempt, after it)")]
    return rows, {"run_ms": {str(k): [x * 1000 for x in v] for k, v in runs.items()},
                  "task_ms": {str(k): [x * 1000 for x in v] for k, v in tasks.items()}}


def main(argv: list[str] | None = None) -> None:
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--workers", type=int, default=1, help="server processes (both servers)")
    own.add_argument("--requests", type=int, default=10_000, help="requests per round")
    extra, rest = own.parse_known_args(argv)
    args, names = h.script_args(rest, __doc__ or "", workloads=WORKLOADS, profiles=(),
                                rounds=3, peers="also measure mlflow models serve",
                                results="serving.json")
    args.workers, args.requests = extra.workers, extra.requests
    machine = h.machine_info()
    h.print_machine("serving", machine)
    load_before = os.getloadavg()[0]
    print(f"load average at the start: {load_before:.1f} (on {os.cpu_count()} CPUs)")
    rows: list[h.Row] = []
    data: dict[str, Any] = {"machine": machine, "workers": args.workers}
    home = make_home() if {"throughput", "alias"} & set(names) else None
    try:
        if "throughput" in names:
            r, data["throughput"] = throughput(args, home)  # type: ignore[arg-type]
            rows += r
        if "alias" in names:
            r, data["alias"] = alias_move(args, home)  # type: ignore[arg-type]
            rows += r
        if "metrics" in names:
            r, data["metrics"] = metrics(args)
            rows += r
    finally:
        if home is not None:
            shutil.rmtree(home.parent, ignore_errors=True)
    data["load_average"] = [load_before, os.getloadavg()[0]]
    h.print_table(rows, peers=["mlflow"] if args.peers else [])
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    h.write_results(args.json, data, rows)


if __name__ == "__main__":
    main()

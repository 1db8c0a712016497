"""The platform's launch latency and throughput, with Prefect measured beside it.

- ``launch``: a registered one-task workflow, launched; the time until its task is
  running (the task writes ``time.time()`` as its first act). Embedded home: the worker
  runs in the launching process, as ``rillet server``'s local workers do (woken by its
  signal). PostgreSQL: a ``rillet worker`` process (woken by LISTEN/NOTIFY). Warm workers,
  loopback, median of sequential launches.
- ``throughput``: one-task executions queued at once, then run end to end by two
  ``rillet worker`` processes on PostgreSQL; executions per second from the first
  execution started to the last one ended.
- the API server (``_platform_api.py``): GET of one execution at 16 clients, a page of
  50 of 100,000 filtered, ``rillet server`` start and idle RSS (``--no-api`` skips it).
- ``--peers``: Prefect 3.9's server + process worker (``.bench/prefect``, made by
  ``make bench``) doing the same through ``peers/prefect_platform.py``.

    python benchmarks/platform_bench.py [--peers] [--launches 30] [--executions 400]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _harness as h

TARGET_LAUNCH_MS = 20.0
TARGET_PER_S = 200.0
PEER_NAME = "prefect"
PEER_PYTHON = h.REPO_ROOT / ".bench" / PEER_NAME / "bin" / "python"
PEER_SCRIPT = h.BENCH_DIR / "peers" / "prefect_platform.py"

FLOW = '''
import time
from rillet import task, workflow


@task
def touch(path: str) -> float:
    now = time.time()
    if path.startswith("udp:"):  # the launcher blocks on this port (it polls nothing)
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(repr(now).encode(), ("127.0.0.1", int(path[4:])))
    elif path:
        with open(path + ".tmp", "w") as f:
            f.write(repr(now))
        import os
        os.replace(path + ".tmp", path)
    return now


@workflow
def one(path: str = "") -> float:
    return touch(path=path)
'''


def _launch_latency(store: Any, n: int) -> list[float]:
    """Sequential launches to a warm, idle worker: each after the previous execution
    ended. The task sends its first act's time to a UDP port this process blocks on (a
    launcher polling for a file took a share of the 2 cores from the worker)."""
    from rillet.platform import launch

    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(60)
        path = f"udp:{sock.getsockname()[1]}"
        for i in range(n + 3):  # 3 warm-up launches
            t0 = time.time()
            execution_id = launch(store, "flow.one", inputs={"path": path})
            started = float(sock.recv(64))
            if i >= 3:
                out.append((started - t0) * 1000)
            _wait_ended(store, execution_id)
    return out


def _wait_ended(store: Any, execution_id: str, timeout: float = 60.0) -> None:
    """Until the execution's worker recorded its end and left it (the queue row done),
    then a moment for the worker to be waiting for the next launch again."""
    deadline = time.monotonic() + timeout
    while store.database.read("SELECT state FROM launch_queue WHERE execution_id = ?",
                              (execution_id,))[0][0] != "done":
        if time.monotonic() > deadline:
            raise RuntimeError(f"execution {execution_id} did not end within {timeout} s")
        time.sleep(0.005)
    time.sleep(0.02)


def _worker(args: list[str], cwd: Path, concurrency: int = 1) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "worker", *args, "--concurrency",
         str(concurrency)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def measure_home(folder: Path, n: int) -> dict[str, Any]:
    from rillet.platform import Worker, register
    from rillet.platform._stores import open_stores

    s = open_stores(str(folder / "home"))
    register(str(folder / "flow.py"), store=s.store, artifacts=s.artifacts)
    w = Worker(s.store, s.artifacts, cache=str(folder / "cache"))
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    try:
        ms = _launch_latency(s.store, n)
    finally:
        w.stop()
        t.join(timeout=60)
        s.close()
    return {"median_ms": statistics.median(ms), "p90_ms": h.percentile(ms, 90), "n": len(ms)}


def measure_postgres(folder: Path, url: str, n: int, executions: int,
                     concurrency: int = 1) -> dict[str, Any]:
    from rillet.platform import launch, register
    from rillet.platform._stores import open_stores

    art = str(folder / "artifacts-pg")
    s = open_stores(db=url, artifacts=art)
    register(str(folder / "flow.py"), store=s.store, artifacts=s.artifacts)
    out: dict[str, Any] = {}
    procs = [_worker(["--db", url, "--artifacts", art], folder)]
    try:
        time.sleep(2.0)  # the worker is up and listening
        ms = _launch_latency(s.store, n)
        out["launch"] = {"median_ms": statistics.median(ms), "p90_ms": h.percentile(ms, 90),
                         "n": len(ms)}
        _stop(procs)  # throughput: the queue is filled first, then two workers drain it
        procs = []
        db = s.store.database
        t0 = time.perf_counter()
        for _ in range(executions):
            launch(s.store, "flow.one", inputs={})
        queued = time.perf_counter() - t0
        procs = [_worker(["--db", url, "--artifacts", art], folder, concurrency)
                 for _ in range(2)]
        while True:
            (left,) = db.read("SELECT count(*) FROM launch_queue WHERE state <> 'done'")[0]
            if left == 0:
                break
            if time.perf_counter() - t0 > 900:
                raise RuntimeError(f"{left} executions still queued or running after 900 s")
            time.sleep(0.05)
        # From the first execution started to the last one ended (worker start-up excluded).
        first, last, ok = db.read(
            "SELECT min(started_at), max(ended_at), sum(CASE WHEN status = 'SUCCEEDED' "
            "THEN 1 ELSE 0 END) FROM executions WHERE id IN "
            "(SELECT execution_id FROM launch_queue WHERE inputs = ?)",
            ('{"path": ""}',))[0]
        elapsed = float(last) - float(first)
        out["throughput"] = {"per_s": executions / elapsed, "executions": executions,
                             "seconds": elapsed, "launch_s": queued, "succeeded": int(ok),
                             "concurrency": concurrency}
    finally:
        _stop(procs)
        s.close()
    return out


def run_peer(launches: int, executions: int) -> dict[str, Any]:
    if not PEER_PYTHON.exists():
        return {"name": PEER_NAME, "skipped": f"{PEER_PYTHON.parent.parent} is missing "
                "(`make bench` installs prefect~=3.9.0 there)"}
    try:
        return h.run_json_script(PEER_PYTHON, PEER_SCRIPT,
                                 ["--launches", str(launches), "--executions", str(executions)],
                                 cwd=h.REPO_ROOT, timeout=1800)
    except Exception as exc:
        return {"name": PEER_NAME, "skipped": str(exc)[-600:]}


def _pg() -> tuple[Any, str]:
    sys.path.insert(0, str(h.REPO_ROOT / "tests"))
    from pgserver import PgServer  # the tests' throwaway server: initdb + pg_ctl

    root = Path(tempfile.mkdtemp(prefix="rillet-bench-pg-"))
    server = PgServer(root)
    return server, server.url()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", action="store_true", help="also run Prefect (.bench/prefect)")
    parser.add_argument("--launches", type=int, default=30)
    parser.add_argument("--executions", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=1,
                        help="executions at a time per worker in the throughput run")
    parser.add_argument("--peer-launches", type=int, default=3)
    parser.add_argument("--peer-executions", type=int, default=20)
    parser.add_argument("--no-api", action="store_true", help="skip the API server's figures")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": h.machine_info(), "errors": {}}
    with tempfile.TemporaryDirectory(prefix="rillet-platform-") as tmp:
        folder = Path(tmp)
        (folder / "flow.py").write_text(FLOW)
        os.environ["RILLET_BUNDLE_CACHE"] = str(folder / "cache")
        print("  launch on the embedded home ...", flush=True)
        try:
            results["home"] = measure_home(folder, args.launches)
        except Exception as exc:
            results["errors"]["home"] = f"{type(exc).__name__}: {exc}"
        print("  launch and throughput on PostgreSQL ...", flush=True)
        server = None
        try:
            server, url = _pg()
            results["postgres"] = measure_postgres(folder, url, args.launches, args.executions,
                                                  args.concurrency)
        except BaseException as exc:  # pytest's skip is a BaseException
            results["errors"]["postgres"] = f"{type(exc).__name__}: {exc}"
        finally:
            if server is not None:
                server.stop()
    peer = None
    if args.peers:
        print("  Prefect 3.9 server + process worker ...", flush=True)
        peer = run_peer(args.peer_launches, args.peer_executions)
        results["peer"] = peer
    rows = _rows(results, peer)
    if not args.no_api:
        print("  the API server (rillet server on a home of 100,000 executions) ...", flush=True)
        from _platform_api import api_rows

        try:
            api = api_rows()
            rows += api
            results["api"] = [vars(r) for r in api]
        except Exception as exc:
            results["errors"]["api"] = f"{type(exc).__name__}: {exc}"
    shown = [PEER_NAME] if peer is not None and "skipped" not in peer else []
    h.print_table(rows, peers=shown)
    if peer is not None and "skipped" in peer:
        print(f"prefect skipped: {peer['skipped']}")
    for key, err in results["errors"].items():
        print(f"error {key}: {err}")
    h.write_json(h.RESULTS_DIR / "platform.json", results)


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _rows(r: dict[str, Any], peer: dict[str, Any] | None) -> list[h.Row]:
    ok = peer is not None and "skipped" not in peer
    pl = _get(peer, "launch", "median_ms") if ok else None
    pt = _get(peer, "throughput", "per_s") if ok else None
    per_s = _get(r, "postgres", "throughput", "per_s")
    return [
        h.Row("launch -> task running, home", "ms", _get(r, "home", "median_ms"),
              TARGET_LAUNCH_MS, peers={PEER_NAME: pl},
              note="worker in the launching process; Prefect: deployment run, poll 0.2 s"),
        h.Row("launch -> task running, PostgreSQL", "ms",
              _get(r, "postgres", "launch", "median_ms"), TARGET_LAUNCH_MS,
              peers={PEER_NAME: pl}, note="rillet worker process, LISTEN/NOTIFY"),
        # Throughput is better when higher: the table compares seconds per execution.
        h.Row("end to end, 2 workers, PostgreSQL", "ms/execution",
              1000 / per_s if per_s else None, 1000 / TARGET_PER_S,
              peers={PEER_NAME: 1000 / pt if pt else None},
              note=f"{per_s:.0f}/s" if per_s else ""),
    ]


if __name__ == "__main__":
    main()

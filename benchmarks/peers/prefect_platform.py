"""Prefect 3.9's platform path beside rillet's (for ``benchmarks/platform_bench.py --peers``):
``prefect server start`` (SQLite), a process work pool, a deployment of a one-task flow,
``prefect worker start`` processes; run with ``.bench/prefect/bin/python``.

- launch: ``run_deployment(timeout=0)`` to the task's first line running (it writes
  ``time.time()``), with the worker's poll interval at 0.2 s (and, for a few runs, its
  default 10 s);
- throughput: runs created at once, run end to end by two workers (poll 0.2 s), from
  the first run started to the last one ended, as rillet's.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _harness as h

FLOW = '''
import os
import time

from prefect import flow, task


@task
def touch(path: str) -> float:
    now = time.time()
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(repr(now))
        os.replace(path + ".tmp", path)
    return now


@flow
def one(path: str = "") -> float:
    return touch(path)
'''


def _create(run_deployment, parameters: dict[str, str]):  # type: ignore[no-untyped-def]
    """``run_deployment(timeout=0)``, tried again on the 503 "database is locked" that
    Prefect's SQLite server answers under concurrent writes (counted)."""
    for attempt in range(50):
        try:
            return run_deployment("one/d", parameters=parameters, timeout=0), attempt
        except Exception as exc:
            if "503" not in str(exc):
                raise
            time.sleep(0.2)
    raise RuntimeError("prefect answered 503 to 50 tries in a row")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--default-poll-launches", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="prefect-bench-"))
    port = h.free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PREFECT_HOME=str(root / "home"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    os.environ.update(env)
    (root / "flows").mkdir()
    (root / "flows" / "flow.py").write_text(FLOW)
    bindir = Path(sys.executable).parent
    procs: list[subprocess.Popen[bytes]] = []
    out: dict[str, object] = {"name": "prefect", "version": None}

    def start(cmd: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(root / f"{len(procs)}.log", "wb")
        p = subprocess.Popen(cmd, env={**env, **(extra or {})}, cwd=root / "flows",
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        return p

    try:
        t0 = time.perf_counter()
        start([str(bindir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
               str(port)])
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not become healthy")
            time.sleep(0.1)
        out["server_start_s"] = time.perf_counter() - t0
        subprocess.run([str(bindir / "prefect"), "work-pool", "create", "bench", "--type",
                        "process"], env=env, check=True, capture_output=True)
        import prefect
        from prefect import flow
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment

        out["version"] = prefect.__version__
        deployed = flow.from_source(source=str(root / "flows"), entrypoint="flow.py:one")
        deployed.deploy(name="d", work_pool_name="bench", print_next_steps=False)

        def launch_latency(n: int, marks: Path) -> list[float]:
            marks.mkdir()
            got = []
            for i in range(n):
                mark = marks / str(i)
                t = time.time()
                _create(run_deployment, {"path": str(mark)})
                got.append((h.wait_for_file(mark, timeout=300, interval=0.001) - t) * 1000)
            return got

        fast = {"PREFECT_WORKER_QUERY_SECONDS": "0.2", "PREFECT_WORKER_PREFETCH_SECONDS": "0"}
        worker = start([str(bindir / "prefect"), "worker", "start", "--pool", "bench"])
        time.sleep(5)
        slow = launch_latency(args.default_poll_launches, root / "marks-default")
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        start([str(bindir / "prefect"), "worker", "start", "--pool", "bench"], fast)
        time.sleep(5)
        ms = launch_latency(args.launches, root / "marks-fast")
        out["launch"] = {"median_ms": statistics.median(ms), "all_ms": ms,
                         "default_poll_median_ms": statistics.median(slow),
                         "default_poll_all_ms": slow}
        start([str(bindir / "prefect"), "worker", "start", "--pool", "bench"], fast)
        time.sleep(5)
        t1 = time.perf_counter()
        made = [_create(run_deployment, {"path": ""}) for _ in range(args.executions)]
        ids = [run.id for run, _ in made]
        out["retries_503"] = sum(n for _, n in made)
        created = time.perf_counter() - t1
        with get_client(sync_client=True) as client:
            while True:
                runs = [client.read_flow_run(i) for i in ids]
                ended = [r for r in runs if r.state is not None and r.state.is_final()]
                if len(ended) == len(ids):
                    break
                if time.perf_counter() - t1 > 900:
                    raise RuntimeError(f"only {len(ended)} of {len(ids)} runs ended in 900 s")
                time.sleep(0.2)
            ok = sum(1 for r in runs if r.state is not None and r.state.is_completed())
        wall = time.perf_counter() - t1
        # As rillet's figure: from the first run started to the last one ended (creating
        # the runs and this loop's 0.2 s polls excluded).
        starts = [r.start_time for r in runs if r.start_time is not None]
        ends = [r.end_time for r in runs if r.end_time is not None]
        elapsed = (max(ends) - min(starts)).total_seconds() if starts and ends else wall
        out["throughput"] = {"per_s": len(ids) / elapsed, "executions": len(ids),
                             "seconds": elapsed, "wall_s": wall, "launch_s": created,
                             "completed": ok}
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    h.emit_json(json.loads(json.dumps(out)))


if __name__ == "__main__":
    main()

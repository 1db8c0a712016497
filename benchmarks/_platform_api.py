"""The API server's figures for ``platform_bench.py`` (issue 14): `rillet server` on a
home of 100,000 executions, a GET load generator on loopback.

- GET one execution (its nodes, params and metrics) at 16 concurrent keep-alive
  clients (``_loadgen``): ms per request (target 1,500 requests/s = 0.667 ms) and p99
  (target 20 ms).
- a page of 50 of 100,000 executions filtered by workflow and status: median of
  sequential requests (target 20 ms).
- `rillet server` start to healthy (target 1 s) and idle RSS (target 150 MB).

Both GET rows carry a baseline measured in the same run: ``GET /api/v1/health`` under the
same load, the floor of the server's HTTP stack.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _harness import Row
from _loadgen import load

EXECUTIONS = 100_000
WORKFLOWS = 20
HEALTH = "/api/v1/health"  # the floor of the server's HTTP stack, measured beside each route


# ---------------------------------------------------------------- a home to serve


def make_home(folder: Path, count: int = EXECUTIONS) -> tuple[str, str]:
    """A home with one real execution (its nodes, params) and ``count`` synthetic ones
    over ``WORKFLOWS`` workflows in every status; returns (home, the real id)."""
    import rillet
    from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
    from rillet.store import Home

    home = str(folder / "home")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "workflows"))
    import wf_platform

    real = rillet.run(wf_platform.quick, home=home, executor="inline", x=4).id
    statuses = list(ExecutionStatus)
    now = time.time() - count
    with Home.open(home) as h:
        for start in range(0, count, 5000):
            batch = Batch(executions=[ExecutionRecord(
                id=f"{i:016x}", workflow=f"bench.flows:wf{i % WORKFLOWS}", source="bench.py",
                spec_hash="", status=statuses[(i // WORKFLOWS) % len(statuses)], inputs={},
                created_at=now + i, started_at=now + i, ended_at=now + i + 1)
                for i in range(start, min(count, start + 5000))])
            h.store.apply(batch)
    return home, real


# ---------------------------------------------------------------- the server


class Server:
    """`rillet server` on a free port, as a subprocess."""

    def __init__(self, home: str) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rillet.cli", "server", "--home", home, "--port", "0",
             "--workers", "0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if "http://" not in line:
            raise RuntimeError(f"rillet server did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split()[3]
        self.port = int(self.url.rsplit(":", 1)[1])
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}{HEALTH}", timeout=5) as r:
                    if json.loads(r.read()) == {"status": "ok"}:
                        break
            except OSError:
                time.sleep(0.005)
        self.healthy_after = time.perf_counter() - self.t0
        # the CPU the server spent to get there: what the start costs, less what a
        # loaded machine adds in waiting for a core
        import psutil

        times = psutil.Process(self.proc.pid).cpu_times()
        self.cpu_to_healthy = times.user + times.system

    def rss(self) -> int:
        import psutil

        proc = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- workloads


def api_get_one(home: str, real: str, rounds: int) -> list[Row]:
    server = Server(home)
    try:
        path = f"/api/v1/executions/{real}"
        load(server.port, b"", 500, 16, path=path, method="GET")  # warm
        runs, floor = [], []
        for _ in range(rounds):  # interleaved with the floor: GET /api/v1/health
            runs.append(load(server.port, b"", 6000, 16, path=path, method="GET"))
            floor.append(load(server.port, b"", 6000, 16, path=HEALTH, method="GET"))
    finally:
        server.stop()
    rate = statistics.median(r.rate for r in runs)
    p99 = statistics.median(r.percentile(99) for r in runs) * 1000
    errors = sum(r.failed for r in runs)
    return [Row("GET one execution, 16 clients", "ms/request", 1000 / rate, target=1000 / 1500,
                baseline=1000 / statistics.median(r.rate for r in floor),
                note=f"{rate:,.0f} requests/s; {errors} errors; plain: GET {HEALTH}"),
            Row("GET one execution, 16 clients, p99", "ms", p99, target=20,
                baseline=statistics.median(r.percentile(99) for r in floor) * 1000)]


def api_page(home: str, real: str, rounds: int) -> list[Row]:
    server = Server(home)
    try:
        paths = [f"/api/v1/executions?limit=50&workflow=bench.flows:wf{n}&status=SUCCEEDED"
                 for n in range(WORKFLOWS)]
        load(server.port, b"", 50, 1, path=paths, method="GET")
        r = load(server.port, b"", 200 * rounds, 1, path=paths, method="GET")
        floor = load(server.port, b"", 200 * rounds, 1, path=HEALTH, method="GET")
        with urllib.request.urlopen(f"{server.url}{paths[3]}") as answer:
            size = len(json.loads(answer.read()))
    finally:
        server.stop()
    return [Row("page of 50 of 100,000, filtered", "ms", r.percentile(50) * 1000,
                target=20, baseline=floor.percentile(50) * 1000,
                note=f"p99 {r.percentile(99) * 1000:.1f} ms; {size} rows; "
                f"{r.failed} errors; plain: GET {HEALTH}")]


def server_start(home: str, real: str, rounds: int) -> list[Row]:
    starts: list[float] = []
    cpu: list[float] = []
    rss = 0
    for _ in range(max(3, rounds)):
        server = Server(home)
        try:
            starts.append(server.healthy_after)
            cpu.append(server.cpu_to_healthy)
            time.sleep(1.0)
            rss = max(rss, server.rss())
        finally:
            server.stop()
    return [Row("rillet server start to healthy", "s", statistics.median(starts), target=1.0,
                note=f"CPU {statistics.median(cpu):.2f} s of it"),
            Row("rillet server idle RSS", "MB", rss / 2**20, target=150)]


def api_rows(rounds: int = 3, count: int = EXECUTIONS) -> list[Row]:
    """Every row of the API's figures, measured on one home made here."""
    with tempfile.TemporaryDirectory(prefix="rillet-bench-api-") as tmp:
        t0 = time.perf_counter()
        home, real = make_home(Path(tmp), count)
        print(f"  a home of {count:,} executions made in {time.perf_counter() - t0:.1f}s",
              flush=True)
        return [*api_get_one(home, real, rounds), *api_page(home, real, rounds),
                *server_start(home, real, rounds)]


if __name__ == "__main__":
    from _harness import print_table

    print_table(api_rows())

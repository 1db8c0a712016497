"""What the run record (issue 13) costs, and how fast ``rillet diff`` is.

    record   the code and environment record of a cached 200-task chain re-run, in process
             (ms), beside the cached re-run itself in the same rounds (target <= 5 ms)
    diff     ``rillet diff A B --json`` of two 200-node executions whose helper file and
             input differ, as a whole process (s), beside ``rillet executions show``
             of one of them (target <= 0.3 s); wall time, and the CPU time of the
             process (what it costs on a free core: wall time on a shared machine is
             mostly waiting)

Medians of interleaved rounds. Results go to ``benchmarks/results/records.json``.

    python benchmarks/records.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

CHAIN = 200
TARGETS = {"record_ms": 5.0, "diff_s": 0.3}

FLOW = f"""\
from rillet import task, workflow
from helper import step


@task(cache=True)
def cinc(x: int) -> int:
    return step(x)


@workflow
def chain(x: int = 0) -> int:
    for _ in range({CHAIN}):
        x = cinc(x=x)
    return x
"""


def _cli(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one ``rillet`` process.

    Run as a user runs it: with bytecode caching on (an environment that sets
    PYTHONDONTWRITEBYTECODE compiles every module from source at each start, ~60 ms of
    CPU here). The CPU time is what the command costs; on a machine shared by other
    work the wall time is mostly waiting for a core."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RILLET_") and k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rillet.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"rillet {' '.join(args)} failed: {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    import rillet
    from rillet.engine._loading import load_file
    from rillet.sdk._record import save_record
    from rillet.store._home import Home

    with tempfile.TemporaryDirectory(prefix="rillet-bench-records-") as tmp:
        folder = Path(tmp)
        (folder / "flow.py").write_text(FLOW)
        (folder / "helper.py").write_text("def step(x: int) -> int:\n    return x + 1\n")
        flow = load_file(str(folder / "flow.py"))  # its folder on sys.path (for helper.py)
        home = str(folder / "home")
        rillet.run(flow.chain, home=home, executor="inline")
        opened = Home.open(home)
        reruns, records = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            ex = rillet.run(flow.chain, home=home, executor="inline")
            reruns.append(time.perf_counter() - started)
            started = time.perf_counter()
            save_record(opened, flow.chain, ex.id + "-bench")  # the same work run() did once more
            records.append(time.perf_counter() - started)
        opened.close()

        # two 200-node executions that differ in input, helper code and every output
        a = json.loads(subprocess.run(
            [sys.executable, "-m", "rillet.cli", "run", "flow.py:chain", "--x", "1", "--json",
             "--home", home, "--executor", "inline"], cwd=folder, capture_output=True,
            text=True, check=True).stdout)["execution_id"]
        (folder / "helper.py").write_text("def step(x: int) -> int:\n    return x + 2\n")
        b = json.loads(subprocess.run(
            [sys.executable, "-m", "rillet.cli", "run", "flow.py:chain", "--x", "2", "--json",
             "--home", home, "--executor", "inline"], cwd=folder, capture_output=True,
            text=True, check=True).stdout)["execution_id"]
        from rillet.sdk._diff import diff

        with Home.open(home) as hb:
            inproc = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                d = diff(hb, a, b)
                inproc.append(time.perf_counter() - started)
            assert len(d["nodes"]) == CHAIN and d["code"] and d["inputs"], d
        _cli(["diff", a, b, "--json", "--home", home], folder)  # writes the bytecode caches
        diffs, shows = [], []
        for _ in range(max(3, args.rounds // 3)):
            diffs.append(_cli(["diff", a, b, "--json", "--home", home], folder))
            shows.append(_cli(["executions", "show", a, "--json", "--home", home], folder))
    result = {
        "record_ms": statistics.median(records) * 1000,
        "cached_rerun_ms": statistics.median(reruns) * 1000,
        "diff_s": statistics.median(d[0] for d in diffs),
        "executions_show_s": statistics.median(s[0] for s in shows),
        "diff_cpu_s": statistics.median(d[1] for d in diffs),
        "executions_show_cpu_s": statistics.median(s[1] for s in shows),
        "diff_in_process_ms": statistics.median(inproc) * 1000,
        "nodes": CHAIN,
    }
    rows = [
        h.Row(f"record of a cached {CHAIN}-chain run", "ms", result["record_ms"],
              TARGETS["record_ms"], baseline=result["cached_rerun_ms"],
              note="plain: the cached re-run itself"),
        h.Row(f"rillet diff, two {CHAIN}-node executions", "s", result["diff_s"],
              TARGETS["diff_s"], baseline=result["executions_show_s"],
              note=f"plain: rillet executions show; in process "
              f"{result['diff_in_process_ms']:.1f} ms"),
        h.Row("rillet diff, CPU time (user + sys) of the process", "s", result["diff_cpu_s"],
              TARGETS["diff_s"], baseline=result["executions_show_cpu_s"],
              note="plain: the same for rillet executions show; wall = this on a free core"),
    ]
    h.print_table(rows)
    h.write_results(h.RESULTS_DIR / "records.json", {"machine": h.machine_info(), **result},
                    rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

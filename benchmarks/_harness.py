"""Timing, process-timing and reporting helpers shared by every benchmark script.

Standard library only: the peer scripts under ``benchmarks/peers/`` import this
module from their own virtual environments, where rillet is not installed. The
machine that runs the benchmarks is small and noisy, so every helper here
measures a candidate *interleaved with its baseline* and reports the median
over rounds; compare numbers as ratios within one run, never across runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# --------------------------------------------------------------------- timing


def time_calls(fn: Callable[[], object], number: int = 1) -> float:
    """Seconds per call of ``fn()``, averaged over ``number`` back-to-back calls.

    The garbage collector is paused while timing (as ``timeit`` does) and
    restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed / number


def autorange(fn: Callable[[], object], min_time: float = 0.2, max_number: int = 10**6) -> int:
    """How many calls of ``fn`` take at least ``min_time`` seconds (1, 2, 5, 10, 20, ...)."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            n = number * factor
            if n >= max_number or time_calls(fn, n) * n >= min_time:
                return min(n, max_number)
        number *= 10


def median_time(
    fn: Callable[[], object],
    *,
    rounds: int = 3,
    number: int | None = None,
    warmup: int = 1,
    min_time: float = 0.2,
) -> float:
    """Median over ``rounds`` of the seconds per call of ``fn`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    if number is None:
        number = autorange(fn, min_time)
    return statistics.median(time_calls(fn, number) for _ in range(rounds))


@dataclass
class Overhead:
    """Candidate vs baseline timed in interleaved rounds, per unit of work (in seconds)."""

    candidate_s: float  # median seconds per call of the candidate
    baseline_s: float  # median seconds per call of the baseline
    overhead_s: float  # median over rounds of (candidate - baseline) / units
    units: int
    rounds: list[float] = field(default_factory=list)

    @property
    def overhead_ms(self) -> float:
        return self.overhead_s * 1e3

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overhead_ms": self.overhead_ms}


def overhead(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    units: int,
    rounds: int = 3,
    warmup: int = 1,
    min_time: float = 0.2,
) -> Overhead:
    """Per-unit overhead of ``candidate`` over ``baseline``.

    Each round times the candidate and then the baseline with enough inner
    calls to last ``min_time`` seconds each, so that drifts of a noisy machine
    hit both sides alike; the result is the median over the rounds.
    """
    for _ in range(warmup):
        candidate()
        baseline()
    n_cand = autorange(candidate, min_time)
    n_base = autorange(baseline, min_time)
    cands, bases, diffs = [], [], []
    for _ in range(rounds):
        c = time_calls(candidate, n_cand)
        b = time_calls(baseline, n_base)
        cands.append(c)
        bases.append(b)
        diffs.append((c - b) / units)
    return Overhead(
        candidate_s=statistics.median(cands),
        baseline_s=statistics.median(bases),
        overhead_s=statistics.median(diffs),
        units=units,
        rounds=diffs,
    )


def once(fn: Callable[[], object]) -> float:
    """Seconds of a single call of ``fn`` (for one-shot work such as compiling a workflow).

    The result is released after the clock stops, so freeing it is not counted.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()
    del result
    return elapsed


def median_prepared(prepare: Callable[[], Callable[[], object]], *, rounds: int = 3) -> float:
    """Median seconds of one call of ``prepare()``'s result, a fresh one per round.

    ``prepare`` runs untimed (e.g. writes the function a workflow decorator will
    compile); only the callable it returns is timed, after a full GC.
    """
    times = []
    for _ in range(rounds):
        fn = prepare()
        gc.collect()
        times.append(once(fn))
        del fn
    return statistics.median(times)


def traced_peak(fn: Callable[[], object]) -> tuple[int, int]:
    """(peak, retained) bytes allocated by Python while ``fn()`` runs, from tracemalloc.

    ``retained`` counts what is still alive when ``fn`` returns while its
    result is held; ``peak`` is the high-water mark during the call.
    """
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - base, current - base


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, nearest rank; nan when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100.0 * (len(ordered) - 1)))]


def wait_for_file(path: Path, timeout: float = 60.0, interval: float = 0.0002) -> float:
    """Wait until ``path`` exists and return the float written in it (a task's
    ``time.time()`` at its first line, written atomically)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the task did not start within {timeout} s ({path})")
        time.sleep(interval)
    return float(path.read_text())


def free_port() -> int:
    """A free loopback TCP port (for a server a benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_source(filename: str, source: str) -> ModuleType:
    """Write ``source`` as ``filename`` in a new temp folder and import it as
    ``rillet run FILE`` would (rillet's ``load_file``: its folder on ``sys.path``, the
    module in ``sys.modules``, so process workers find its tasks). Needs rillet."""
    from rillet.engine._loading import load_file

    path = Path(tempfile.mkdtemp(prefix="rillet-bench-")) / filename
    path.write_text(source)
    return load_file(str(path))


# ------------------------------------------------------------------ processes


def process_time(
    argv: Sequence[str],
    *,
    rounds: int = 7,
    warmup: int = 1,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    setup: Callable[[], object] | None = None,
) -> float:
    """Median wall seconds of running ``argv`` as a whole process (stdout discarded).

    ``setup`` (untimed) runs before every run, e.g. to remove the state a run left.
    Raises ``subprocess.CalledProcessError`` (with the stderr) if the process fails.
    """
    for _ in range(warmup):
        _run(argv, cwd, env, setup)
    return statistics.median(_run(argv, cwd, env, setup) for _ in range(rounds))


def process_overhead(
    argv: Sequence[str],
    baseline: Sequence[str],
    *,
    rounds: int = 7,
    warmup: int = 1,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    setup: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Process wall time of ``argv`` and of ``baseline``, interleaved, medians (seconds).

    Returns ``{"seconds", "baseline_seconds", "added_seconds"}``; ``added_seconds``
    is the median of the per-round differences. ``setup`` (untimed) runs before
    every run of ``argv``, e.g. to give each run a new rillet home.
    """
    for _ in range(warmup):
        _run(argv, cwd, env, setup)
        _run(baseline, cwd, env)
    cands, bases, diffs = [], [], []
    for _ in range(rounds):
        c = _run(argv, cwd, env, setup)
        b = _run(baseline, cwd, env)
        cands.append(c)
        bases.append(b)
        diffs.append(c - b)
    return {
        "seconds": statistics.median(cands),
        "baseline_seconds": statistics.median(bases),
        "added_seconds": statistics.median(diffs),
    }


def cached_bytecode_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with Python's bytecode cache on, kept in ``.bench/``.

    A pip-installed package is byte-compiled, so a user's process does not compile
    source on import. Some machines set ``PYTHONDONTWRITEBYTECODE`` (every process
    then recompiles every module) or have read-only trees; timing processes under
    this env (after one warm-up run) measures what a user sees, without writing
    ``__pycache__`` folders into the repository.
    """
    out = dict(os.environ if env is None else env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out["PYTHONPYCACHEPREFIX"] = str(REPO_ROOT / ".bench" / "pycache")
    return out


def _run(
    argv: Sequence[str],
    cwd: str | os.PathLike[str] | None,
    env: dict[str, str] | None,
    setup: Callable[[], object] | None = None,
) -> float:
    if setup is not None:
        setup()
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv), stderr=proc.stderr)
    return elapsed


def run_json_script(
    python: str | os.PathLike[str],
    script: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    timeout: float = 1800,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``python script args`` and parse the JSON object on the last line of its stdout.

    Raises ``RuntimeError`` with the tail of stderr when the script fails.
    """
    proc = subprocess.run(
        [str(python), str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{Path(script).name} exited with {proc.returncode}:\n{tail}")
    return json.loads(lines[-1])


def emit_json(data: dict[str, Any]) -> None:
    """Print ``data`` as one JSON line on stdout (the contract of peer scripts)."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------ reporting


@dataclass
class Row:
    """One line of a results table.

    ``value`` is rillet's figure; ``target`` the documented bound (``value <=
    target`` passes); ``peers`` maps a peer's name to its figure for the same
    workload, printed with the ratio rillet/peer.
    """

    workload: str
    unit: str
    value: float | None
    target: float | None = None
    baseline: float | None = None
    peers: dict[str, float | None] = field(default_factory=dict)
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        if self.target is None:
            return ""
        return "PASS" if self.value <= self.target else "MISS"


def fmt(value: float | None) -> str:
    """A figure with 3 significant digits and no exponent (0.000398, 0.0495, 506, 12,345)."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return str(value)
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def ratio(value: float | None, other: float | None) -> str:
    """``value / other`` as ``0.012x``, or ``-`` when either side is missing or not positive."""
    if value is None or other is None or other <= 0:
        return "-"
    r = max(value, 0.0) / other
    return f"{r:.3g}x"


def print_table(rows: Sequence[Row], peers: Sequence[str] = (), file: Any = None) -> None:
    """Print ``rows`` as an aligned text table with target, status and peer ratios."""
    out = file or sys.stdout
    header = ["workload", "unit", "rillet", "target", "status", "plain"]
    for peer in peers:
        header += [peer, f"rillet/{peer}"]
    header.append("note")
    table = [header]
    for row in rows:
        line = [
            row.workload,
            row.unit,
            fmt(row.value),
            "-" if row.target is None else f"<= {row.target:g}",
            row.status,
            fmt(row.baseline),
        ]
        for peer in peers:
            pv = row.peers.get(peer)
            line += [fmt(pv), ratio(row.value, pv)]
        line.append(row.note)
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)


def machine_info() -> dict[str, Any]:
    """Where the figures were measured (to print beside them)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 0
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": cpus,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON to ``path`` (folders created); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return target


# ------------------------------------------------------------------ scripts


def script_args(
    argv: list[str] | None,
    doc: str,
    *,
    workloads: Sequence[str],
    profiles: Sequence[str],
    rounds: int,
    peers: str,
    results: str,
    markdown: bool = False,
) -> tuple[argparse.Namespace, list[str]]:
    """The options every benchmark script takes, parsed; and the workloads chosen."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--peers", action="store_true", help=peers)
    parser.add_argument(
        "--workloads",
        default=",".join(workloads),
        help=f"comma-separated subset of {','.join(workloads)}",
    )
    parser.add_argument("--rounds", type=int, default=rounds, help="rounds of in-process timings")
    parser.add_argument("--process-rounds", type=int, default=7, help="runs of each process")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / results)
    parser.add_argument(
        "--profile",
        choices=profiles,
        action="append",
        default=[],
        help="print rillet's cProfile for this workload (repeatable)",
    )
    if markdown:
        parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = sorted(set(names) - set(workloads))
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(workloads)}")
    return args, names


def print_machine(title: str, machine: dict[str, Any]) -> None:
    print(
        f"{title}: Python {machine['python']}, {machine['cpus']} CPUs, {machine['platform']}",
        flush=True,
    )


def write_results(path: str | os.PathLike[str], data: dict[str, Any], rows: Sequence[Row]) -> None:
    """Write ``data`` with the table's rows as JSON and say where."""
    target = write_json(path, {**data, "rows": [{**vars(r), "status": r.status} for r in rows]})
    shown = target.relative_to(REPO_ROOT) if target.is_relative_to(REPO_ROOT) else target
    print(f"\nwrote {shown}")

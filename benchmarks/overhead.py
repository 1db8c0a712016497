"""rillet's own overhead on trivial tasks, against plain Python and (``--peers``) its peers.

Workloads, with ``inc(x: int) -> int: return x + 1`` so that the time is the
orchestrator's own:

    chain    a workflow of 200 chained ``inc`` tasks, called directly (ms per task)
    map      ``map_task(inc)`` over 1,000 elements in a workflow, called directly (ms per element)
    compile  defining (= compiling) chains of 1,000 and 10,000 nodes (s; tracemalloc bytes/node)
    import   ``python -c "import rillet"`` minus ``python -c "pass"`` (s)
    hello    ``python examples/hello.py`` as a whole process (s)

In-process figures are overheads over the plain-Python baseline measured in
the same rounds; process figures are medians of interleaved runs. Peers
(flytekit's local runner, Hamilton's driver) run the same workloads with
their own virtual environments under ``.bench/`` (``make bench`` creates them)
through the scripts in ``benchmarks/peers/``. Results are printed as a table
and written to ``benchmarks/results/overhead.json``.

    python benchmarks/overhead.py [--peers] [--workloads chain,map] [--profile chain]
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
import _workloads as w

IN_PROCESS = ("chain", "map", "compile")
PROCESSES = ("import", "hello")
ALL_WORKLOADS = (*IN_PROCESS, *PROCESSES)

# Documented bounds (DESIGN.md, "Performance"): value <= target passes.
TARGETS = {
    "chain": 0.004,  # ms per task
    "map": 0.002,  # ms per element
    "compile_10000": 0.12,  # s
    "import": 0.06,  # s added to a bare interpreter
    "hello": 0.1,  # s, whole process
}

HELLO = h.REPO_ROOT / "examples" / "hello.py"


class Peer:
    """A peer system: its venv under ``.bench/``, its scripts and its process workloads."""

    def __init__(self, name: str, import_stmt: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.import_stmt = import_stmt
        # flytekit leaves a folder in the temp dir per process: keep them in .bench/tmp/
        self.tmp = h.REPO_ROOT / ".bench" / "tmp" / name
        self.env = {**os.environ, **(env or {}), "TMPDIR": str(self.tmp)}
        self.python = h.REPO_ROOT / ".bench" / name / "bin" / "python"
        self.script = h.BENCH_DIR / "peers" / f"{name}_overhead.py"
        self.hello = h.BENCH_DIR / "peers" / f"{name}_hello.py"

    def missing(self) -> str | None:
        """Why this peer cannot run, or None."""
        if not self.python.exists():
            return f"{self.python.parent.parent} is missing (`make bench` creates it)"
        self.tmp.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [str(self.python), "-c", self.import_stmt], capture_output=True, text=True, env=self.env
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return f"`{self.import_stmt}` fails in {self.python}: {last}"
        return None


PEERS = (
    Peer("flytekit", "import flytekit", {"FLYTE_SDK_LOGGING_LEVEL": "40"}),
    Peer("hamilton", "from hamilton import driver", {"HAMILTON_TELEMETRY_ENABLED": "false"}),
)


# -------------------------------------------------------------------- rillet


class Rillet:
    """rillet's public API, called directly (in memory)."""

    name = "rillet"

    def __init__(self) -> None:
        import rillet
        from rillet import map_task, task, workflow

        self.version = getattr(rillet, "__version__", "?")
        self._workflow = workflow
        self._map_task = map_task

        @task
        def inc(x: int) -> int:
            return x + 1

        self.inc = inc

    def _chain_fn(self, n: int) -> Callable[..., Any]:
        inc = self.inc

        def chain_wf(x: int) -> int:
            for _ in range(n):
                x = inc(x=x)
            return x

        return chain_wf

    def chain(self, n: int) -> Callable[[], Any]:
        wf = self._workflow(self._chain_fn(n))
        return lambda: wf(x=0)

    def map(self, n: int) -> Callable[[], Any]:
        inc, map_task = self.inc, self._map_task

        @self._workflow
        def map_wf(xs: list[int]) -> list[int]:
            return map_task(inc)(x=xs)

        xs = list(range(n))
        return lambda: map_wf(xs=xs)

    def define(self, n: int) -> Callable[[], Any]:
        fn = self._chain_fn(n)
        workflow = self._workflow
        return lambda: workflow(fn)


# ----------------------------------------------------------------- processes


def measure_processes(
    names: list[str],
    python: str,
    import_stmt: str,
    hello: Path,
    env: dict[str, str] | None,
    rounds: int,
) -> dict[str, Any]:
    """The import and hello workloads for one interpreter, each against ``python -c pass``.

    Processes run with the bytecode cache on (see ``cached_bytecode_env``), as after a
    ``pip install``; the warm-up run fills it.
    """
    out: dict[str, Any] = {"errors": {}}
    env = h.cached_bytecode_env(env)
    bare = [python, "-c", "pass"]
    jobs = {"import": [python, "-c", import_stmt], "hello": [python, str(hello)]}
    for name in names:
        try:
            out[name] = h.process_overhead(
                jobs[name], bare, rounds=rounds, cwd=h.REPO_ROOT, env=env
            )
        except subprocess.CalledProcessError as exc:
            err = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
            out["errors"][name] = f"exit {exc.returncode}: {err[-1] if err else ''}"
        except OSError as exc:
            out["errors"][name] = f"{type(exc).__name__}: {exc}"
    return out


# ------------------------------------------------------------------- running


def run_rillet(names: list[str], rounds: int, process_rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {"name": "rillet", "errors": {}}
    in_proc = [n for n in names if n in IN_PROCESS]
    if in_proc:
        try:
            adapter = Rillet()
        except Exception as exc:  # the core may not be there yet
            for n in in_proc:
                results["errors"][n] = f"{type(exc).__name__}: {exc}"
        else:
            results.update(w.measure_all(adapter, in_proc, rounds=rounds))
    procs = [n for n in names if n in PROCESSES]
    if "hello" in procs and not HELLO.exists():
        procs.remove("hello")
        results["errors"]["hello"] = f"{HELLO} does not exist"
    if procs:
        p = measure_processes(procs, sys.executable, "import rillet", HELLO, None, process_rounds)
        results["errors"].update(p.pop("errors"))
        results.update(p)
    return results


def run_peer(peer: Peer, names: list[str], rounds: int, process_rounds: int) -> dict[str, Any]:
    try:
        return _run_peer(peer, names, rounds, process_rounds)
    finally:
        shutil.rmtree(peer.tmp.parent, ignore_errors=True)


def _run_peer(peer: Peer, names: list[str], rounds: int, process_rounds: int) -> dict[str, Any]:
    reason = peer.missing()
    if reason:
        return {"name": peer.name, "skipped": reason, "errors": {}}
    results: dict[str, Any] = {"name": peer.name, "errors": {}}
    in_proc = [n for n in names if n in IN_PROCESS]
    if in_proc:
        args = ["--workloads", ",".join(in_proc), "--rounds", str(rounds)]
        try:
            results.update(
                h.run_json_script(peer.python, peer.script, args, cwd=h.REPO_ROOT, env=peer.env)
            )
        except Exception as exc:
            for n in in_proc:
                results["errors"][n] = str(exc)
    procs = [n for n in names if n in PROCESSES]
    if procs:
        p = measure_processes(
            procs, str(peer.python), peer.import_stmt, peer.hello, peer.env, process_rounds
        )
        results["errors"].update(p.pop("errors"))
        results.update(p)
    return results


def _get(results: dict[str, Any], *keys: str) -> float | None:
    value: Any = results
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) else None


def build_rows(
    rillet: dict[str, Any], peers: dict[str, dict[str, Any]], names: list[str]
) -> list[h.Row]:
    """One table row per figure of the workloads in ``names``."""
    specs: list[tuple[str, str, tuple[str, ...], float | None, tuple[str, ...] | None, float]] = [
        # label, unit, value path, target, baseline path, baseline scale
        (
            "chain of 200",
            "ms/task",
            ("chain", "overhead_ms"),
            TARGETS["chain"],
            ("chain", "baseline_s"),
            1e3 / w.CHAIN_LENGTH,
        ),
        (
            "map over 1,000",
            "ms/element",
            ("map", "overhead_ms"),
            TARGETS["map"],
            ("map", "baseline_s"),
            1e3 / w.MAP_SIZE,
        ),
    ]
    for n in w.COMPILE_SIZES:
        specs.append(
            (
                f"compile {n:,} nodes",
                "s",
                ("compile", str(n), "seconds"),
                TARGETS.get(f"compile_{n}"),
                None,
                1.0,
            )
        )
    for n in w.COMPILE_SIZES:
        specs.append(
            (
                f"compile {n:,} memory",
                "bytes/node",
                ("compile", str(n), "peak_bytes_per_node"),
                None,
                None,
                1.0,
            )
        )
    specs += [
        (
            "import (added)",
            "s",
            ("import", "added_seconds"),
            TARGETS["import"],
            ("import", "baseline_seconds"),
            1.0,
        ),
        (
            "hello process",
            "s",
            ("hello", "seconds"),
            TARGETS["hello"],
            ("hello", "baseline_seconds"),
            1.0,
        ),
    ]
    rows = []
    for label, unit, path, target, base_path, scale in specs:
        if path[0] not in names:
            continue
        base = _get(rillet, *base_path) if base_path else None
        note = rillet["errors"].get(path[0], "")
        rows.append(
            h.Row(
                workload=label,
                unit=unit,
                value=_get(rillet, *path),
                target=target,
                baseline=None if base is None else base * scale,
                peers={name: _get(res, *path) for name, res in peers.items()},
                note=note[:80],
            )
        )
    return rows


def profile(workload: str, top: int = 25) -> str:
    """cProfile of rillet on one in-process workload; the ``top`` functions by own time."""
    adapter = Rillet()
    if workload == "compile":
        define = adapter.define(w.COMPILE_SIZES[-1])
        target: Callable[[], Any] = define
        repeat = 1
    else:
        run = adapter.chain(w.CHAIN_LENGTH) if workload == "chain" else adapter.map(w.MAP_SIZE)
        run()
        target, repeat = run, 200 if workload == "chain" else 50

    def loop() -> None:
        for _ in range(repeat):
            target()

    prof = cProfile.Profile()
    prof.runcall(loop)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return f"cProfile of rillet {workload} ({repeat} run(s)), by own time:\n{buf.getvalue()}"


def main(argv: list[str] | None = None) -> int:
    args, names = h.script_args(
        argv, __doc__, workloads=ALL_WORKLOADS, profiles=IN_PROCESS, rounds=3,
        peers="also run flytekit and Hamilton", results="overhead.json",
    )
    machine = h.machine_info()
    h.print_machine("rillet overhead benchmark", machine)
    rillet = run_rillet(names, args.rounds, args.process_rounds)
    peers: dict[str, dict[str, Any]] = {}
    if args.peers:
        for peer in PEERS:
            print(f"running {peer.name} ...", flush=True)
            peers[peer.name] = run_peer(peer, names, args.rounds, args.process_rounds)

    print()
    rows = build_rows(rillet, peers, names)
    h.print_table(rows, peers=[name for name, res in peers.items() if "skipped" not in res])
    print(
        "\nrillet and plain: in-process = overhead over plain Python calls in the same rounds "
        "(plain column: the plain call itself);\nprocesses = medians of interleaved runs, "
        "plain = `python -c pass`, all with the bytecode cache on (as after a pip install).\n"
        "rillet/peer < 1 means rillet is faster."
    )
    for name, res in [("rillet", rillet), *peers.items()]:
        if res.get("skipped"):
            print(f"{name}: skipped: {res['skipped']}")
        for workload, err in res.get("errors", {}).items():
            print(f"{name} {workload}: failed: {err}")

    for workload in args.profile:
        print()
        print(profile(workload))

    data = {
        "machine": machine,
        "targets": TARGETS,
        "rillet": rillet,
        "peers": peers,
    }
    h.write_results(args.json, data, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

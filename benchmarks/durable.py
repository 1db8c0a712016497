"""rillet's durable engine (``rillet.run`` / ``rillet run``) on trivial tasks.

Workloads, with ``inc(x: int) -> int: return x + 1`` so that the time is the
orchestrator's own (targets: issues 7 and 8, DESIGN.md "Performance"):

    chain       a 200-task chain through ``rillet.run`` in a fresh home, every node
                recorded, with the inline and the processes executor (ms per task
                over the plain-Python chain in the same rounds)
    map         ``map_task(inc)`` over 1,000 elements through ``rillet.run``,
                inline and processes (ms per element over the plain map)
    cached      the re-run of a 200-task chain of ``@task(cache=True)`` tasks (no
                ``cache_version``: the code hash is the key) in which every node
                is CACHED, inside the process (s per run)
    hello       ``rillet run examples/hello.py:hello_world`` on a new home, as a whole
                process, against ``python -c pass`` (s)
    rss         a map over 100,000 elements through ``rillet.run`` (inline) in a
                subprocess: peak RSS (``getrusage`` maxrss) and the home's size after
    concurrent  10 ``rillet run`` processes started at once on one home, each a
                100-node chain: errors (failed runs, "database is locked") and wall
    codehash    the first ``code_hash`` of a task calling 3 helpers (one in another
                module) in a fresh process, and whether ``import rillet`` or
                compiling a workflow imports the hasher
    explain     ``rillet cache explain`` of a fully cached 200-node chain as a whole
                process; every node must say HIT

With ``--peers``: DBOS 3.4 (SQLite system database) runs the chain as 200
durable steps and the map through its queue, in ``.bench/dbos`` (``make bench``
creates it), through ``peers/dbos_durable.py``.

Processes run with the bytecode cache on (``_harness.cached_bytecode_env``), as
after a ``pip install``. Results are printed as a table and written to
``benchmarks/results/durable.json``.

    python benchmarks/durable.py [--peers] [--workloads chain,cached] [--profile chain_inline]
                                 [--markdown]
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
import _workloads as w

WORKLOADS = ("chain", "map", "cached", "hello", "rss", "concurrent", "codehash", "explain")

# Documented bounds (issues 7 and 8): value <= target passes.
TARGETS = {
    "chain_inline": 0.3,  # ms per task
    "map_inline": 0.2,  # ms per element
    "map_processes": 1.0,  # ms per element
    "cached": 0.02,  # s per re-run, in process
    "hello": 0.3,  # s, whole process
    "rss_peak": 1024.0,  # MiB (< 1 GiB)
    "rss_home": 200.0,  # MB on disk
    "concurrent_errors": 0,  # failed runs or "database is locked"
    "codehash_first": 2.0,  # ms
    "codehash_imported": 0,  # times the hasher was found imported too early
    "explain": 0.5,  # s, whole process
}

CHAIN = w.CHAIN_LENGTH  # 200
MAP = w.MAP_SIZE  # 1,000
BIG_MAP = 100_000
CONCURRENT = 10
CONCURRENT_NODES = 100

HELLO = h.REPO_ROOT / "examples" / "hello.py"
PEER_NAME = "dbos"
PEER_PYTHON = h.REPO_ROOT / ".bench" / PEER_NAME / "bin" / "python"
PEER_SCRIPT = h.BENCH_DIR / "peers" / "dbos_durable.py"

# The user code every workload runs: written into a temp dir, then imported (in process)
# or named by `rillet run FILE.py:WF` (processes), so that tasks are module-level.
WORKFLOWS_PY = f"""\
from rillet import map_task, task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@task(cache=True)
def cinc(x: int) -> int:
    return x + 1


@workflow
def chain{CHAIN}(x: int = 0) -> int:
    for _ in range({CHAIN}):
        x = inc(x=x)
    return x


@workflow
def chain{CONCURRENT_NODES}(x: int = 0) -> int:
    for _ in range({CONCURRENT_NODES}):
        x = inc(x=x)
    return x


@workflow
def cached{CHAIN}(x: int = 0) -> int:
    for _ in range({CHAIN}):
        x = cinc(x=x)
    return x


@workflow
def map_inc(xs: list[int]) -> list[int]:
    return map_task(inc)(x=xs)
"""
WORKFLOWS_MODULE = "rillet_bench_workflows"


# A task calling 3 helpers, one of them in another user module, for the code hash.
HASHED_PY = """\
import math

from hash_helpers import normalize
from rillet import task, workflow

SCALE = 3


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def scale(value: float) -> float:
    return clamp(value * SCALE, 0.0, 1000.0)


def label(value: float) -> str:
    return f"{value:.2f}"


@task(cache=True)
def work(x: int) -> str:
    return label(scale(normalize(x)) + math.sqrt(x))


@task(cache=True)
def other(x: int) -> str:
    return label(clamp(float(x), 0.0, 10.0))


@workflow
def pipeline(x: int = 1) -> str:
    return work(x=x)
"""

HASH_HELPERS_PY = '''\
def normalize(x: int) -> float:
    """Map x into [0, 1)."""
    return (x % 100) / 100
'''


# ------------------------------------------------------------------ helpers


def rillet_exe() -> str:
    """The ``rillet`` console script next to this interpreter (what a user runs)."""
    exe = Path(sys.executable).parent / "rillet"
    if not exe.exists():
        raise FileNotFoundError(f"{exe} is missing (pip install -e . creates it)")
    return str(exe)


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"rillet-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def dir_bytes(path: Path) -> int:
    """Bytes of every file under ``path`` (the SQLite database, its WAL, the artifacts)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def check(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def _tail(text: str | bytes | None, lines: int = 3) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " | ".join((text or "").strip().splitlines()[-lines:])


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([rillet_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"rillet {' '.join(args[:2])} exited {proc.returncode}: {_tail(proc.stderr)}"
        )
    return proc


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """``python durable.py --child ARGS`` in a fresh interpreter; its JSON line."""
    return h.run_json_script(
        sys.executable,
        __file__,
        ["--child", *args],
        cwd=h.REPO_ROOT,
        env=env or h.cached_bytecode_env(),
    )


# ------------------------------------------------------------ in process


def import_workflows(folder: Path) -> Any:
    """Write ``WORKFLOWS_PY`` into ``folder`` and import it (as a user's module)."""
    import importlib

    (folder / f"{WORKFLOWS_MODULE}.py").write_text(WORKFLOWS_PY)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(WORKFLOWS_MODULE)
    finally:
        sys.path.remove(str(folder))


class Durable:
    """rillet's durable entry point, ``rillet.run``, on the workflows of ``WORKFLOWS_PY``."""

    def __init__(self, folder: Path) -> None:
        import rillet

        self.run = rillet.run
        self.version = getattr(rillet, "__version__", "?")
        self.wfs = import_workflows(folder)

    def chain(self, home: Path, executor: str) -> Callable[[], Any]:
        wf, run = getattr(self.wfs, f"chain{CHAIN}"), self.run
        return lambda: run(wf, home=str(home), executor=executor, x=0)

    def map(self, home: Path, executor: str, n: int = MAP) -> Callable[[], Any]:
        wf, run, xs = self.wfs.map_inc, self.run, list(range(n))
        return lambda: run(wf, home=str(home), executor=executor, xs=xs)

    def cached(self, home: Path) -> Callable[[], Any]:
        wf, run = getattr(self.wfs, f"cached{CHAIN}"), self.run
        return lambda: run(wf, home=str(home), executor="inline", x=0)


def _statuses(execution: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for node in execution.nodes:
        out[node.status.value] = out.get(node.status.value, 0) + 1
    return out


def _chain_one(d: Durable, executor: str, rounds: int) -> dict[str, Any]:
    with temp_dir(f"chain-{executor}") as tmp:
        run = d.chain(tmp / "home", executor)
        ex = run()
        states = _statuses(ex)
        check(
            ex.status.value == "SUCCEEDED" and ex.outputs.get("o0") == CHAIN,
            f"chain ({executor}) ended {ex.status.value}: {ex.error}",
        )
        check(
            states == {"SUCCEEDED": CHAIN},
            f"chain ({executor}) recorded {states}, expected {CHAIN} SUCCEEDED nodes",
        )
        res = h.overhead(run, lambda: w.plain_chain(CHAIN), units=CHAIN, rounds=rounds)
        return {**res.as_dict(), "nodes_recorded": states, "home_bytes": dir_bytes(tmp / "home")}


def _map_one(d: Durable, executor: str, rounds: int) -> dict[str, Any]:
    xs = list(range(MAP))
    expected = w.plain_map(xs)
    with temp_dir(f"map-{executor}") as tmp:
        run = d.map(tmp / "home", executor)
        ex = run()
        check(
            ex.status.value == "SUCCEEDED" and list(ex.outputs["o0"]) == expected,
            f"map ({executor}) ended {ex.status.value}: {ex.error}",
        )
        res = h.overhead(run, lambda: w.plain_map(xs), units=MAP, rounds=rounds)
        return {**res.as_dict(), "nodes_recorded": _statuses(ex)}


def measure_cached(d: Durable, rounds: int) -> dict[str, Any]:
    with temp_dir("cached") as tmp:
        run = d.cached(tmp / "home")
        first = h.once(run)
        ex = run()
        states = _statuses(ex)
        check(
            ex.status.value == "SUCCEEDED" and ex.outputs.get("o0") == CHAIN,
            f"cached chain ended {ex.status.value}: {ex.error}",
        )
        check(
            states == {"CACHED": CHAIN},
            f"cached re-run recorded {states}, expected {CHAIN} CACHED nodes",
        )
        res = h.overhead(run, lambda: w.plain_chain(CHAIN), units=1, rounds=rounds)
        return {"n": CHAIN, "first_run_s": first, "nodes_recorded": states, **res.as_dict()}


# ------------------------------------------------------------- processes


def measure_hello(process_rounds: int) -> dict[str, Any]:
    env = h.cached_bytecode_env()
    with temp_dir("hello") as tmp:
        home = tmp / "home"
        argv = [rillet_exe(), "run", f"{HELLO}:hello_world", "--home", str(home)]
        proc = run_cli([*argv[1:], "--json"], tmp, env)
        check(json.loads(proc.stdout)["status"] == "SUCCEEDED", f"hello: {proc.stdout}")
        res = h.process_overhead(
            argv,
            [sys.executable, "-c", "pass"],
            rounds=process_rounds,
            cwd=tmp,
            env=env,
            setup=lambda: shutil.rmtree(home, ignore_errors=True),
        )
    return res


def measure_rss() -> dict[str, Any]:
    with temp_dir("rss") as tmp:
        home = tmp / "home"
        got = run_child(["isolated", "rss", str(tmp), str(home), str(BIG_MAP)])
        check(got["status"] == "SUCCEEDED" and got["ok"], f"map over {BIG_MAP:,}: {got}")
        got["home_bytes"] = dir_bytes(home)
        got["home_files"] = sum(len(files) for _r, _d, files in os.walk(home))
        plain = run_child(["isolated", "rss-plain", str(tmp), str(BIG_MAP)])
    got["plain_maxrss_bytes"] = plain["maxrss_bytes"]
    return got


def measure_concurrent() -> dict[str, Any]:
    """10 ``rillet run`` at once on one home, with the default executor and with inline."""
    return {executor: _concurrent(executor) for executor in ("processes", "inline")}


def _concurrent(executor: str) -> dict[str, Any]:
    env = h.cached_bytecode_env()
    with temp_dir(f"concurrent-{executor}") as tmp:
        (tmp / "wfs.py").write_text(WORKFLOWS_PY)
        home = tmp / "home"
        argv = [
            rillet_exe(),
            "run",
            f"{tmp / 'wfs.py'}:chain{CONCURRENT_NODES}",
            "--home",
            str(home),
            "--executor",
            executor,
            "--json",
        ]
        # one run alone first: creates the home (as a user's first run does), then one timed
        run_cli(argv[1:], tmp, env)
        start = time.perf_counter()
        run_cli(argv[1:], tmp, env)
        alone = time.perf_counter() - start

        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                argv, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(CONCURRENT)
        ]
        outs = [p.communicate(timeout=600) for p in procs]
        wall = time.perf_counter() - start

        errors: list[str] = []
        locked = 0
        for i, (p, (stdout, stderr)) in enumerate(zip(procs, outs)):
            if "database is locked" in stderr.lower() or "database is locked" in stdout.lower():
                locked += 1
                errors.append(f"run {i}: 'database is locked' in its output")
            try:
                got = json.loads(stdout)
            except ValueError:
                got = {}
            if (
                p.returncode != 0
                or got.get("status") != "SUCCEEDED"
                or got.get("outputs", {}).get("o0") != CONCURRENT_NODES
            ):
                errors.append(
                    f"run {i}: exit {p.returncode}, status {got.get('status')}, {_tail(stderr, 1)}"
                )
        listed = subprocess.run(
            [rillet_exe(), "executions", "list", "--json", "--home", str(home)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        try:
            statuses = [e.get("status") for e in json.loads(listed.stdout)]
        except ValueError:
            statuses = []
        if statuses.count("SUCCEEDED") != CONCURRENT + 2:
            errors.append(
                f"executions list: {statuses.count('SUCCEEDED')} SUCCEEDED of "
                f"{len(statuses)}, expected {CONCURRENT + 2}"
            )
    return {
        "runs": CONCURRENT,
        "nodes": CONCURRENT_NODES,
        "executor": executor,
        "errors": len(errors),
        "locked": locked,
        "error_messages": errors,
        "wall_s": wall,
        "alone_s": alone,
        "executions_listed": statuses,
    }


def measure_codehash(process_rounds: int) -> dict[str, Any]:
    with temp_dir("codehash") as tmp:
        (tmp / "hashed.py").write_text(HASHED_PY)
        (tmp / "hash_helpers.py").write_text(HASH_HELPERS_PY)
        # a few ms in a fresh process each: many runs, for a stable median
        runs = [run_child(["codehash", str(tmp)]) for _ in range(max(15, 2 * process_rounds))]
    out: dict[str, Any] = {"runs": len(runs)}
    for key in ("import_s", "first_s", "first_with_import_s", "next_s", "memo_s"):
        out[key] = statistics.median(r[key] for r in runs)
    out["parts"] = runs[0]["parts"]
    out["imported_early"] = sorted({w for r in runs for w in r["imported_early"]})
    return out


def measure_explain(process_rounds: int) -> dict[str, Any]:
    env = h.cached_bytecode_env()
    with temp_dir("explain") as tmp:
        (tmp / "wfs.py").write_text(WORKFLOWS_PY)
        home, target = str(tmp / "home"), f"{tmp / 'wfs.py'}:cached{CHAIN}"
        run_cli(["run", target, "--home", home, "--executor", "inline", "--json"], tmp, env)
        got = json.loads(
            run_cli(["cache", "explain", target, "--home", home, "--json"], tmp, env).stdout
        )
        statuses = [n["status"] for n in got["nodes"]]
        check(
            len(statuses) == CHAIN and set(statuses) == {"HIT"},
            f"cache explain: {len(statuses)} nodes, {sorted(set(statuses))}, expected {CHAIN} HIT",
        )
        res = h.process_overhead(
            [rillet_exe(), "cache", "explain", target, "--home", home],
            [sys.executable, "-c", "pass"],
            rounds=process_rounds,
            cwd=tmp,
            env=env,
        )
    return {"nodes": len(statuses), "hits": statuses.count("HIT"), **res}


# -------------------------------------------------------------- children


def child_rss(folder: str, home: str, n: int) -> None:
    import rillet

    wfs = import_workflows(Path(folder))
    xs = list(range(n))
    start = time.perf_counter()
    ex = rillet.run(wfs.map_inc, home=home, executor="inline", xs=xs)
    seconds = time.perf_counter() - start
    out = ex.outputs.get("o0") if ex.status.value == "SUCCEEDED" else None
    ok = out is not None and len(out) == n and out[0] == 1 and out[-1] == n
    h.emit_json(
        {
            "status": ex.status.value,
            "ok": ok,
            "seconds": seconds,
            "n": n,
            "maxrss_bytes": _maxrss(),
            "vmhwm_bytes": _vm_hwm(),
        }
    )


def child_rss_plain(folder: str, n: int) -> None:
    """The same process without ``rillet.run``: imports, workflows, the list, a plain map."""
    import rillet

    wfs = import_workflows(Path(folder))
    xs = list(range(n))
    out = w.plain_map(xs)
    h.emit_json(
        {
            "ok": len(out) == n,
            "maxrss_bytes": _maxrss(),
            "vmhwm_bytes": _vm_hwm(),
            "rillet": rillet.__version__,
            "workflow": wfs.map_inc.name,
        }
    )


def _maxrss() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux: KiB


def _vm_hwm() -> int | None:
    """The peak RSS of this process's own memory since exec (Linux), a cross-check."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def child_codehash(folder: str, profile_to: str | None = None) -> None:
    hasher = "rillet.compiler._codehash"
    early: list[str] = []
    import rillet

    if hasher in sys.modules:
        early.append("after import rillet")
    sys.path.insert(0, folder)
    import hashed  # type: ignore[import-not-found]  # defines tasks and compiles a workflow

    if hasher in sys.modules:
        early.append("after compiling a workflow")
    check(hashed.pipeline(x=7) == hashed.work.fn(x=7), "the hashed workflow runs directly")
    if hasher in sys.modules:
        early.append("after calling the workflow directly")

    prof = cProfile.Profile() if profile_to else None
    if prof is not None:
        prof.enable()
    t0 = time.perf_counter()
    from rillet.engine._cachekey import code_hash_of

    t1 = time.perf_counter()
    import rillet.compiler._codehash  # noqa: F401

    t2 = time.perf_counter()
    first = code_hash_of(hashed.work)
    t3 = time.perf_counter()
    if prof is not None and profile_to:
        prof.disable()
        prof.dump_stats(profile_to)
    code_hash_of(hashed.other)
    t4 = time.perf_counter()
    code_hash_of(hashed.work)
    t5 = time.perf_counter()
    h.emit_json(
        {
            "import_s": t2 - t1,
            "first_s": t3 - t2,
            "first_with_import_s": t3 - t0,
            "next_s": t4 - t3,
            "memo_s": t5 - t4,
            "parts": sorted(first.parts),
            "imported_early": early,
        }
    )


def run_as_child(args: list[str]) -> int:
    kind, rest = args[0], args[1:]
    if kind == "isolated":
        # Linux keeps the larger of a process's maxrss and the parent's memory when a
        # forked child calls exec, so a child of this (big) benchmark process would
        # report the benchmark's own peak. This small process starts the real child.
        proc = subprocess.run(
            [sys.executable, __file__, "--child", *rest], capture_output=True, text=True
        )
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        return proc.returncode
    if kind == "rss":
        child_rss(rest[0], rest[1], int(rest[2]))
    elif kind == "rss-plain":
        child_rss_plain(rest[0], int(rest[1]))
    elif kind == "codehash":
        child_codehash(rest[0], rest[1] if len(rest) > 1 else None)
    else:
        raise SystemExit(f"unknown child {kind!r}")
    return 0


# ---------------------------------------------------------------- peers


def run_peer(rounds: int) -> dict[str, Any]:
    """DBOS's chain and map (``peers/dbos_durable.py`` in ``.bench/dbos``), or why not."""
    if not PEER_PYTHON.exists():
        return {
            "name": PEER_NAME,
            "skipped": f"{PEER_PYTHON.parent.parent} is missing "
            "(`make bench` installs dbos~=3.4.0 there)",
            "errors": {},
        }
    try:
        return h.run_json_script(
            PEER_PYTHON,
            PEER_SCRIPT,
            ["--workloads", "chain,map", "--rounds", str(rounds)],
            cwd=h.REPO_ROOT,
        )
    except Exception as exc:
        return {"name": PEER_NAME, "skipped": str(exc)[:300], "errors": {}}


# -------------------------------------------------------------- running


def run_rillet(names: list[str], rounds: int, process_rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {"name": "rillet", "errors": {}}
    with temp_dir("workflows") as folder:
        _run_rillet(results, folder, names, rounds, process_rounds)
    return results


def _run_rillet(
    results: dict[str, Any], folder: Path, names: list[str], rounds: int, process_rounds: int
) -> None:
    durable: Durable | None = None
    for name in names:
        print(f"  {name} ...", flush=True)
        try:
            if name in ("chain", "map"):
                durable = durable or Durable(folder)
                one = _chain_one if name == "chain" else _map_one
                results[name] = {"n": CHAIN if name == "chain" else MAP}
                for executor in ("inline", "processes"):
                    try:
                        results[name][executor] = one(durable, executor, rounds)
                    except Exception as exc:
                        results["errors"][f"{name}_{executor}"] = f"{type(exc).__name__}: {exc}"
            elif name == "cached":
                durable = durable or Durable(folder)
                results[name] = measure_cached(durable, rounds)
            elif name == "hello":
                results[name] = measure_hello(process_rounds)
            elif name == "rss":
                results[name] = measure_rss()
            elif name == "concurrent":
                results[name] = measure_concurrent()
            elif name == "codehash":
                results[name] = measure_codehash(process_rounds)
            elif name == "explain":
                results[name] = measure_explain(process_rounds)
        except Exception as exc:
            err = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else None
            results["errors"][name] = f"{type(exc).__name__}: {exc} {_tail(err, 2)}".strip()
    if durable is not None:
        results["version"] = durable.version


def _get(results: dict[str, Any], *keys: str) -> Any:
    value: Any = results
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _scaled(value: Any, scale: float) -> float | None:
    if not isinstance(value, (int, float)):
        return None
    return value if scale == 1.0 else value * scale


def build_rows(r: dict[str, Any], peer: dict[str, Any] | None) -> list[h.Row]:
    """One table row per figure, in workload order."""
    err = r["errors"]
    peer_ok = peer is not None and "skipped" not in peer
    rows: list[h.Row] = []

    def add(
        workload: str,
        label: str,
        unit: str,
        path: tuple[str, ...],
        scale: float = 1.0,
        target: float | None = None,
        base: tuple[str, ...] | None = None,
        base_scale: float = 1.0,
        peer_path: tuple[str, ...] | None = None,
        note: str = "",
    ) -> None:
        error = err.get(workload) or err.get(f"{workload}_{path[0]}")
        if workload not in r and error is None:
            return
        peers = {}
        if peer is not None and peer_ok and peer_path is not None:
            peers[PEER_NAME] = _get(peer, *peer_path)
        rows.append(
            h.Row(
                workload=label,
                unit=unit,
                value=_scaled(_get(r, workload, *path), scale),
                target=target,
                baseline=_scaled(_get(r, workload, *base), base_scale) if base else None,
                peers=peers,
                note=(error or note)[:100],
            )
        )

    add(
        "chain",
        "chain of 200, inline",
        "ms/task",
        ("inline", "overhead_ms"),
        target=TARGETS["chain_inline"],
        base=("inline", "baseline_s"),
        base_scale=1e3 / CHAIN,
        peer_path=("chain", "overhead_ms"),
        note="every node recorded SUCCEEDED",
    )
    add(
        "chain",
        "chain of 200, processes",
        "ms/task",
        ("processes", "overhead_ms"),
        base=("processes", "baseline_s"),
        base_scale=1e3 / CHAIN,
        note="report only",
    )
    add(
        "map",
        "map over 1,000, inline",
        "ms/element",
        ("inline", "overhead_ms"),
        target=TARGETS["map_inline"],
        base=("inline", "baseline_s"),
        base_scale=1e3 / MAP,
        peer_path=("map", "overhead_ms"),
        note="dbos: a queued workflow per element",
    )
    add(
        "map",
        "map over 1,000, processes",
        "ms/element",
        ("processes", "overhead_ms"),
        target=TARGETS["map_processes"],
        base=("processes", "baseline_s"),
        base_scale=1e3 / MAP,
    )
    first = _get(r, "cached", "first_run_s")
    add(
        "cached",
        "cached 200-chain re-run",
        "s",
        ("candidate_s",),
        target=TARGETS["cached"],
        base=("baseline_s",),
        note=f"all {CHAIN} CACHED; first run {h.fmt(first)} s" if first else "",
    )
    add(
        "hello",
        "rillet run hello, new home",
        "s",
        ("seconds",),
        target=TARGETS["hello"],
        base=("baseline_seconds",),
        note="plain = python -c pass",
    )
    rss_s = _get(r, "rss", "seconds")
    add(
        "rss",
        "map over 100,000: peak RSS",
        "MiB",
        ("maxrss_bytes",),
        scale=2**-20,
        target=TARGETS["rss_peak"],
        base=("plain_maxrss_bytes",),
        base_scale=2**-20,
        note=f"run {h.fmt(rss_s)} s; plain = same process, plain map" if rss_s else "",
    )
    files = _get(r, "rss", "home_files")
    add(
        "rss",
        "map over 100,000: home size",
        "MB",
        ("home_bytes",),
        scale=1e-6,
        target=TARGETS["rss_home"],
        note=f"{files} files" if files is not None else "",
    )
    for executor in ("processes", "inline"):
        msgs = _get(r, "concurrent", executor, "error_messages") or []
        locked = _get(r, "concurrent", executor, "locked")
        label = f"{CONCURRENT} concurrent runs x {CONCURRENT_NODES} nodes, {executor}"
        add(
            "concurrent",
            f"{label}: errors",
            "errors",
            (executor, "errors"),
            target=TARGETS["concurrent_errors"],
            note="; ".join(msgs)
            or (f"{locked} 'database is locked'" if locked is not None else ""),
        )
        alone = _get(r, "concurrent", executor, "alone_s")
        add(
            "concurrent",
            f"{label}: wall",
            "s",
            (executor, "wall_s"),
            note=f"one run alone: {h.fmt(alone)} s" if alone else "",
        )
    first = _get(r, "codehash", "first_s")
    whole = _get(r, "codehash", "first_with_import_s")
    nxt = _get(r, "codehash", "next_s")
    # The target is the hash of a task at first use. The one-time imports (the hasher's
    # modules, and hashlib's OpenSSL set-up, which a durable run has already paid for
    # hashing values) are reported beside it, not hidden.
    add(
        "codehash",
        "code hash, first task in a process",
        "ms",
        ("first_s",),
        scale=1e3,
        target=TARGETS["codehash_first"],
        note=(
            f"+ one-time imports {h.fmt((whole - first) * 1e3)} ms (hasher, hashlib); "
            f"next task {h.fmt(nxt * 1e3)} ms"
        )
        if first is not None and whole is not None and nxt is not None
        else "",
    )
    early = _get(r, "codehash", "imported_early")
    if early is not None:
        r["codehash"]["imported_early_count"] = len(early)
    add(
        "codehash",
        "hasher imported by import/compile",
        "count",
        ("imported_early_count",),
        target=TARGETS["codehash_imported"],
        note="; ".join(early) if early else "not after import rillet nor after compiling",
    )
    add(
        "explain",
        "cache explain, 200 cached nodes",
        "s",
        ("seconds",),
        target=TARGETS["explain"],
        base=("baseline_seconds",),
        note=f"{_get(r, 'explain', 'hits')}/{CHAIN} HIT" if "explain" in r else "",
    )
    return rows


def markdown_table(rows: list[h.Row], peers: list[str]) -> str:
    """``rows`` as a Markdown table (for the README)."""
    head = ["workload", "unit", "rillet", "target", "status", "plain"]
    for peer in peers:
        head += [peer, f"rillet/{peer}"]
    head.append("note")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r.workload,
            r.unit,
            h.fmt(r.value),
            "-" if r.target is None else f"<= {r.target:g}",
            r.status or "-",
            h.fmt(r.baseline),
        ]
        for peer in peers:
            cells += [h.fmt(r.peers.get(peer)), h.ratio(r.value, r.peers.get(peer))]
        cells.append(r.note)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------- profiling

IN_PROCESS_PROFILES = ("chain_inline", "chain_processes", "map_inline", "map_processes", "cached")
PROCESS_PROFILES = ("hello", "rss", "codehash", "explain")
PROFILES = (*IN_PROCESS_PROFILES, *PROCESS_PROFILES)


def _stats_text(prof: cProfile.Profile | str, title: str, top: int) -> str:
    """The ``top`` functions by own time and by cumulative time, in ms and % of the total."""
    stats = pstats.Stats(prof)
    entries = stats.stats  # type: ignore[attr-defined]
    own = sum(tt for _cc, _nc, tt, _ct, _callers in entries.values())
    total = max([own, *(ct for _cc, _nc, _tt, ct, _callers in entries.values())]) or 1e-12
    lines = [
        title,
        f"total {total * 1e3:.1f} ms (profiled; cProfile slows Python code down); % of the total",
    ]

    def where(key: tuple[str, int, str]) -> str:
        file, line, func = key
        if file == "~":
            return func
        return f"{os.path.basename(file)}:{line}({func})"

    for label, col in (("own time", 2), ("cumulative time", 3)):
        lines.append(f"--- top {top} by {label} ---")
        lines.append(f"{'ms':>9} {'%':>6} {'calls':>9}  function")
        ranked = sorted(entries.items(), key=lambda kv: kv[1][col], reverse=True)[:top]
        for key, value in ranked:
            lines.append(
                f"{value[col] * 1e3:9.2f} {100 * value[col] / total:5.1f}% "
                f"{value[1]:9d}  {where(key)}"
            )
    return "\n".join(lines) + "\n"


def profile(name: str, top: int = 25) -> str:
    """cProfile of one workload: in process, or the whole process under ``-m cProfile``."""
    with temp_dir(f"profile-{name}") as tmp:
        if name in IN_PROCESS_PROFILES:
            d = Durable(tmp)
            home = tmp / "home"
            if name == "cached":
                run = d.cached(home)
            elif name.startswith("chain"):
                run = d.chain(home, name.split("_")[1])
            else:
                run = d.map(home, name.split("_")[1])
            run()
            run()
            repeat = 20
            prof = cProfile.Profile()
            prof.runcall(lambda: [run() for _ in range(repeat)])
            return _stats_text(prof, f"cProfile of {name} ({repeat} runs), in process", top)
        out = str(tmp / "out.prof")
        env = h.cached_bytecode_env()
        if name == "codehash":
            (tmp / "hashed.py").write_text(HASHED_PY)
            (tmp / "hash_helpers.py").write_text(HASH_HELPERS_PY)
            run_child(["codehash", str(tmp), out])
            title = "cProfile of importing the hasher and the first code_hash, fresh process"
            return _stats_text(out, title, top)
        if name == "rss":
            argv = [__file__, "--child", "rss", str(tmp), str(tmp / "home"), str(BIG_MAP)]
        elif name == "hello":
            argv = [rillet_exe(), "run", f"{HELLO}:hello_world", "--home", str(tmp / "home")]
        else:
            (tmp / "wfs.py").write_text(WORKFLOWS_PY)
            target, home_dir = f"{tmp / 'wfs.py'}:cached{CHAIN}", str(tmp / "home")
            run_cli(["run", target, "--home", home_dir, "--executor", "inline"], tmp, env)
            argv = [rillet_exe(), "cache", "explain", target, "--home", home_dir]
        if name == "hello":  # warm the bytecode cache, then profile a run on a new home
            subprocess.run(
                [sys.executable, *argv[:-1], str(tmp / "warm")],
                cwd=tmp,
                env=env,
                capture_output=True,
            )
        proc = subprocess.run(
            [sys.executable, "-m", "cProfile", "-o", out, *argv],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return f"profile of {name} failed: {_tail(proc.stderr, 5)}"
        return _stats_text(out, f"cProfile of the whole {name} process", top)


# ----------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return run_as_child(argv[1:])
    args, names = h.script_args(
        argv, __doc__, workloads=WORKLOADS, profiles=PROFILES, rounds=5,
        peers="also run DBOS (.bench/dbos)", results="durable.json", markdown=True,
    )
    machine = h.machine_info()
    h.print_machine("rillet durable benchmark", machine)
    rillet = run_rillet(names, args.rounds, args.process_rounds)
    peer: dict[str, Any] | None = None
    if args.peers:
        print(f"running {PEER_NAME} ...", flush=True)
        peer = run_peer(min(args.rounds, 3))  # DBOS's queued map takes ~20 s a round

    print()
    rows = build_rows(rillet, peer)
    shown = [PEER_NAME] if peer and "skipped" not in peer else []
    h.print_table(rows, peers=shown)
    print(
        "\nin-process rows: overhead over plain Python in the same rounds (plain column: the "
        "plain call itself), medians;\nprocess rows: medians of interleaved runs, plain = "
        "`python -c pass`, every process with the bytecode cache on\n(PYTHONPYCACHEPREFIX in "
        ".bench/, as after a pip install). rillet/dbos < 1 means rillet is faster."
    )
    if peer and peer.get("skipped"):
        print(f"{PEER_NAME}: skipped: {peer['skipped']}")
    for source, res in (("rillet", rillet), (PEER_NAME, peer or {})):
        for workload, msg in res.get("errors", {}).items():
            print(f"{source} {workload}: failed: {msg}")

    if args.markdown:
        print()
        print(markdown_table(rows, shown))
    for name in args.profile:
        print()
        print(profile(name))

    data = {
        "machine": machine,
        "targets": TARGETS,
        "rillet": rillet,
        "peers": {PEER_NAME: peer} if peer else {},
    }
    h.write_results(args.json, data, rows)
    misses = [r.workload for r in rows if r.status == "MISS"]
    if misses:
        print(f"MISS: {', '.join(misses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What verifying stored values costs (issue 11, target: <= 3 % of the durable chain and
map figures): the same workloads with verification on (as shipped) and off, rounds
interleaved, in one process.

"Off" is a switch of this benchmark only (``verification_off``): bytes read back are
not hashed, a cache hit or a recovered node trusts its output's record without
reading its bytes, and the inline executor does not watch for processes an attempt
leaves behind (what rillet did before issue 11; the audit hook that watch installs
stays, it cannot be removed from a process). Workloads:

    chain_inline   a 200-task chain of ints through ``rillet.run`` (values kept inline:
                   no bytes read, so nothing hashed; the engine's added checks only)
    map_inline     ``map_task(inc)`` over 1,000 elements, inline
    cached         the re-run of a 200-task chain in which every node is CACHED
    cached_files   the re-run of a 51-task chain of ``list[int]`` values of 4,000
                   items (about 30 KB each, stored as files) in which every node is
                   CACHED: each hit reads its value's bytes and hashes them

    python benchmarks/verify.py [--rounds 9] [--workloads cached,cached_files]

Each side is timed in CPU time of this process (``time.process_time``: user + system,
the inline executor runs everything here), which the load of other processes on a
shared machine disturbs far less than wall time. Prints on/off medians and the ratio
(the median of per-round ratios) and writes ``benchmarks/results/verify.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from durable import CHAIN, MAP, WORKFLOWS_PY, temp_dir

FILES_CHAIN = 50
FILES_ITEMS = 4000
WORKLOADS = ("chain_inline", "map_inline", "cached", "cached_files")

EXTRA_PY = f"""

@task(cache=True)
def start(n: int) -> list[int]:
    return list(range(n))


@task(cache=True)
def grow(xs: list[int]) -> list[int]:
    return [x + 1 for x in xs]


@workflow
def files{FILES_CHAIN}(n: int = {FILES_ITEMS}) -> list[int]:
    xs = start(n=n)
    for _ in range({FILES_CHAIN}):
        xs = grow(xs=xs)
    return xs
"""


@contextlib.contextmanager
def verification_off() -> Iterator[None]:
    """Read stored bytes without hashing them, and take a cache hit's (or a recovered
    node's) outputs on their records alone: rillet before issue 11."""
    from rillet.engine import _values
    from rillet.errors import ValueUnavailable

    def unhashed(record: Any, artifacts: Any, tp: Any = None) -> bytes:
        return bytes(artifacts.get(record.uri))

    def recorded_only(self: Any, digest: str, tp: Any, *, remove: bool = True) -> str | None:
        try:
            return "pruned" if self.record(digest).purged else None
        except ValueUnavailable as exc:
            return exc.reason

    from rillet.executors import _inline

    saved = _values.verified, _values.ValueStore.unusable
    _values.verified = unhashed  # type: ignore[assignment]
    _values.ValueStore.unusable = recorded_only  # type: ignore[method-assign]
    watch, _inline.AttemptProcesses = (  # type: ignore[misc]
        _inline.AttemptProcesses, contextlib.nullcontext)
    try:
        yield
    finally:
        _values.verified, _values.ValueStore.unusable = saved  # type: ignore[method-assign]
        _inline.AttemptProcesses = watch  # type: ignore[misc]


def workflows() -> Any:
    return h.load_source("rillet_verify_workflows.py", WORKFLOWS_PY + EXTRA_PY)


def prepared(name: str, wfs: Any, home: Path) -> tuple[Callable[[], Any], int, str]:
    """(one run, units per run, unit) of workload ``name`` on ``home``, checked once."""
    import rillet

    def run(wf: Any, **inputs: Any) -> Callable[[], Any]:
        return lambda: rillet.run(wf, home=str(home), executor="inline", **inputs)

    if name == "chain_inline":
        fn, units, unit, want = run(getattr(wfs, f"chain{CHAIN}"), x=0), CHAIN, "ms/task", None
    elif name == "map_inline":
        fn, units, unit, want = run(wfs.map_inc, xs=list(range(MAP))), MAP, "ms/elem", None
    elif name == "cached":
        fn, units, unit, want = run(getattr(wfs, f"cached{CHAIN}"), x=0), 1, "s/run", "CACHED"
    else:
        fn, units, unit, want = run(getattr(wfs, f"files{FILES_CHAIN}")), 1, "s/run", "CACHED"
    fn()
    ex = fn()
    states = {n.status.value for n in ex.nodes}
    if ex.status.value != "SUCCEEDED" or (want is not None and states != {want}):
        raise SystemExit(f"{name}: ended {ex.status.value} with nodes {states}")
    return fn, units, unit


def cpu_time(fn: Callable[[], object], number: int) -> float:
    """CPU seconds (user + system) of this process per call of ``fn``."""
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def verified_per_run(fn: Callable[[], object]) -> tuple[int, int]:
    """(values whose bytes one run reads and hashes, their bytes): where verification
    costs anything at all."""
    from rillet.engine import _values

    seen: list[int] = []
    real = _values.verified

    def counting(record: Any, artifacts: Any, tp: Any = None) -> bytes:
        data = real(record, artifacts, tp)
        seen.append(len(data))
        return data

    _values.verified = counting  # type: ignore[assignment]
    try:
        fn()
    finally:
        _values.verified = real  # type: ignore[assignment]
    return len(seen), sum(seen)


def measure(name: str, wfs: Any, rounds: int) -> dict[str, Any]:
    with temp_dir(f"verify-{name}") as tmp:
        fn, units, unit = prepared(name, wfs, tmp / "home")
        reads, read_bytes = verified_per_run(fn)
        n = max(3, h.autorange(fn, 0.5))
        ons, offs, ratios = [], [], []
        for i in range(rounds):  # interleaved; which side goes first alternates
            first_on = i % 2 == 0
            for on in (first_on, not first_on):
                if on:
                    ons.append(cpu_time(fn, n))
                else:
                    with verification_off():
                        offs.append(cpu_time(fn, n))
            ratios.append(ons[-1] / offs[-1])
    scale = 1e3 if unit.startswith("ms") else 1.0
    return {"workload": name, "unit": unit, "units": units, "calls_per_round": n,
            "verified_reads": reads, "verified_bytes": read_bytes,
            "on": statistics.median(ons) / units * scale,
            "off": statistics.median(offs) / units * scale,
            "ratio": statistics.median(ratios), "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()
    names = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    machine = h.machine_info()
    h.print_machine("verification on vs off (issue 11, target <= 1.03x)", machine)
    wfs = workflows()
    results = [measure(name, wfs, args.rounds) for name in names]
    print(f"{'workload':<14} {'unit':<8} {'on':>10} {'off':>10} {'on/off':>8} "
          f"{'values hashed/run':>18}")
    for r in results:
        print(f"{r['workload']:<14} {r['unit']:<8} {h.fmt(r['on']):>10} {h.fmt(r['off']):>10} "
              f"{r['ratio']:>7.3f}x {r['verified_reads']:>6} ({r['verified_bytes']:,} B)")
    path = h.write_json(Path(__file__).resolve().parent / "results" / "verify.json",
                        {"machine": machine, "rounds": args.rounds, "results": results})
    print(f"wrote {path}")
    scalar_hashes()


def scalar_hashes(n: int = 20_000) -> None:
    """Per call: ``content_hash`` of a small scalar beside one sha256 of its JSON (what a
    value's identity costs at least); a unit test asserted < 20 us until it moved here."""
    import hashlib

    from rillet.types._literal import content_hash

    print(f"{'scalar hash':<14} {'us/call':>8} {'sha256':>8} {'ratio':>7}")
    for value, tp in ((123456, int), ("name", str), (True, bool)):
        ours = min(_per_call(lambda: content_hash(value, tp), n) for _ in range(5))
        data = json.dumps(value).encode()
        base = min(_per_call(lambda: hashlib.sha256(data).hexdigest(), n) for _ in range(5))
        print(f"{tp.__name__:<14} {ours * 1e6:>8.2f} {base * 1e6:>8.2f} {ours / base:>6.1f}x")


def _per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


if __name__ == "__main__":
    main()

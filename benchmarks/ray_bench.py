"""rillet on Ray beside plain Ray, measured in the same run on a 2-node local cluster
(issue 19's targets). Named ``ray_bench.py``, not ``ray.py``: a script named like a
library would shadow it on ``sys.path``.

Workloads:

    chain   a workflow of N sequential trivial tasks run with ``executor="ray"``
            (each a recorded, recoverable attempt) against a bare ``ray.remote``
            chain of the same length (each call waiting for the one before):
            seconds per task, and the ratio (target: <= 1.5x)
    map     a map over 10,000 trivial elements: rillet's ``map_task`` on Ray against
            bare Ray tasks batched by hand (2 batches per CPU; target: <= 3x) and
            one bare Ray task per element (target: rillet >= 10x faster)
    soak    nothing lost: ``--kills`` SIGKILLs of ``rillet run|recover --executor ray``
            drivers at random moments over a 100-node workflow, each recovered
            (``_ray_soak.py``; target: correct outputs, no succeeded node re-run)

Each rillet workload runs in one home of its own, kept across its runs as a project's
home is (created by the warm-up run: a new home's schema is a one-time cost, not a
per-task one).

    python benchmarks/ray_bench.py [--rounds 3] [--chain 20] [--elements 10000] [--kills 20]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h
import ray
from ray.cluster_utils import Cluster

MiB = 2**20

FLOWS = '''
from rillet import map_task, task, workflow

CHAIN = {chain}

@task
def inc(x: int) -> int:
    return x + 1

@workflow
def chain(x: int = 0) -> int:
    for _ in range(CHAIN):
        x = inc(x=x)
    return x

@workflow
def mapped(xs: list[int]) -> list[int]:
    return map_task(inc)(x=xs)
'''


@ray.remote
def bare_inc(x: int) -> int:
    return x + 1


@ray.remote
def bare_batch(xs: list[int]) -> list[int]:
    return [x + 1 for x in xs]


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chain", type=int, default=20)
    parser.add_argument("--elements", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20, help="driver SIGKILLs (0: no soak)")
    args = parser.parse_args()

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 100 * MiB, "include_dashboard": False})
    cluster.add_node(num_cpus=1, object_store_memory=100 * MiB)
    cluster.wait_for_nodes(timeout=300)
    os.environ["RAY_ADDRESS"] = cluster.address
    ray.init(address=cluster.address, log_to_driver=False)
    import rillet

    flows = h.load_source("bench_ray_flows.py", FLOWS.format(chain=args.chain))
    n, xs = args.chain, list(range(args.elements))
    cpus = int(ray.cluster_resources().get("CPU", 1))

    chain_home = tempfile.mkdtemp(prefix="rillet-bench-home-")
    map_home = tempfile.mkdtemp(prefix="rillet-bench-home-")

    def rillet_chain() -> None:
        ex = rillet.run(flows.chain, home=chain_home, executor="ray")
        assert ex.status == "SUCCEEDED", ex.error

    def bare_chain() -> None:
        x = 0
        for _ in range(n):
            x = ray.get(bare_inc.remote(x))
        assert x == n

    def rillet_map() -> None:
        ex = rillet.run(flows.mapped, home=map_home, executor="ray", xs=xs)
        assert ex.status == "SUCCEEDED", ex.error

    def bare_batched() -> None:
        size = -(-len(xs) // (2 * cpus))
        out = ray.get([bare_batch.remote(xs[i:i + size]) for i in range(0, len(xs), size)])
        assert sum(len(o) for o in out) == len(xs)

    def bare_each() -> None:
        assert len(ray.get([bare_inc.remote(x) for x in xs])) == len(xs)

    chains = {"rillet chain": rillet_chain, "bare chain": bare_chain}
    maps = {"rillet map": rillet_map, "bare batched map": bare_batched}
    times: dict[str, list[float]] = {k: [] for k in [*chains, *maps, "bare per-element map"]}
    for fn in [*chains.values(), *maps.values(), bare_each]:  # warm up: workers, imports
        fn()
    # Interleaved, so that load hits every case alike, each pair in its rounds of its own
    # and in turns first and second: a map of 10,000 leaves the cluster busy for a while
    # after it ends (its objects freed, its workers returned), and before 6 Dec 2026
    # rillet's chain always ran right after one (how much that cost was not measured).
    for cases in (chains, maps):
        for turn in range(args.rounds):
            for name, fn in list(cases.items())[::-1 if turn % 2 else 1]:
                times[name].append(_timed(fn))
    # 10,000 Ray tasks keep the cluster busy for a while after they end (freeing their
    # objects and workers): that baseline runs in rounds of its own, after the others,
    # rather than slowing whichever case would follow it.
    for _ in range(args.rounds):
        times["bare per-element map"].append(_timed(bare_each))
    med = {k: statistics.median(v) for k, v in times.items()}
    ours_map, batched = med["rillet map"], med["bare batched map"]
    each = med["bare per-element map"]
    rows = [
        h.Row(f"chain of {n}, per task", "ms", med["rillet chain"] / n * 1e3,
              target=1.5 * med["bare chain"] / n * 1e3, baseline=med["bare chain"] / n * 1e3,
              note=f"{med['rillet chain'] / med['bare chain']:.2f}x a bare ray.remote chain "
              "(target <= 1.5x)"),
        h.Row(f"map of {len(xs)}", "s", ours_map, target=3 * batched, baseline=batched,
              note=f"{ours_map / batched:.2f}x bare batches (target <= 3x)"),
        h.Row(f"map of {len(xs)}, vs a Ray task per element", "s", ours_map,
              target=each / 10, baseline=each,
              note=f"rillet {each / ours_map:.1f}x faster (target >= 10x)"),
    ]
    tally = None
    if args.kills:
        from _ray_soak import soak

        started = time.perf_counter()
        tally = soak(args.kills, Path(tempfile.mkdtemp(prefix="rillet-bench-soak-")))
        lost = tally.wrong_outputs + tally.succeeded_rerun + len(tally.problems)
        rows.append(h.Row(f"{tally.kills} driver SIGKILLs, 100-node workflow", "lost", lost,
                          target=0, note=f"{tally.line()} in {time.perf_counter() - started:.0f}s"))
    print(f"# rillet on Ray vs plain Ray (plain column), 2-node local cluster ({cpus} CPUs), "
          f"median of {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    h.print_table(rows)
    for problem in tally.problems if tally else []:
        print(f"soak: {problem}")
    h.write_results(h.RESULTS_DIR / "ray.json",
                    {"machine": h.machine_info(), "seconds": times, "median": med,
                     "soak": vars(tally) if tally else None}, rows)
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()

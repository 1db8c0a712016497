"""The in-process workloads (chain, map, compile), measured the same way for every system.

A system under test is an ``Adapter``: it builds runnable workflows and
defines (compiles) chains; this module times them against plain Python
baselines with ``_harness``. Standard library only, so that the peer scripts
can run it in their own virtual environments. Process workloads (import,
hello) are timed by ``overhead.py`` itself.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Protocol

import _harness as h

CHAIN_LENGTH = 200
MAP_SIZE = 1000
COMPILE_SIZES = (1000, 10000)


def inc(x: int) -> int:
    """The plain-Python baseline task."""
    return x + 1


def plain_chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = inc(x=x)
    return x


def plain_map(xs: list[int]) -> list[int]:
    return [inc(x=v) for v in xs]


class Adapter(Protocol):
    """What a system under test provides; every callable it returns takes no argument."""

    name: str
    version: str

    def chain(self, n: int) -> Callable[[], Any]:
        """A callable that runs (once) a workflow chaining ``n`` ``inc`` tasks from 0."""
        ...

    def map(self, n: int) -> Callable[[], Any]:
        """A callable that runs (once) a workflow mapping ``inc`` over ``range(n)``."""
        ...

    def define(self, n: int) -> Callable[[], Any]:
        """A callable that defines and compiles a fresh ``n``-node chain and returns it.

        Whatever is not the system's own work (writing the Python function) is
        prepared before returning the callable.
        """
        ...


def _result_of(value: Any) -> Any:
    """Normalise what a system returns (a one-key dict, a one-element tuple) to a plain value."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, tuple) and len(value) == 1:
        return value[0]
    return value


def measure_chain(adapter: Adapter, n: int = CHAIN_LENGTH, rounds: int = 3) -> dict[str, Any]:
    run = adapter.chain(n)
    got = _result_of(run())
    if got != n:
        raise AssertionError(f"{adapter.name} chain of {n} returned {got!r}, expected {n}")
    result = h.overhead(run, lambda: plain_chain(n), units=n, rounds=rounds)
    return {"n": n, **result.as_dict()}


def measure_map(adapter: Adapter, n: int = MAP_SIZE, rounds: int = 3) -> dict[str, Any]:
    run = adapter.map(n)
    xs = list(range(n))
    expected = plain_map(xs)
    got = list(_result_of(run()))
    if got != expected:
        raise AssertionError(f"{adapter.name} map over {n} returned {got[:5]!r}..., expected")
    result = h.overhead(run, lambda: plain_map(xs), units=n, rounds=rounds)
    return {"n": n, **result.as_dict()}


def measure_compile(
    adapter: Adapter, sizes: tuple[int, ...] = COMPILE_SIZES, rounds: int = 3
) -> dict[str, Any]:
    """Seconds to define each size (median of ``rounds``) and tracemalloc bytes per node."""
    out: dict[str, Any] = {}
    adapter.define(10)()  # warm up: import lazily loaded modules, fill caches
    for n in sizes:
        seconds = h.median_prepared(lambda: adapter.define(n), rounds=rounds)
        peak, retained = h.traced_peak(adapter.define(n))
        out[str(n)] = {
            "seconds": seconds,
            "peak_bytes": peak,
            "retained_bytes": retained,
            "peak_bytes_per_node": peak / n,
            "retained_bytes_per_node": retained / n,
        }
    return out


WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "chain": measure_chain,
    "map": measure_map,
    "compile": measure_compile,
}


def measure_all(adapter: Adapter, names: list[str], rounds: int = 3) -> dict[str, Any]:
    """Run the named workloads; a failing one records its error and the others still run."""
    results: dict[str, Any] = {"name": adapter.name, "version": adapter.version, "errors": {}}
    for name in names:
        try:
            results[name] = WORKLOADS[name](adapter, rounds=rounds)
        except Exception as exc:
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
            results.setdefault("tracebacks", {})[name] = traceback.format_exc(limit=6)
    return results

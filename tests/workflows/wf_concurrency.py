"""Workflows that many executions run at once on one home: a 100-node workflow
(9 chains of 11 and a sum), and a slow value computed once under ``serialize=True``."""

from __future__ import annotations

import os
import time

from marks import mark

from rillet import Cache, current_context, task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@task
def offset(x: int, c: int) -> int:
    return x + c


@task
def add_all(xs: list[int]) -> int:
    return sum(xs)


@workflow
def hundred(seed: int = 0) -> int:
    ends = []
    for c in range(9):
        x = offset(x=seed, c=c)
        for _ in range(10):
            x = inc(x=x)
        ends.append(x)
    return add_all(xs=ends)


@task(cache=Cache(version="1", serialize=True, ignored_inputs=("marker", "seconds")))
def expensive(x: int, marker: str, seconds: float) -> int:
    mark(marker, f"{current_context().execution_id} computes {x}")
    time.sleep(seconds)
    return x * 1000


@workflow
def once(x: int, marker: str, seconds: float = 1.5) -> int:
    return expensive(x=x, marker=marker, seconds=seconds)


@task(cache=Cache(version="1", serialize=True, ignored_inputs=("marker", "flag", "seconds")))
def fragile(x: int, marker: str, flag: str, seconds: float) -> int:
    """Computes slowly; the first to find ``flag`` removes it and fails."""
    mark(marker, f"{current_context().execution_id} computes {x}")
    time.sleep(seconds)
    try:
        os.unlink(flag)
    except FileNotFoundError:
        return x * 1000
    raise RuntimeError("the first computation fails")


@workflow
def once_fragile(x: int, marker: str, flag: str, seconds: float = 1.0) -> int:
    return fragile(x=x, marker=marker, flag=flag, seconds=seconds)

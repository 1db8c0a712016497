"""The chaos test's workload: a chain of small tasks, each appending
"execution node" to the file named by $CHAOS_MARKS before it returns, and a
cached fan-in whose value is a file in the artifact folder."""

from __future__ import annotations

import os
import time

from rillet import Cache, current_context, task, workflow


def _mark() -> None:
    marks = os.environ.get("CHAOS_MARKS")
    if marks:
        ctx = current_context()
        with open(marks, "a") as f:
            f.write(f"{ctx.execution_id} {ctx.node_id}\n")


@task
def step(x: int, pause: float) -> int:
    time.sleep(pause)
    _mark()
    return x + 1


@task
def bucket(x: int) -> int:
    _mark()
    return x // 10  # so that executions share spread's input, and its cache entry


@task(cache=Cache(version="1"))
def spread(x: int) -> list[int]:
    _mark()
    return [x * 1000 + i for i in range(2000)]  # over the 4 KB inline limit: stored as a file


@task
def total(xs: list[int]) -> int:
    _mark()
    return sum(xs)


@workflow
def chain(start: int = 0, pause: float = 0.01) -> int:
    a = step(x=start, pause=pause)
    b = step(x=a, pause=pause)
    c = step(x=b, pause=pause)
    d = step(x=c, pause=pause)
    e = step(x=d, pause=pause)
    f = step(x=e, pause=pause)
    g = step(x=f, pause=pause)
    h = step(x=g, pause=pause)
    return total(xs=spread(x=bucket(x=h)))

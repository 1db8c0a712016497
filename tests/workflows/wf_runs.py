"""Workflows for durable runs: caching, logs, params and metrics, lineage,
failures that can be fixed without touching the code, a failure handler."""

from __future__ import annotations

import os
import sys
import time

from marks import mark

from rillet import Cache, FailureInfo, current_context, task, workflow


# -- caching --------------------------------------------------------------------
@task(cache=Cache(version="1", ignored_inputs=("marker",)))
def square(x: int, marker: str) -> int:
    mark(marker, f"square {x}")
    return x * x


@task(cache=Cache(version="1", ignored_inputs=("marker",)))
def plus(a: int, b: int, marker: str) -> int:
    mark(marker, f"plus {a} {b}")
    return a + b


@workflow
def cached(x: int, marker: str = "") -> int:
    return plus(a=square(x=x, marker=marker), b=x, marker=marker)


# -- logs -------------------------------------------------------------------------
@task(retries=1)
def chatty(x: int) -> int:
    attempt = current_context().attempt
    print(f"stdout of attempt {attempt}", flush=True)
    print(f"stderr of attempt {attempt}", file=sys.stderr, flush=True)
    if attempt == 1:
        raise RuntimeError("first attempt fails")
    return x + 1


@workflow
def talk(x: int = 1) -> int:
    return chatty(x=x)


@task
def shell(x: int) -> int:
    os.system(f"echo shell-says-{x}")
    return x


@workflow
def shell_out(x: int = 7) -> int:
    return shell(x=x)


# -- params and metrics -------------------------------------------------------------
@task
def fit(lr: float, steps: int) -> float:
    ctx = current_context()
    ctx.log_param("lr", lr)
    ctx.log_param("optimizer", "sgd")
    loss = 1.0
    for s in range(steps):
        loss *= 0.5
        ctx.log_metric("loss", loss, step=s)
    return loss


@workflow
def train(lr: float = 0.1, steps: int = 3) -> float:
    return fit(lr=lr, steps=steps)


# -- lineage ------------------------------------------------------------------------
@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def scale(xs: list[int], k: int) -> list[int]:
    return [k * x for x in xs]


@task
def summarize(xs: list[int]) -> int:
    return sum(xs)


@workflow
def pipeline(n: int = 4, k: int = 3) -> int:
    return summarize(xs=scale(xs=load(n=n), k=k))


# -- a failure fixed outside the code: the task fails while a flag file exists --------
@task
def source(x: int, marker: str) -> int:
    mark(marker, current_context().node_id)
    return x + 1


@task
def flaky(x: int, flag: str, marker: str) -> int:
    mark(marker, current_context().node_id)
    if os.path.exists(flag):
        raise RuntimeError(f"flag {flag} is up")
    return x * 10


@task
def join(a: int, b: int, marker: str) -> int:
    mark(marker, current_context().node_id)
    return a + b


@workflow
def fixable(flag: str, marker: str, x: int = 1, y: int = 100) -> int:
    a = source(x=x, marker=marker)
    side = source(x=y, marker=marker)
    b = flaky(x=a, flag=flag, marker=marker)
    c = source(x=b, marker=marker)
    return join(a=c, b=side, marker=marker)


# -- a failure handler -------------------------------------------------------------
@task
def cleanup(marker: str, error: FailureInfo) -> None:
    mark(marker, f"cleanup {error.node_id} {error.error_type} {error.message}")


@task
def doomed(x: int) -> int:
    raise ValueError(f"doomed {x}")


@workflow(on_failure=cleanup)
def guarded(marker: str, x: int = 1) -> int:
    return doomed(x=x)


# -- the failure policy: running nodes finish and are recorded, no new node starts ----
@task
def slow(seconds: float, marker: str) -> int:
    time.sleep(seconds)
    mark(marker, current_context().node_id)
    return 5


@workflow
def policy(flag: str, marker: str, seconds: float = 1.0) -> int:
    s = slow(seconds=seconds, marker=marker)
    f = flaky(x=1, flag=flag, marker=marker)
    return join(a=source(x=s, marker=marker), b=f, marker=marker)

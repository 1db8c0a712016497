"""Workflows the Ray executor tests run on a real local cluster (self-contained: Ray
workers load this file by its path)."""

from __future__ import annotations

import functools
import os
import sys
import time

from rillet import Resources, current_context, map_task, task, workflow


def _node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


def _mark(path: str, text: str) -> None:
    with open(path, "a") as f:
        f.write(text + "\n")


@task
def plain(x: int) -> str:
    print(f"stdout of plain {x}")
    print(f"stderr of plain {x}", file=sys.stderr)
    current_context().log_param("x", x)
    current_context().log_metric("double", float(2 * x))
    return _node()


@task(requests=Resources(cpu=1, custom={"special": 1}))
def special(x: int) -> str:
    return _node()


@task
def square(x: int) -> list[int]:
    return [x * x, os.getpid()]


@workflow
def placed(x: int = 3) -> tuple[str, str]:
    return plain(x=x), special(x=x)


@workflow
def squares(xs: list[int]) -> list[list[int]]:
    return map_task(square)(x=xs)


@task(timeout=3.0, retries=1)
def sleeper(seconds: float) -> int:
    time.sleep(seconds)
    return 0


@workflow
def too_slow(seconds: float = 120.0) -> int:
    return sleeper(seconds=seconds)


@task(requests=Resources(cpu=512))
def enormous(x: int) -> int:
    return x


@workflow
def oversized(x: int = 1) -> int:
    return enormous(x=x)


@task(requests=Resources(cpu=1, custom={"spare": 1}), retries=2)
def on_spare(marker: str, seconds: float) -> str:
    """Marks where it runs; the first run of all waits there (to have its node killed)."""
    ctx = current_context()
    first = not (os.path.exists(marker) and open(marker).read())
    _mark(marker, f"attempt {ctx.attempt} on {_node()}")
    if first:
        time.sleep(seconds)
    return _node()


@workflow
def survives(marker: str, seconds: float = 300.0) -> str:
    return on_spare(marker=marker, seconds=seconds)


@task
def step(log: str, name: str, x: int) -> int:
    _mark(log, name)
    return x + 1


@task
def gate(log: str, release: str, x: int) -> int:
    """Waits for ``release`` to exist (the test kills the driver meanwhile)."""
    _mark(log, "gate")
    deadline = time.monotonic() + 600
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.1)
    return x + 1


@workflow
def chain(log: str, release: str) -> int:
    a = step(log=log, name="a", x=1)
    b = step(log=log, name="b", x=a)
    c = gate(log=log, release=release, x=b)
    return step(log=log, name="d", x=c)


@task
def held(log: str, release: str, x: int) -> int:
    """Element 0 waits for ``release`` (the test kills the driver meanwhile); each
    element marks itself as it ends."""
    deadline = time.monotonic() + 600
    while x == 0 and not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.1)
    _mark(log, str(x))
    return x * 10


@workflow
def held_map(log: str, release: str) -> list[int]:
    return map_task(functools.partial(held, log=log, release=release))(x=list(range(12)))


@task
def talker(release: str, pid: str, steps: int = 3) -> int:
    """Prints and logs a metric per step, then waits for ``release`` (the test looks at
    its output and metrics meanwhile, and may stop or abort it)."""
    with open(pid, "w") as f:
        f.write(str(os.getpid()))
    for step in range(steps):
        print(f"tick {step}", flush=True)
        current_context().log_metric("loss", 10.0 - step, step=step)
    deadline = time.monotonic() + 600
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("released", flush=True)
    return steps


@workflow
def talks(release: str, pid: str) -> int:
    return talker(release=release, pid=pid)

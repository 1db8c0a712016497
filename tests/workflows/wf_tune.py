"""Workflows the tuning tests run: objectives with a known optimum, a cached task that
marks each real run in a file, a task whose steps feed early stopping, and a slow one
to kill a study in the middle."""

from __future__ import annotations

import os
import time

from rillet import current_context, task, workflow


def _mark(path: str, line: str) -> None:
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


@task
def quad(x: float, y: int, kind: str) -> float:
    loss = (x - 0.3) ** 2 + 0.1 * y + (0.5 if kind == "b" else 0.0)
    current_context().log_metric("loss", loss)
    current_context().log_metric("cost", x + y)
    return loss


@workflow
def bowl(x: float = 0.0, y: int = 0, kind: str = "a") -> float:
    return quad(x=x, y=y, kind=kind)


@task(cache=True)
def cached_train(x: int, marks: str) -> float:
    _mark(marks, f"ran {x}")
    for step in range(3):
        current_context().log_metric("loss", float(x) + 1.0 / (step + 1), step=step)
    return float(x)


@workflow
def cached(x: int = 0, marks: str = "") -> float:
    return cached_train(x=x, marks=marks)


@task
def epochs(x: float, counter: str, slow_after: int, pause: float) -> float:
    """Five epochs. The trial started as number ``slow_after`` (counted in ``counter``) or
    later logs a bad loss and then sleeps ``pause`` s after each step."""
    with open(counter, "a") as f:
        f.write(f"{os.getpid()}\n")
    with open(counter) as f:
        order = len(f.read().split()) - 1
    bad = order >= slow_after
    loss = 0.0
    for step in range(5):
        loss = (10.0 if bad else x) + 1.0 / (step + 1)
        current_context().log_metric("loss", loss, step=step)
        if bad:
            time.sleep(pause)
    return loss


@workflow
def training(x: float = 0.0, counter: str = "", slow_after: int = 5,
             pause: float = 60.0) -> float:
    return epochs(x=x, counter=counter, slow_after=slow_after, pause=pause)


@task
def slow_trial(x: int, marks: str, pause: float) -> float:
    _mark(marks, f"start {x}")
    time.sleep(pause)
    current_context().log_metric("loss", float(x))
    _mark(marks, f"end {x}")
    return float(x)


@workflow
def slow(x: int = 0, marks: str = "", pause: float = 0.3) -> float:
    return slow_trial(x=x, marks=marks, pause=pause)


from rillet import Resources  # noqa: E402
from rillet.executors._capacity import machine_capacity  # noqa: E402

ALL_CPUS = machine_capacity()[0]


@task(requests=Resources(cpu=ALL_CPUS))
def whole_machine(x: int, pause: float) -> float:
    time.sleep(pause)
    current_context().log_metric("loss", float(x))
    return float(x)


@workflow
def greedy(x: int = 0, pause: float = 0.5) -> float:
    return whole_machine(x=x, pause=pause)


@task
def keep_notes(x: int) -> float:
    """Checkpoints its x and writes a file in its working directory."""
    ctx = current_context()
    ctx.checkpoint.write(str(x).encode())
    with open(os.path.join(ctx.working_directory, "note.txt"), "w") as f:
        f.write(str(x))
    ctx.log_metric("loss", float(x))
    return float(x)


@workflow
def noting(x: int = 0) -> float:
    return keep_notes(x=x)

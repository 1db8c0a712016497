"""Workflows of the UI tests: a diamond that succeeds (4 nodes, 4 edges) and one whose
task sleeps until it is aborted (it writes its pid first, so the test knows it runs);
a launch plan of the diamond on a yearly cron (the Launch plans page activates it; it
never fires during a test)."""

from __future__ import annotations

import os
import time

from rillet import CronSchedule, LaunchPlan, current_context, map_task, task, workflow


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def total(xs: list[int]) -> int:
    print(f"summing {len(xs)} numbers")
    ctx = current_context()
    ctx.log_param("method", "sum")
    for step, x in enumerate(xs):
        ctx.log_metric("running_total", sum(xs[: step + 1]), step=step)
    return sum(xs)


@task
def biggest(xs: list[int]) -> int:
    return max(xs)


@task
def report(s: int, m: int) -> str:
    return f"sum={s} max={m}"


@workflow
def diamond(n: int = 5) -> str:
    xs = load(n=n)
    return report(s=total(xs=xs), m=biggest(xs=xs))


@task
def sleeper(marker: str, seconds: float) -> int:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return 1


@workflow
def slow(marker: str, seconds: float = 300.0) -> int:
    return sleeper(marker=marker, seconds=seconds)


yearly = LaunchPlan.get_or_create(diamond, name="diamond_yearly", default_inputs={"n": 2},
                                  schedule=CronSchedule("0 0 1 1 *"))


@task
def square(x: int) -> int:
    if x < 0:
        print(f"refusing {x}")
        raise ValueError(f"no square of a negative number: {x}")
    print(f"squaring {x}")
    return x * x


@workflow
def squares(xs: list[int]) -> list[int | None]:
    """A map whose negative elements fail (tolerated: at least half must succeed)."""
    return map_task(square, min_success_ratio=0.5)(x=xs)


@workflow
def nested(n: int = 3) -> str:
    """The diamond as a subworkflow: its nodes are drawn inside one node until opened."""
    return diamond(n=n)

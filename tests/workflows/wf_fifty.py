"""A 50-node workflow: 7 chains of 7 steps and one node that sums their ends.

Every step sleeps a little and appends its node id to the marker file, so a
test can kill the run half way and tell which nodes ran.
"""

from __future__ import annotations

import time

from marks import mark

from rillet import current_context, task, workflow

CHAINS = 7
STEPS = 7


@task
def step(x: int, marker: str, delay: float) -> int:
    time.sleep(delay)
    mark(marker, current_context().node_id)
    return (x * 31 + 7) % 1000003


@task
def total(xs: list[int], marker: str) -> int:
    mark(marker, current_context().node_id)
    return sum(xs)


@workflow
def fifty(marker: str = "", delay: float = 0.05) -> int:
    ends = []
    for c in range(CHAINS):
        x = step(x=c, marker=marker, delay=delay)
        for _ in range(STEPS - 1):
            x = step(x=x, marker=marker, delay=delay)
        ends.append(x)
    return total(xs=ends, marker=marker)

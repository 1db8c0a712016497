"""A 50-node workflow: 7 chains of 7 steps and one node that sums their ends.

Every step sleeps a little and appends its node id to the marker file, so a
test can kill the run half way and tell which nodes ran. With ``hold`` (a file
path), once ``HOLD_AT`` steps have marked, further steps wait (before marking)
for as long as that file exists: the run cannot finish before the test has
killed it, however slow or loaded the machine.
"""

from __future__ import annotations

import os
import time

from marks import lines, mark

from rillet import current_context, task, workflow

CHAINS = 7
STEPS = 7
HOLD_AT = 12


@task
def step(x: int, marker: str, delay: float, hold: str = "") -> int:
    time.sleep(delay)
    while hold and os.path.exists(hold) and len(lines(marker)) >= HOLD_AT:
        time.sleep(0.02)
    mark(marker, current_context().node_id)
    return (x * 31 + 7) % 1000003


@task
def total(xs: list[int], marker: str) -> int:
    mark(marker, current_context().node_id)
    return sum(xs)


@workflow
def fifty(marker: str = "", delay: float = 0.05, hold: str = "") -> int:
    ends = []
    for c in range(CHAINS):
        x = step(x=c, marker=marker, delay=delay, hold=hold)
        for _ in range(STEPS - 1):
            x = step(x=x, marker=marker, delay=delay, hold=hold)
        ends.append(x)
    return total(xs=ends, marker=marker)

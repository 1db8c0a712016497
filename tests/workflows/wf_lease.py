"""A task that holds until a file exists, then one after it: an engine's lease can be
taken over while the first runs (tests/engine/test_lease_fencing.py)."""

from __future__ import annotations

import os
import time

from marks import mark

from rillet import task, workflow


@task
def hold(marker: str) -> int:
    mark(marker, f"hold {os.getpid()}")
    while not os.path.exists(marker + ".go"):
        time.sleep(0.02)
    return 1


@task
def after(x: int, marker: str) -> int:
    mark(marker, "after")
    return x + 1


@workflow
def held(marker: str) -> int:
    return after(x=hold(marker=marker), marker=marker)

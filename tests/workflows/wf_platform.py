"""Workflows of the platform tests: a quick one, and one whose task sleeps until it
is killed (it writes its pid first, so a test can see that it is gone)."""

from __future__ import annotations

import os
import time

from rillet import task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@task
def sleeper(marker: str, seconds: float) -> int:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return 1


@workflow
def quick(x: int = 2) -> int:
    return double(x=x)


@workflow
def slow(marker: str, seconds: float = 300.0) -> int:
    return sleeper(marker=marker, seconds=seconds)

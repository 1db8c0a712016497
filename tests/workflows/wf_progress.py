"""A workflow slow enough for the live progress line to be drawn while it runs: a
cached step, a slow one, and one that fails when told to."""

from __future__ import annotations

import time

from rillet import Cache, task, workflow


@task(cache=Cache(version="1"))
def base(x: int) -> int:
    return x + 1


@task
def slow(x: int) -> int:
    time.sleep(0.8)
    return x


@task
def boom(x: int, fail: bool) -> int:
    if fail:
        raise ValueError("told to fail")
    return x


@workflow
def shown(x: int = 1, fail: bool = False) -> int:
    return boom(x=slow(x=base(x=x)), fail=fail)

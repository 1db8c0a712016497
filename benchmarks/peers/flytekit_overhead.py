"""chain / map / compile on flytekit's local runner (in memory), for ``overhead.py --peers``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("FLYTE_SDK_LOGGING_LEVEL", "40")

import flytekit
from _common import main
from flytekit import map_task, task, workflow

logging.getLogger("flytekit").setLevel(logging.ERROR)


@task
def inc(x: int) -> int:
    return x + 1


def _chain_fn(n: int) -> Callable[..., Any]:
    def chain_wf(x: int) -> int:
        for _ in range(n):
            x = inc(x=x)
        return x

    return chain_wf


def _defined(fn: Callable[..., Any]) -> Any:
    wf = workflow(fn)
    wf.compile()  # flytekit compiles lazily, on first call; force it here
    return wf


class Flytekit:
    name = "flytekit"
    version = flytekit.__version__

    def chain(self, n: int) -> Callable[[], Any]:
        wf = _defined(_chain_fn(n))
        return lambda: wf(x=0)

    def map(self, n: int) -> Callable[[], Any]:
        @workflow
        def map_wf(xs: list[int]) -> list[int]:
            return map_task(inc)(x=xs)

        xs = list(range(n))
        return lambda: map_wf(xs=xs)

    def define(self, n: int) -> Callable[[], Any]:
        fn = _chain_fn(n)
        return lambda: _defined(fn)


if __name__ == "__main__":
    main(Flytekit())

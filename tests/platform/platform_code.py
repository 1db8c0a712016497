"""Sources of the user code the platform tests register (written into a temp folder)."""

PIPE = '''
import os
import time

from rillet import LaunchPlan, task, workflow


def _mark(path: str, name: str) -> None:
    if path:
        with open(path, "a") as f:
            f.write(name + "\\n")


@task
def inc(x: int, marker: str = "") -> int:
    _mark(marker, "inc")
    return x + 1


@task
def slow(x: int, marker: str = "") -> int:
    _mark(marker, "slow")
    while marker and not os.path.exists(marker + ".go"):
        time.sleep(0.02)
    return x * 2


@task
def last(x: int, marker: str = "") -> int:
    _mark(marker, "last")
    return x * 10


@task
def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


@workflow
def chain(x: int = 1, marker: str = "") -> int:
    return last(x=slow(x=inc(x=x, marker=marker), marker=marker), marker=marker)


@workflow
def one(x: int) -> int:
    return inc(x=x)


@workflow
def fails(x: int = 1) -> int:
    return boom(x=x)


@workflow
def typed(n: int, ratio: float, names: list[str], flag: bool = False) -> int:
    return inc(x=n)


nightly = LaunchPlan.get_or_create(chain, name="nightly", default_inputs={"x": 5},
                                   fixed_inputs={"marker": ""})
'''

"""Workflows for the command-line contract: typed inputs, named outputs, a task
asking for more CPU than any machine here has, and a failing task. It imports
nothing heavy, so each ``rillet`` process that loads it stays quick."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from rillet import Resources, task, workflow


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Stats(NamedTuple):
    total: int
    label: str


@task
def describe(n_epochs: int, verbose: bool, tags: list[str], weights: dict[str, float],
             point: Point, rate: float = 0.5) -> str:
    return (f"n_epochs={n_epochs} verbose={verbose} tags={tags} "
            f"weights={sorted(weights.items())} point=({point.x},{point.y}) rate={rate}")


@workflow
def typed(n_epochs: int, verbose: bool, tags: list[str], weights: dict[str, float],
          point: Point, rate: float = 0.5) -> str:
    return describe(n_epochs=n_epochs, verbose=verbose, tags=tags, weights=weights,
                    point=point, rate=rate)


@task
def stats(xs: list[int]) -> Stats:
    return Stats(total=sum(xs), label=f"{len(xs)} items")


@workflow
def named(xs: list[int]) -> Stats:
    return stats(xs=xs)


@task(requests=Resources(cpu="64"))
def greedy(x: int) -> int:
    return x


@workflow
def too_big(x: int = 1) -> int:
    return greedy(x=x)


@task
def explode(x: int) -> int:
    raise ValueError(f"bad x {x}")


@workflow
def failing(x: int = 1) -> int:
    return explode(x=x)

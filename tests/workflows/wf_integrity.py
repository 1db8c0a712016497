"""Workflows of the integrity tests: values stored as files (a JSON list, a pickled
object that leaves a mark whenever it is unpickled), cached, in a chain."""

from __future__ import annotations

import dataclasses
import os
import typing
import warnings

from rillet import Cache, map_task, task, workflow
from rillet.types import PickleFallbackWarning

# Marked is pickled on purpose; rillet warns where a task declares it (issue 13), which
# would be a second stderr line in the one-line-error tests that load this file.
warnings.filterwarnings("ignore", category=PickleFallbackWarning)


class Marked:
    """A value with no rillet format (so pickled) that records each unpickling in the
    file named by $RILLET_TEST_UNPICKLED (``PID N``): what read-only commands must never
    do, and the engine's process must not do for a value it did not compute."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pad = "x" * 5000

    def __setstate__(self, state: dict[str, object]) -> None:
        marks = os.environ.get("RILLET_TEST_UNPICKLED")
        if marks:
            with open(marks, "a") as f:
                f.write(f"{os.getpid()} {state.get('n')}\n")
        self.__dict__.update(state)


@task(cache=Cache(version="1"))
def numbers(n: int) -> list[int]:
    return [1999000 + i for i in range(n)]


@task(cache=Cache(version="1"))
def total(xs: list[int]) -> int:
    return sum(xs)


@workflow
def summed(n: int = 1000) -> int:
    return total(xs=numbers(n=n))


@task(cache=Cache(version="1"))
def make(n: int) -> Marked:
    return Marked(n)


@task(cache=Cache(version="1"))
def size_of(items: list[Marked]) -> int:
    return sum(m.n for m in items)


@workflow
def marked(n: int = 3, m: int = 4) -> int:
    a = make(n=n)
    b = make(n=m)
    return size_of(items=[a, b])


@task
def use(m: Marked) -> int:
    return m.n


@workflow
def takes_marked(m: Marked) -> int:
    return use(m=m)


@workflow
def made_then_used(n: int = 3) -> int:
    return use(m=make(n=n))


@task
def make_all(n: int) -> list[Marked]:
    return [Marked(i) for i in range(n)]


@workflow
def mapped_marked(n: int = 4) -> list[int]:
    return map_task(use)(m=make_all(n=n))


@task
def pair_of(items: dict[str, Marked]) -> int:
    return sum(m.n for m in items.values())


@workflow
def marked_dict(n: int = 3, m: int = 4) -> int:
    return pair_of(items={"a": make(n=n), "b": make(n=m)})


@task
def mark(i: int) -> Marked:
    if str(i) == os.environ.get("RILLET_TEST_FAIL_AT"):
        raise ValueError(f"element {i} fails")
    return Marked(i)


@workflow
def marks_summed(xs: list[int]) -> int:
    return size_of(items=map_task(mark)(i=xs))


@dataclasses.dataclass
class Box:
    items: list[Marked]
    label: str


@task
def boxed(n: int) -> Box:
    return Box(items=[Marked(n), Marked(n + 1)], label=f"box {n}")


@task
def label_of(label: str) -> str:
    return label


@workflow
def box_first(n: int = 3) -> tuple[int, str]:
    b = boxed(n=n)
    return use(m=b.items[1]), label_of(label=b.label)


# -- shapes ``types._compose`` leaves to the engine: a NamedTuple passed whole, items
# under a Union, a path to a Union part, a path through a dict with int keys

class Pair(typing.NamedTuple):
    a: Marked
    b: Marked


@task
def pair(n: int) -> Pair:
    return Pair(Marked(n), Marked(n + 1))


@task
def both(p: Pair) -> int:
    return p.a.n + p.b.n


@workflow
def pair_whole(n: int = 3) -> int:
    return both(p=pair(n=n))


@task
def size_of_either(items: list[Marked | int]) -> int:
    return sum(m if isinstance(m, int) else m.n for m in items)


@workflow
def marked_either(n: int = 3, m: int = 4) -> int:
    return size_of_either(items=[make(n=n), make(n=m)])


@dataclasses.dataclass
class Holder:
    choice: Marked | int
    by_num: dict[int, Marked]


@task
def held(n: int) -> Holder:
    return Holder(choice=Marked(n), by_num={1: Marked(n + 1), 2: Marked(n + 2)})


@task
def either(c: Marked | int) -> int:
    return c if isinstance(c, int) else c.n


@workflow
def holder_parts(n: int = 3) -> tuple[int, int]:
    h = held(n=n)
    return either(c=h.choice), use(m=h.by_num[2])

"""A task that returns an iterator (``-> Iterator[T]``, a generator with ``yield``): its
output is the ``list[T]`` of what it yields, as flytekit's examples expect."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import pytest

import rillet
from rillet import map_task, task, workflow
from rillet.errors import TypeMismatchError


@task
def count(n: int) -> Iterator[int]:
    for i in range(n):
        yield i * i


@task
def words(text: str) -> Generator[str, None, None]:
    yield from text.split()


@task
def lazily(n: int) -> Iterable[str]:
    return (str(i) for i in range(n))  # not a generator function: a returned iterator


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def liar(n: int) -> Iterator[int]:
    yield "not an int"  # type: ignore[misc]


@workflow
def squares(n: int = 4) -> tuple[list[int], int, list[str]]:
    xs = count(n=n)
    return xs, total(xs=xs), words(text="a b c")


@workflow
def passthrough(n: int = 3) -> Iterator[int]:  # a workflow output typed like flytekit's
    return count(n=n)


def test_a_generator_task_outputs_the_list_of_its_items() -> None:
    assert count.interface.outputs == {"o0": list[int]}
    assert count(n=3) == [0, 1, 4]
    assert lazily(n=2) == ["0", "1"]
    assert squares(n=4) == ([0, 1, 4, 9], 14, ["a", "b", "c"])
    assert passthrough() == [0, 1, 4]


def test_a_generator_task_runs_durably_in_worker_processes(tmp_path: Path) -> None:
    ex = rillet.run(squares, home=str(tmp_path / "home"), n=3)
    assert ex.status == "SUCCEEDED", ex
    assert ex.output("o0") == [0, 1, 4] and ex.output("o1") == 5
    assert ex.output("o2") == ["a", "b", "c"]


def test_a_mapped_generator_task_gives_a_list_per_element() -> None:
    @workflow
    def wf() -> list[list[int]]:
        return map_task(count)(n=[1, 2, 3])

    assert wf() == [[0], [0, 1], [0, 1, 4]]


def test_what_a_generator_yields_is_checked_against_the_declared_item_type() -> None:
    with pytest.raises(TypeMismatchError, match="liar"):
        liar(n=1)

"""``map_task``: one call per element, partial bindings, concurrency, min_success_ratio."""

import functools
import typing
from typing import NamedTuple, Optional

import pytest

from rillet import map_task, task, workflow
from rillet.errors import CompileError, DefinitionError, UserCodeError


@task
def square(x: int) -> int:
    return x * x


@task
def affine(x: int, a: int, b: int = 0) -> int:
    return a * x + b


@task
def halve(x: float) -> float:
    return x / 2


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def make(n: int) -> list[int]:
    return list(range(n))


@task
def fragile(x: int) -> int:
    if x % 3 == 0:
        raise ValueError(f"bad element {x}")
    return x


def test_map_in_a_workflow() -> None:
    @workflow
    def wf(n: int) -> int:
        return total(xs=map_task(square)(x=make(n=n)))

    assert wf(n=4) == 0 + 1 + 4 + 9
    (node,) = [n for n in wf.spec.nodes if n.kind == "map"]
    assert node.id == "map-square"
    assert node.map is not None and node.map.mapped == ("x",)
    assert node.outputs == {"o0": list[int]}


def test_map_over_a_workflow_input_and_a_constant_list() -> None:
    @workflow
    def wf(xs: list[int]) -> list[int]:
        return map_task(square)(x=xs)

    @workflow
    def constant() -> list[int]:
        return map_task(square)(x=[1, 2, 3])

    assert wf(xs=[2, 3]) == [4, 9]
    assert constant() == [1, 4, 9]


def test_map_over_an_empty_list_returns_an_empty_list() -> None:
    @workflow
    def wf(xs: list[int]) -> list[int]:
        return map_task(square)(x=xs)

    @workflow
    def lenient(xs: list[int]) -> list[Optional[int]]:  # noqa: UP045
        return map_task(fragile, min_success_ratio=0.5)(x=xs)

    assert wf(xs=[]) == []
    assert lenient(xs=[]) == []
    assert map_task(square)(x=[]) == []


def test_concurrency_is_recorded_and_results_keep_their_order() -> None:
    @workflow
    def wf(xs: list[int]) -> list[int]:
        return map_task(square, concurrency=2)(x=xs)

    assert wf(xs=list(range(10))) == [x * x for x in range(10)]
    (node,) = wf.spec.nodes
    assert node.map is not None and node.map.concurrency == 2


def test_partial_binds_a_promise_and_a_constant() -> None:
    @workflow
    def wf(xs: list[int], a: int) -> list[int]:
        t = total(xs=xs)
        return map_task(functools.partial(affine, a=a, b=t))(x=xs)

    assert wf(xs=[1, 2], a=10) == [10 * 1 + 3, 10 * 2 + 3]
    (_, node) = wf.spec.nodes
    assert node.inputs["a"].kind == "input" and node.inputs["b"].kind == "node"
    assert node.upstream == ("total",)

    @workflow
    def const(xs: list[int]) -> list[int]:
        return map_task(functools.partial(affine, a=2))(x=xs)

    assert const(xs=[1, 2]) == [2, 4]  # b takes the task's default


def test_two_mapped_inputs_go_element_by_element() -> None:
    @workflow
    def wf(xs: list[int], as_: list[int]) -> list[int]:
        return map_task(affine)(x=xs, a=as_)

    assert wf(xs=[1, 2, 3], as_=[10, 20, 30]) == [10, 40, 90]
    with pytest.raises(UserCodeError, match="different lengths"):
        wf(xs=[1, 2], as_=[1])


def test_a_list_of_ints_maps_into_a_float_input() -> None:
    @workflow
    def wf(xs: list[int]) -> list[float]:
        return map_task(halve)(x=xs)

    assert wf(xs=[1, 3]) == [0.5, 1.5]


def test_min_success_ratio_met_gives_none_for_failed_elements() -> None:
    m = map_task(fragile, min_success_ratio=0.5)

    @workflow
    def wf(xs: list[int]) -> list[Optional[int]]:  # noqa: UP045
        return m(x=xs)

    assert wf(xs=[1, 2, 3, 4]) == [1, 2, None, 4]
    (node,) = wf.spec.nodes
    assert node.outputs == {"o0": list[typing.Optional[int]]}  # noqa: UP045


def test_min_success_ratio_output_type_is_checked_downstream() -> None:
    with pytest.raises(DefinitionError, match=r"expects list\[int\], got list\[int \| None\]"):

        @workflow
        def wf(xs: list[int]) -> int:
            return total(xs=map_task(fragile, min_success_ratio=0.5)(x=xs))


def test_min_success_ratio_not_met_fails_naming_how_many() -> None:
    @workflow
    def wf(xs: list[int]) -> list[Optional[int]]:  # noqa: UP045
        return map_task(fragile, min_success_ratio=0.8)(x=xs)

    with pytest.raises(UserCodeError) as info:
        wf(xs=[1, 2, 3, 4, 6])
    message = str(info.value)
    assert "2 of 5 elements failed" in message and "min_success_ratio 0.8" in message
    assert "ValueError: bad element 3" in message
    assert info.value.node_id == "map-fragile"
    assert isinstance(info.value.__cause__, ValueError)


def test_without_min_success_ratio_the_first_failure_fails_the_map() -> None:
    @workflow
    def wf(xs: list[int]) -> list[int]:
        return map_task(fragile)(x=xs)

    with pytest.raises(UserCodeError, match="at node 'map-fragile': ValueError: bad") as info:
        wf(xs=[1, 3])
    assert isinstance(info.value.__cause__, ValueError)


def test_map_called_directly() -> None:
    assert map_task(square)(x=[1, 2, 3]) == [1, 4, 9]
    assert map_task(functools.partial(affine, a=3))(x=[1, 2]) == [3, 6]
    assert map_task(fragile, min_success_ratio=0.5)(x=[1, 3]) == [1, None]
    with pytest.raises(UserCodeError, match="1 of 1 elements failed"):
        map_task(fragile, min_success_ratio=0.5)(x=[3])
    with pytest.raises(DefinitionError, match="no mappable input 'y'"):
        map_task(square)(y=[1])
    with pytest.raises(CompileError, match="give a list to map over"):
        map_task(square)()


def test_map_retries_each_element() -> None:
    tries: dict[int, int] = {}

    @task(retries=1)
    def flaky(x: int) -> int:
        tries[x] = tries.get(x, 0) + 1
        if tries[x] == 1:
            raise RuntimeError("first try fails")
        return x

    @workflow
    def wf(xs: list[int]) -> list[int]:
        return map_task(flaky)(x=xs)

    assert wf(xs=[1, 2]) == [1, 2]
    assert tries == {1: 2, 2: 2}


# -- definition errors -------------------------------------------------------------------


class Two(NamedTuple):
    a: int
    b: int


@task
def two(x: int) -> Two:
    return Two(a=x, b=x)


def test_a_mapped_task_must_have_at_most_one_output() -> None:
    with pytest.raises(CompileError, match="has 2 outputs; map tasks take a task with one output"):
        map_task(two)


def test_a_mapped_task_without_output_gives_nothing() -> None:
    seen: list[int] = []

    @task
    def record(x: int) -> None:
        seen.append(x)

    @workflow
    def wf(xs: list[int]) -> None:
        map_task(record)(x=xs)

    assert wf(xs=[1, 2]) is None
    assert seen == [1, 2]


def test_only_tasks_are_mapped() -> None:
    @workflow
    def sub(x: int) -> int:
        return square(x=x)

    with pytest.raises(DefinitionError, match="map_task needs a @task"):
        map_task(sub)
    with pytest.raises(DefinitionError, match="map_task needs a @task"):
        map_task(lambda x: x)
    with pytest.raises(DefinitionError, match="bind fixed inputs by name"):
        map_task(functools.partial(affine, 1))


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_min_success_ratio_range(ratio: float) -> None:
    with pytest.raises(DefinitionError, match="min_success_ratio must be in"):
        map_task(square, min_success_ratio=ratio)


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, "2"])
def test_concurrency_must_be_positive(concurrency: object) -> None:
    with pytest.raises(DefinitionError, match="concurrency must be an int >= 1"):
        map_task(square, concurrency=concurrency)  # type: ignore[arg-type]


def test_compile_errors_of_a_map() -> None:
    with pytest.raises(CompileError, match="maps over no input 'y'"):

        @workflow
        def unknown(xs: list[int]) -> list[int]:
            return map_task(square)(y=xs)

    with pytest.raises(CompileError, match="missing input 'a'"):

        @workflow
        def missing(xs: list[int]) -> list[int]:
            return map_task(affine)(x=xs)

    with pytest.raises(CompileError, match="partial binds unknown input 'z'"):

        @workflow
        def bad_partial(xs: list[int]) -> list[int]:
            return map_task(functools.partial(affine, a=1, z=2))(x=xs)

    with pytest.raises(CompileError, match="give a list to map over"):

        @workflow
        def nothing(xs: list[int]) -> list[int]:
            return map_task(square)()

    with pytest.raises(DefinitionError, match=r"expects list\[int\], got int"):

        @workflow
        def scalar(x: int) -> list[int]:
            return map_task(square)(x=x)

"""``@workflow``: named outputs, defaults, subworkflows and direct calls."""

import typing
from typing import NamedTuple

import pytest

from rillet import Workflow, task, workflow
from rillet.errors import DefinitionError, TypeMismatchError


class Split(NamedTuple):
    train: list[int]
    test: list[int]


class Stats(NamedTuple):
    total: int
    count: int


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def split(xs: list[int], test_fraction: float = 0.25) -> Split:
    k = round(len(xs) * (1 - test_fraction))
    return Split(train=xs[:k], test=xs[k:])


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def count(xs: list[int]) -> int:
    return len(xs)


@task
def scale(x: float, k: float = 2.0) -> float:
    return x * k


@task
def noop(x: int) -> None:
    pass


def test_direct_call_returns_plain_values() -> None:
    @workflow
    def wf(n: int) -> int:
        return total(xs=load(n=n))

    assert isinstance(wf, Workflow)
    assert wf(n=5) == 10
    assert wf(5) == 10
    assert type(wf(n=5)) is int
    assert wf.name.endswith("<locals>.wf") and wf.short_name == "wf"


def test_named_outputs_by_attribute_and_by_unpacking() -> None:
    @workflow
    def by_attribute(n: int) -> Stats:
        parts = split(xs=load(n=n))
        return Stats(total=total(xs=parts.train), count=count(xs=parts.test))

    @workflow
    def by_unpacking(n: int) -> Stats:
        train, test = split(xs=load(n=n))
        return Stats(total=total(xs=train), count=count(xs=test))

    for wf in (by_attribute, by_unpacking):
        result = wf(n=8)
        assert isinstance(result, Stats)
        assert result == Stats(total=0 + 1 + 2 + 3 + 4 + 5, count=2)
        assert result.total == 15
        assert list(wf.spec.outputs) == ["total", "count"]


def test_a_workflow_may_return_a_named_tuple_of_a_task_directly() -> None:
    @workflow
    def wf(n: int) -> Split:
        return split(xs=load(n=n), test_fraction=0.5)

    assert wf(n=4) == Split(train=[0, 1], test=[2, 3])


def test_fixed_tuple_output_gives_o0_o1_as_in_flytekit() -> None:
    @workflow
    def wf(n: int) -> tuple[int, int]:
        xs = load(n=n)
        return (total(xs=xs), count(xs=xs))

    assert list(wf.spec.outputs) == ["o0", "o1"]
    assert wf(n=3) == (3, 3)


@task
def pair(n: int) -> typing.Tuple[int, str]:  # noqa: UP006
    return n + 1, f"n={n}"


def test_a_task_tuple_output_unpacks_in_a_workflow() -> None:
    assert list(pair.interface.outputs) == ["o0", "o1"]

    @workflow
    def wf(n: int) -> str:
        a, b = pair(n=n)
        c, _ = pair(n=a)
        return b

    assert wf(n=1) == "n=1"
    assert [n.id for n in wf.spec.nodes] == ["pair", "pair-1"]


def test_a_variadic_tuple_stays_one_output() -> None:
    @task
    def many(n: int) -> tuple[int, ...]:
        return tuple(range(n))

    assert list(many.interface.outputs) == ["o0"]
    assert many(n=3) == (0, 1, 2)


def test_list_and_dict_outputs_of_promises() -> None:
    @workflow
    def wf(n: int) -> dict[str, list[int]]:
        xs = load(n=n)
        return {"sums": [total(xs=xs), count(xs=xs)], "xs": xs}  # type: ignore[dict-item]

    assert wf(n=3) == {"sums": [3, 3], "xs": [0, 1, 2]}


def test_default_input_values() -> None:
    @workflow
    def wf(n: int = 4, k: float = 3.0) -> float:
        return scale(x=total(xs=load(n=n)), k=k)

    assert wf() == 18.0
    assert wf(n=2) == 3.0
    assert wf(k=1.0) == 6.0
    assert wf.interface.defaults == {"n": 4, "k": 3.0}


def test_task_defaults_fill_inputs_not_given() -> None:
    @workflow
    def wf(x: float) -> float:
        return scale(x=x)

    assert wf(x=1.5) == 3.0
    assert wf.spec.nodes[0].inputs["k"].value == 2.0


def test_workflow_without_outputs_returns_none() -> None:
    @workflow
    def wf(x: int) -> None:
        noop(x=x)

    assert wf(x=1) is None
    assert wf.spec.outputs == {}


def test_a_workflow_may_return_its_input_or_a_constant() -> None:
    @workflow
    def echo(x: int) -> int:
        return x

    @workflow
    def constant(x: int) -> list[int]:
        return [x, 2, total(xs=[x, 3])]

    assert echo(x=7) == 7
    assert constant(x=1) == [1, 2, 4]


def test_subworkflows() -> None:
    @workflow
    def inner(n: int, k: float = 10.0) -> float:
        return scale(x=total(xs=load(n=n)), k=k)

    @workflow
    def outer(n: int) -> float:
        a = inner(n=n)
        b = inner(n=n, k=0.5)
        return scale(x=a, k=b)

    assert inner(n=3) == 30.0
    assert outer(n=3) == 30.0 * 1.5
    kinds = [(node.id, node.kind) for node in outer.spec.nodes]
    assert kinds == [("inner", "workflow"), ("inner-1", "workflow"), ("scale", "task")]


def test_subworkflow_named_outputs() -> None:
    @workflow
    def stats(n: int) -> Stats:
        xs = load(n=n)
        return Stats(total=total(xs=xs), count=count(xs=xs))

    @workflow
    def outer(n: int) -> int:
        s = stats(n=n)
        return total(xs=[s.total, s.count])

    assert outer(n=4) == 6 + 4


def test_subworkflow_input_types_are_checked() -> None:
    @workflow
    def inner(n: int) -> int:
        return total(xs=load(n=n))

    with pytest.raises(TypeMismatchError, match="node 'inner' input 'n' expects int, got float"):

        @workflow
        def outer(x: float) -> int:
            return inner(n=x)


# -- calling with bad inputs ---------------------------------------------------------


@workflow
def add_up(n: int, scale_by: float = 1.0, tag: str | None = None) -> float:
    return scale(x=total(xs=load(n=n)), k=scale_by)


def test_wrong_typed_input() -> None:
    with pytest.raises(TypeMismatchError) as info:
        add_up(n="3")  # type: ignore[arg-type]
    message = str(info.value)
    assert "add_up" in message and "input 'n' expects int, got str ('3')" in message
    with pytest.raises(TypeMismatchError, match="input 'n' expects int, got bool"):
        add_up(n=True)
    with pytest.raises(TypeMismatchError, match="input 'tag' expects str | None, got int"):
        add_up(n=1, tag=3)  # type: ignore[arg-type]
    with pytest.raises(TypeMismatchError, match="input 'scale_by' expects float, got str"):
        add_up(n=1, scale_by="2")  # type: ignore[arg-type]


def test_int_is_accepted_for_a_float_input() -> None:
    assert add_up(n=3, scale_by=2) == 6.0


def test_unknown_input() -> None:
    with pytest.raises(DefinitionError, match="has no input 'm' .its inputs: n, scale_by, tag."):
        add_up(m=3)  # type: ignore[call-arg]


def test_missing_input() -> None:
    with pytest.raises(DefinitionError, match=r"missing required input 'n' \(int\)"):
        add_up()  # type: ignore[call-arg]


def test_positional_inputs() -> None:
    assert add_up(3, 2.0) == 6.0
    with pytest.raises(DefinitionError, match="takes 3 positional inputs, got 4"):
        add_up(1, 2.0, None, 4)  # type: ignore[call-arg]
    with pytest.raises(DefinitionError, match="input 'n' twice"):
        add_up(3, n=3)  # type: ignore[misc]


def test_values_are_passed_by_reference() -> None:
    seen: list[object] = []

    @task
    def keep(xs: list[int]) -> list[int]:
        seen.append(xs)
        return xs

    @workflow
    def wf(xs: list[int]) -> list[int]:
        return keep(xs=keep(xs=xs))

    data = [1, 2, 3]
    assert wf(xs=data) is data
    assert seen[0] is data and seen[1] is data


def test_the_body_runs_once_at_definition() -> None:
    runs: list[int] = []

    @workflow
    def wf(n: int) -> int:
        runs.append(1)
        return total(xs=load(n=n))

    assert runs == [1]
    wf(n=1)
    wf(n=2)
    assert runs == [1]


def test_an_int_fed_to_a_float_input_arrives_as_a_float() -> None:
    @task
    def show(x: float) -> str:
        return repr(x)

    @task
    def show_maybe(x: float | None) -> str:
        return repr(x)

    @task
    def show_all(xs: list[float]) -> str:
        return repr(xs)

    @task
    def count(n: int) -> int:
        return n

    @workflow
    def wf(i: int, f: float, fs: list[float]) -> list[str]:
        return [
            show(x=i),
            show(x=f),
            show(x=count(n=i)),
            show(x=2),
            show_maybe(x=count(n=i)),
            show_all(xs=[i, 2, count(n=i)]),
            show_all(xs=[1, 2]),
            show_all(xs=fs),
        ]

    assert wf(i=1, f=2, fs=[3, 4.5]) == [
        "1.0", "2.0", "1.0", "2.0", "1.0", "[1.0, 2.0, 1.0]", "[1.0, 2.0]", "[3.0, 4.5]",
    ]

    @workflow
    def out(i: int) -> float:
        return count(n=i)

    assert repr(out(i=3)) == "3.0"


def test_other_values_are_not_converted_or_copied() -> None:
    @task
    def ident(xs: list[int]) -> list[int]:
        return xs

    @workflow
    def wf(xs: list[int]) -> list[int]:
        return ident(xs=xs)

    data = [1, 2]
    assert wf(xs=data) is data


def test_defaults_are_type_checked_at_decoration() -> None:
    with pytest.raises(TypeMismatchError, match="input 'n' is declared int but its default is str"):

        @task
        def bad(n: int = "3") -> int:  # type: ignore[assignment]
            return n

    with pytest.raises(TypeMismatchError, match="declared int but its default is None"):

        @workflow
        def bad_wf(n: int = None) -> int:  # type: ignore[assignment]  # noqa: RUF013
            return n

    @workflow
    def ok(lr: float = 1) -> float:
        return lr

    assert repr(ok()) == "1.0"

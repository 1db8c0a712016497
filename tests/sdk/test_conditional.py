"""``conditional``: if_/elif_/else_, then/fail, comparisons, & and |; arms not taken don't run."""

from typing import NamedTuple

import pytest

from rillet import conditional, task, workflow
from rillet.errors import CompileError, UserCodeError

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


@task
def big(x: float) -> str:
    CALLS.append("big")
    return f"big {x:g}"


@task
def mid(x: float) -> str:
    CALLS.append("mid")
    return f"mid {x:g}"


@task
def small(x: float) -> str:
    CALLS.append("small")
    return f"small {x:g}"


@task
def double(x: int) -> int:
    CALLS.append("double")
    return 2 * x


@task
def negate(x: int) -> int:
    CALLS.append("negate")
    return -x


@workflow
def pick(lr: float) -> str:
    return (
        conditional("pick")
        .if_(lr > 0.5)
        .then(big(x=lr))
        .elif_(lr > 0.1)
        .then(mid(x=lr))
        .else_()
        .then(small(x=lr))
    )


def test_if_elif_else_and_only_the_taken_arm_runs() -> None:
    assert pick(lr=0.9) == "big 0.9"
    assert CALLS == ["big"]
    CALLS.clear()
    assert pick(lr=0.3) == "mid 0.3"
    assert CALLS == ["mid"]
    CALLS.clear()
    assert pick(lr=0.1) == "small 0.1"
    assert CALLS == ["small"]


def test_the_branch_node_in_the_spec() -> None:
    (node,) = pick.spec.nodes
    assert node.kind == "branch" and node.id == "pick"
    assert [c.condition is None for c in node.cases] == [False, False, True]
    assert [[n.id for n in c.nodes] for c in node.cases] == [["big"], ["mid"], ["small"]]
    assert node.outputs == {"o0": str}
    assert node.upstream == ()


@pytest.mark.parametrize(
    ("make", "cases"),
    [
        (lambda a, b: a == b, [(1, 1, True), (1, 2, False)]),
        (lambda a, b: a != b, [(1, 1, False), (1, 2, True)]),
        (lambda a, b: a < b, [(1, 2, True), (2, 2, False)]),
        (lambda a, b: a <= b, [(2, 2, True), (3, 2, False)]),
        (lambda a, b: a > b, [(3, 2, True), (2, 2, False)]),
        (lambda a, b: a >= b, [(2, 2, True), (1, 2, False)]),
    ],
)
def test_comparisons_between_promises(make, cases) -> None:  # type: ignore[no-untyped-def]
    @workflow
    def wf(a: int, b: int) -> int:
        da = double(x=a)
        db = double(x=b)
        return conditional("c").if_(make(da, db)).then(double(x=1)).else_().then(negate(x=1))

    for a, b, expected in cases:
        assert wf(a=a, b=b) == (2 if expected else -1), (a, b)


def test_comparisons_with_constants_on_either_side() -> None:
    @workflow
    def wf(x: int) -> int:
        return (
            conditional("c")
            .if_(3 < x)  # reflected: x > 3
            .then(double(x=x))
            .elif_(x == 3)
            .then(negate(x=x))
            .elif_(0 >= x)
            .then(negate(x=0))
            .else_()
            .then(double(x=0))
        )

    assert [wf(x=v) for v in (5, 3, -1, 1)] == [10, -3, 0, 0]


def test_and_or() -> None:
    @workflow
    def wf(x: int, y: int) -> int:
        return (
            conditional("c")
            .if_((x > 0) & (y > 0))
            .then(double(x=1))
            .elif_((x < -5) | (y < -5))
            .then(double(x=2))
            .else_()
            .then(double(x=3))
        )

    assert wf(x=1, y=1) == 2
    assert wf(x=1, y=-6) == 4
    assert wf(x=-6, y=1) == 4
    assert wf(x=-1, y=1) == 6


def test_is_true_and_is_false() -> None:
    @task
    def positive(x: int) -> bool:
        return x > 0

    @workflow
    def wf(x: int) -> int:
        p = positive(x=x)
        return conditional("c").if_(p.is_true()).then(double(x=x)).else_().then(negate(x=x))

    assert wf(x=2) == 4 and wf(x=-2) == 2

    @workflow
    def wf_false(x: int) -> int:
        p = positive(x=x)
        return conditional("c").if_(p.is_false()).then(double(x=x)).else_().then(negate(x=x))

    assert wf_false(x=-2) == -4 and wf_false(x=2) == -2


def test_condition_on_an_upstream_node_is_upstream_of_the_branch() -> None:
    @workflow
    def wf(x: int) -> int:
        d = double(x=x)
        return conditional("c").if_(d > 4).then(negate(x=d)).else_().then(double(x=d))

    assert wf(x=3) == -6 and wf(x=1) == 4
    branch = wf.spec.nodes[-1]
    assert branch.upstream == ("double",)
    # Nodes inside the arms get ids of their own, unique in the workflow.
    assert [n.id for c in branch.cases for n in c.nodes] == ["negate", "double-1"]


def test_fail_arm() -> None:
    @workflow
    def wf(x: int) -> int:
        return (
            conditional("check")
            .if_(x < 0)
            .fail("x must not be negative")
            .else_()
            .then(double(x=x))
        )

    assert wf(x=2) == 4
    with pytest.raises(UserCodeError, match="x must not be negative") as info:
        wf(x=-1)
    assert info.value.node_id == "check"
    assert CALLS == ["double"]


def test_fail_in_the_else_arm() -> None:
    @workflow
    def wf(x: int) -> int:
        return conditional("c").if_(x > 0).then(double(x=x)).else_().fail("no")

    assert wf(x=1) == 2
    with pytest.raises(UserCodeError, match="no"):
        wf(x=0)


def test_conditional_without_outputs() -> None:
    @task
    def note(x: int) -> None:
        CALLS.append(f"note {x}")

    @workflow
    def wf(x: int) -> None:
        conditional("side").if_(x > 0).then(note(x=x)).else_().then(None)

    assert wf(x=1) is None and CALLS == ["note 1"]
    assert wf(x=-1) is None and CALLS == ["note 1"]


def test_constant_arm_results() -> None:
    @workflow
    def wf(x: int) -> int:
        return conditional("c").if_(x > 0).then(double(x=x)).else_().then(0)

    assert wf(x=2) == 4 and wf(x=-2) == 0


class Pair(NamedTuple):
    a: int
    b: int


@task
def pair(x: int) -> Pair:
    return Pair(a=x, b=-x)


def test_named_outputs_from_a_conditional() -> None:
    @workflow
    def wf(x: int) -> int:
        p = conditional("c").if_(x > 0).then(pair(x=x)).else_().then(pair(x=0))
        return double(x=p.b)

    assert wf(x=3) == -6 and wf(x=-3) == 0


def test_nested_conditionals() -> None:
    @workflow
    def wf(x: int) -> int:
        return (
            conditional("outer")
            .if_(x > 0)
            .then(
                conditional("inner")
                .if_(x > 10)
                .then(double(x=x))
                .else_()
                .then(negate(x=x))
            )
            .else_()
            .then(double(x=0))
        )

    assert wf(x=20) == 40 and wf(x=5) == -5 and wf(x=-1) == 0
    assert CALLS == ["double", "negate", "double"]


def test_a_value_computed_before_is_usable_in_every_arm_and_after() -> None:
    @workflow
    def wf(x: int) -> int:
        d = double(x=x)
        r = conditional("c").if_(d > 2).then(negate(x=d)).else_().then(double(x=d))
        return double(x=r)

    assert wf(x=2) == -8


def test_misuse_of_arms() -> None:
    with pytest.raises(CompileError, match="this arm has its .then.. already"):

        @workflow
        def twice(x: int) -> int:
            arm = conditional("c").if_(x > 0)
            arm.then(double(x=x))
            arm.then(double(x=x))
            return x

    with pytest.raises(CompileError, match="conditional 'inner' inside an arm of conditional"):

        @workflow
        def unfinished_inner(x: int) -> int:
            return (
                conditional("outer")
                .if_(x > 0)
                .then(conditional("inner").if_(x > 1).then(double(x=x)))
                .else_()
                .then(double(x=x))
            )

    with pytest.raises(CompileError, match="is finished"):

        @workflow
        def after_else(x: int) -> int:
            c = conditional("c")
            c.if_(x > 0).then(double(x=x)).else_().then(double(x=x))
            c.elif_(x > 1)
            return x

    with pytest.raises(CompileError, match="if_ used twice"):

        @workflow
        def two_ifs(x: int) -> int:
            c = conditional("c")
            c.if_(x > 0).then(double(x=x))
            c.if_(x > 1)
            return x


def test_a_conditional_named_like_a_node_gets_a_fresh_id() -> None:
    @workflow
    def wf(x: int) -> int:
        d = double(x=x)
        return conditional("double").if_(d > 0).then(double(x=d)).else_().then(negate(x=d))

    # Ids go in the order nodes are made: the branch is made when it is finished.
    ids = [n.id for n in wf.spec.nodes]
    assert ids == ["double", "double-2"]
    inner = [n.id for c in wf.spec.nodes[1].cases for n in c.nodes]
    assert inner == ["double-1", "negate"]
    assert wf(x=1) == 4


def test_arms_returning_lists_of_promises() -> None:
    @workflow
    def wf(x: int) -> list[int]:
        return (
            conditional("c")
            .if_(x > 0)
            .then([double(x=x), negate(x=x)])
            .else_()
            .then([negate(x=x), 0])
        )

    assert wf(x=2) == [4, -2]
    assert wf(x=-2) == [2, 0]

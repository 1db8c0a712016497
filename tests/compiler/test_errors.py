"""Compile-time errors: raised when ``@workflow`` runs, naming file:line, node, input, types.

Each offending line carries a ``# <- name`` marker; ``line_of(name)`` finds it, so
the tests check that the message points at the exact line of the mistake.
"""

from pathlib import Path
from typing import NamedTuple, Optional, Union

import pytest

from rillet import conditional, map_task, task, workflow
from rillet.compiler._promise import PromiseFormattedWarning
from rillet.errors import CompileError, DefinitionError, TypeMismatchError

THIS = Path(__file__).resolve()
LINES = THIS.read_text().splitlines()


def line_of(marker: str) -> str:
    """``path:line`` of the line tagged ``# <- marker`` in this file."""
    hits = [i for i, text in enumerate(LINES, 1) if text.rstrip().endswith(f"# <- {marker}")]
    assert len(hits) == 1, marker
    return f"{THIS}:{hits[0]}"


def def_line(fn: object) -> str:
    code = fn.fn.__code__  # type: ignore[attr-defined]
    return f"{code.co_filename}:{code.co_firstlineno}"


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def scale(x: float, k: float = 2.0) -> float:
    return x * k


@task
def word(n: int) -> str:
    return "w" * n


@task
def floats(n: int) -> list[float]:
    return [float(i) for i in range(n)]


@task
def ints(n: int) -> list[int]:
    return list(range(n))


@task
def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


@task
def maybe(x: Optional[int]) -> int:  # noqa: UP045
    return -1 if x is None else x


@task
def either(v: Union[int, str]) -> str:
    return str(v)


@task
def optional_out(n: int) -> int | None:
    return n or None


class Pair(NamedTuple):
    a: int
    b: str


@task
def pair(n: int) -> Pair:
    return Pair(a=n, b=str(n))


# -- bindings -----------------------------------------------------------------


def test_input_of_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            s = word(n=n)
            return add(x=s, y=n)  # <- wrong-type

    message = str(info.value)
    assert message.startswith(line_of("wrong-type") + ": ")
    assert "node 'add'" in message
    assert "input 'x'" in message
    assert "expects int" in message
    assert "got str" in message and "node 'word'" in message
    assert isinstance(info.value, DefinitionError) and isinstance(info.value, TypeError)


def test_constant_of_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            return add(x=n, y="3")  # <- wrong-constant

    message = str(info.value)
    assert message.startswith(line_of("wrong-constant") + ": ")
    assert "node 'add' input 'y' expects int, got str" in message


def test_workflow_input_of_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(name: str) -> int:
            return add(x=1, y=name)  # <- wrong-wf-input

    message = str(info.value)
    assert message.startswith(line_of("wrong-wf-input"))
    assert "input 'y' expects int, got str from workflow input 'name'" in message


def test_missing_required_input() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return add(x=n)  # <- missing

    message = str(info.value)
    assert message.startswith(line_of("missing") + ": ")
    assert "node 'add'" in message and "missing required input 'y' (int)" in message
    assert not isinstance(info.value, TypeMismatchError)


def test_unknown_input_name() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return add(x=n, y=n, z=n)  # <- unknown

    message = str(info.value)
    assert message.startswith(line_of("unknown") + ": ")
    assert "node 'add'" in message and "no input 'z'" in message
    assert "x, y" in message  # the inputs that do exist


def test_too_many_positional_inputs() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return add(n, n, n)  # <- positional

    assert str(info.value).startswith(line_of("positional"))
    assert "takes 2 positional inputs but 3 were given" in str(info.value)


def test_input_given_twice() -> None:
    with pytest.raises(CompileError, match="input 'x' given twice"):

        @workflow
        def wf(n: int) -> int:
            return add(n, x=n, y=n)


def test_output_of_the_wrong_type_fed_downstream() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> float:
            xs = ints(n=n)
            return mean(xs=xs)  # <- downstream

    message = str(info.value)
    assert message.startswith(line_of("downstream") + ": ")
    assert "node 'mean' input 'xs' expects list[float], got list[int]" in message
    assert "output 'o0' of node 'ints'" in message


def test_the_second_call_of_a_task_is_named_by_its_node_id() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            a = add(x=n, y=n)
            return add(x=a, y=word(n=n))  # <- second-call

    assert str(info.value).startswith(line_of("second-call"))
    assert "node 'add-1' input 'y'" in str(info.value)


def test_named_output_of_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            p = pair(n=n)
            return add(x=p.a, y=p.b)  # <- named-output

    message = str(info.value)
    assert message.startswith(line_of("named-output"))
    assert "input 'y' expects int, got str from output 'b' of node 'pair'" in message


def test_using_the_output_of_a_task_that_returns_none() -> None:
    @task
    def nothing(n: int) -> None:
        pass

    # A call of a task without outputs gives a VoidPromise: it orders (>>), it has no value.
    with pytest.raises(
        CompileError,
        match=r"node 'add' input 'x': node 'nothing' \(it has no outputs\) has no value",
    ):

        @workflow
        def wf(n: int) -> int:
            return add(x=nothing(n=n), y=n)


def test_list_of_promises_is_checked_item_by_item() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> float:
            return mean(xs=[scale(x=n), word(n=n)])  # <- list-item

    message = str(info.value)
    assert message.startswith(line_of("list-item"))
    assert "input 'xs[1]' expects float, got str" in message


# -- workflow outputs -----------------------------------------------------------


def test_workflow_returning_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            return word(n=n)

    message = str(info.value)
    # Outputs are bound after the body returned: the message names the workflow's def.
    assert message.startswith(f"{THIS}:")
    assert "output 'o0' is declared int but returns str from output 'o0' of node 'word'" in message


def test_workflow_returning_a_constant_of_the_wrong_type() -> None:
    with pytest.raises(TypeMismatchError, match="output 'o0' is declared int"):

        @workflow
        def wf(n: int) -> int:
            return "three"


def test_workflow_returning_nothing_for_a_declared_output() -> None:
    with pytest.raises(TypeMismatchError, match="declared int but the body returns None"):

        @workflow
        def wf(n: int) -> int:
            add(x=n, y=n)


def test_workflow_with_named_outputs_returning_one_value() -> None:
    with pytest.raises(CompileError, match="declares 2 outputs"):

        @workflow
        def wf(n: int) -> Pair:
            return add(x=n, y=n)


def test_workflow_declaring_no_output_but_returning_a_value() -> None:
    with pytest.raises(CompileError, match="declares no output"):

        @workflow
        def wf(n: int):  # type: ignore[no-untyped-def]
            return 3


# -- promises used as values ----------------------------------------------------


def test_if_promise() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            x = add(x=n, y=n)
            if x:  # <- if-promise
                return x
            return n

    message = str(info.value)
    assert message.startswith(line_of("if-promise") + ": ")
    assert "output 'o0' of node 'add' is a promise" in message
    assert "bool" in message and "conditional()" in message


def test_len_promise() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            xs = ints(n=n)
            return len(xs)  # <- len-promise

    assert str(info.value).startswith(line_of("len-promise") + ": ")
    assert "len()" in str(info.value)


def test_arithmetic_on_a_promise() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return add(x=n + 1, y=n)  # <- arithmetic

    assert str(info.value).startswith(line_of("arithmetic"))
    assert "workflow input 'n' is a promise" in str(info.value)


@pytest.mark.parametrize(
    "misuse",
    [
        lambda p: iter(p),  # (p[0] indexes a list/dict promise: tests/flyte/test_promise_access)
        lambda p: int(p),
        lambda p: float(p),
        lambda p: 3 in p,
        lambda p: -p,
        lambda p: not p,
        lambda p: [1, 2][p],
    ],
)
def test_other_uses_of_a_promise_as_a_value(misuse) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CompileError, match="is a promise, not a value"):

        @workflow
        def wf(n: int) -> int:
            misuse(n)
            return n


def test_printing_a_promise_gives_a_placeholder_and_a_warning_naming_the_line() -> None:
    # flytekit prints promises in workflow bodies; compiling must not fail on it.
    with pytest.warns(PromiseFormattedWarning) as caught:

        @workflow
        def wf(n: int) -> int:
            print(n)  # <- print
            label = f"n is {n}"  # <- fstring
            assert label == "n is <promise: workflow input 'n'>"
            return n

    messages = [str(w.message) for w in caught]
    assert messages[0].startswith(line_of("print"))
    assert messages[1].startswith(line_of("fstring"))
    assert wf(n=2) == 2


def test_unpacking_a_single_output() -> None:
    with pytest.raises(CompileError, match="iterated or unpacked"):

        @workflow
        def wf(n: int) -> int:
            a, b = add(x=n, y=n)
            return a


def test_chained_comparison() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return (
                conditional("c")
                .if_(0 < n < 10)  # <- chained
                .then(add(x=n, y=n))
                .else_()
                .then(add(x=n, y=1))
            )

    message = str(info.value)
    assert message.startswith(line_of("chained") + ": ")
    assert "chained comparison" in message and "&" in message


def test_and_keyword_between_conditions() -> None:
    with pytest.raises(CompileError, match="cannot be used as a Python bool"):

        @workflow
        def wf(n: int) -> int:
            return (
                conditional("c")
                .if_((n > 0) and (n < 10))
                .then(add(x=n, y=n))
                .else_()
                .then(add(x=n, y=1))
            )


def test_missing_parentheses_around_comparisons() -> None:
    # ``n > 0 & n < 9`` is ``n > (0 & n) < 9`` in Python.
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return (
                conditional("c")
                .if_(n > 0 & n < 9)  # <- precedence
                .then(add(x=n, y=n))
                .else_()
                .then(add(x=n, y=1))
            )

    assert str(info.value).startswith(line_of("precedence"))
    assert "parentheses" in str(info.value)


def test_comparing_a_promise_with_a_value_of_another_type() -> None:
    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            return (
                conditional("c")
                .if_(n == "ten")  # <- cmp-type
                .then(add(x=n, y=n))
                .else_()
                .then(add(x=n, y=1))
            )

    assert str(info.value).startswith(line_of("cmp-type"))
    assert "int" in str(info.value) and "str" in str(info.value)


def test_comparisons_across_numeric_types_and_with_none_are_allowed() -> None:
    @workflow
    def wf(n: int, lr: float) -> int:
        o = optional_out(n=n)
        return (
            conditional("c")
            .if_((lr > n) & (o != None) | (n == 1.5))  # noqa: E711
            .then(add(x=n, y=n))
            .else_()
            .then(add(x=n, y=1))
        )

    assert wf(n=2, lr=3.0) == 4
    assert wf(n=0, lr=3.0) == 1


# -- conditionals -----------------------------------------------------------------


def test_conditional_branches_whose_outputs_disagree() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            return (
                conditional("pick")
                .if_(n > 0)
                .then(add(x=n, y=n))
                .else_()
                .then(word(n=n))  # <- disagree
            )

    message = str(info.value)
    assert message.startswith(line_of("disagree") + ": ")
    assert "conditional 'pick'" in message
    assert "(o0: str)" in message and "(o0: int)" in message


def test_conditional_arm_with_output_and_arm_without() -> None:
    with pytest.raises(CompileError, match="conditional 'pick'"):

        @workflow
        def wf(n: int) -> int:
            return conditional("pick").if_(n > 0).then(add(x=n, y=n)).else_().then(None)


def test_conditional_int_and_float_arms_disagree() -> None:
    with pytest.raises(CompileError, match="arm 2 returns"):

        @workflow
        def wf(n: int) -> float:
            return conditional("p").if_(n > 0).then(add(x=n, y=n)).else_().then(scale(x=n))


def test_unfinished_conditional() -> None:
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            conditional("half").if_(n > 0).then(add(x=n, y=n))
            return n

    message = str(info.value)
    assert "conditional 'half' is not finished" in message and "else_()" in message


def test_conditional_arm_without_then() -> None:
    with pytest.raises(CompileError, match="no .then"):

        @workflow
        def wf(n: int) -> int:
            c = conditional("c")
            c.if_(n > 0)
            c.elif_(n < 0)
            return n


def test_conditional_needs_a_condition() -> None:
    with pytest.raises(CompileError, match="if_/elif_ take a comparison"):

        @workflow
        def wf(n: int) -> int:
            return conditional("c").if_(True).then(n).else_().then(n)  # type: ignore[arg-type]


def test_conditional_outside_a_workflow() -> None:
    with pytest.raises(CompileError, match="only allowed inside a workflow body"):
        conditional("c")


def test_else_before_if() -> None:
    with pytest.raises(CompileError, match="else_ before if_"):

        @workflow
        def wf(n: int) -> int:
            return conditional("c").else_().then(n)


def test_promise_made_inside_an_arm_cannot_be_used_outside_it() -> None:
    made: list = []
    with pytest.raises(CompileError) as info:

        @workflow
        def wf(n: int) -> int:
            conditional("c").if_(n > 0).then(made.append(add(x=n, y=n))).else_().then(None)
            return add(x=made[0], y=n)  # <- escaped

    message = str(info.value)
    assert message.startswith(line_of("escaped"))
    assert "node 'add'" in message and "conditional 'c'" in message


# -- type rules -------------------------------------------------------------------


def test_int_output_into_float_input_is_allowed() -> None:
    @workflow
    def wf(n: int) -> float:
        return scale(x=add(x=n, y=n), k=3)

    assert wf(n=2) == 12.0


def test_list_of_int_into_list_of_float_is_not() -> None:
    with pytest.raises(TypeMismatchError, match=r"expects list\[float\], got list\[int\]"):

        @workflow
        def wf(n: int) -> float:
            return mean(xs=ints(n=n))


def test_float_into_int_is_not() -> None:
    with pytest.raises(TypeMismatchError, match="expects int, got float"):

        @workflow
        def wf(x: float) -> int:
            return add(x=x, y=1)


def test_bool_into_int_is_not() -> None:
    with pytest.raises(TypeMismatchError, match="expects int, got bool"):

        @workflow
        def wf(flag: bool) -> int:
            return add(x=flag, y=1)


def test_optional_accepts_the_type_and_none() -> None:
    @workflow
    def wf(n: int) -> list[int]:
        return [maybe(x=n), maybe(x=None), maybe(x=optional_out(n=n))]

    assert wf(n=3) == [3, -1, 3]
    assert wf(n=0) == [0, -1, -1]


def test_optional_does_not_feed_a_plain_input() -> None:
    with pytest.raises(TypeMismatchError, match=r"expects int, got int \| None"):

        @workflow
        def wf(n: int) -> int:
            return add(x=optional_out(n=n), y=1)


def test_pep604_none_union_is_optional() -> None:
    @task
    def pep604(x: int | None) -> int:
        return 0 if x is None else x

    @workflow
    def wf(n: Optional[int]) -> int:  # noqa: UP045
        return pep604(x=n)

    assert wf(n=None) == 0 and wf(n=4) == 4


def test_union_members_are_accepted_and_others_are_not() -> None:
    @workflow
    def ok(n: int, s: str) -> list[str]:
        return [either(v=n), either(v=s), either(v=add(x=n, y=n))]

    assert ok(n=1, s="a") == ["1", "a", "2"]

    with pytest.raises(TypeMismatchError, match=r"expects int \| str, got float"):

        @workflow
        def bad(x: float) -> str:
            return either(v=x)


def test_wrong_types_inside_a_map_and_a_partial() -> None:
    import functools

    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(words: list[str]) -> list[int]:
            return map_task(functools.partial(add, y=1))(x=words)  # <- map-type

    assert str(info.value).startswith(line_of("map-type"))
    assert "node 'map-add' input 'x'" in str(info.value)

    with pytest.raises(TypeMismatchError, match="node 'map-add' input 'y' expects int, got str"):

        @workflow
        def wf2(xs: list[int]) -> list[int]:
            return map_task(functools.partial(add, y="1"))(x=xs)


def test_errors_are_definition_errors_and_nothing_ran() -> None:
    calls: list[int] = []

    @task
    def record(n: int) -> int:
        calls.append(n)
        return n

    with pytest.raises(DefinitionError):

        @workflow
        def wf(n: int) -> int:
            record(n=n)
            return add(x=record(n=n), y="x")

    assert calls == []


def test_workflow_without_return_annotation_returning_a_promise() -> None:
    with pytest.raises(CompileError, match="declares no output but returns output 'o0' of node"):

        @workflow
        def wf(n: int):  # type: ignore[no-untyped-def]
            return add(x=n, y=n)


def test_workflow_returning_another_named_tuple() -> None:
    class Other(NamedTuple):
        b: str
        a: int

    with pytest.raises(CompileError, match=r"declares outputs \(a, b\) but returns Other \(b, a\)"):

        @workflow
        def wf(n: int) -> Pair:
            p = pair(n=n)
            return Other(b=p.b, a=p.a)

    @workflow
    def plain_tuple(n: int) -> Pair:
        p = pair(n=n)
        return (p.a, p.b)  # type: ignore[return-value]

    assert plain_tuple(n=2) == Pair(a=2, b="2")


def test_passing_all_named_outputs_as_one_value() -> None:
    @task
    def use(p: Pair) -> int:
        return p.a

    @workflow
    def ok(n: int) -> int:
        return use(p=pair(n=n))  # to an input of that NamedTuple type: one value (issue 13)

    assert ok(n=2) == 2

    @task
    def other(p: list[int]) -> int:
        return len(p)

    with pytest.raises(TypeMismatchError) as info:

        @workflow
        def wf(n: int) -> int:
            return other(p=pair(n=n))  # <- whole-tuple

    message = str(info.value)
    assert message.startswith(line_of("whole-tuple"))
    assert "named outputs of node 'pair' (Pair), which are separate values" in message

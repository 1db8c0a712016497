"""``@dynamic``: a body that runs at execution time with real inputs and builds a sub-DAG."""

import pytest

from rillet import current_context, dynamic, task, workflow
from rillet.errors import CompileError, DefinitionError, TypeMismatchError

BODY_RUNS: list[int] = []


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def where_am_i() -> str:
    return current_context().node_id


@dynamic
def fan(k: int) -> list[int]:
    BODY_RUNS.append(k)
    return [square(x=i) for i in range(k)]  # k is a real int here


@workflow
def fan_total(k: int) -> int:
    return total(xs=fan(k=k))


def test_the_sub_dag_is_built_at_run_time() -> None:
    BODY_RUNS.clear()
    (node,) = [n for n in fan_total.spec.nodes if n.kind == "dynamic"]
    assert node.id == "fan" and node.outputs == {"o0": list[int]}
    assert BODY_RUNS == []  # compiling the workflow does not run the dynamic body
    assert fan_total(k=4) == 0 + 1 + 4 + 9
    assert fan_total(k=0) == 0
    assert BODY_RUNS == [4, 0]


def test_the_sub_dag_it_builds() -> None:
    spec = fan.compile_with({"k": 3})
    assert [n.id for n in spec.nodes] == ["square", "square-1", "square-2"]
    assert [n.inputs["x"].value for n in spec.nodes] == [0, 1, 2]
    assert spec.interface.inputs == {}


def test_a_dynamic_called_directly() -> None:
    assert fan(k=3) == [0, 1, 4]
    assert fan(3) == [0, 1, 4]


def test_python_control_flow_on_real_values() -> None:
    @dynamic
    def collatz(n: int) -> list[int]:
        steps = []
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps.append(square(x=n))
        return steps

    @workflow
    def wf(n: int) -> int:
        return total(xs=collatz(n=n))

    assert wf(n=4) == 4 + 1
    assert wf(n=1) == 0


def test_nodes_of_a_dynamic_run_under_its_node_id() -> None:
    @dynamic
    def ask(k: int) -> list[str]:
        return [where_am_i() for _ in range(k)]

    @workflow
    def wf(k: int) -> list[str]:
        return ask(k=k)

    assert wf(k=2) == ["ask/where_am_i", "ask/where_am_i-1"]


def test_a_dynamic_inside_a_dynamic() -> None:
    @dynamic
    def outer(k: int) -> list[int]:
        return [total(xs=fan(k=i)) for i in range(k)]

    @workflow
    def wf(k: int) -> list[int]:
        return outer(k=k)

    assert wf(k=4) == [0, 0, 1, 5]


def test_a_type_error_in_the_body_raises_the_same_error_type_at_run_time() -> None:
    @dynamic
    def wrong(k: int) -> int:
        return square(x=str(k))  # <- wrong type, found only when the body runs

    @workflow
    def wf(k: int) -> int:
        return wrong(k=k)

    with pytest.raises(TypeMismatchError, match="node 'square' input 'x' expects int, got str"):
        wf(k=1)
    with pytest.raises(TypeMismatchError, match="node 'square' input 'x' expects int, got str"):
        wrong(k=1)


def test_other_compile_errors_in_the_body_at_run_time() -> None:
    @dynamic
    def missing(k: int) -> int:
        return total()  # type: ignore[call-arg]

    @dynamic
    def wrong_output(k: int) -> int:
        return [square(x=k)]  # type: ignore[return-value]

    @workflow
    def wf(k: int) -> int:
        return missing(k=k)

    with pytest.raises(CompileError, match="missing required input 'xs'"):
        wf(k=1)
    with pytest.raises(DefinitionError, match="output 'o0' is declared int"):
        wrong_output(k=1)


def test_a_compile_error_in_a_dynamic_is_never_retried() -> None:
    runs: list[int] = []

    @dynamic(retries=3)
    def wrong(k: int) -> int:
        runs.append(k)
        return square(x="no")

    @workflow
    def wf(k: int) -> int:
        return wrong(k=k)

    with pytest.raises(TypeMismatchError):
        wf(k=1)
    assert runs == [1]


def test_retries_of_a_dynamic_cover_its_sub_dag() -> None:
    tries: list[int] = []

    @task
    def flaky(x: int) -> int:
        tries.append(x)
        if len(tries) == 1:
            raise RuntimeError("first try fails")
        return x

    @dynamic(retries=1)
    def d(k: int) -> int:
        return flaky(x=k)

    @workflow
    def wf(k: int) -> int:
        return d(k=k)

    assert wf(k=5) == 5
    assert tries == [5, 5]


def test_a_dynamic_returning_a_constant() -> None:
    @dynamic
    def const(k: int) -> list[int]:
        return list(range(k))

    @workflow
    def wf(k: int) -> list[int]:
        return const(k=k)

    assert wf(k=3) == [0, 1, 2]


def test_a_conditional_in_a_dynamic_body_says_to_use_if() -> None:
    from rillet import conditional

    @dynamic
    def d(k: int) -> int:
        return conditional("c").if_(k > 3).then(square(x=k)).else_().then(square(x=0))

    @workflow
    def wf(k: int) -> int:
        return d(k=k)

    with pytest.raises(CompileError, match="plain 'if'"):
        wf(k=5)

"""``@workflow(on_failure=...)`` and what a failed direct call raises."""

import pytest

from rillet import FailureInfo, conditional, task, workflow
from rillet.errors import CompileError, DefinitionError, TypeMismatchError, UserCodeError

HANDLED: list[tuple] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    HANDLED.clear()


class Boom(Exception):
    pass


@task
def inc(x: int) -> int:
    return x + 1


@task
def explode(x: int) -> int:
    raise Boom(f"exploded at {x}")


@task
def cleanup(n: int, lr: float, error: FailureInfo) -> None:
    HANDLED.append((n, lr, error))


@workflow(on_failure=cleanup)
def pipeline(n: int, lr: float = 0.1) -> int:
    return inc(x=explode(x=inc(x=n)))


def test_the_handler_gets_the_inputs_by_name_and_the_failure() -> None:
    with pytest.raises(UserCodeError) as info:
        pipeline(n=1)
    assert len(HANDLED) == 1  # it runs once
    n, lr, error = HANDLED[0]
    assert (n, lr) == (1, 0.1)
    assert isinstance(error, FailureInfo)
    assert error == FailureInfo(node_id="explode", error_type="Boom", message="exploded at 2")
    # ... and the workflow still fails, with the user's exception as the cause.
    failure = info.value
    assert isinstance(failure.__cause__, Boom)
    assert failure.node_id == "explode"
    assert failure.error_type == "Boom" and failure.error_message == "exploded at 2"
    assert "node 'explode'" in str(failure) and "Boom: exploded at 2" in str(failure)


def test_the_handler_does_not_run_when_the_workflow_succeeds() -> None:
    @workflow(on_failure=cleanup)
    def fine(n: int, lr: float) -> int:
        return inc(x=n)

    assert fine(n=1, lr=0.5) == 2
    assert HANDLED == []


def test_the_handler_node_in_the_spec() -> None:
    handler = pipeline.spec.on_failure
    assert handler is not None
    assert handler.id == "on_failure" and handler.entity is cleanup
    assert {k: b.kind for k, b in handler.inputs.items()} == {
        "n": "input",
        "lr": "input",
        "error": "error",
    }
    assert "on_failure" not in [n.id for n in pipeline.spec.nodes]


def test_a_handler_may_declare_some_inputs_or_none() -> None:
    @task
    def only_error(error: FailureInfo) -> None:
        HANDLED.append(("error", error.node_id))

    @task
    def only_input(lr: float, verbose: bool = False) -> None:
        HANDLED.append(("lr", lr, verbose))

    @task
    def nothing() -> None:
        HANDLED.append(("nothing",))

    for handler in (only_error, only_input, nothing):

        @workflow(on_failure=handler)
        def wf(n: int, lr: float = 0.5) -> int:
            return explode(x=n)

        with pytest.raises(UserCodeError):
            wf(n=1)
    assert HANDLED == [("error", "explode"), ("lr", 0.5, False), ("nothing",)]


def test_a_failing_handler_does_not_hide_the_failure() -> None:
    @task
    def broken(error: FailureInfo) -> None:
        raise RuntimeError("handler broke")

    @workflow(on_failure=broken)
    def wf(n: int) -> int:
        return explode(x=n)

    with pytest.raises(UserCodeError, match="Boom: exploded at 1") as info:
        wf(n=1)
    assert isinstance(info.value.__cause__, Boom)
    notes = getattr(info.value, "__notes__", [])
    assert any("handler broke" in note for note in notes)


def test_failure_inside_a_subworkflow_names_the_inner_node() -> None:
    @workflow
    def sub(n: int) -> int:
        return explode(x=inc(x=n))

    @workflow(on_failure=cleanup)
    def outer(n: int, lr: float) -> int:
        return inc(x=sub(n=n))

    with pytest.raises(UserCodeError) as info:
        outer(n=1, lr=0.2)
    assert info.value.node_id == "sub/explode"
    assert isinstance(info.value.__cause__, Boom)
    (n, lr, error) = HANDLED[0]
    assert error == FailureInfo(node_id="sub/explode", error_type="Boom", message="exploded at 2")


def test_failure_inside_a_conditional_arm_names_the_arm_node() -> None:
    @workflow(on_failure=cleanup)
    def wf(n: int, lr: float) -> int:
        return conditional("c").if_(n > 0).then(explode(x=n)).else_().then(inc(x=n))

    assert wf(n=-1, lr=0.0) == 0
    with pytest.raises(UserCodeError) as info:
        wf(n=1, lr=0.0)
    assert info.value.node_id == "explode"
    assert HANDLED[0][2].node_id == "explode"


def test_a_fail_arm_is_a_failure_of_the_branch_node() -> None:
    @workflow(on_failure=cleanup)
    def wf(n: int, lr: float) -> int:
        return conditional("guard").if_(n < 0).fail("negative n").else_().then(inc(x=n))

    with pytest.raises(UserCodeError, match="negative n"):
        wf(n=-1, lr=0.0)
    error = HANDLED[0][2]
    assert error.node_id == "guard" and "negative n" in error.message


def test_nodes_after_a_failure_do_not_run() -> None:
    ran: list[int] = []

    @task
    def later(x: int) -> int:
        ran.append(x)
        return x

    @workflow
    def wf(n: int) -> int:
        a = explode(x=n)
        later(x=n)
        return a

    with pytest.raises(UserCodeError):
        wf(n=1)
    assert ran == []


# -- definition errors ----------------------------------------------------------------


def test_the_handler_must_be_a_task() -> None:
    with pytest.raises(DefinitionError, match="on_failure must be a @task"):

        @workflow(on_failure=lambda: None)  # type: ignore[arg-type]
        def wf(n: int) -> int:
            return inc(x=n)


def test_the_handler_inputs_must_be_workflow_inputs_or_error() -> None:
    @task
    def stranger(m: int) -> None:
        pass

    with pytest.raises(CompileError, match="input 'm' is neither a workflow input"):

        @workflow(on_failure=stranger)
        def wf(n: int) -> int:
            return inc(x=n)


def test_the_handler_input_types_must_match() -> None:
    @task
    def typed(n: str) -> None:
        pass

    with pytest.raises(TypeMismatchError, match="input 'n' expects str, the workflow input is int"):

        @workflow(on_failure=typed)
        def wf(n: int) -> int:
            return inc(x=n)


def test_a_subworkflows_handler_runs_then_the_parents() -> None:
    @task
    def inner_handler(error: FailureInfo) -> None:
        HANDLED.append(("inner", error.node_id))

    @task
    def outer_handler(error: FailureInfo) -> None:
        HANDLED.append(("outer", error.node_id))

    @workflow(on_failure=inner_handler)
    def sub(n: int) -> int:
        return explode(x=n)

    @workflow(on_failure=outer_handler)
    def outer(n: int) -> int:
        return sub(n=n)

    with pytest.raises(UserCodeError):
        outer(n=1)
    assert HANDLED == [("inner", "sub/explode"), ("outer", "sub/explode")]

"""A task's return value must match its declared output types: direct calls and
durable runs fail with a TypeMismatchError naming the task and both types, never retried."""

from __future__ import annotations

from pathlib import Path

import pytest

import rillet
from rillet import map_task, task, workflow
from rillet.errors import TypeMismatchError

CALLS: list[int] = []


@task(retries=2)
def wrong() -> int:
    CALLS.append(1)
    return "forty-two"  # type: ignore[return-value]


@task
def pair_wrong() -> tuple[int, str]:
    return 1, 2  # type: ignore[return-value]


@task
def half(x: int) -> int:
    return x // 2 if x else "zero"  # type: ignore[return-value]


@workflow
def wf() -> int:
    return wrong()


def test_a_direct_workflow_call_fails_with_a_type_error_and_no_retry() -> None:
    CALLS.clear()
    with pytest.raises(TypeMismatchError) as info:
        wf()
    assert "task 'test_output_check:wrong' output 'o0' is declared int but the task " \
        "returned str ('forty-two')" in str(info.value)
    assert CALLS == [1]


def test_a_direct_task_call_is_checked_too() -> None:
    with pytest.raises(TypeMismatchError, match="output 'o1' is declared str"):
        pair_wrong()


def test_map_elements_are_checked() -> None:
    @workflow
    def m(xs: list[int]) -> list[int]:
        return map_task(half)(x=xs)

    assert m(xs=[2, 4]) == [1, 2]
    with pytest.raises(TypeMismatchError, match="declared int but the task returned str"):
        m(xs=[2, 0])


def test_a_durable_run_fails_the_node_with_the_same_message(tmp_path: Path) -> None:
    CALLS.clear()
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "FAILED"
    (node,) = ex.nodes
    assert node.attempts == 1 and CALLS == [1]
    assert node.error is not None
    assert "output 'o0' is declared int but the task returned str" in node.error

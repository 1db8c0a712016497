"""``@eager``: an async workflow body awaiting tasks. Direct calls run it in an event
loop; a durable run replays it, each awaited task a node of the execution."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import rillet
from rillet import task, workflow
from rillet.errors import DefinitionError
from rillet.flyte import eager
from rillet.flyte.exceptions.eager import EagerException


@task
def add_one(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return x * 2


@task
def fail_below(x: int) -> int:
    if x <= 0:
        raise ValueError(f"{x} is too small")
    return x


@workflow
def static(x: int) -> int:
    return double(x=add_one(x=x))


@eager
async def branching(x: int) -> int:
    out = await add_one(x=x)
    if out > 10:  # a real int: Python control flow over task outputs
        return await double(x=out)
    return out - 1


@eager
async def fan_out(n: int) -> int:
    outs = await asyncio.gather(*[add_one(x=i) for i in range(n)])
    return await double(x=sum(outs))


@eager
async def inner(x: int) -> int:
    return await add_one(x=x)


@eager
async def nested(x: int) -> int:
    y = await inner(x=x)
    return await static(x=y)


@eager
async def catching(x: int) -> int:
    try:
        return await fail_below(x=x)
    except EagerException:
        return -1


def test_an_eager_body_awaits_tasks_and_branches_on_their_values() -> None:
    assert branching(x=20) == 42
    assert branching(x=1) == 1
    assert fan_out(n=4) == 20
    assert nested(x=1) == 6  # inner: 2; static: (2 + 1) * 2


def test_a_failed_task_raises_eager_exception_at_the_await() -> None:
    assert catching(x=3) == 3
    assert catching(x=0) == -1


def test_an_eager_workflow_runs_durably_each_awaited_task_a_node(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    ex = rillet.run(fan_out, home=home, n=3)
    assert ex.status == "SUCCEEDED", ex
    assert ex.output("o0") == 12
    ids = {n.id: n for n in ex.nodes}
    assert {"fan_out", "fan_out/add_one", "fan_out/add_one-1", "fan_out/add_one-2",
            "fan_out/double"} <= set(ids), sorted(ids)
    assert all(n.status == "SUCCEEDED" for n in ids.values())
    assert ids["fan_out"].kind == "eager" and ids["fan_out/double"].kind == "task"


def test_a_durable_eager_run_with_a_subworkflow_and_an_eager_subworkflow(tmp_path: Path) -> None:
    ex = rillet.run(nested, home=str(tmp_path / "home"), executor="inline", x=1)
    assert ex.status == "SUCCEEDED" and ex.output("o0") == 6
    ids = {n.id for n in ex.nodes}
    assert {"nested/add_one", "nested/static", "nested/static/add_one",
            "nested/static/double"} <= ids, sorted(ids)


@eager
async def not_catching(x: int) -> int:
    return await fail_below(x=x)


def test_a_failed_awaited_task_raises_into_the_durable_body(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    ex = rillet.run(catching, home=home, x=0)
    assert ex.status == "SUCCEEDED" and ex.output("o0") == -1  # the body caught it
    assert ex.node("catching/fail_below").status == "FAILED"
    assert "too small" in (ex.node("catching/fail_below").error or "")
    ex = rillet.run(not_catching, home=home, executor="inline", x=0)
    assert ex.status == "FAILED"
    assert ex.node("not_catching").status == "FAILED"
    assert "EagerException" in (ex.node("not_catching").error or "")
    assert "too small" in (ex.node("not_catching").error or "")


GATE: list[bool] = []


@task
def gated(x: int) -> int:
    if not GATE:
        raise RuntimeError("closed")
    return x * 10


@eager
async def stepwise(x: int) -> int:
    a = await add_one(x=x)
    b = await add_one(x=a)
    return await gated(x=b)


def test_a_recovered_eager_execution_reuses_the_awaited_nodes_that_finished(
        tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    GATE.clear()
    failed = rillet.run(stepwise, home=home, executor="inline", x=1)
    assert failed.status == "FAILED"
    GATE.append(True)
    ex = rillet.recover(failed.id, home=home, executor="inline", workflow=stepwise)
    assert ex.status == "SUCCEEDED" and ex.output("o0") == 30
    status = {n.id: n.status for n in ex.nodes}
    assert status["stepwise/add_one"] == status["stepwise/add_one-1"] == "RECOVERED", status
    assert status["stepwise/gated"] == "SUCCEEDED"


def test_an_eager_workflow_needs_an_async_def_and_annotations() -> None:
    with pytest.raises(DefinitionError, match="async def"):

        @eager
        def plain(x: int) -> int:
            return x

    with pytest.raises(DefinitionError, match="no type annotation"):

        @eager
        async def loose(x):  # type: ignore[no-untyped-def]
            return x


def test_an_eager_output_of_the_wrong_type_is_a_type_error() -> None:
    @eager
    async def liar(x: int) -> int:
        return str(await add_one(x=x))  # type: ignore[return-value]

    with pytest.raises(TypeError, match="declared int"):
        liar(x=1)

"""A task returning a NamedTuple of one field has one named output: the field's value,
in direct calls and in durable runs alike (found by the notebook issue, 20)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

import rillet
from rillet import task, workflow


class One(NamedTuple):
    v: int


@task
def make(x: int) -> One:
    return One(x + 1)


@task
def times_ten(v: int) -> int:
    return v * 10


@workflow
def chain(x: int = 1) -> int:
    return times_ten(v=make(x=x).v)


@workflow
def named(x: int = 1) -> One:
    return make(x=x)


def test_direct_call_passes_the_field_on() -> None:
    assert chain(x=1) == 20
    assert named(x=4) == One(5)


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_durable_run_stores_the_field(tmp_path: Path, executor: str) -> None:
    ex = rillet.run(chain, home=str(tmp_path / "home"), executor=executor, x=2)
    assert ex.status.value == "SUCCEEDED", ex.error
    assert ex.outputs == {"o0": 30}
    ex = rillet.run(named, home=str(tmp_path / "home"), executor=executor, x=2)
    assert ex.outputs == {"v": 3}

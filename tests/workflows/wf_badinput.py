"""Workflows of the bad-input probes: any JSON input, a list, a string, and a task that
logs metrics with no JSON form (infinity, NaN)."""

from __future__ import annotations

from typing import Any

from rillet import current_context, task, workflow


@task
def count(x: Any) -> int:
    return 1


@workflow
def anything(x: dict[str, Any] | None = None) -> int:
    return count(x=x)


@task
def length(x: list[int]) -> int:
    return len(x)


@workflow
def ints(x: list[int]) -> int:
    return length(x=x)


@task
def odd() -> float:
    current_context().log_metric("loss", float("inf"))
    current_context().log_param("limit", float("-inf"))
    return float("inf")


@workflow
def unbounded() -> float:
    return odd()

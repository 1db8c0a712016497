"""A value large enough to be stored as a file in the artifact folder."""

from __future__ import annotations

from rillet import task, workflow


@task
def big(n: int) -> list[str]:
    return [f"line {i:06d}" for i in range(n)]


@workflow
def make_big(n: int = 2000) -> list[str]:
    return big(n=n)

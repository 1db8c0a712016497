"""A map task whose elements keep checkpoints: each element saves what it saw, then
fails, on its first try; on a later attempt of the map node it returns what it saved."""

from __future__ import annotations

from rillet import current_context, map_task, task, workflow


@task(retries=4)
def step(x: int) -> str:
    ctx = current_context()
    saved = ctx.checkpoint.read()
    if saved is None:
        ctx.checkpoint.write(f"element {ctx.map_index} saw {x}".encode())
        raise RuntimeError(f"element {ctx.map_index} fails once")
    return saved.decode()


@workflow
def saves(xs: list[int]) -> list[str]:
    return map_task(step)(x=xs)


@workflow
def saves_tolerant(xs: list[int]) -> list[str | None]:
    return map_task(step, min_success_ratio=0.5)(x=xs)


@task(retries=2)
def add(x: int, y: int) -> int:
    return x + y


@workflow
def pairs(xs: list[int], ys: list[int]) -> list[int]:
    return map_task(add)(x=xs, y=ys)

"""The workflows of ``benchmarks/serving.py``: a trivial model (``predict`` returns its
input) and a task that logs N metric points."""

from __future__ import annotations

from rillet import current_context, task, workflow


class Echo:
    def predict(self, rows: list) -> list:
        return rows


@task
def make_echo(tag: int) -> Echo:
    return Echo()


@workflow
def echo(tag: int = 0) -> Echo:
    return make_echo(tag=tag)


@task
def log_points(n: int) -> int:
    ctx = current_context()
    for step in range(n):
        ctx.log_metric("loss", 1.0 / (step + 1), step=step)
    return n


@workflow
def logging(n: int = 10_000) -> int:
    return log_points(n=n)

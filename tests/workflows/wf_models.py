"""Workflows for the model tests: raw data -> features -> a trained model whose
``predict`` names its scale, so every answer tells which version produced it."""

from __future__ import annotations

from dataclasses import dataclass

from rillet import current_context, task, workflow


class Scaler:
    """``predict`` multiplies each row's sum by ``scale`` (rows: lists of floats)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def predict(self, rows: list[list[float]]) -> list[float]:
        return [self.scale * sum(row) for row in rows]


class Echo:
    """``predict`` returns its input (the benchmark's trivial model)."""

    def predict(self, rows: list) -> list:
        return rows


@task
def load_data(n: int) -> list[list[float]]:
    return [[float(i), float(i + 1)] for i in range(n)]


@task
def train(data: list[list[float]], scale: float) -> Scaler:
    ctx = current_context()
    ctx.log_param("scale", scale)
    for step in range(5):
        ctx.log_metric("loss", 1.0 / (step + 1) / scale, step=step)
    ctx.log_metric("rows", float(len(data)))
    return Scaler(scale)


@task
def make_echo() -> Echo:
    return Echo()


@workflow
def training(n: int = 4, scale: float = 1.0) -> Scaler:
    return train(data=load_data(n=n), scale=scale)


@workflow
def echo() -> Echo:
    return make_echo()


@task
def log_then_count(n: int, db: str) -> int:
    """Logs ``n`` points, then counts the metric rows the home holds for this execution."""
    import sqlite3

    ctx = current_context()
    for step in range(n):
        ctx.log_metric("x", float(step), step=step)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM metric_batches WHERE execution_id = ?",
                                (ctx.execution_id,)).fetchone()[0])


@workflow
def logging_probe(n: int, db: str) -> int:
    return log_then_count(n=n, db=db)


@task
def best_depth(n: int) -> int:
    return n + 2


@task
def threshold(n: int) -> float:
    return n / 8


@task
def label(n: int) -> str:
    return f"model-{n}"


@task
def calibrated(n: int) -> bool:
    return n % 2 == 0


@workflow
def scalars(n: int = 4) -> tuple[int, float, str, bool]:
    """A model version may be a plain JSON value (a chosen depth, a cut-off, a label)."""
    return best_depth(n=n), threshold(n=n), label(n=n), calibrated(n=n)


@dataclass
class Line:
    """A model stored as JSON (a dataclass of plain fields), not pickled."""

    slope: float
    intercept: float

    def predict(self, xs: list[float]) -> list[float]:
        return [self.slope * x + self.intercept for x in xs]


@task
def fit_line(slope: float) -> Line:
    return Line(slope=slope, intercept=1.0)


@workflow
def line(slope: float = 2.0) -> Line:
    return fit_line(slope=slope)

"""A user's program, written as DESIGN.md's "Public API" shows, called directly from Python.

Imports only ``rillet``. Direct calls run in memory: plain values back, nothing on disk.
"""

import functools
import os
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from rillet import (
    Cache,
    FailureInfo,
    RecoverableError,
    Resources,
    UserCodeError,
    conditional,
    current_context,
    dynamic,
    map_task,
    task,
    workflow,
)

EVENTS: list[str] = []


class Split(NamedTuple):
    train: list[float]
    test: list[float]


@task
def load(n: int) -> list[float]:
    return [float(i) for i in range(n)]


@task(cache=Cache(version="2", serialize=True, ignored_inputs=("verbose",)))
def split(data: list[float], verbose: bool = False) -> Split:
    k = len(data) * 3 // 4
    return Split(train=data[:k], test=data[k:])


@task
def score(x: float, offset: float) -> float:
    if x < 0:
        raise ValueError("negative")
    return x + offset


@task(
    cache=True,
    cache_version="1",
    retries=2,
    timeout=timedelta(minutes=5),
    requests=Resources(cpu="1", mem="512Mi"),
    limits=Resources(gpu="1"),
)
def train(data: list[float], lr: float = 0.1) -> float:
    ctx = current_context()
    ctx.log_param("lr", lr)
    if ctx.attempt == 1:
        EVENTS.append("train attempt 1 failed")
        raise RecoverableError("flaky first attempt")
    ctx.log_metric("loss", 0.3, step=5)
    return sum(data) * lr


@task
def big(x: float) -> str:
    EVENTS.append("big")
    return "big"


@task
def mid(x: float) -> str:
    EVENTS.append("mid")
    return "mid"


@task
def small(x: float) -> str:
    EVENTS.append("small")
    return "small"


class Report(NamedTuple):
    model: float
    test_size: int
    scores: list[float | None]  # min_success_ratio < 1: a failed element is None
    size: str


@task
def evaluate(model: float, test: list[float]) -> int:
    if model < 0:
        raise ValueError(f"bad model {model}")
    return len(test)


@task
def cleanup(n: int, error: FailureInfo) -> None:
    EVENTS.append(f"cleanup n={n} {error.node_id} {error.error_type}: {error.message}")


@workflow(on_failure=cleanup)
def pipeline(n: int = 8, lr: float = 0.1) -> Report:
    raw = load(n=n)
    parts = split(data=raw)
    scores = map_task(
        functools.partial(score, offset=lr), concurrency=8, min_success_ratio=0.9
    )(x=parts.test)
    size = (
        conditional("pick")
        .if_(lr > 0.5)
        .then(big(x=lr))
        .elif_(lr > 0.1)
        .then(mid(x=lr))
        .else_()
        .then(small(x=lr))
    )
    model = train(data=parts.train, lr=lr)
    return Report(
        model=model, test_size=evaluate(model=model, test=parts.test), scores=scores, size=size
    )


@task
def square(x: int) -> int:
    return x * x


@dynamic
def fan(k: int) -> list[int]:
    return [square(x=i) for i in range(k)]


@pytest.fixture(autouse=True)
def _in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    EVENTS.clear()
    monkeypatch.chdir(tmp_path)
    yield
    assert os.listdir(tmp_path) == [], "a direct call wrote to disk"


def test_the_pipeline_returns_plain_values() -> None:
    report = pipeline()
    assert report == Report(model=sum(range(6)) * 0.1, test_size=2, scores=[6.1, 7.1], size="small")
    assert isinstance(report, Report) and report.size == "small"
    assert EVENTS == ["small", "train attempt 1 failed"]


def test_inputs_choose_the_arm() -> None:
    assert pipeline(n=4, lr=0.9).size == "big"
    assert pipeline(n=4, lr=0.3).size == "mid"
    assert [e for e in EVENTS if e in ("big", "mid", "small")] == ["big", "mid"]


def test_a_failure_runs_the_handler_once_and_fails() -> None:
    with pytest.raises(UserCodeError, match="bad model") as info:
        pipeline(n=4, lr=-1.0)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.node_id == "evaluate"
    cleanups = [e for e in EVENTS if e.startswith("cleanup")]
    assert cleanups == ["cleanup n=4 evaluate ValueError: bad model -3.0"]


def test_tasks_and_dynamics_called_directly() -> None:
    assert load(n=3) == [0.0, 1.0, 2.0]
    assert split(data=[1.0, 2.0, 3.0, 4.0]).test == [4.0]
    assert fan(k=4) == [0, 1, 4, 9]
    with pytest.raises(ValueError, match="negative"):
        score(x=-1.0, offset=0.0)  # the user's own exception

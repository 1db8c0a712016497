"""Linear regression in plain Python: generate noisy data, split it, fit, evaluate.

Shows named outputs (``Split``), dataclass values passed between tasks, and a
``conditional`` choosing the solver: ``epochs == 0`` fits by closed-form least
squares, anything else by stochastic gradient descent with ``lr`` and ``epochs``.
"""

import random
from dataclasses import dataclass
from typing import NamedTuple

from rillet import conditional, task, workflow

TRUE_SLOPE = 2.5
TRUE_INTERCEPT = -1.0
NOISE = 0.3


@dataclass
class Dataset:
    x: list[float]
    y: list[float]


@dataclass
class Fit:
    slope: float
    intercept: float


@dataclass
class Metrics:
    slope: float
    intercept: float
    mse: float


class Split(NamedTuple):
    train: Dataset
    test: Dataset


@task
def generate(n: int, seed: int) -> Dataset:
    """``n`` points on ``y = TRUE_SLOPE * x + TRUE_INTERCEPT`` plus Gaussian noise."""
    rng = random.Random(seed)
    x = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    y = [TRUE_SLOPE * xi + TRUE_INTERCEPT + rng.gauss(0.0, NOISE) for xi in x]
    return Dataset(x=x, y=y)


@task
def split(data: Dataset, test_fraction: float = 0.3) -> Split:
    """The first ``1 - test_fraction`` of the points train, the rest test."""
    k = round(len(data.x) * (1.0 - test_fraction))
    return Split(
        train=Dataset(x=data.x[:k], y=data.y[:k]),
        test=Dataset(x=data.x[k:], y=data.y[k:]),
    )


@task
def fit_least_squares(data: Dataset) -> Fit:
    """Ordinary least squares, closed form."""
    n = len(data.x)
    mean_x = sum(data.x) / n
    mean_y = sum(data.y) / n
    sxy = sum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(data.x, data.y))
    sxx = sum((xi - mean_x) ** 2 for xi in data.x)
    slope = sxy / sxx
    return Fit(slope=slope, intercept=mean_y - slope * mean_x)


@task
def fit_gradient_descent(data: Dataset, lr: float, epochs: int, seed: int) -> Fit:
    """Stochastic gradient descent on squared error, one point at a time."""
    rng = random.Random(seed)
    order = list(range(len(data.x)))
    slope = intercept = 0.0
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            error = slope * data.x[i] + intercept - data.y[i]
            slope -= lr * error * data.x[i]
            intercept -= lr * error
    return Fit(slope=slope, intercept=intercept)


@task
def evaluate(fit: Fit, test: Dataset) -> Metrics:
    """Mean squared error of ``fit`` on ``test``."""
    errors = [(fit.slope * xi + fit.intercept - yi) ** 2 for xi, yi in zip(test.x, test.y)]
    return Metrics(slope=fit.slope, intercept=fit.intercept, mse=sum(errors) / len(errors))


@workflow
def train(n: int = 200, seed: int = 0, lr: float = 0.01, epochs: int = 200) -> Metrics:
    parts = split(data=generate(n=n, seed=seed))
    fit = (
        conditional("solver")
        .if_(epochs == 0)
        .then(fit_least_squares(data=parts.train))
        .else_()
        .then(fit_gradient_descent(data=parts.train, lr=lr, epochs=epochs, seed=seed))
    )
    return evaluate(fit=fit, test=parts.test)


if __name__ == "__main__":
    metrics = train()
    print(f"slope={metrics.slope:.4f} intercept={metrics.intercept:.4f} mse={metrics.mse:.4f}")

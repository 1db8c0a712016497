"""A pandas/numpy feature workflow: build a frame, split it, rank features, fit a model.

Shows DataFrames passed between tasks, named outputs (``Split``), a subworkflow,
a ``map_task`` over a list produced at run time with ``functools.partial``
binding a fixed input (one a promise, one a constant), and a ``conditional``
choosing the model from workflow inputs.
"""

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd

from rillet import conditional, map_task, task, workflow

TARGET = "y"
# Weights of the generating model; "d" and "e" are pure noise.
WEIGHTS = {"a": 3.0, "b": -2.0, "c": 0.5, "d": 0.0, "e": 0.0}


class Split(NamedTuple):
    train: pd.DataFrame
    test: pd.DataFrame


@task
def make_frame(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of standard-normal features and a noisy linear target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({col: rng.standard_normal(n) for col in WEIGHTS})
    df[TARGET] = sum(w * df[col] for col, w in WEIGHTS.items()) + rng.normal(0.0, 0.5, n)
    return df


@task
def split_frame(df: pd.DataFrame, test_fraction: float = 0.25) -> Split:
    """The first rows train, the last ``test_fraction`` of them test."""
    k = round(len(df) * (1.0 - test_fraction))
    return Split(train=df.iloc[:k].reset_index(drop=True), test=df.iloc[k:].reset_index(drop=True))


@task
def feature_columns(df: pd.DataFrame) -> list[str]:
    return [col for col in df.columns if col != TARGET]


@task
def score_feature(df: pd.DataFrame, column: str, target: str) -> float:
    """Absolute Pearson correlation of ``column`` with ``target``."""
    return float(abs(df[column].corr(df[target])))


@task
def top_features(columns: list[str], scores: list[float], k: int) -> list[str]:
    """The ``k`` best-scoring columns, best first."""
    ranked = sorted(zip(scores, columns), key=lambda pair: (-pair[0], pair[1]))
    return [col for _, col in ranked[:k]]


@workflow
def rank_features(df: pd.DataFrame, k: int = 2) -> list[str]:
    columns = feature_columns(df=df)
    score = functools.partial(score_feature, df=df, target=TARGET)
    scores = map_task(score)(column=columns)
    return top_features(columns=columns, scores=scores, k=k)


def _design(df: pd.DataFrame, features: list[str]) -> np.ndarray:
    return np.column_stack([np.ones(len(df)), df[features].to_numpy(dtype=float)])


def _mse(pred: np.ndarray, df: pd.DataFrame) -> float:
    return float(np.mean((pred - df[TARGET].to_numpy(dtype=float)) ** 2))


@task
def fit_linear(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> float:
    """Test MSE of ordinary least squares on ``features``."""
    coef, *_ = np.linalg.lstsq(_design(train, features), train[TARGET].to_numpy(), rcond=None)
    return _mse(_design(test, features) @ coef, test)


@task
def fit_ridge(train: pd.DataFrame, test: pd.DataFrame, features: list[str], alpha: float) -> float:
    """Test MSE of ridge regression (intercept not penalized) on ``features``."""
    x = _design(train, features)
    penalty = alpha * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(x.T @ x + penalty, x.T @ train[TARGET].to_numpy())
    return _mse(_design(test, features) @ coef, test)


@task
def fit_mean(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Test MSE of predicting the training mean: the baseline."""
    return _mse(np.full(len(test), train[TARGET].mean()), test)


@workflow
def fit_on_features(
    n: int = 400, seed: int = 0, k: int = 2, model_kind: str = "linear", alpha: float = 1.0
) -> float:
    parts = split_frame(df=make_frame(n=n, seed=seed))
    features = rank_features(df=parts.train, k=k)
    return (
        conditional("model")
        .if_(model_kind == "linear")
        .then(fit_linear(train=parts.train, test=parts.test, features=features))
        .elif_((model_kind == "ridge") & (alpha > 0.0))
        .then(fit_ridge(train=parts.train, test=parts.test, features=features, alpha=alpha))
        .else_()
        .then(fit_mean(train=parts.train, test=parts.test))
    )


if __name__ == "__main__":
    for kind in ("linear", "ridge", "mean"):
        print(f"{kind}: test mse={fit_on_features(model_kind=kind):.4f}")

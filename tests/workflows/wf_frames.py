"""Workflows whose outputs have no JSON form: a pandas DataFrame, a numpy array."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rillet import task, workflow


@task
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"i": list(range(n)), "sq": [i * i for i in range(n)]})


@workflow
def dataframe(n: int = 3) -> pd.DataFrame:
    return frame(n=n)


@task
def squares(n: int) -> np.ndarray:
    return np.arange(n) ** 2


@workflow
def array(n: int = 3) -> np.ndarray:
    return squares(n=n)


@task
def total_of(df: pd.DataFrame, column: str) -> float:
    return float(df[column].sum())


@workflow
def column_sum(df: pd.DataFrame, column: str = "x") -> float:
    return total_of(df=df, column=column)

"""Tasks with pandera-typed DataFrames (``pandera.typing.DataFrame[Schema]``) at their
boundaries: an input schema, an output schema, and a file counting real calls."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from rillet import task, workflow


class People(pa.DataFrameModel):
    age: Series[int] = pa.Field(ge=0)
    name: Series[str] = pa.Field(str_length={"min_value": 1})


class Scored(pa.DataFrameModel):
    age: Series[int]
    score: Series[float] = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})


def _count(path: str) -> None:
    if path:
        with open(path, "a") as f:
            f.write("call\n")


@task(retries=2)
def score(people: DataFrame[People], calls: str = "") -> DataFrame[Scored]:
    _count(calls)
    return people.assign(score=people["age"] / 100.0)[["age", "score"]]


@task(cache=True)
def summarize(scored: DataFrame[Scored]) -> float:
    return float(scored["score"].mean())


@workflow
def scoring(people: pd.DataFrame, calls: str = "") -> float:
    return summarize(scored=score(people=people, calls=calls))

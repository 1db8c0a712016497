"""A workflow whose output has no JSON form: a pandas DataFrame."""

from __future__ import annotations

import pandas as pd

from rillet import task, workflow


@task
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"i": list(range(n)), "sq": [i * i for i in range(n)]})


@workflow
def dataframe(n: int = 3) -> pd.DataFrame:
    return frame(n=n)

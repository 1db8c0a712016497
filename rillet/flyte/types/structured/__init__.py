"""``flytekit.types.structured``: ``StructuredDataset`` over pandas (and pyarrow).

Here a StructuredDataset is a dataclass holding a pandas DataFrame, so rillet stores
it like any dataclass (the DataFrame as parquet). ``open(pd.DataFrame).all()`` (or
``open(pyarrow.Table)``) gives it back. flytekit's encoder/decoder plugin API is not
mapped. Importing this module imports pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class StructuredDataset:
    dataframe: pd.DataFrame | None = None
    uri: str | None = None
    file_format: str = "parquet"

    def __post_init__(self) -> None:
        df = self.dataframe
        if df is not None and not isinstance(df, pd.DataFrame):
            to_pandas = getattr(df, "to_pandas", None)  # a pyarrow Table, a polars frame
            if to_pandas is None:
                raise TypeError(f"StructuredDataset(dataframe=...) takes a DataFrame, got "
                                f"{type(df).__name__}")
            self.dataframe = to_pandas()
        if self.dataframe is None and self.uri is not None:
            self.dataframe = pd.read_parquet(self.uri) if self.file_format == "parquet" \
                else pd.read_csv(self.uri)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)

    def open(self, dataframe_type: Any) -> _Opened:
        return _Opened(self, dataframe_type)

    def all(self) -> Any:
        return self.dataframe


class _Opened:
    def __init__(self, sd: StructuredDataset, dataframe_type: Any) -> None:
        self._sd, self._type = sd, dataframe_type

    def all(self) -> Any:
        df = self._sd.dataframe
        if df is None or self._type is pd.DataFrame:
            return df
        if getattr(self._type, "__module__", "").startswith("pyarrow"):
            import pyarrow as pa

            return pa.Table.from_pandas(df)
        raise TypeError(f"StructuredDataset.open({self._type!r}): pandas.DataFrame or "
                        "pyarrow.Table")


__all__ = ["StructuredDataset"]

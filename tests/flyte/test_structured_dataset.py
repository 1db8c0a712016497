"""flytekit's StructuredDataset handler API: encoders/decoders registered with
StructuredDatasetTransformerEngine, and DataFrames passed where a StructuredDataset is
declared."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pytest

import rillet
from rillet.errors import TypeMismatchError
from rillet.flyte import kwtypes, task, workflow
from rillet.flyte.models import literals
from rillet.flyte.types.structured.structured_dataset import (
    PARQUET,
    HandlerContext,
    StructuredDataset,
    StructuredDatasetDecoder,
    StructuredDatasetEncoder,
    StructuredDatasetTransformerEngine,
    StructuredDatasetType,
)


class Grid:
    """A dataframe type of this test's own: rows of ints."""

    def __init__(self, rows: list[list[int]]) -> None:
        self.rows = rows


class GridEncoder(StructuredDatasetEncoder):
    def encode(self, ctx: Any, structured_dataset: StructuredDataset,
               structured_dataset_type: StructuredDatasetType) -> literals.StructuredDataset:
        grid = structured_dataset.dataframe
        local = ctx.file_access.get_random_local_directory()
        Path(local, "grid.json").write_text(json.dumps(grid.rows))
        remote = ctx.file_access.get_random_remote_directory()
        ctx.file_access.upload_directory(local, remote)
        return literals.StructuredDataset(uri=remote, metadata=literals.StructuredDatasetMetadata(
            structured_dataset_type=StructuredDatasetType(format="grid-json")))


class GridDecoder(StructuredDatasetDecoder):
    def decode(self, ctx: Any, flyte_value: literals.StructuredDataset,
               current_task_metadata: literals.StructuredDatasetMetadata) -> Grid:
        local = ctx.file_access.get_random_local_directory()
        ctx.file_access.get_data(flyte_value.uri, local, is_multipart=True)
        return Grid(json.loads(Path(local, "grid.json").read_text()))


class GridFromParquet(StructuredDatasetDecoder):
    def decode(self, ctx: Any, flyte_value: literals.StructuredDataset,
               current_task_metadata: literals.StructuredDatasetMetadata) -> Grid:
        return Grid(pd.read_parquet(flyte_value.uri).values.tolist())


StructuredDatasetTransformerEngine.register(GridEncoder(Grid, None, "grid-json"))
StructuredDatasetTransformerEngine.register(GridDecoder(Grid, None, "grid-json"))
StructuredDatasetTransformerEngine.register(GridFromParquet(Grid, None, PARQUET))


@task
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"a": list(range(n)), "b": [i * 10 for i in range(n)]})


@task
def to_grid(sd: StructuredDataset) -> StructuredDataset:
    grid = sd.open(Grid).all()  # a pandas-backed dataset, decoded from parquet
    return StructuredDataset(dataframe=Grid([[x + 1 for x in row] for row in grid.rows]))


@task
def total(sd: StructuredDataset) -> int:
    return sum(sum(row) for row in sd.open(Grid).all().rows)


@workflow
def pipeline(n: int = 3) -> tuple[int, StructuredDataset]:
    g = to_grid(sd=frame(n=n))  # a DataFrame where a StructuredDataset is declared
    return total(sd=g), g


def test_a_registered_encoder_and_decoder_carry_a_custom_type_directly() -> None:
    n, sd = pipeline(n=3)
    assert n == (0 + 1 + 2 + 0 + 10 + 20) + 6  # every cell + 1
    assert sd.file_format == "grid-json" and sd.dataframe is None
    assert sd.open(Grid).all().rows == [[1, 1], [2, 11], [3, 21]]


def test_the_encoded_folder_is_stored_by_content_and_read_in_other_processes(
        tmp_path: Path) -> None:
    ex = rillet.run(pipeline, home=str(tmp_path / "home"), n=2)
    assert ex.status == "SUCCEEDED", ex
    assert ex.output("o0") == 1 + 1 + 2 + 11
    sd = ex.output("o1")
    assert isinstance(sd, StructuredDataset) and sd.encoded is not None
    # Loaded from the store (a copy of the content), not the folder the encoder wrote.
    written = os.path.realpath(HandlerContext().file_access.root)
    assert not os.path.realpath(sd.encoded.path).startswith(written), sd.encoded.path
    assert sd.open(Grid).all().rows == [[1, 1], [2, 11]]


def test_pandas_and_pyarrow_open_and_an_unknown_type_is_one_clear_error() -> None:
    import pyarrow as pa

    sd = StructuredDataset(dataframe=pa.table({"x": [1, 2]}))  # to_pandas'd
    assert sd.open(pd.DataFrame).all()["x"].tolist() == [1, 2]
    assert sd.open(pa.Table).all().num_rows == 2
    with pytest.raises(TypeError, match="registered decoder"):
        sd.open(dict).all()
    with pytest.raises(TypeError, match="StructuredDatasetTransformerEngine.register"):
        StructuredDataset(dataframe=object())


def test_a_dataframe_feeds_a_structured_dataset_input_but_not_the_reverse() -> None:
    @task
    def rows(sd: StructuredDataset) -> int:
        return len(sd.open(pd.DataFrame).all())

    @workflow
    def ok() -> int:
        return rows(sd=frame(n=4))

    assert ok() == 4
    assert rows(sd=pd.DataFrame({"a": [1]})) == 1  # a direct call converts too

    @task
    def wants_frame(df: pd.DataFrame) -> int:
        return len(df)

    with pytest.raises(TypeMismatchError, match="expects DataFrame"):

        @workflow
        def bad() -> int:
            return wants_frame(df=to_grid(sd=frame(n=1)))


def test_an_input_annotated_with_columns_opens_with_those_columns_only() -> None:
    @task
    def only_b(sd: Annotated[StructuredDataset, kwtypes(b=int)]) -> list[str]:
        return list(sd.open(pd.DataFrame).all().columns)

    @task
    def only_z(sd: Annotated[StructuredDataset, kwtypes(z=int)]) -> int:
        return len(sd.open(pd.DataFrame).all())

    @workflow
    def wf() -> list[str]:
        return only_b(sd=frame(n=2))

    assert wf() == ["b"]
    with pytest.raises(KeyError, match=r"declared columns \['z'\]"):
        only_z(sd=pd.DataFrame({"a": [1]}))

"""``flytekit.types.structured.structured_dataset``: ``StructuredDataset`` and flytekit's
handler API (``StructuredDatasetEncoder``/``Decoder`` registered with
``StructuredDatasetTransformerEngine.register``).

A StructuredDataset is a dataclass that rillet stores like any other: a pandas
DataFrame (or anything with ``to_pandas()``) in its ``dataframe`` field, or, for a
dataframe type that has a registered encoder (a numpy array, say), the folder the
encoder wrote, kept in ``encoded`` as a ``rillet.Directory`` (so it is stored by
content and travels to other processes). ``open(T).all()`` gives a pandas DataFrame,
a pyarrow Table, or any ``T`` with a registered decoder, which reads the folder.

A task input annotated with columns (``Annotated[StructuredDataset, kwtypes(a=int)]``)
opens with those top-level columns only (a missing one is a KeyError naming it);
nested column specs and output annotations are accepted, not used. A format
annotation (``CSV``) does not change how a pandas-backed dataset is stored (as rillet
stores DataFrames), and renderers are kept, not called. A task input declared
StructuredDataset accepts a DataFrame.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rillet.flyte.models import literals
from rillet.types._files import Directory

PARQUET = "parquet"
CSV = "csv"
GENERIC_FORMAT = ""


@dataclass
class StructuredDatasetType:
    """flytekit's ``StructuredDatasetType(format=...)`` (columns are accepted, unused)."""

    columns: Any = None
    format: str = GENERIC_FORMAT
    external_schema_type: Any = None
    external_schema_bytes: Any = None


class _FileAccess:
    """``ctx.file_access`` for handlers: 'remote' folders are local folders here."""

    def __init__(self) -> None:
        self.root = os.path.join(tempfile.gettempdir(), "rillet-structured")

    def _new(self, kind: str) -> str:
        path = os.path.join(self.root, kind, uuid.uuid4().hex)
        os.makedirs(path, exist_ok=True)
        return path

    def get_random_remote_directory(self) -> str:
        return self._new("remote")

    def get_random_local_directory(self) -> str:
        return self._new("local")

    def get_random_local_path(self, file_path_or_file_name: str | None = None) -> str:
        return os.path.join(self._new("local"), file_path_or_file_name or uuid.uuid4().hex)

    def upload_directory(self, local_path: str, remote_path: str, **_: Any) -> None:
        shutil.copytree(local_path, remote_path, dirs_exist_ok=True)

    def get_data(self, remote_path: str, local_path: str, is_multipart: bool = False,
                 **_: Any) -> None:
        if is_multipart or os.path.isdir(remote_path):
            shutil.copytree(remote_path, local_path, dirs_exist_ok=True)
        else:
            shutil.copyfile(remote_path, local_path)

    def put_data(self, local_path: str, remote_path: str, is_multipart: bool = False,
                 **_: Any) -> None:
        self.get_data(local_path, remote_path, is_multipart)


class HandlerContext:
    """The ``ctx`` an encoder or decoder gets: ``ctx.file_access``."""

    def __init__(self) -> None:
        self.file_access = _FileAccess()


class StructuredDatasetEncoder:
    """flytekit's encoder base: ``encode(ctx, structured_dataset, structured_dataset_type)``
    writes the dataframe somewhere and returns a ``literals.StructuredDataset``."""

    def __init__(self, python_type: type, protocol: str | None = None,
                 supported_format: str | None = None) -> None:
        self.python_type = python_type
        self.protocol = protocol
        self.supported_format = supported_format or GENERIC_FORMAT

    def encode(self, ctx: Any, structured_dataset: StructuredDataset,
               structured_dataset_type: StructuredDatasetType) -> literals.StructuredDataset:
        raise NotImplementedError


class StructuredDatasetDecoder:
    """flytekit's decoder base: ``decode(ctx, flyte_value, current_task_metadata)`` reads
    a ``literals.StructuredDataset`` back into its python type."""

    def __init__(self, python_type: type, protocol: str | None = None,
                 supported_format: str | None = None) -> None:
        self.python_type = python_type
        self.protocol = protocol
        self.supported_format = supported_format or GENERIC_FORMAT

    def decode(self, ctx: Any, flyte_value: literals.StructuredDataset,
               current_task_metadata: literals.StructuredDatasetMetadata) -> Any:
        raise NotImplementedError


class StructuredDatasetTransformerEngine:
    """The handlers registered for each (python type, format)."""

    ENCODERS: dict[tuple[type, str], StructuredDatasetEncoder] = {}
    DECODERS: dict[tuple[type, str], StructuredDatasetDecoder] = {}
    RENDERERS: dict[type, Any] = {}

    @classmethod
    def register(cls, h: StructuredDatasetEncoder | StructuredDatasetDecoder,
                 default_for_type: bool = False, override: bool = False,
                 default_format_for_type: bool = False,
                 default_storage_for_type: bool = False) -> None:
        if isinstance(h, StructuredDatasetEncoder):
            table: dict[tuple[type, str], Any] = cls.ENCODERS
        elif isinstance(h, StructuredDatasetDecoder):
            table = cls.DECODERS
        else:
            raise TypeError(f"register() takes a StructuredDatasetEncoder or Decoder, got "
                            f"{type(h).__name__}")
        table[(h.python_type, h.supported_format)] = h
        if default_for_type or default_format_for_type:
            table[(h.python_type, GENERIC_FORMAT)] = h

    @classmethod
    def register_renderer(cls, python_type: type, renderer: Any) -> None:
        cls.RENDERERS[python_type] = renderer

    @classmethod
    def _find(cls, table: dict[tuple[type, str], Any], tp: type, fmt: str) -> Any:
        for key in ((tp, fmt), (tp, GENERIC_FORMAT)):
            if key in table:
                return table[key]
        for (t, _), h in table.items():
            if t is tp:
                return h
        return None


@dataclass
class StructuredDataset:
    """A dataframe, or the folder a registered encoder wrote (see the module's doc)."""

    dataframe: pd.DataFrame | None = None
    uri: str | None = None
    file_format: str = PARQUET
    encoded: Directory | None = None

    def __post_init__(self) -> None:
        df = self.dataframe
        if df is None or isinstance(df, pd.DataFrame):
            return
        encoder = StructuredDatasetTransformerEngine._find(
            StructuredDatasetTransformerEngine.ENCODERS, type(df), self.file_format)
        if encoder is not None:
            lit = encoder.encode(HandlerContext(), self,
                                 StructuredDatasetType(format=encoder.supported_format))
            sdt = lit.metadata.structured_dataset_type if lit.metadata else None
            self.file_format = getattr(sdt, "format", None) or encoder.supported_format
            self.encoded, self.dataframe = Directory(lit.uri), None
            return
        to_pandas = getattr(df, "to_pandas", None)  # a pyarrow Table, a polars frame
        if to_pandas is None:
            raise TypeError(
                f"StructuredDataset(dataframe=...) takes a pandas DataFrame, a pyarrow Table, "
                f"or a type with a registered encoder; got {type(df).__name__} "
                "(register one with StructuredDatasetTransformerEngine.register)")
        self.dataframe = to_pandas()

    @classmethod
    def __rillet_accepts__(cls, src: Any) -> bool:
        """A task input declared StructuredDataset takes a DataFrame (as in flytekit)."""
        return isinstance(src, type) and issubclass(src, pd.DataFrame)

    @classmethod
    def __rillet_convert__(cls, value: Any, extras: tuple[Any, ...] = ()) -> Any:
        """A DataFrame becomes a dataset; an input annotated with columns
        (``Annotated[StructuredDataset, kwtypes(a=int)]``) opens with those columns only."""
        sd = value if isinstance(value, cls) else cls(dataframe=value)
        columns = next((list(e) for e in extras if isinstance(e, dict) and e), None)
        if columns is None:
            return sd
        sd = copy.copy(sd)
        setattr(sd, "_columns", columns)  # noqa: B010 - not a field: never stored
        return sd

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)

    def open(self, dataframe_type: Any) -> _Opened:
        return _Opened(self, dataframe_type)

    def all(self) -> Any:
        return self._pandas()

    def _pandas(self) -> pd.DataFrame | None:
        df = self._whole()
        columns = getattr(self, "_columns", None)
        if df is None or not columns:
            return df
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise KeyError(f"StructuredDataset: the declared columns {missing} are not in "
                           f"the data (its columns: {list(df.columns)})")
        selected: pd.DataFrame = df[columns]
        return selected

    def _whole(self) -> pd.DataFrame | None:
        if self.dataframe is not None:
            return self.dataframe
        where = self.encoded.path if self.encoded is not None else self.uri
        if where is None:
            return None
        if self.file_format == CSV:
            files = sorted(os.listdir(where)) if os.path.isdir(where) else [where]
            paths = [os.path.join(where, f) for f in files] if os.path.isdir(where) else files
            return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        return pd.read_parquet(where)

    def _folder(self) -> str:
        """A folder holding this dataset in its format, for a decoder to read."""
        if self.encoded is not None:
            return self.encoded.path
        if self.uri is not None and self.dataframe is None:
            return self.uri
        folder = HandlerContext().file_access.get_random_remote_directory()
        df = self._pandas() if self.dataframe is not None else pd.DataFrame()
        assert df is not None
        if self.file_format == CSV:
            df.to_csv(os.path.join(folder, f"{0:05}"), index=False)
        else:
            df.to_parquet(os.path.join(folder, f"{0:05}"))
        return folder


class _Opened:
    def __init__(self, sd: StructuredDataset, dataframe_type: Any) -> None:
        self._sd, self._type = sd, dataframe_type

    def all(self) -> Any:
        tp = self._type
        if tp is pd.DataFrame:
            return self._sd._pandas()
        decoder = StructuredDatasetTransformerEngine._find(
            StructuredDatasetTransformerEngine.DECODERS, tp, self._sd.file_format)
        if decoder is not None:
            meta = literals.StructuredDatasetMetadata(
                StructuredDatasetType(format=self._sd.file_format))
            lit = literals.StructuredDataset(uri=self._sd._folder(), metadata=meta)
            return decoder.decode(HandlerContext(), lit, meta)
        if getattr(tp, "__module__", "").startswith("pyarrow"):
            import pyarrow as pa

            return pa.Table.from_pandas(self._sd._pandas())
        raise TypeError(
            f"StructuredDataset.open({getattr(tp, '__name__', tp)!r}): pandas.DataFrame, "
            "pyarrow.Table, or a type with a registered decoder "
            "(StructuredDatasetTransformerEngine.register)")

    def iter(self) -> Any:
        yield self.all()


class _PandasCSVEncoder(StructuredDatasetEncoder):
    def encode(self, ctx: Any, structured_dataset: StructuredDataset,
               structured_dataset_type: StructuredDatasetType) -> literals.StructuredDataset:
        folder = ctx.file_access.get_random_remote_directory()
        df = structured_dataset.dataframe
        assert df is not None
        df.to_csv(os.path.join(folder, f"{0:05}"), index=False)
        return literals.StructuredDataset(
            uri=folder, metadata=literals.StructuredDatasetMetadata(
                StructuredDatasetType(format=CSV)))


class _PandasCSVDecoder(StructuredDatasetDecoder):
    def decode(self, ctx: Any, flyte_value: literals.StructuredDataset,
               current_task_metadata: literals.StructuredDatasetMetadata) -> Any:
        return StructuredDataset(uri=flyte_value.uri, file_format=CSV)._pandas()


def register_csv_handlers() -> None:
    """flytekit's pandas <-> CSV handlers."""
    StructuredDatasetTransformerEngine.register(_PandasCSVEncoder(pd.DataFrame, None, CSV))
    StructuredDatasetTransformerEngine.register(_PandasCSVDecoder(pd.DataFrame, None, CSV))


__all__ = [
    "CSV", "PARQUET", "StructuredDataset", "StructuredDatasetDecoder",
    "StructuredDatasetEncoder", "StructuredDatasetTransformerEngine", "StructuredDatasetType",
    "register_csv_handlers",
]

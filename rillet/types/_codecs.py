"""Canonical forms of leaf values and the hashes made from them: canonical JSON, the
codecs of scalars, times, enums, pydantic models and of the types stored as blobs
(DataFrame as parquet, ndarray as npy, File, Directory, the pickle fallback).

Canonical means equal values give equal bytes in every process and Python run.
Containers, classes and the public functions built on these are in ``_literal.py``.
pandas, numpy, pyarrow and cloudpickle are imported inside the functions that
need them, never when this module is imported.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import datetime as dt
import hashlib
import io
import json
import math
import reprlib
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from types import NoneType
from typing import Any, ClassVar

from rillet.errors import StoreError, TypeMismatchError

from ._files import Sink

_JSON_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
).encode
_MICROSECOND = dt.timedelta(microseconds=1)
_PICKLED = "__rillet_pickle__"  # marks a pydantic model that had to be pickled


def canonical_json(obj: Any) -> bytes:
    """JSON bytes with sorted keys, no spaces and ASCII escapes; NaN is refused."""
    return _JSON_ENCODE(obj).encode("ascii")


def canonical_text(obj: Any) -> str:
    return _JSON_ENCODE(obj)


def json_header(tag: str) -> bytes:
    """What the hash of a JSON literal starts with: its type tag and a newline."""
    return tag.encode("utf-8") + b"\n"


def blob_header(tag: str, meta: Any) -> bytes:
    """What the hash of a blob literal starts with: tag, metadata (a file's name)."""
    return tag.encode("utf-8") + b"\n" + canonical_json(meta) + b"\n"


def sha256_hex(header: bytes, data: bytes) -> str:
    h = hashlib.sha256(header)
    h.update(data)
    return h.hexdigest()


def show(value: Any) -> str:
    """A short description of a value for error messages."""
    try:
        return f"{type(value).__qualname__} value {reprlib.repr(value)}"
    except Exception:
        return f"{type(value).__qualname__} value"


class PickleFallbackWarning(UserWarning):
    """A value is stored with cloudpickle: rillet has no dedicated format for its type."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_pickle(name: str) -> None:
    """Warn, once per type and process, that values of type ``name`` are pickled."""
    if name in _warned:
        return
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    warnings.warn(
        PickleFallbackWarning(
            f"rillet has no dedicated format for {name}; its values are stored with "
            "cloudpickle, which ties them to these Python and library versions and may "
            "hash differently between runs. Use a dataclass, a pydantic model or another "
            "supported type to store them portably"
        ),
        stacklevel=_user_stacklevel(),
    )


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside rillet, so the warning names user code."""
    frame: Any = sys._getframe(1)  # warn_pickle's, which is stacklevel 1
    level = 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("rillet."):
        frame = frame.f_back
        level += 1
    return level


def pickle_dumps(value: Any, name: str) -> bytes:
    import cloudpickle

    warn_pickle(name)
    return bytes(cloudpickle.dumps(value))


_NO_UNPICKLE: contextvars.ContextVar[bool] = contextvars.ContextVar("no_unpickle", default=False)


class UnpickleRefused(StoreError):
    """A pickled value was met where nothing may be unpickled (a read-only command)."""


@contextlib.contextmanager
def no_unpickling() -> Iterator[None]:
    """Within this block, decoding a pickled value (at any depth, or an object ndarray)
    raises ``UnpickleRefused`` instead of running the pickle."""
    token = _NO_UNPICKLE.set(True)
    try:
        yield
    finally:
        _NO_UNPICKLE.reset(token)


def pickle_loads(data: bytes) -> Any:
    import pickle

    if _NO_UNPICKLE.get():
        raise UnpickleRefused("a pickled value is not loaded here: read-only commands never "
                              "unpickle (they show its type, hash and size)")
    return pickle.loads(data)


# -- codecs: the base, and the leaves ----------------------------------------------------


class Codec:
    """Stores values of one declared type as plain (JSON-able) data and back.

    ``tag`` names the type in hashes and in the tagged forms of Union and Any.
    """

    __slots__ = ("tag",)
    fmt: ClassVar[str] = "json"
    identity: ClassVar[type | None] = None  # a type whose values are their own plain form

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def check(self, v: Any, strict: bool) -> bool:
        """Is ``v`` of this type? ``strict`` refuses an int for a float."""
        raise NotImplementedError

    def to_plain(self, v: Any) -> Any:
        raise NotImplementedError

    def from_plain(self, p: Any) -> Any:
        raise NotImplementedError

    def mismatch(self, v: Any) -> TypeMismatchError:
        return TypeMismatchError(f"cannot store {show(v)} as {self.tag}")


class NoneCodec(Codec):
    __slots__ = ()
    identity = NoneType

    def check(self, v: Any, strict: bool) -> bool:
        return v is None

    def to_plain(self, v: Any) -> Any:
        if v is not None:
            raise self.mismatch(v)
        return None

    def from_plain(self, p: Any) -> Any:
        if p is not None:
            raise ValueError(f"expected null, got {p!r}")
        return None


class BoolCodec(Codec):
    __slots__ = ()
    identity = bool

    def check(self, v: Any, strict: bool) -> bool:
        return type(v) is bool

    def to_plain(self, v: Any) -> Any:
        if type(v) is not bool:
            raise self.mismatch(v)
        return v

    def from_plain(self, p: Any) -> Any:
        if type(p) is not bool:
            raise ValueError(f"expected a boolean, got {p!r}")
        return p


class IntCodec(Codec):
    __slots__ = ()
    identity = int

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def to_plain(self, v: Any) -> Any:
        if type(v) is int:
            return v
        if not self.check(v, False):
            raise self.mismatch(v)
        return int(v)

    def from_plain(self, p: Any) -> Any:
        return p if type(p) is int else int(p)


class FloatCodec(Codec):
    """Finite floats are JSON numbers; nan, inf, -inf and -0.0 are their repr as a string."""

    __slots__ = ()

    def check(self, v: Any, strict: bool) -> bool:
        if isinstance(v, float):
            return True
        return not strict and isinstance(v, int) and not isinstance(v, bool)

    def to_plain(self, v: Any) -> Any:
        if type(v) is not float:
            if not self.check(v, False):
                raise self.mismatch(v)
            v = float(v)
        if math.isfinite(v) and (v != 0.0 or math.copysign(1.0, v) > 0):
            return v
        return repr(v)

    def from_plain(self, p: Any) -> Any:
        if type(p) is str and p not in ("nan", "inf", "-inf", "-0.0"):
            raise ValueError(f"expected a number, got {p!r}")
        return float(p)


class StrCodec(Codec):
    __slots__ = ()
    identity = str

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, str)

    def to_plain(self, v: Any) -> Any:
        if type(v) is str:
            return v
        if not isinstance(v, str):
            raise self.mismatch(v)
        return str.__str__(v)

    def from_plain(self, p: Any) -> Any:
        if type(p) is not str:
            raise ValueError(f"expected a string, got {p!r}")
        return p


class BytesCodec(Codec):
    """bytes as base64 text."""

    __slots__ = ()

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, bytes)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, bytes):
            raise self.mismatch(v)
        return base64.b64encode(v).decode("ascii")

    def from_plain(self, p: Any) -> Any:
        return base64.b64decode(p, validate=True)


class TimeCodec(Codec):
    """datetime, date and time as ISO 8601 text."""

    __slots__ = ("cls",)

    def __init__(self, tag: str, cls: Any) -> None:
        super().__init__(tag)
        self.cls = cls

    def check(self, v: Any, strict: bool) -> bool:
        if self.cls is dt.date:
            return isinstance(v, dt.date) and not isinstance(v, dt.datetime)
        return isinstance(v, self.cls)

    def to_plain(self, v: Any) -> Any:
        if not self.check(v, False):
            raise self.mismatch(v)
        return self.cls.isoformat(v)  # the base class's, also for a pandas Timestamp

    def from_plain(self, p: Any) -> Any:
        return self.cls.fromisoformat(p)


class TimedeltaCodec(Codec):
    """timedelta as a whole number of microseconds (exact)."""

    __slots__ = ()

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, dt.timedelta)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, dt.timedelta):
            raise self.mismatch(v)
        return dt.timedelta.__floordiv__(v, _MICROSECOND)

    def from_plain(self, p: Any) -> Any:
        if type(p) is not int:
            raise ValueError(f"expected whole microseconds, got {p!r}")
        return dt.timedelta(microseconds=p)


class LiteralCodec(Codec):
    """``typing.Literal[...]`` of str, int, bool or None values."""

    __slots__ = ("values",)

    def __init__(self, values: tuple[Any, ...]) -> None:
        super().__init__("literal" + _JSON_ENCODE(list(values)))
        self.values = values

    def check(self, v: Any, strict: bool) -> bool:
        return any(type(v) is type(x) and v == x for x in self.values)

    def to_plain(self, v: Any) -> Any:
        if not self.check(v, False):
            raise self.mismatch(v)
        return v

    def from_plain(self, p: Any) -> Any:
        if not self.check(p, True):
            raise ValueError(f"{p!r} is not one of {self.values!r}")
        return p


class EnumCodec(Codec):
    """An Enum member as its value (when every value is a JSON scalar) or its name."""

    __slots__ = ("by_name", "cls")

    def __init__(self, name: str, cls: Any, by_name: bool) -> None:
        super().__init__("enum:" + name)
        self.cls = cls
        self.by_name = by_name

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, self.cls)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, self.cls):
            raise self.mismatch(v)
        return v.name if self.by_name else v.value

    def from_plain(self, p: Any) -> Any:
        return self.cls[p] if self.by_name else self.cls(p)


class PydanticCodec(Codec):
    """A pydantic model as its own JSON dump (``model_dump(mode="json")``), validated
    back; a model that cannot dump itself to JSON is pickled."""

    __slots__ = ("cls", "name")

    def __init__(self, name: str, cls: Any) -> None:
        super().__init__("pydantic:" + name)
        self.cls = cls
        self.name = name

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, self.cls)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, self.cls):
            raise self.mismatch(v)
        try:
            return v.model_dump(mode="json", round_trip=True)
        except (ValueError, TypeError):  # e.g. arbitrary_types_allowed with an ndarray field
            return {_PICKLED: base64.b64encode(pickle_dumps(v, self.name)).decode("ascii")}

    def from_plain(self, p: Any) -> Any:
        if isinstance(p, dict) and len(p) == 1 and _PICKLED in p:
            return pickle_loads(base64.b64decode(p[_PICKLED]))
        return self.cls.model_validate(p)


# -- codecs of values stored as blobs ----------------------------------------------------


class BinaryCodec(Codec):
    """A type with a byte format of its own. At the top level of a Literal its bytes
    are the blob; nested in a container they are base64 text in the JSON."""

    __slots__ = ("cls",)

    def __init__(self, tag: str, cls: Any) -> None:
        super().__init__(tag)
        self.cls = cls

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, self.cls)

    def meta(self, v: Any) -> Any:
        """Small JSON-able facts kept beside the bytes (a file's name), or None."""
        return None

    def write(self, v: Any, sink: Sink) -> None:
        raise NotImplementedError

    def read(self, meta: Any, loader: Callable[[], bytes], workdir: str | None) -> Any:
        raise NotImplementedError

    def to_plain(self, v: Any) -> Any:
        if not self.check(v, False):
            raise self.mismatch(v)
        buf = io.BytesIO()
        self.write(v, buf)
        plain = {"data": base64.b64encode(buf.getvalue()).decode("ascii")}
        meta = self.meta(v)
        if meta is not None:
            plain["meta"] = meta
        return plain

    def from_plain(self, p: Any) -> Any:
        data = base64.b64decode(p["data"], validate=True)
        return self.read(p.get("meta"), lambda: data, None)


class DataFrameCodec(BinaryCodec):
    """pandas.DataFrame as parquet."""

    __slots__ = ()
    fmt = "parquet"

    def write(self, v: Any, sink: Sink) -> None:
        """Parquet with one chunk per column and fixed writer options, and an index
        equal to 0..n-1 written as a RangeIndex, so that equal frames built
        differently give equal bytes."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        index = v.index
        if (
            not isinstance(index, (pd.RangeIndex, pd.MultiIndex))
            and index.name is None
            and index.dtype.kind in "iu"
            and index.equals(pd.RangeIndex(len(index)))
        ):
            v = v.set_axis(pd.RangeIndex(len(index)), axis=0)
        table = pa.Table.from_pandas(v, preserve_index=None)
        pq.write_table(
            table.combine_chunks(),
            sink,
            compression="snappy",
            use_dictionary=True,
            write_statistics=True,
            row_group_size=1 << 20,
        )

    def read(self, meta: Any, loader: Callable[[], bytes], workdir: str | None) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pq.read_table(pa.BufferReader(loader())).to_pandas()


class NdarrayCodec(BinaryCodec):
    """numpy.ndarray as npy."""

    __slots__ = ()
    fmt = "npy"

    def write(self, v: Any, sink: Sink) -> None:
        """npy, C-ordered, so the bytes depend on dtype, shape and values only (object
        arrays are pickled inside the npy, as numpy does)."""
        import numpy as np

        array = np.asarray(v)
        if not array.flags.c_contiguous:
            array = np.ascontiguousarray(array)  # (it would make a 0-d array 1-d)
        np.lib.format.write_array(sink, array, allow_pickle=array.dtype.hasobject)

    def read(self, meta: Any, loader: Callable[[], bytes], workdir: str | None) -> Any:
        import numpy as np

        data = loader()
        try:
            return np.lib.format.read_array(io.BytesIO(data), allow_pickle=not _NO_UNPICKLE.get())
        except ValueError as e:
            if _NO_UNPICKLE.get() and "allow_pickle" in str(e):
                raise UnpickleRefused("an ndarray of objects is pickled: read-only commands "
                                      "never unpickle") from None
            raise


class ContentCodec(BinaryCodec):
    """File (the file's bytes) and Directory (a deterministic tar); fetched lazily."""

    __slots__ = ()

    def meta(self, v: Any) -> Any:
        return {"name": v.name}

    def write(self, v: Any, sink: Sink) -> None:
        v.write_content(sink)

    def read(self, meta: Any, loader: Callable[[], bytes], workdir: str | None) -> Any:
        name = meta.get("name") if isinstance(meta, dict) else None
        return self.cls._from_loader(name, loader, workdir)


class FileCodec(ContentCodec):
    __slots__ = ()
    fmt = "file"


class DirectoryCodec(ContentCodec):
    __slots__ = ()
    fmt = "dir"


class PickleCodec(BinaryCodec):
    """The fallback: cloudpickle, with a PickleFallbackWarning once per type."""

    __slots__ = ("name",)
    fmt = "pickle"

    def __init__(self, name: str, cls: Any) -> None:
        super().__init__("pickle:" + name, cls)
        self.name = name

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, self.cls) if isinstance(self.cls, type) else True

    def write(self, v: Any, sink: Sink) -> None:
        sink.write(pickle_dumps(v, self.name))

    def read(self, meta: Any, loader: Callable[[], bytes], workdir: str | None) -> Any:
        return pickle_loads(loader())

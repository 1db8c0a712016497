"""encode / decode: every supported type round-trips exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import subprocess
import sys
import typing
import warnings
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

import numpy as np
import pandas as pd
import pydantic
import pytest

from rillet.errors import StoreError, TypeMismatchError
from rillet.types._literal import (
    Literal,
    PickleFallbackWarning,
    content_hash,
    decode,
    decode_literal,
    encode,
)

ROOT = Path(__file__).resolve().parents[2]


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Planet(enum.Enum):
    EARTH = (1.0, 6.4)
    MARS = (0.1, 3.4)


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float
    tags: tuple[str, ...] = ()


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    color: Color | None = None
    area: float = dataclasses.field(init=False, default=0.0)


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree]


class Pair(NamedTuple):
    a: int
    b: str


class Inner(pydantic.BaseModel):
    when: dt.datetime
    scores: list[float]


class Outer(pydantic.BaseModel):
    name: str
    inner: Inner
    tags: dict[str, int] = {}


UTC = dt.timezone.utc

ROUND_TRIPS: list[tuple[Any, Any]] = [
    (0, int),
    (-(2**80), int),
    (1.25, float),
    (1e300, float),
    (True, bool),
    (False, bool),
    ("", str),
    ("héllo \udc80 \x00", str),
    (b"\x00\xff binary", bytes),
    (None, None),
    (None, type(None)),
    ([1, 2, 3], list[int]),
    ([], list[int]),
    ([[1.5], [2.5, -0.0]], list[list[float]]),
    ({"b": 1, "a": 2}, dict[str, int]),
    ({3: "c", 1: "a"}, dict[int, str]),
    ({(1, 2): [Color.RED]}, dict[tuple[int, int], list[Color]]),
    ((1, "a", None), tuple[int, str, None]),
    ((), tuple[int, ...]),
    ((1, 2, 3), tuple[int, ...]),
    ({"x", "y"}, set[str]),
    (frozenset({3, 1}), frozenset[int]),
    (None, Optional[int]),  # noqa: UP045
    (5, Optional[int]),  # noqa: UP045
    (5, int | None),
    ("s", Union[int, str]),  # noqa: UP007
    (5, Union[int, str]),  # noqa: UP007
    ([1], Union[list[int], list[str]]),  # noqa: UP007
    (["a"], Union[list[int], list[str]]),  # noqa: UP007
    (Color.GREEN, Color),
    (Level.HIGH, Level),
    (Planet.MARS, Planet),
    ("b", typing.Literal["a", "b"]),
    (Point(1, 2.5, ("t",)), Point),
    (Shape("sq", [Point(0, 0.0), Point(1, 1.0)], Color.RED), Shape),
    (Tree("a", [Tree("b", []), Tree("c", [Tree("d", [])])]), Tree),
    (Pair(1, "x"), Pair),
    ([Pair(1, "x")], list[Pair]),
    (
        Outer(name="o", inner=Inner(when=dt.datetime(2024, 1, 2, 3, 4, 5, 6, UTC), scores=[0.5])),
        Outer,
    ),
    (dt.datetime(2024, 2, 29, 23, 59, 59, 999999), dt.datetime),
    (dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5))), dt.datetime),
    (dt.date(1999, 12, 31), dt.date),
    (dt.time(1, 2, 3, 4), dt.time),
    (dt.timedelta(days=-3, seconds=5, microseconds=7), dt.timedelta),
    (7, Any),
    (7.0, Any),
    (True, Any),
    (None, Any),
    (b"raw", Any),
    ({"k": [1, "two", 3.0, None, (4, 5), {6}, frozenset({7}), {8: 9}]}, Any),
    ([Color.RED, Point(1, 2.0), Pair(3, "z"), dt.date(2020, 1, 1)], list[Any]),
    ({"a": 1, "b": "x"}, dict[str, Any]),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0, a tuple not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize(("value", "tp"), ROUND_TRIPS, ids=lambda x: repr(x)[:40])
def test_round_trip(value: Any, tp: Any) -> None:
    lit = encode(value, tp)
    assert isinstance(lit, Literal)
    assert lit.format == "json"
    back = decode_literal(lit, tp)
    assert _same(back, value), (back, value)
    # What is stored inline survives a trip through JSON text (as in a database column).
    stored = json.loads(json.dumps(lit.inline, allow_nan=False))
    assert _same(decode(lit.format, stored, None, tp), value)
    assert lit.size == len(json.dumps(lit.inline, sort_keys=True, separators=(",", ":")))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324])
def test_special_floats_round_trip_through_json_text(value: float) -> None:
    lit = encode(value, float)
    text = json.dumps(lit.inline, allow_nan=False)  # strict JSON: no NaN literals
    back = decode("json", json.loads(text), None, float)
    assert _same(back, value)
    assert _same(decode_literal(encode([value], list[float]), list[float])[0], value)


def test_minus_zero_survives_a_store_that_drops_the_sign_of_zero() -> None:
    # Numeric JSON columns (PostgreSQL jsonb, for one) turn -0.0 into 0.0.
    def lossy(text: str) -> float:
        return abs(float(text)) if float(text) == 0 else float(text)

    for value, tp in ((-0.0, float), ([-0.0, 1.0], list[float]), ({"z": -0.0}, Any)):
        stored = json.loads(json.dumps(encode(value, tp).inline), parse_float=lossy)
        assert _same(decode("json", stored, None, tp), value)


def test_dataclass_with_a_non_init_field_keeps_its_value() -> None:
    shape = Shape("tri", [])
    shape.area = 4.5
    back = decode_literal(encode(shape, Shape), Shape)
    assert back.area == 4.5 and back == shape


def test_int_feeds_float_and_is_stored_as_float() -> None:
    lit = encode(3, float)
    assert lit.hash == encode(3.0, float).hash
    back = decode_literal(lit, float)
    assert type(back) is float and back == 3.0


def test_union_prefers_the_exact_type() -> None:
    tp = Union[int, float]  # noqa: UP007
    assert type(decode_literal(encode(1, tp), tp)) is int
    assert type(decode_literal(encode(1.0, tp), tp)) is float


def test_optional_is_see_through() -> None:
    lit = encode(5, Optional[int])  # noqa: UP045
    assert lit == encode(5, int)
    assert decode_literal(encode(5, int), Optional[int]) == 5  # noqa: UP045


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        ("1", int),
        (True, int),
        (1.5, int),
        (1, str),
        (True, float),
        ("x", float),
        (None, int),
        ([1, "a"], list[int]),
        ((1, 2), list[int]),
        ({"a": "b"}, dict[str, int]),
        ({1: 1}, dict[str, int]),
        ((1,), tuple[int, int]),
        ("RED", Color),
        ({"x": 1, "y": 2.0}, Point),
        (1.5, Union[int, str]),  # noqa: UP007
        ("c", typing.Literal["a", "b"]),
        (dt.datetime(2020, 1, 1), dt.date),
        ([1, 2], pd.DataFrame),
        ([1, 2], np.ndarray),
        ("path", Optional[pd.DataFrame]),  # noqa: UP045
    ],
    ids=lambda x: repr(x)[:30],
)
def test_a_value_of_another_type_is_refused(value: Any, tp: Any) -> None:
    with pytest.raises(TypeMismatchError):
        encode(value, tp)
    with pytest.raises(TypeMismatchError):
        content_hash(value, tp)


def test_large_values_become_json_blobs() -> None:
    value = list(range(5000))
    lit = encode(value, list[int])
    assert lit.format == "json" and lit.inline is None
    assert lit.blob is not None and lit.size == len(lit.blob) > 4096
    assert json.loads(lit.blob) == value
    calls = []

    def loader() -> bytes:
        calls.append(1)
        assert lit.blob is not None
        return lit.blob

    assert decode("json", None, loader, list[int]) == value
    assert calls == [1]
    small = encode(value, list[int], inline_limit=10**9)
    assert small.inline == value and small.blob is None
    assert small.hash == lit.hash  # where the bytes live does not change the hash


def test_inline_limit_is_a_byte_count_of_the_canonical_json() -> None:
    assert encode("x" * 10, str, inline_limit=12).blob is None  # '"xxxxxxxxxx"' is 12 bytes
    assert encode("x" * 11, str, inline_limit=12).blob == b'"' + b"x" * 11 + b'"'


def test_literal_is_frozen_and_its_repr_leaves_out_the_blob() -> None:
    lit = encode(list(range(2000)), list[int])
    with pytest.raises(dataclasses.FrozenInstanceError):
        lit.hash = "x"  # type: ignore[misc]
    assert "blob" not in repr(lit) and lit.hash in repr(lit)


# -- DataFrame, ndarray, nested blobs ------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, np.nan, -1.0],
            "s": ["a", None, "c"],
            "b": [True, False, True],
            "t": pd.date_range("2024-01-01", periods=3, tz="UTC"),
            "c": pd.Categorical(["x", "y", "x"]),
        }
    )


@pytest.mark.parametrize(
    "df",
    [
        _frame(),
        _frame().iloc[1:],  # a RangeIndex from 1
        _frame().set_index("s"),
        _frame().set_index(["i", "b"]),
        pd.DataFrame({1: [1.0], 2: [2.0]}),
        pd.DataFrame(),
    ],
    ids=["plain", "sliced", "named-index", "multi-index", "int-labels", "empty"],
)
def test_dataframe_round_trips_as_parquet(df: pd.DataFrame) -> None:
    lit = encode(df, pd.DataFrame)
    assert lit.format == "parquet" and lit.inline is None
    assert lit.blob is not None and lit.blob[:4] == b"PAR1" and lit.size == len(lit.blob)
    pd.testing.assert_frame_equal(decode_literal(lit, pd.DataFrame), df)


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.asfortranarray(np.arange(6).reshape(2, 3)),
        np.array(5),
        np.array([], dtype=np.int16),
        np.array(["a", "bc"]),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.arange(10)[::3],
    ],
    ids=["float32", "fortran", "0-d", "empty", "unicode", "structured", "strided"],
)
def test_ndarray_round_trips_as_npy(arr: np.ndarray) -> None:
    lit = encode(arr, np.ndarray)
    assert lit.format == "npy" and lit.blob is not None and lit.blob[:6] == b"\x93NUMPY"
    back = decode_literal(lit, np.ndarray)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_optional_union_and_any_store_a_frame_as_parquet() -> None:
    df = _frame()
    plain = encode(df, pd.DataFrame)
    for tp in (Optional[pd.DataFrame], Union[pd.DataFrame, np.ndarray], Any):  # noqa: UP007, UP045
        lit = encode(df, tp)
        assert (lit.format, lit.hash) == ("parquet", plain.hash)
        pd.testing.assert_frame_equal(decode_literal(lit, tp), df)
    none = encode(None, Optional[pd.DataFrame])  # noqa: UP045
    assert none.format == "json" and decode_literal(none, Optional[pd.DataFrame]) is None  # noqa: UP045
    arr = np.arange(3)
    lit = encode(arr, Union[pd.DataFrame, np.ndarray])  # noqa: UP007
    assert lit.format == "npy"
    np.testing.assert_array_equal(decode_literal(lit, Union[pd.DataFrame, np.ndarray]), arr)  # noqa: UP007


def test_frames_and_arrays_inside_containers_round_trip() -> None:
    frames = [_frame(), _frame().iloc[:1]]
    lit = encode(frames, list[pd.DataFrame])
    assert lit.format == "json"
    for got, want in zip(decode_literal(lit, list[pd.DataFrame]), frames):
        pd.testing.assert_frame_equal(got, want)
    arrays = {"w": np.ones((2, 2)), "b": np.zeros(2)}
    back = decode_literal(encode(arrays, dict[str, np.ndarray]), dict[str, np.ndarray])
    assert back.keys() == arrays.keys()
    for k in arrays:
        np.testing.assert_array_equal(back[k], arrays[k])
    mixed = decode_literal(encode({"df": _frame()}, Any), Any)
    pd.testing.assert_frame_equal(mixed["df"], _frame())


# -- pydantic ------------------------------------------------------------------------------


class WithArray(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    arr: np.ndarray


def test_pydantic_model_that_cannot_dump_json_is_pickled_with_a_warning() -> None:
    value = WithArray(arr=np.arange(3))
    with pytest.warns(PickleFallbackWarning, match="WithArray"):
        lit = encode(value, WithArray)
    back = decode_literal(lit, WithArray)
    assert isinstance(back, WithArray)
    np.testing.assert_array_equal(back.arr, value.arr)


def test_pydantic_validation_error_on_decode_is_a_type_mismatch() -> None:
    with pytest.raises(TypeMismatchError):
        decode("json", {"name": "o", "inner": {"when": "not a date", "scores": []}}, None, Outer)


# -- the pickle fallback -------------------------------------------------------------------


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.n == self.n

    __hash__ = None  # type: ignore[assignment]


def test_pickle_fallback_warns_once_per_type() -> None:
    class First:
        pass

    class Second:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # only rillet's own once-per-type rule applies
        encode(First(), First)
        encode(First(), First)
        content_hash(First(), First)
        encode([First()], list[First])
        encode(Second(), Second)
        encode(Second(), Second)
    messages = [str(w.message) for w in caught if issubclass(w.category, PickleFallbackWarning)]
    assert len(messages) == 2
    assert "First" in messages[0] and "test_pickle_fallback_warns_once_per_type" in messages[0]
    assert "Second" in messages[1]
    assert all(w.filename == __file__ for w in caught)  # points at the caller, not rillet


def test_pickle_fallback_round_trips() -> None:
    with pytest.warns(PickleFallbackWarning, match=r"test_literal\.Opaque|\.Opaque"):
        lit = encode(Opaque(3), Opaque)
    assert lit.format == "pickle" and lit.inline is None
    assert decode_literal(lit, Opaque) == Opaque(3)
    assert decode_literal(encode([Opaque(1)], list[Opaque]), list[Opaque]) == [Opaque(1)]


# -- decoding what does not fit ------------------------------------------------------------


def test_decode_refuses_a_format_the_type_cannot_read() -> None:
    with pytest.raises(TypeMismatchError):
        decode("parquet", None, lambda: b"", int)
    with pytest.raises(TypeMismatchError):
        decode("json", "text", None, int)
    with pytest.raises(TypeMismatchError):
        decode("json", {"t": "nope", "v": 1}, None, Union[int, str])  # noqa: UP007


def test_decode_of_a_blob_format_needs_a_loader() -> None:
    with pytest.raises(StoreError):
        decode("parquet", None, None, pd.DataFrame)


# -- lazy imports --------------------------------------------------------------------------


def test_importing_and_encoding_plain_values_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from rillet.types._literal import encode, content_hash\n"
        "from rillet.types._descriptor import describe\n"
        "encode({'a': [1, 2.5]}, dict[str, list[float]]); content_hash(3, int)\n"
        "describe(dict[str, int])\n"
        "heavy = ('pandas', 'numpy', 'pyarrow', 'pydantic', 'cloudpickle')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

"""check_value: the one run-time check of a value against its declared type."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
import pytest

from rillet.types._compat import check_value


class Color(enum.Enum):
    RED = "r"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float


@pytest.mark.parametrize(
    ("value", "tp", "ok"),
    [
        (1, int, True),
        (True, int, False),
        (1, float, True),
        (np.float32(1.5), float, True),
        (1.0, int, False),
        (True, bool, True),
        (None, Optional[int], True),  # noqa: UP045
        (1, Optional[int], True),  # noqa: UP045
        ("a", Optional[int], False),  # noqa: UP045
        ("a", Union[int, str], True),  # noqa: UP007
        (b"a", Union[int, str], False),  # noqa: UP007
        ([1, 2], list[int], True),
        ([1, "2"], list[int], False),
        ([1, 2], list[float], True),
        ([1, 2.5, np.float64(3)], list[float], True),
        ([True, 1], list[int], False),
        ([1], list[bool], False),
        ([b"a"], list[bytes], True),
        ([[1], ["2"]], list[list[int]], False),
        ({"a": True}, dict[str, int], False),
        ((1, True), tuple[int, ...], False),
        ((1, 2), list[int], False),
        ({"a": 1}, dict[str, int], True),
        ({"a": "1"}, dict[str, int], False),
        ({1: 1}, dict[str, int], False),
        ((1, "a"), tuple[int, str], True),
        ((1, 2), tuple[int, str], False),
        ((1, 2, 3), tuple[int, ...], True),
        ({1}, set[int], True),
        ({"1"}, set[int], False),
        (frozenset({1}), frozenset[int], True),
        (Color.RED, Color, True),
        ("r", Color, False),
        (Point(1, 2.0), Point, True),
        (object(), Any, True),
        (None, Any, True),
        (pd.DataFrame({"a": [1]}), pd.DataFrame, True),
        (np.zeros(1), pd.DataFrame, False),
        (dt.datetime(2020, 1, 1), dt.date, False),
        (dt.date(2020, 1, 1), dt.date, True),
        (dt.datetime(2020, 1, 1), dt.datetime, True),
    ],
    ids=lambda x: repr(x)[:30],
)
def test_check_value(value: Any, tp: Any, ok: bool) -> None:
    assert check_value(value, tp) is ok

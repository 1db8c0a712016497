"""How a batch of metric points is stored: one row per attempt (``metric_batches``,
revision 0016), its points packed as little-endian float64 in five columns (key index,
value, step, timestamp, map index; NaN for an absent step or map index) and its keys
as a JSON list.

A task may log tens of thousands of points; one packed row costs ~1 ms to write where
a row per point cost ~30 ms (the index and the foreign key, per row). A metric value is
never NaN (``log_metric`` refuses it), so NaN is free to mean "absent". Plain data
only: no SQL, no records beyond the tuples the sinks produce.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Sequence
from typing import Any

_NAN = math.nan
_COLUMNS = 5  # key index, value, step, timestamp, map index


def pack(points: Sequence[Sequence[Any]]) -> tuple[str, int, bytes]:
    """``(keys JSON, count, packed bytes)`` of points ``(key, value, step, timestamp[,
    map_index])``, in the order given. The bytes are five columns of ``count`` floats
    each (key index, value, step, timestamp, map index): built by C loops (``zip``,
    ``array``), so 10,000 points pack in about a millisecond."""
    if not points:
        return "[]", 0, b""
    if min(map(len, points)) < _COLUMNS:  # points without their map index
        points = [(*p, None)[:_COLUMNS] for p in points]
    names, values, steps, times, elements = zip(*points, strict=True)
    keys = dict.fromkeys(names)
    if len(keys) == 1:
        indexes: Sequence[float] = [0.0] * len(names)
    else:
        where = {k: float(i) for i, k in enumerate(keys)}
        indexes = [where[k] for k in names]
    data = array("d", indexes)
    data.extend(values)
    data.extend(_absent_as_nan(steps))
    data.extend(times)
    data.extend(_absent_as_nan(elements))
    if sys.byteorder == "big":
        data.byteswap()
    return json.dumps(list(keys)), len(names), data.tobytes()


def _absent_as_nan(column: Sequence[Any]) -> Sequence[Any]:
    if None not in column:
        return column
    if column.count(None) == len(column):
        return [_NAN] * len(column)
    return [_NAN if v is None else v for v in column]


def _read(keys: str, data: bytes) -> tuple[list[str], list[array[float]]]:
    """A packed row's key names and its five columns."""
    values = array("d")
    values.frombytes(bytes(data))
    if sys.byteorder == "big":
        values.byteswap()
    n = len(values) // _COLUMNS
    return json.loads(keys), [values[i * n:(i + 1) * n] for i in range(_COLUMNS)]


def unpack(keys: str, data: bytes
           ) -> list[tuple[str, float, int | None, float, int | None]]:
    """The points of a packed row: ``(key, value, step, timestamp, map_index)``."""
    names, (index, value, step, at, element) = _read(keys, data)
    return [(names[int(k)], v, None if s != s else int(s), t, None if e != e else int(e))
            for k, v, s, t, e in zip(index, value, step, at, element, strict=True)]


def columns(keys: str, data: bytes) -> dict[str, tuple[list[int | None], list[float]]]:
    """The points of a packed row by key, as columns: ``{key: (steps, values)}`` in
    logging order (a step not given is None). What ``unpack`` gives, without a tuple per
    point: a chart of many long curves reads these."""
    names, (index, value, step, _, _) = _read(keys, data)
    steps = [None if s != s else int(s) for s in step]
    if len(names) == 1:
        return {names[0]: (steps, value.tolist())}
    out: dict[str, tuple[list[int | None], list[float]]] = {
        k: ([], []) for k in names}
    columns_of = [out[k] for k in names]
    for k, v, s in zip(index, value, steps, strict=True):
        got = columns_of[int(k)]
        got[0].append(s)
        got[1].append(v)
    return out

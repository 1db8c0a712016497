"""How results look on the command line: JSON forms of values and records,
and short human tables. Results go to stdout; diagnostics to stderr.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from rillet.engine._records import ArtifactRecord

_PLAIN = (str, int, float, bool, type(None))


Lookup = Callable[[str], ArtifactRecord | None]


def jsonable(value: Any, record: ArtifactRecord | None = None, root: str | None = None,
             lookup: Lookup | None = None) -> Any:
    """A JSON form of a value; values without one become ``{"type", "uri", "hash"}``,
    the URI absolute when the artifact store's ``root`` is given. ``record`` is the
    value's own artifact; ``lookup`` finds those of values nested in it by hash."""
    if isinstance(value, _PLAIN):
        if isinstance(value, float) and value != value:
            return "NaN"
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [jsonable(v, None, root, lookup) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int, float, bool)) for k in value):
        return {str(k): jsonable(v, None, root, lookup) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), None, root, lookup)
                for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump") and type(value).__module__ != "builtins":
        try:
            return value.model_dump(mode="json")
        except Exception:
            pass
    if record is None:
        return nested_opaque(value, root, lookup)
    return opaque(record, value, root)


def opaque(record: ArtifactRecord | None, value: Any = None,
           root: str | None = None) -> dict[str, Any]:
    kind = record.type.get("kind") if record is not None else type(value).__name__
    return {
        "type": kind,
        "uri": absolute_uri(record.uri, root) if record is not None else None,
        "hash": record.hash if record is not None else None,
    }


def nested_opaque(value: Any, root: str | None, lookup: Lookup | None) -> dict[str, Any]:
    """A value without JSON form inside another (a File in a tuple): its content hash,
    and its URI when it is also stored on its own (as some node's output)."""
    from rillet.types._descriptor import describe
    from rillet.types._literal import content_hash

    try:
        digest = content_hash(value, type(value))
        kind = describe(type(value)).get("kind", type(value).__name__)
    except Exception:
        return opaque(None, value)
    record = lookup(digest) if lookup is not None else None
    uri = absolute_uri(record.uri, root) if record is not None else None
    return {"type": kind, "uri": uri, "hash": digest}


def absolute_uri(uri: str | None, root: str | None) -> str | None:
    """Stores keep URIs relative to their root (a home can move); show them whole."""
    from rillet.services._values import absolute_uri as whole

    return whole(uri, root)


def print_json(obj: Any) -> None:
    """Strict JSON: a float with no JSON form (NaN, infinities) is written as a string."""
    sys.stdout.write(json.dumps(finite(obj), indent=2, default=str, allow_nan=False) + "\n")


def finite(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats replaced by "NaN", "Infinity", "-Infinity"."""
    if isinstance(obj, float):
        if obj != obj:
            return "NaN"
        if obj in (math.inf, -math.inf):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def seconds(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "-"
    return f"{end - start:.3f}s"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)

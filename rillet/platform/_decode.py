"""Launch inputs, JSON values as queued, turned into the Python values a workflow
declares (in the worker, where the user's types are importable). Checked already
against the interface at launch; a value that still does not fit fails the execution
with a ``DefinitionError`` naming the input.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import enum
import typing
from collections.abc import Callable
from typing import Any

from rillet.errors import DefinitionError
from rillet.types._compat import is_union, normalize, type_name, union_members

# A File input given as ``artifact:<sha256>``: a file uploaded to the server
# (``POST /api/v1/uploads``) and stored as a File value under that digest.
ARTIFACT_REF = "artifact:"

# How a worker loads a stored value (digest, declared type) -> object: set around a
# decode by ``decode_inputs(..., stored=...)``; None: a reference cannot be read.
_STORED: contextvars.ContextVar[Callable[[str, Any], Any] | None] = contextvars.ContextVar(
    "rillet_stored_inputs", default=None)


def decode_inputs(values: dict[str, Any], types: dict[str, Any],
                  stored: Callable[[str, Any], Any] | None = None) -> dict[str, Any]:
    """``stored(digest, type)`` loads a File given as ``artifact:DIGEST`` (the worker's
    artifact store, its bytes checked against the digest when first read)."""
    out: dict[str, Any] = {}
    token = _STORED.set(stored)
    try:
        for key, value in values.items():
            try:
                out[key] = decode(value, types.get(key, Any))
            except Exception as exc:
                raise DefinitionError(
                    f"input '{key}': cannot read {value!r:.60} as {type_name(types.get(key))}: "
                    f"{exc}") from None
    finally:
        _STORED.reset(token)
    return out


def decode(value: Any, tp: Any) -> Any:
    tp = normalize(tp)
    if tp is Any or value is None:
        return value
    if is_union(tp):
        errors = []
        for member in union_members(tp):
            if member is type(None):
                continue
            try:
                return decode(value, member)
            except Exception as exc:
                errors.append(str(exc))
        raise DefinitionError("; ".join(errors))
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, set, frozenset):
        return origin(decode(v, args[0] if args else Any) for v in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(v, args[0]) for v in value)
        return tuple(decode(v, t) for v, t in zip(value, args or [Any] * len(value),
                                                  strict=False))
    if origin is dict:
        return {k: decode(v, args[1] if args else Any) for k, v in value.items()}
    if tp is float:
        return float(value)
    if tp is bytes:
        return value.encode() if isinstance(value, str) else bytes(value)
    if tp is datetime.datetime:
        return datetime.datetime.fromisoformat(value)
    if tp is datetime.date:
        return datetime.date.fromisoformat(value)
    if tp is datetime.timedelta:
        return datetime.timedelta(seconds=float(value))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if value in (member.value, member.name):
                return member
        raise DefinitionError(f"{value!r} is not one of {', '.join(m.name for m in tp)}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{k: decode(v, hints.get(k, Any)) for k, v in value.items()})
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        hints = typing.get_type_hints(tp)
        return tp(**{k: decode(v, hints.get(k, Any)) for k, v in value.items()})
    if hasattr(tp, "model_validate"):
        return tp.model_validate(value)
    name = getattr(tp, "__name__", "")
    if name in ("File", "Directory") and getattr(tp, "__module__", "").startswith("rillet"):
        if isinstance(value, str) and value.startswith(ARTIFACT_REF):
            load = _STORED.get()
            if load is None:
                raise DefinitionError(f"{value[:30]}... names a stored value, and no artifact "
                                      "store is at hand to read it")
            return load(value[len(ARTIFACT_REF):], tp)
        return tp(value)
    return value

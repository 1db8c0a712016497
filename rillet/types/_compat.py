"""Compile-time type rules: which declared type may feed which, and readable names.

Works on Python type annotations only; it never looks at values' serialized form
and imports nothing heavy. The rules are written down in ``docs/types.md``.
"""

from __future__ import annotations

import datetime
import functools
import os
import types
import typing
from collections.abc import Iterable
from types import NoneType
from typing import Any, Union

_UNION_ORIGINS: tuple[Any, ...] = (Union, types.UnionType)


def normalize(tp: Any) -> Any:
    """Return a canonical form: ``X | None`` becomes ``Optional[X]``, ``None`` NoneType."""
    if tp is None:
        return NoneType
    origin = typing.get_origin(tp)
    if origin is types.UnionType:
        return Union[tuple(normalize(a) for a in typing.get_args(tp))]
    return tp


def _parts(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    tp = normalize(tp)
    origin = typing.get_origin(tp)
    if origin is None:
        return tp, ()
    if origin is typing.Annotated:
        return _parts(typing.get_args(tp)[0])
    return origin, tuple(normalize(a) for a in typing.get_args(tp))


def is_frame(tp: Any) -> bool:
    """A pandas DataFrame, or a pandera ``DataFrame[Schema]``."""
    from rillet.types._descriptor import classify

    if not isinstance(tp, type) and typing.get_origin(tp) is None:
        return False
    return classify(tp).kind == "dataframe"


def is_union(tp: Any) -> bool:
    return typing.get_origin(normalize(tp)) in _UNION_ORIGINS


def union_members(tp: Any) -> tuple[Any, ...]:
    return tuple(normalize(a) for a in typing.get_args(normalize(tp)))


@functools.lru_cache(maxsize=4096)
def is_compatible(src: Any, dst: Any) -> bool:
    """True when an output declared ``src`` may feed an input declared ``dst``."""
    if src is dst or src == dst:
        return True
    if dst is Any or src is Any:
        return True
    if is_frame(src) and is_frame(dst):  # a pandera schema is checked when the value crosses
        return True
    if is_union(dst):
        members = union_members(dst)
        if is_union(src):
            return all(any(is_compatible(s, d) for d in members) for s in union_members(src))
        return any(is_compatible(src, d) for d in members)
    if is_union(src):
        return False
    if src is int and dst is float:
        return True
    s_origin, s_args = _parts(src)
    d_origin, d_args = _parts(dst)
    if s_origin in (list, dict, tuple, set) or d_origin in (list, dict, tuple, set):
        if s_origin is not d_origin:
            return False
        if not s_args or not d_args:
            return True  # a bare ``list`` carries no element type
        # Containers are invariant in their element types.
        return len(s_args) == len(d_args) and all(
            a == b or b is Any or a is Any for a, b in zip(s_args, d_args, strict=True)
        )
    if isinstance(src, type) and isinstance(dst, type):
        if src is bool and dst is not bool:
            return dst is object
        return issubclass(src, dst) or accepts(dst, src)
    return False


def accepts(dst: type, src: Any) -> bool:
    """Whether class ``dst`` takes values of ``src`` and converts them itself: it defines
    ``__rillet_accepts__(src) -> bool`` and ``__rillet_convert__(value, extras)`` (a
    flytekit StructuredDataset input fed a DataFrame). The conversion runs where the
    task is called (``engine._validate``), for every value of an input declared ``dst``
    (``extras``: the input's ``Annotated[dst, ...]`` metadata, or ``()``)."""
    hook = getattr(dst, "__rillet_accepts__", None)
    return hook is not None and bool(hook(src))


def type_name(tp: Any) -> str:
    """A short readable name for messages: ``list[int]``, ``float | None``."""
    tp = normalize(tp)
    if tp is NoneType:
        return "None"
    if tp is Any:
        return "Any"
    if is_union(tp):
        return " | ".join(type_name(a) for a in union_members(tp))
    origin = typing.get_origin(tp)
    if origin is not None:
        args = ", ".join("..." if a is Ellipsis else type_name(a) for a in typing.get_args(tp))
        oname = getattr(origin, "__name__", str(origin))
        return f"{oname}[{args}]"
    if isinstance(tp, type):
        return tp.__name__ if tp.__module__ in ("builtins", "__main__") else tp.__qualname__
    return repr(tp)


def value_type_name(value: Any) -> str:
    if isinstance(value, list) and value:
        return f"list[{type(value[0]).__name__}]"
    return "None" if value is None else type(value).__name__


def check_value(value: Any, tp: Any) -> bool:
    """True when a Python value may be passed where ``tp`` is declared: an int is
    accepted for a float (and a numpy float), a bool is not an int, a datetime is not
    a date, list/dict/tuple/set items are checked, Any accepts anything."""
    tp = normalize(tp)
    if tp is Any or tp is object:
        return True
    if tp is NoneType:
        return value is None
    if tp is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or _is_np_float(
            value
        )
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is datetime.date:
        return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    if is_union(tp):
        return any(check_value(value, m) for m in union_members(tp))
    origin, args = _parts(tp)
    if origin is list:
        return isinstance(value, list) and (not args or _all_match(value, args[0]))
    if origin is dict:
        return isinstance(value, dict) and (
            not args or (_all_match(value.keys(), args[0])
                         and _all_match(value.values(), args[1]))
        )
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if not args:
            return True
        if len(args) == 2 and args[1] is Ellipsis:
            return _all_match(value, args[0])
        return len(args) == len(value) and all(
            check_value(v, a) for v, a in zip(value, args, strict=True)
        )
    if origin in (set, frozenset):
        return isinstance(value, (set, frozenset)) and (not args or _all_match(value, args[0]))
    if isinstance(tp, type):
        return isinstance(value, tp) or (
            isinstance(value, (str, os.PathLike)) and tp in _content_types()
        ) or accepts(tp, type(value))
    return True


# Item types whose values pass check_value exactly when their class is one of these: a
# container of them is checked by the set of its items' classes, one fast pass (a list of
# a million ints: ~15 ms, against ~400 ms calling check_value per item).
_EXACT_CLASSES: dict[Any, frozenset[type]] = {
    int: frozenset({int}), str: frozenset({str}), bytes: frozenset({bytes}),
    bool: frozenset({bool}), float: frozenset({float, int}),
}


def _all_match(values: Iterable[Any], item: Any) -> bool:
    """``check_value(v, item)`` for every ``v`` of ``values``."""
    exact = _EXACT_CLASSES.get(item) if isinstance(item, type) else None
    if exact is not None and set(map(type, values)) <= exact:
        return True
    return all(check_value(v, item) for v in values)


def _content_types() -> tuple[type, ...]:
    from rillet.types._files import Directory, File

    return (File, Directory)


@functools.lru_cache(maxsize=1024)
def _has_float(tp: Any) -> bool:
    tp = normalize(tp)
    if tp is float:
        return True
    return any(_has_float(a) for a in typing.get_args(tp) if a is not Ellipsis)


def coerce(value: Any, tp: Any) -> Any:
    """``value`` with the ints that stand where ``tp`` declares a float made floats.

    This is the one implicit conversion (an int may feed a float). The value is
    returned as it is, not copied, unless something in it changes.
    """
    if isinstance(value, (str, os.PathLike)) and isinstance(tp, type) \
            and tp in _content_types():
        return tp(value)  # a path or URL where a File/Directory is declared
    try:
        if not _has_float(tp):
            return value
    except TypeError:  # an unhashable annotation
        return value
    return _coerce(value, normalize(tp))


def _coerce(value: Any, tp: Any) -> Any:
    if tp is float:
        return float(value) if type(value) is int else value
    if is_union(tp):
        if type(value) is int and float in union_members(tp) and int not in union_members(tp):
            return float(value)
        return value
    origin, args = _parts(tp)
    if not args:
        return value
    if origin is list and type(value) is list:
        out = [_coerce(v, args[0]) for v in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    if origin is dict and type(value) is dict:
        items = {k: _coerce(v, args[1]) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if origin is tuple and type(value) is tuple:
        types_ = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(types_) != len(value):
            return value
        tup = tuple(_coerce(v, t) for v, t in zip(value, types_, strict=True))
        return value if all(a is b for a, b in zip(tup, value, strict=True)) else tup
    return value


def _is_np_float(value: Any) -> bool:
    return type(value).__module__ == "numpy" and "float" in type(value).__name__

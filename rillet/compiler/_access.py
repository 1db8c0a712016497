"""Attribute access and indexing on promises (``out.field``, ``out[0]``, ``out["k"]``).

flytekit lets a workflow body reach into a task's output: an attribute of a
dataclass (or NamedTuple, or pydantic model), an item of a list or fixed tuple by
a constant index, a value of a dict by a constant key. Each step is typed here, at
compile time, from the declared type; the run applies the same steps to the value
(see ``follow``). No I/O, no execution.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from rillet.errors import RilletError
from rillet.types._compat import normalize, type_name


class AccessError(RilletError):
    """A step cannot be taken on a type (compile time) or a value (run time)."""


def _fields(tp: Any) -> dict[str, Any] | None:
    """The declared fields of a record type, or None when ``tp`` has none."""
    if not isinstance(tp, type):
        return None
    if dataclasses.is_dataclass(tp) or (issubclass(tp, tuple) and hasattr(tp, "_fields")):
        try:
            return typing.get_type_hints(tp)
        except Exception:  # an annotation that cannot be resolved: the raw ones
            return dict(getattr(tp, "__annotations__", {}))
    model_fields = getattr(tp, "model_fields", None)  # a pydantic model (never imported here)
    if isinstance(model_fields, dict):
        return {k: getattr(f, "annotation", Any) for k, f in model_fields.items()}
    return None


def attribute_type(tp: Any, name: str) -> Any:
    """The type of ``value.name`` for a value declared ``tp``."""
    fields = _fields(normalize(tp))
    if fields is None:
        raise AccessError(
            f"has no attributes to read: {type_name(tp)} is not a dataclass, NamedTuple "
            "or pydantic model"
        )
    if name not in fields:
        raise AccessError(
            f"has no attribute {name!r} ({type_name(tp)} has: {', '.join(fields) or 'none'})"
        )
    return fields[name]


def item_type(tp: Any, key: Any) -> Any:
    """The type of ``value[key]`` for a value declared ``tp``; ``key`` is a constant."""
    tp = normalize(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        if type(key) is not int:
            raise AccessError(f"is a {type_name(tp)}: index it with an int, not {key!r}")
        return args[0] if args else Any
    if origin is tuple:
        if type(key) is not int:
            raise AccessError(f"is a {type_name(tp)}: index it with an int, not {key!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        if args and not -len(args) <= key < len(args):
            raise AccessError(f"is a {type_name(tp)} of {len(args)} items: no index {key}")
        return args[key] if args else Any
    if origin is dict:
        if args and not isinstance(key, args[0]):
            raise AccessError(
                f"is a {type_name(tp)}: its keys are {type_name(args[0])}, not {key!r}"
            )
        return args[1] if args else Any
    raise AccessError(f"cannot be indexed: {type_name(tp)} is not a list, tuple or dict")


def path_text(path: tuple[Any, ...]) -> str:
    """``.name[0]["k"]``: the steps as Python writes them."""
    return "".join(f".{s}" if isinstance(s, Attr) else f"[{s!r}]" for s in path)


class Attr(str):
    """A path step that reads an attribute (a plain str or int step is an index)."""

    __slots__ = ()


def follow(value: Any, path: tuple[Any, ...]) -> Any:
    """``value`` with the steps of ``path`` applied; AccessError names the failing step."""
    for i, step in enumerate(path):
        try:
            value = getattr(value, step) if isinstance(step, Attr) else value[step]
        except (AttributeError, LookupError, TypeError) as exc:
            raise AccessError(
                f"{path_text(path[:i + 1])} failed: {type(exc).__name__}: {exc}"
            ) from None
    return value

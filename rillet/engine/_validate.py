"""Validation at a task's boundary: the function an attempt calls, wrapped so that each
input and output annotated ``pandera.typing.DataFrame[Schema]`` is validated as it
crosses (direct calls and durable attempts alike). A task without such types is called
as it is, at no cost.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from rillet.compiler._identity import ByIdentity
from rillet.types._frames import frame_model, validate_frame


def _drained(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def drain(**kw: Any) -> Any:
        return list(fn(**kw))

    return drain


def _annotations(fn: Callable[..., Any], names: list[str]) -> dict[str, tuple[Any, ...]]:
    """The ``Annotated[T, ...]`` extras of the inputs ``names`` of ``fn`` (empty if none)."""
    try:
        hints = typing.get_type_hints(inspect.unwrap(fn), include_extras=True)
    except Exception:  # read at definition already; a failure here only loses the extras
        return {n: () for n in names}
    return {n: tuple(getattr(hints.get(n), "__metadata__", ())) for n in names}


def _converting(fn: Callable[..., Any], hooks: dict[str, Any]) -> Callable[..., Any]:
    """Inputs whose class converts what it accepts: ``hook(value, annotation extras)``."""
    extras = _annotations(fn, list(hooks))

    @functools.wraps(fn)
    def convert(**kw: Any) -> Any:
        for key, hook in hooks.items():
            if key in kw:
                kw[key] = hook(kw[key], extras[key])
        return fn(**kw)

    return convert


def _boxed(fn: Callable[..., Any], named: Any) -> Callable[..., Any]:
    """A task declared with a one-field NamedTuple may return the field's value itself
    (flytekit accepts ``return 1.5`` for ``-> NamedTuple("out", [("x", float)])``)."""

    @functools.wraps(fn)
    def box(**kw: Any) -> Any:
        result = fn(**kw)
        if isinstance(result, tuple) and len(result) == 1:
            return result
        return named(result)

    return box


_MADE: ByIdentity[Callable[..., Any]] = ByIdentity()


def validated_fn(entity: Any) -> Callable[..., Any]:
    """``entity.fn``, or a wrapper validating its typed DataFrames (made once per task
    and function: an attempt of a known task pays a dict lookup)."""
    return _MADE.get((entity, entity.fn), lambda: _validated_fn(entity))


def _validated_fn(entity: Any) -> Callable[..., Any]:
    fn: Callable[..., Any] = entity.fn
    iface = entity.interface
    if getattr(iface, "drain", False):  # ``-> Iterator[T]``: its output is the list
        fn = _drained(fn)
    converted = {n: hook for n, tp in iface.inputs.items()
                 if (hook := getattr(tp, "__rillet_convert__", None)) is not None}
    if converted:  # an input whose class converts what it accepts (see types.accepts)
        fn = _converting(fn, converted)
    one = iface.output_tuple
    if one is not None and one is not tuple and len(iface.outputs) == 1:
        fn = _boxed(fn, one)
    ins = {n: m for n, tp in iface.inputs.items() if (m := frame_model(tp)) is not None}
    outs = [(i, n, m) for i, (n, tp) in enumerate(iface.outputs.items())
            if (m := frame_model(tp)) is not None]
    if not ins and not outs:
        return fn
    name = getattr(entity, "short_name", None) or getattr(entity, "name", "task")
    several = len(iface.outputs) > 1

    @functools.wraps(fn)
    def call(**kw: Any) -> Any:
        for key, model in ins.items():
            if key in kw:
                kw[key] = validate_frame(kw[key], model, f"task '{name}' input '{key}'")
        result = fn(**kw)
        if not outs:
            return result
        if not several:
            ((_, key, model),) = outs
            return validate_frame(result, model, f"task '{name}' output '{key}'")
        values = list(result)
        for i, key, model in outs:
            values[i] = validate_frame(values[i], model, f"task '{name}' output '{key}'")
        return type(result)(*values) if hasattr(result, "_fields") else type(result)(values)

    return call

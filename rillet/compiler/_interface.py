"""A task's or workflow's typed interface, read once from its signature.

It must not run user code beyond reading annotations, and never imports heavy
libraries (annotations that name pandas types are already-imported objects).
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import NoneType
from typing import Any

from rillet.errors import DefinitionError, TypeMismatchError
from rillet.types._compat import (
    check_value,
    coerce,
    normalize,
    type_name,
    value_type_name,
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """Inputs (in declaration order, with defaults) and outputs (named) of an entity."""

    inputs: dict[str, Any]
    defaults: dict[str, Any]
    outputs: dict[str, Any]
    # The NamedTuple class when outputs are named; ``tuple`` for a fixed-length tuple
    # (outputs o0, o1, ...); None for one output or none.
    output_tuple: type | None
    positional: tuple[str, ...]
    # The function returns an iterator or generator (``-> Iterator[T]``): its output is
    # the ``list[T]`` of what it yields, drained where the task is called.
    drain: bool = False

    def describe(self) -> str:
        ins = ", ".join(f"{k}: {type_name(v)}" for k, v in self.inputs.items())
        outs = ", ".join(f"{k}: {type_name(v)}" for k, v in self.outputs.items())
        return f"({ins}) -> ({outs})"


class UnresolvedAnnotations(DefinitionError):
    """An annotation names something that does not exist (yet)."""


def where(fn: Callable[..., Any]) -> str:
    """``file:line`` of a function's definition, for messages."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return getattr(fn, "__qualname__", repr(fn))
    return f"{code.co_filename}:{code.co_firstlineno}"


def is_namedtuple(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, tuple)
        and hasattr(tp, "_fields")
        and hasattr(tp, "__annotations__")
    )


def _fixed_tuple(tp: Any) -> bool:
    """``tuple[X, Y]`` (fixed length, at least one item): outputs o0, o1, ... as in flytekit."""
    if typing.get_origin(tp) is not tuple:
        return False
    args = typing.get_args(tp)
    return bool(args) and Ellipsis not in args and args != ((),)


def pack_outputs(output_tuple: type, values: Any) -> Any:
    """The NamedTuple or plain tuple of several outputs, from their values in order."""
    if output_tuple is tuple:
        return tuple(values)
    return output_tuple(*values)


def input_names(fn: Callable[..., Any], kind: str) -> tuple[str, ...] | None:
    """The input names of ``fn``, checked without resolving any annotation.

    Cheap enough for decoration time: a missing annotation or a ``*args`` fails
    where the function is defined, even when its annotations name classes that
    are defined later in the module. None when ``fn`` is not a plain function.
    """
    fn = unwrapped(fn)
    code = getattr(fn, "__code__", None)
    annotations = getattr(fn, "__annotations__", None)
    if code is None or not isinstance(annotations, dict):
        return None
    name = getattr(fn, "__qualname__", repr(fn))
    _check_plain(fn, kind, name, code)
    count = code.co_argcount + code.co_kwonlyargcount
    names: tuple[str, ...] = code.co_varnames[:count]
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        raise _takes_star(fn, kind, name, code.co_varnames[count])
    for pname in names:
        if pname not in annotations:
            raise _unannotated(fn, kind, name, pname)
    return names


def _takes_star(fn: Callable[..., Any], kind: str, name: str, star: str) -> DefinitionError:
    return DefinitionError(
        f"{where(fn)}: {kind} '{name}' takes *{star}; declare every input by name"
    )


def _unannotated(fn: Callable[..., Any], kind: str, name: str, pname: str) -> DefinitionError:
    return DefinitionError(
        f"{where(fn)}: {kind} '{name}' input '{pname}' has no type annotation; "
        f"annotate it, e.g. '{pname}: int'"
    )


_NOT_PLAIN = (
    inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_GENERATOR
)
# The iterator annotations of a generator task (flytekit's ``-> Iterator[str]``).
_ITERATORS = (
    collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable,
)


def _check_plain(fn: Callable[..., Any], kind: str, name: str, code: Any) -> None:
    """Refuse what the runners cannot call as ``fn(**inputs)`` and get a value from (a
    task may be a generator: what it yields is its output list)."""
    if code is None:
        return
    flags = code.co_flags
    if kind == "task" and flags & _NOT_PLAIN == inspect.CO_GENERATOR:
        flags = 0
    if kind == "eager" and flags & _NOT_PLAIN == inspect.CO_COROUTINE:  # ``@eager async def``
        flags = 0
    if flags & _NOT_PLAIN:
        raise DefinitionError(
            f"{where(fn)}: {kind} '{name}' is an async or generator function; declare it "
            "with a plain 'def' that returns its outputs"
        )
    if code.co_posonlyargcount:
        raise DefinitionError(
            f"{where(fn)}: {kind} '{name}' has positional-only inputs (before '/'); "
            "inputs are passed by name"
        )


def unwrapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function a ``functools.wraps`` decorator wraps (its ``__wrapped__``), whose
    signature is the interface; the wrapper is what runs."""
    if getattr(fn, "__wrapped__", None) is None:
        return fn
    inner: Callable[..., Any] = inspect.unwrap(fn)
    return inner


def _listed(tp: Any) -> Any:
    """``Iterator[T]`` as one of several outputs: the ``list[T]`` that holds its items."""
    if typing.get_origin(tp) in _ITERATORS:
        args = typing.get_args(tp)
        return list[args[0] if args else Any]  # type: ignore[misc]
    return tp


def read_interface(fn: Callable[..., Any], kind: str) -> Interface:
    """Build the interface of ``fn``; every input must be annotated."""
    fn = unwrapped(fn)
    name = getattr(fn, "__qualname__", repr(fn))
    _check_plain(fn, kind, name, getattr(fn, "__code__", None))
    try:
        hints = typing.get_type_hints(fn, include_extras=False)
    except Exception as exc:
        raise UnresolvedAnnotations(
            f"{where(fn)}: {kind} '{name}' has annotations that cannot be resolved: {exc}"
        ) from None
    sig = inspect.signature(fn)
    inputs: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    positional: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise _takes_star(fn, kind, name, pname)
        if pname not in hints:
            raise _unannotated(fn, kind, name, pname)
        tp = inputs[pname] = normalize(hints[pname])
        if param.default is not param.empty:
            if not check_value(param.default, tp):
                raise TypeMismatchError(
                    f"{where(fn)}: {kind} '{name}' input '{pname}' is declared {type_name(tp)} "
                    f"but its default is {value_type_name(param.default)} "
                    f"({param.default!r:.60})"
                )
            defaults[pname] = coerce(param.default, tp)
        if param.kind is not param.KEYWORD_ONLY:
            positional.append(pname)
    ret = hints.get("return", NoneType)
    if type(ret) is tuple and ret:  # ``-> (int, str)``, as flytekit accepts: tuple[int, str]
        ret = tuple.__class_getitem__(ret)
    ret = normalize(ret)
    drain = typing.get_origin(ret) in _ITERATORS
    if drain:  # ``-> Iterator[T]``: the list of what the iterator gives
        ret = list[typing.get_args(ret)[0] if typing.get_args(ret) else Any]  # type: ignore[misc]
    elif getattr(fn, "__code__", None) is not None and fn.__code__.co_flags & inspect.CO_GENERATOR:
        raise DefinitionError(
            f"{where(fn)}: {kind} '{name}' is a generator: declare what it yields as its "
            f"return type, e.g. '-> Iterator[str]' (its output is the list of the items)"
        )
    outputs: dict[str, Any]
    output_tuple: type | None = None
    if ret is NoneType:
        outputs = {}
    elif is_namedtuple(ret):
        output_tuple = ret
        nt_hints = typing.get_type_hints(ret)
        outputs = {f: normalize(nt_hints.get(f, Any)) for f in ret._fields}
    elif _fixed_tuple(ret):
        output_tuple = tuple
        outputs = {f"o{i}": _listed(normalize(t)) for i, t in enumerate(typing.get_args(ret))}
    else:
        outputs = {"o0": ret}
    return Interface(
        inputs=inputs,
        defaults=defaults,
        outputs=outputs,
        output_tuple=output_tuple,
        positional=tuple(positional),
        drain=drain,
    )

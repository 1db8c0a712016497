"""Python type -> JSON type descriptor, and the classification of types that both
descriptors and literals (``_literal.py``) are built on.

Type inspection only: no values, and no heavy import. pandas, numpy and pydantic
classes are recognised by their module and name, so none of them is imported here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import importlib
import json
import math
import sys
import types
import typing
import weakref
from types import NoneType
from typing import Any

from rillet.errors import DefinitionError

from ._files import Directory, File
from ._frames import describe_model, frame_model

_SCALARS: dict[Any, str] = {
    NoneType: "none",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "bytes",
    dt.datetime: "datetime",
    dt.date: "date",
    dt.time: "time",
    dt.timedelta: "timedelta",
}
_CONTAINERS: dict[Any, str] = {
    list: "list",
    dict: "dict",
    tuple: "tuple",
    set: "set",
    frozenset: "frozenset",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TypeInfo:
    """What kind of type an annotation is, with its parts.

    ``args`` holds child types: the item of list/set/frozenset, key and value of
    dict, the items of a tuple (one item when ``variadic``), the inner type of
    optional, the options of union (in canonical order). ``fields`` holds
    ``(name, type, init)`` of a dataclass or NamedTuple. ``values`` holds the
    stored forms of an enum's members (their values, or names when ``by_name``)
    or the allowed values of a ``typing.Literal``.
    """

    kind: str
    tp: Any
    name: str = ""
    args: tuple[Any, ...] = ()
    fields: tuple[tuple[str, Any, bool], ...] = ()
    values: tuple[Any, ...] = ()
    by_name: bool = False
    variadic: bool = False


def qualified_name(tp: Any) -> str:
    """``module.QualName`` of a class; ``repr`` of anything else."""
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


def classify(tp: Any) -> TypeInfo:
    """Classify an annotation (cached per type)."""
    try:
        return _classify_cached(tp)
    except TypeError:  # an unhashable annotation, e.g. Annotated[int, {...}]
        return _classify(tp)


@functools.lru_cache(maxsize=4096)
def _classify_cached(tp: Any) -> TypeInfo:
    return _classify(tp)


def _classify(tp: Any) -> TypeInfo:
    if tp is None:
        tp = NoneType
    if tp is Any or isinstance(tp, typing.TypeVar):
        return TypeInfo(kind="any", tp=Any)
    if isinstance(tp, typing.NewType):
        return classify(tp.__supertype__)
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return classify(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return _classify_union(typing.get_args(tp))
    if origin is typing.Literal:
        return _classify_literal(tp)
    if origin is not None:
        return _classify_generic(tp, origin, typing.get_args(tp))
    if tp is typing.Tuple:  # noqa: UP006 - the bare typing alias has no args, like tuple[()]
        return TypeInfo(kind="tuple", tp=tp, args=(Any,), variadic=True)
    if isinstance(tp, type):
        return _classify_class(tp)
    return TypeInfo(kind="pickle", tp=tp, name=repr(tp))


def _classify_union(args: tuple[Any, ...]) -> TypeInfo:
    rest = [a for a in args if a is not None and a is not NoneType]
    if not rest:
        return TypeInfo(kind="none", tp=NoneType)
    if len(rest) < len(args):
        inner = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
        return TypeInfo(kind="optional", tp=typing.Union[inner, None], args=(inner,))
    options = tuple(sorted(rest, key=descriptor_json))
    return TypeInfo(kind="union", tp=typing.Union[options], args=options)


def _classify_literal(tp: Any) -> TypeInfo:
    values = typing.get_args(tp)
    if all(type(v) in (str, int, bool, NoneType) for v in values):
        return TypeInfo(kind="literal", tp=tp, values=values)
    return TypeInfo(kind="pickle", tp=tp, name=repr(tp))


def _classify_generic(tp: Any, origin: Any, args: tuple[Any, ...]) -> TypeInfo:
    kind = _CONTAINERS.get(origin)
    if kind == "dict":
        key, value = args if len(args) == 2 else (Any, Any)
        return TypeInfo(kind=kind, tp=tp, args=(key, value))
    if kind == "tuple":
        if len(args) == 2 and args[1] is Ellipsis:
            return TypeInfo(kind=kind, tp=tp, args=(args[0],), variadic=True)
        return TypeInfo(kind=kind, tp=tp, args=args)
    if kind is not None:
        return TypeInfo(kind=kind, tp=tp, args=(args[0] if args else Any,))
    if isinstance(origin, type):
        model = frame_model(tp)
        if model is not None:  # pandera.typing.DataFrame[Schema]: validated at boundaries
            return TypeInfo(kind="dataframe", tp=tp, name=qualified_name(model), args=(model,))
        # numpy.typing.NDArray[...], a generic dataclass Box[int], a pydantic generic...
        info = classify(origin)
        if info.kind not in ("pickle",):
            return info
        return TypeInfo(kind="pickle", tp=origin, name=repr(tp))
    return TypeInfo(kind="pickle", tp=tp, name=repr(tp))


def _classify_class(tp: type) -> TypeInfo:
    kind = _SCALARS.get(tp)
    if kind is not None:
        return TypeInfo(kind=kind, tp=tp)
    kind = _CONTAINERS.get(tp)
    if kind is not None:  # a bare container: its parts are Any
        args: tuple[Any, ...] = (Any, Any) if kind == "dict" else (Any,)
        return TypeInfo(kind=kind, tp=tp, args=args, variadic=kind == "tuple")
    name = qualified_name(tp)
    if issubclass(tp, enum.Enum):
        return _classify_enum(tp, name)
    if issubclass(tp, File):
        return TypeInfo(kind="file", tp=tp, name=name)
    if issubclass(tp, Directory):
        return TypeInfo(kind="directory", tp=tp, name=name)
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp, name)
        fields = tuple((f.name, hints.get(f.name, Any), f.init) for f in dataclasses.fields(tp))
        return TypeInfo(kind="dataclass", tp=tp, name=name, fields=fields)
    if issubclass(tp, tuple) and hasattr(tp, "_fields"):
        hints = _hints(tp, name)
        fields = tuple((f, hints.get(f, Any), True) for f in tp._fields)
        return TypeInfo(kind="namedtuple", tp=tp, name=name, fields=fields)
    if is_pydantic_model(tp):
        return TypeInfo(kind="pydantic", tp=tp, name=name)
    if tp.__qualname__ == "DataFrame" and tp.__module__.partition(".")[0] == "pandas":
        return TypeInfo(kind="dataframe", tp=tp, name=name)
    if tp.__qualname__ == "ndarray" and tp.__module__ == "numpy":
        return TypeInfo(kind="ndarray", tp=tp, name=name)
    return TypeInfo(kind="pickle", tp=tp, name=name)


def _classify_enum(tp: type[enum.Enum], name: str) -> TypeInfo:
    members = list(tp)
    by_value = all(_is_json_scalar(m.value) for m in members)
    values = tuple(m.value if by_value else m.name for m in members)
    return TypeInfo(kind="enum", tp=tp, name=name, values=values, by_name=not by_value)


def _is_json_scalar(v: Any) -> bool:
    t = type(v)
    return t in (str, int, bool) or (t is float and math.isfinite(v) and v == v)


def _hints(tp: type, name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp)
    except Exception as e:  # NameError for an unresolved forward reference, and more
        raise DefinitionError(
            f"cannot resolve the field types of {name}: {e}. Define the types it names "
            "at module level so that they can be resolved"
        ) from e


def is_pydantic_model(tp: type) -> bool:
    """True for a pydantic v2 model class, found without importing pydantic."""
    return any(c.__name__ == "BaseModel" and c.__module__ == "pydantic.main" for c in tp.__mro__)


# -- descriptors ------------------------------------------------------------------------


def describe(tp: Any) -> dict[str, Any]:
    """The JSON descriptor of a Python type, e.g. ``{"kind": "list", "item": {"kind": "int"}}``.

    Deterministic (equal types give equal descriptors in any process) and
    JSON-serializable. Cached per type; each call returns a fresh copy.
    """
    try:
        cached = _describe_cached(tp)
    except TypeError:  # unhashable annotation
        cached = _describe(tp, ())
    copied: dict[str, Any] = _copy(cached)
    return copied


def descriptor_json(tp: Any) -> str:
    """The descriptor as canonical JSON text (sorted keys, no spaces), cached per type."""
    try:
        return _descriptor_json_cached(tp)
    except TypeError:
        return json.dumps(_describe(tp, ()), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _describe_cached(tp: Any) -> dict[str, Any]:
    return _describe(tp, ())


@functools.lru_cache(maxsize=4096)
def _descriptor_json_cached(tp: Any) -> str:
    return json.dumps(_describe_cached(tp), sort_keys=True, separators=(",", ":"))


def _copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_copy(v) for v in d]
    return d


def _describe(tp: Any, above: tuple[Any, ...]) -> dict[str, Any]:
    info = classify(tp)
    kind = info.kind
    if kind in ("list", "set", "frozenset"):
        return {"kind": kind, "item": _describe(info.args[0], above)}
    if kind == "dict":
        key, value = info.args
        return {"kind": kind, "key": _describe(key, above), "value": _describe(value, above)}
    if kind == "tuple":
        if info.variadic:
            return {"kind": kind, "item": _describe(info.args[0], above), "variadic": True}
        return {"kind": kind, "items": [_describe(a, above) for a in info.args]}
    if kind == "optional":
        return {"kind": kind, "inner": _describe(info.args[0], above)}
    if kind == "union":
        return {"kind": kind, "options": [_describe(a, above) for a in info.args]}
    if kind == "enum":
        return {"kind": kind, "name": info.name, "values": list(info.values)}
    if kind == "literal":
        return {"kind": kind, "values": list(info.values)}
    if kind in ("dataclass", "namedtuple"):
        if info.tp in above:  # a recursive type refers to itself by name
            return {"kind": "ref", "name": info.name}
        inner = (*above, info.tp)
        fields = {name: _describe(ftp, inner) for name, ftp, _ in info.fields}
        return {"kind": kind, "name": info.name, "fields": fields}
    if kind == "pydantic":
        return {"kind": kind, "name": info.name, "schema": _pydantic_schema(info.tp)}
    if kind == "pickle":
        return {"kind": kind, "name": info.name}
    if kind == "dataframe" and info.args:
        return {"kind": kind, "schema": describe_model(info.args[0])}
    return {"kind": kind}


def _pydantic_schema(tp: Any) -> dict[str, Any]:
    try:
        schema = tp.model_json_schema()
        json.dumps(schema)
    except Exception:  # a model with arbitrary types has no JSON schema
        return {}
    return dict(schema)


# -- classes by import name ----------------------------------------------------------


_IMPORT_NAMES: weakref.WeakKeyDictionary[type, str | None] = weakref.WeakKeyDictionary()


def import_name(cls: type) -> str | None:
    """``module.QualName`` when importing it gives ``cls`` back (not in __main__ or a
    function), else None."""
    try:
        return _IMPORT_NAMES[cls]
    except KeyError:
        pass
    name: str | None = f"{cls.__module__}.{cls.__qualname__}"
    module = sys.modules.get(cls.__module__)
    if cls.__module__ == "__main__" or "<" in cls.__qualname__ or module is None:
        name = None
    else:
        obj: Any = module
        for part in cls.__qualname__.split("."):
            obj = getattr(obj, part, None)
        name = name if obj is cls else None
    _IMPORT_NAMES[cls] = name
    return name


def import_class(name: str) -> Any:
    """The class named ``module.QualName`` (as :func:`import_name` gives), imported."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part, None)
        if isinstance(obj, type):
            return obj
    raise ValueError(f"cannot import {name!r} to rebuild a stored value")


_SCALAR_KINDS: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool,
                            "bytes": bytes, "none": type(None), "any": Any}


def type_of(d: dict[str, Any]) -> Any:
    """A Python type for a descriptor (what :func:`describe` gives), to decode a stored
    value whose declaring code is not at hand. Named classes are imported; one that
    cannot be is ``Any`` (its value then decodes by the tag it was stored with)."""
    kind = d.get("kind")
    if kind in _SCALAR_KINDS:
        return _SCALAR_KINDS[kind]
    if kind in ("list", "set", "frozenset") and "item" in d:
        origin = {"list": list, "set": set, "frozenset": frozenset}[kind]
        return origin[type_of(d["item"])]  # type: ignore[index]
    if kind == "dict":
        return dict[type_of(d["key"]), type_of(d["value"])]  # type: ignore[misc]
    if kind == "tuple":
        if d.get("variadic"):
            return tuple[type_of(d["item"]), ...]  # type: ignore[misc]
        return tuple[tuple(type_of(i) for i in d.get("items", []))]  # type: ignore[misc]
    if kind == "optional":
        return typing.Optional[type_of(d["inner"])]  # noqa: UP045
    if kind == "union":
        return typing.Union[tuple(type_of(o) for o in d["options"])]
    if kind in ("datetime", "date", "timedelta"):
        return getattr(dt, kind)
    if kind == "file":
        return File
    if kind == "directory":
        return Directory
    named = {"dataframe": "pandas.DataFrame", "ndarray": "numpy.ndarray"}
    name = named.get(str(kind)) or d.get("name")
    if isinstance(name, str):
        try:
            return import_class(name)
        except (ValueError, ImportError):
            return Any
    return Any


def describe_name(d: dict[str, Any]) -> str:
    """A type descriptor (``{"kind": "list", "item": {"kind": "int"}}``) as a type name
    (``list[int]``)."""
    kind = d.get("kind", "?")
    if "item" in d:
        return f"{kind}[{describe_name(d['item'])}" + (", ...]" if d.get("variadic") else "]")
    if "items" in d:
        return f"{kind}[{', '.join(describe_name(i) for i in d['items'])}]"
    if kind == "dict":
        return f"dict[{describe_name(d['key'])}, {describe_name(d['value'])}]"
    if kind == "optional":
        return f"{describe_name(d['inner'])} | None"
    if kind == "union":
        return " | ".join(describe_name(o) for o in d["options"])
    return str(d.get("name") or kind)

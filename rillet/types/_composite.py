"""Codecs of containers (list, set, dict, tuple), of dataclasses and NamedTuples, of
Optional, Union and Any, and ``codec_for(tp)``: the codec of a declared type,
built once per type from the leaf codecs of ``_codecs.py``.

What a Literal is, and encoding, decoding and hashing with these codecs, are in
``_literal.py``. Importing this module imports no heavy library.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from ._codecs import (
    BoolCodec,
    BytesCodec,
    Codec,
    DataFrameCodec,
    DirectoryCodec,
    EnumCodec,
    FileCodec,
    FloatCodec,
    IntCodec,
    LiteralCodec,
    NdarrayCodec,
    NoneCodec,
    PickleCodec,
    PydanticCodec,
    StrCodec,
    TimeCodec,
    TimedeltaCodec,
    canonical_text,
)
from ._descriptor import TypeInfo, classify, import_class, import_name
from ._files import Directory, File

# -- codecs of containers -----------------------------------------------------------------


def _all_of(values: Any, t: type | None) -> bool:
    """True when every value is exactly of type ``t`` (fast, for lists of scalars)."""
    return t is not None and set(map(type, values)) <= {t}


class _ListCodec(Codec):
    __slots__ = ("item",)

    def __init__(self, item: Codec) -> None:
        super().__init__(f"list[{item.tag}]")
        self.item = item

    def check(self, v: Any, strict: bool) -> bool:
        check = self.item.check
        return isinstance(v, list) and all(check(x, strict) for x in v)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, list):
            raise self.mismatch(v)
        if _all_of(v, self.item.identity):
            return list(v)
        to = self.item.to_plain
        return [to(x) for x in v]

    def from_plain(self, p: Any) -> Any:
        if not isinstance(p, list):
            raise ValueError(f"expected a list, got {type(p).__name__}")
        if _all_of(p, self.item.identity):
            return list(p)
        back = self.item.from_plain
        return [back(x) for x in p]


class _SetCodec(Codec):
    """set and frozenset as a list sorted by the items' canonical JSON."""

    __slots__ = ("frozen", "item")

    def __init__(self, item: Codec, frozen: bool) -> None:
        super().__init__(f"{'frozenset' if frozen else 'set'}[{item.tag}]")
        self.item = item
        self.frozen = frozen

    def check(self, v: Any, strict: bool) -> bool:
        check = self.item.check
        return isinstance(v, (set, frozenset)) and all(check(x, strict) for x in v)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, (set, frozenset)):
            raise self.mismatch(v)
        to = self.item.to_plain
        items = [to(x) for x in v]
        if self.item.identity in (int, str):
            items.sort()
        else:
            items.sort(key=canonical_text)
        return items

    def from_plain(self, p: Any) -> Any:
        back = self.item.from_plain
        items = (back(x) for x in p)
        return frozenset(items) if self.frozen else set(items)


class _DictCodec(Codec):
    """A dict with str keys as a JSON object; other keys as [key, value] pairs sorted
    by the key's canonical JSON."""

    __slots__ = ("key", "value")

    def __init__(self, key: Codec, value: Codec) -> None:
        super().__init__(f"dict[{key.tag},{value.tag}]")
        self.key = key
        self.value = value

    def check(self, v: Any, strict: bool) -> bool:
        kc, vc = self.key.check, self.value.check
        return isinstance(v, dict) and all(kc(k, strict) and vc(x, strict) for k, x in v.items())

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, dict):
            raise self.mismatch(v)
        vt = self.value.to_plain
        if self.key is _STR:
            if not _all_of(v, str):
                v = {_STR.to_plain(k): x for k, x in v.items()}
            if _all_of(v.values(), self.value.identity):
                return dict(v)
            return {k: vt(x) for k, x in v.items()}
        kt = self.key.to_plain
        pairs = [[kt(k), vt(x)] for k, x in v.items()]
        pairs.sort(key=lambda kv: canonical_text(kv[0]))
        return pairs

    def from_plain(self, p: Any) -> Any:
        vb = self.value.from_plain
        if self.key is _STR:
            if not isinstance(p, dict):
                raise ValueError(f"expected an object, got {type(p).__name__}")
            return {k: vb(x) for k, x in p.items()}
        kb = self.key.from_plain
        return {kb(k): vb(x) for k, x in p}


class _TupleCodec(Codec):
    """A tuple as a list: fixed items (``tuple[int, str]``) or any number of one type."""

    __slots__ = ("items", "variadic")

    def __init__(self, items: tuple[Codec, ...], variadic: bool) -> None:
        inside = f"{items[0].tag},..." if variadic else ",".join(c.tag for c in items)
        super().__init__(f"tuple[{inside}]")
        self.items = items
        self.variadic = variadic

    def _codecs(self, n: int) -> tuple[Codec, ...] | None:
        if self.variadic:
            return self.items * n
        return self.items if n == len(self.items) else None

    def check(self, v: Any, strict: bool) -> bool:
        if not isinstance(v, tuple):
            return False
        codecs = self._codecs(len(v))
        return codecs is not None and all(
            c.check(x, strict) for c, x in zip(codecs, v, strict=True)
        )

    def to_plain(self, v: Any) -> Any:
        codecs = self._codecs(len(v)) if isinstance(v, tuple) else None
        if codecs is None:
            raise self.mismatch(v)
        return [c.to_plain(x) for c, x in zip(codecs, v, strict=True)]

    def from_plain(self, p: Any) -> Any:
        codecs = self._codecs(len(p))
        if codecs is None:
            raise ValueError(f"expected {len(self.items)} items, got {len(p)}")
        return tuple(c.from_plain(x) for c, x in zip(codecs, p, strict=True))


class OptionalCodec(Codec):
    __slots__ = ("inner",)

    def __init__(self, inner: Codec) -> None:
        super().__init__(f"optional[{inner.tag}]")
        self.inner = inner

    def check(self, v: Any, strict: bool) -> bool:
        return v is None or self.inner.check(v, strict)

    def to_plain(self, v: Any) -> Any:
        return None if v is None else self.inner.to_plain(v)

    def from_plain(self, p: Any) -> Any:
        return None if p is None else self.inner.from_plain(p)


class UnionCodec(Codec):
    """A member of a Union as ``{"t": its option's tag, "v": its plain form}``.

    The option is the first (in canonical order) the value is exactly of, else the
    first that accepts it (an int for a float), and Any options last.
    """

    __slots__ = ("by_tag", "options", "order")

    def __init__(self, options: tuple[Codec, ...]) -> None:
        super().__init__("union[" + ",".join(o.tag for o in options) + "]")
        self.options = options
        self.order = tuple(sorted(options, key=lambda o: isinstance(o, AnyCodec)))
        self.by_tag = {o.tag: o for o in options}

    def choose(self, v: Any) -> Codec:
        for strict in (True, False):
            for option in self.order:
                if option.check(v, strict):
                    return option
        raise self.mismatch(v)

    def check(self, v: Any, strict: bool) -> bool:
        return any(o.check(v, strict) for o in self.options)

    def to_plain(self, v: Any) -> Any:
        option = self.choose(v)
        return {"t": option.tag, "v": option.to_plain(v)}

    def from_plain(self, p: Any) -> Any:
        return self.by_tag[p["t"]].from_plain(p["v"])


class AnyCodec(Codec):
    """Any value as ``{"t": tag of its own type, "v": its plain form}``; classes are
    found again by their import name, or pickled when they have none."""

    __slots__ = ()

    def check(self, v: Any, strict: bool) -> bool:
        return True

    def choose(self, v: Any) -> Codec:
        t = type(v)
        codec = _ANY_BY_TYPE.get(t)
        if codec is not None:
            return codec
        if t is dict:
            return _DICT_STR_ANY if _all_of(v, str) else _DICT_ANY_ANY
        codec = codec_for(t)
        if isinstance(codec, (_ClassCodec, PydanticCodec, EnumCodec)) and import_name(t) is None:
            return _pickle_codec(t)
        return codec

    def to_plain(self, v: Any) -> Any:
        codec = self.choose(v)
        return {"t": codec.tag, "v": codec.to_plain(v)}

    def from_plain(self, p: Any) -> Any:
        return codec_for_tag(p["t"]).from_plain(p["v"])


# -- codecs of classes --------------------------------------------------------------------


class _ClassCodec(Codec):
    """A dataclass or NamedTuple as an object of its fields' plain forms."""

    __slots__ = ("cls", "fields", "namedtuple")

    def __init__(self, info: TypeInfo) -> None:
        super().__init__(f"{info.kind}:{info.name}")
        self.cls = info.tp
        self.namedtuple = info.kind == "namedtuple"
        self.fields: tuple[tuple[str, Codec, bool], ...] = ()  # set after, for recursive types

    def check(self, v: Any, strict: bool) -> bool:
        return isinstance(v, self.cls)

    def to_plain(self, v: Any) -> Any:
        if not isinstance(v, self.cls):
            raise self.mismatch(v)
        return {name: codec.to_plain(getattr(v, name)) for name, codec, _ in self.fields}

    def from_plain(self, p: Any) -> Any:
        values = {name: codec.from_plain(p[name]) for name, codec, _ in self.fields}
        if self.namedtuple:
            return self.cls(**values)
        obj = self.cls(**{name: values[name] for name, _, init in self.fields if init})
        for name, _, init in self.fields:
            if not init:
                object.__setattr__(obj, name, values[name])
        return obj


# -- building codecs ----------------------------------------------------------------------

NONE = NoneCodec("none")
_STR = StrCodec("str")
_ANY = AnyCodec("any")
_SIMPLE: dict[str, Codec] = {
    "none": NONE,
    "bool": BoolCodec("bool"),
    "int": IntCodec("int"),
    "float": FloatCodec("float"),
    "str": _STR,
    "bytes": BytesCodec("bytes"),
    "datetime": TimeCodec("datetime", dt.datetime),
    "date": TimeCodec("date", dt.date),
    "time": TimeCodec("time", dt.time),
    "timedelta": TimedeltaCodec("timedelta"),
    "any": _ANY,
}
_DICT_STR_ANY = _DictCodec(_STR, _ANY)
_DICT_ANY_ANY = _DictCodec(_ANY, _ANY)
PICKLE_ANY = PickleCodec("object", object)
_ANY_BY_TYPE: dict[Any, Codec] = {
    **{c.identity: c for c in _SIMPLE.values() if c.identity is not None},
    float: _SIMPLE["float"],
    bytes: _SIMPLE["bytes"],
    **{c.cls: c for c in _SIMPLE.values() if isinstance(c, TimeCodec)},
    dt.timedelta: _SIMPLE["timedelta"],
    list: _ListCodec(_ANY),
    tuple: _TupleCodec((_ANY,), variadic=True),
    set: _SetCodec(_ANY, frozen=False),
    frozenset: _SetCodec(_ANY, frozen=True),
}
_BY_TAG: dict[str, Codec] = {
    c.tag: c for c in (*_SIMPLE.values(), *_ANY_BY_TYPE.values(), _DICT_STR_ANY, _DICT_ANY_ANY)
}
_CACHE: dict[Any, Codec] = {}


def codec_for(tp: Any) -> Codec:
    """The codec of a declared type, built once per type."""
    try:
        return _CACHE[tp]
    except KeyError:
        codec = _CACHE[tp] = _build(tp, {})
        return codec
    except TypeError:  # an unhashable annotation
        return _build(tp, {})


def _build(tp: Any, building: dict[Any, Codec]) -> Codec:
    info = classify(tp)
    kind = info.kind
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple

    def sub(t: Any) -> Codec:
        try:
            return _CACHE[t]
        except (KeyError, TypeError):
            return _build(t, building)

    if kind == "list":
        return _ListCodec(sub(info.args[0]))
    if kind in ("set", "frozenset"):
        return _SetCodec(sub(info.args[0]), frozen=kind == "frozenset")
    if kind == "dict":
        return _DictCodec(sub(info.args[0]), sub(info.args[1]))
    if kind == "tuple":
        return _TupleCodec(tuple(sub(a) for a in info.args), variadic=info.variadic)
    if kind == "optional":
        return OptionalCodec(sub(info.args[0]))
    if kind == "union":
        return UnionCodec(tuple(sub(a) for a in info.args))
    if kind in ("dataclass", "namedtuple"):
        if info.tp in building:  # a recursive type: its codec is being built above
            return building[info.tp]
        codec = building[info.tp] = _ClassCodec(info)
        codec.fields = tuple((name, sub(ftp), init) for name, ftp, init in info.fields)
        return codec
    return _build_leaf(info)


def _build_leaf(info: TypeInfo) -> Codec:
    kind = info.kind
    if kind == "literal":
        return LiteralCodec(info.values)
    if kind == "enum":
        return EnumCodec(info.name, info.tp, info.by_name)
    if kind == "pydantic":
        return PydanticCodec(info.name, info.tp)
    if kind == "dataframe":  # a pandera DataFrame[Schema] holds a plain pandas frame
        return DataFrameCodec("dataframe", import_class("pandas.DataFrame") if info.args
                              else info.tp)
    if kind == "ndarray":
        return NdarrayCodec("ndarray", info.tp)
    if kind == "file":
        return FileCodec("file", info.tp)
    if kind == "directory":
        return DirectoryCodec("directory", info.tp)
    return _pickle_codec(info.tp, info.name)


def _pickle_codec(tp: Any, name: str | None = None) -> PickleCodec:
    cls = tp if isinstance(tp, type) else typing.get_origin(tp) or object
    return PickleCodec(name or f"{cls.__module__}.{cls.__qualname__}", cls)


def codec_for_tag(tag: str) -> Codec:
    """The codec a tag in a stored Any value names."""
    codec = _BY_TAG.get(tag)
    if codec is not None:
        return codec
    kind, _, name = tag.partition(":")
    if kind == "pickle":
        return PICKLE_ANY
    if kind in ("enum", "dataclass", "namedtuple", "pydantic"):
        return codec_for(import_class(name))
    if tag == "dataframe":
        return codec_for(import_class("pandas.DataFrame"))
    if tag == "ndarray":
        return codec_for(import_class("numpy.ndarray"))
    if tag in ("file", "directory"):
        return codec_for(File if tag == "file" else Directory)
    raise ValueError(f"unknown type tag {tag!r} in a stored value")

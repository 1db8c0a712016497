"""Value <-> Literal: the stored form of a Python value of a declared type, and its
content hash.

The declared type drives both ways: a codec built once per type turns a value
into a JSON-able "plain" form (or a blob in its own format) and rebuilds it. Leaf
codecs live in ``_codecs.py``; containers, classes, Optional, Union and Any are
here. Importing this module imports no heavy library, and it never touches a store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
import typing
from collections.abc import Callable
from typing import Any

from rillet.errors import StoreError, TypeMismatchError

from ._codecs import (
    BinaryCodec,
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
    PickleFallbackWarning,
    PydanticCodec,
    StrCodec,
    TimeCodec,
    TimedeltaCodec,
    blob_header,
    canonical_json,
    canonical_text,
    json_header,
    sha256_hex,
    show,
)
from ._descriptor import TypeInfo, classify, import_class, import_name
from ._files import Directory, File, HashWriter

__all__ = [
    "Literal",
    "PickleFallbackWarning",
    "content_hash",
    "decode",
    "decode_literal",
    "encode",
]

_DECODE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """A stored value.

    ``format`` is ``json`` (``inline`` holds the JSON-able value, or ``blob`` its
    canonical JSON bytes when they are longer than the inline limit), ``parquet``,
    ``npy``, ``pickle``, ``file`` or ``dir`` (``blob`` holds the bytes; for ``file``
    and ``dir`` ``inline`` holds ``{"name": ...}``). ``hash`` is the sha256 hex of
    the type tag and the canonical bytes; ``size`` is the length of those bytes.
    """

    hash: str
    format: str
    inline: Any = None
    blob: bytes | None = dataclasses.field(default=None, repr=False)
    size: int = 0


# -- public functions ---------------------------------------------------------------------


def encode(value: Any, tp: Any, *, inline_limit: int = 4096) -> Literal:
    """Encode ``value`` of declared type ``tp``; TypeMismatchError when it is not one."""
    fast = _fast_scalar(value, tp)
    if fast is not None:
        header, data = fast
        return _json_literal(value, data, sha256_hex(header, data), inline_limit)
    store = _storage(_codec_for(tp), value)
    if isinstance(store, BinaryCodec):
        meta = store.meta(value)
        buffer = io.BytesIO()
        store.write(value, buffer)
        blob = buffer.getvalue()
        digest = sha256_hex(blob_header(store.tag, meta), blob)
        return Literal(hash=digest, format=store.fmt, inline=meta, blob=blob, size=len(blob))
    plain = store.to_plain(value)
    data = _dump(plain, store, value)
    return _json_literal(plain, data, sha256_hex(json_header(store.tag), data), inline_limit)


def decode(
    lit_format: str,
    inline: Any,
    blob_loader: Callable[[], bytes] | None,
    tp: Any,
    *,
    workdir: str | None = None,
) -> Any:
    """Rebuild the value of a Literal as declared type ``tp``.

    ``blob_loader`` returns the blob's bytes; pass ``None`` for an inline literal.
    File and Directory call it only when their ``.path`` is first used, and write
    the content under a new temporary folder (inside ``workdir`` when given).
    """
    codec = _codec_for(tp)
    if lit_format == "json":
        plain = inline
        if inline is None and blob_loader is not None:
            plain = json.loads(blob_loader())
        try:
            return codec.from_plain(plain)
        except _DECODE_ERRORS as e:
            raise TypeMismatchError(
                f"a stored json value does not decode as {codec.tag}: {e!r}"
            ) from e
    binary = _binary_for(codec, lit_format)
    if binary is None:
        raise TypeMismatchError(f"a stored {lit_format} value cannot be decoded as {codec.tag}")
    if blob_loader is None:
        raise StoreError(f"a stored {lit_format} value needs its blob, and no loader was given")
    return binary.read(inline, blob_loader, workdir)


def decode_literal(lit: Literal, tp: Any, *, workdir: str | None = None) -> Any:
    """``decode`` for a Literal held in memory (its blob, if any, in ``lit.blob``)."""
    blob = lit.blob
    loader = (lambda: blob) if blob is not None else None
    return decode(lit.format, lit.inline, loader, tp, workdir=workdir)


def content_hash(value: Any, tp: Any) -> str:
    """The hash ``encode(value, tp)`` gives, without keeping the encoded bytes."""
    fast = _fast_scalar(value, tp)
    if fast is not None:
        return sha256_hex(*fast)
    store = _storage(_codec_for(tp), value)
    if isinstance(store, BinaryCodec):
        writer = HashWriter(blob_header(store.tag, store.meta(value)))
        store.write(value, writer)
        return writer.hexdigest()
    data = _dump(store.to_plain(value), store, value)
    return sha256_hex(json_header(store.tag), data)


# -- helpers of the public functions ------------------------------------------------------


def _json_literal(plain: Any, data: bytes, digest: str, inline_limit: int) -> Literal:
    if len(data) <= inline_limit:
        return Literal(hash=digest, format="json", inline=plain, blob=None, size=len(data))
    return Literal(hash=digest, format="json", inline=None, blob=data, size=len(data))


def _dump(plain: Any, codec: Codec, value: Any) -> bytes:
    try:
        return canonical_json(plain)
    except ValueError as e:  # NaN or infinity in a pydantic model's own JSON dump
        raise TypeMismatchError(f"cannot store {show(value)} as {codec.tag}: {e}") from e


def _fast_scalar(value: Any, tp: Any) -> tuple[bytes, bytes] | None:
    """(hash header, canonical JSON) of an int, str, bool or finite float declared as
    exactly its type: the common case, kept to a microsecond or two."""
    t = type(value)
    if t is not tp:
        return None
    if t is int:
        return b"int\n", b"%d" % value
    if t is str:
        return b"str\n", canonical_json(value)
    if t is bool:
        return b"bool\n", b"true" if value else b"false"
    if t is float and math.isfinite(value) and (value != 0.0 or math.copysign(1.0, value) > 0):
        return b"float\n", repr(value).encode("ascii")
    return None


def _storage(codec: Codec, value: Any) -> Codec:
    """The codec that stores ``value`` at the top level.

    An Optional is see-through (its stored form is its inner type's), and a value in
    a Union or Any that has a byte format of its own (a DataFrame, a File, ...) is
    stored in that format. So a value gets the same stored form and hash whichever
    of these declared it, and any of them decodes it.
    """
    while isinstance(codec, _OptionalCodec):
        if value is None:
            return _NONE
        codec = codec.inner
    if isinstance(codec, (_UnionCodec, _AnyCodec)):
        inner: Codec = codec
        while isinstance(inner, (_UnionCodec, _AnyCodec, _OptionalCodec)):
            if isinstance(inner, _OptionalCodec):
                if value is None:
                    break
                inner = inner.inner
            else:
                inner = inner.choose(value)
        if isinstance(inner, BinaryCodec):
            return inner
    if isinstance(codec, BinaryCodec) and not codec.check(value, False):
        raise codec.mismatch(value)
    return codec


def _binary_for(codec: Codec, fmt: str) -> BinaryCodec | None:
    """The codec, among ``codec`` and its options, that reads a blob of format ``fmt``."""
    if isinstance(codec, BinaryCodec):
        return codec if codec.fmt == fmt else None
    if isinstance(codec, _OptionalCodec):
        return _binary_for(codec.inner, fmt)
    if isinstance(codec, _UnionCodec):
        for option in codec.options:
            found = _binary_for(option, fmt)
            if found is not None:
                return found
        return None
    if isinstance(codec, _AnyCodec):
        tag = {"parquet": "dataframe", "npy": "ndarray", "file": "file", "dir": "directory"}
        default = _codec_for_tag(tag[fmt]) if fmt in tag else _PICKLE_ANY
        return default if isinstance(default, BinaryCodec) and default.fmt == fmt else None
    return None


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


class _OptionalCodec(Codec):
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


class _UnionCodec(Codec):
    """A member of a Union as ``{"t": its option's tag, "v": its plain form}``.

    The option is the first (in canonical order) the value is exactly of, else the
    first that accepts it (an int for a float), and Any options last.
    """

    __slots__ = ("by_tag", "options", "order")

    def __init__(self, options: tuple[Codec, ...]) -> None:
        super().__init__("union[" + ",".join(o.tag for o in options) + "]")
        self.options = options
        self.order = tuple(sorted(options, key=lambda o: isinstance(o, _AnyCodec)))
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


class _AnyCodec(Codec):
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
        codec = _codec_for(t)
        if isinstance(codec, (_ClassCodec, PydanticCodec, EnumCodec)) and import_name(t) is None:
            return _pickle_codec(t)
        return codec

    def to_plain(self, v: Any) -> Any:
        codec = self.choose(v)
        return {"t": codec.tag, "v": codec.to_plain(v)}

    def from_plain(self, p: Any) -> Any:
        return _codec_for_tag(p["t"]).from_plain(p["v"])


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

_NONE = NoneCodec("none")
_STR = StrCodec("str")
_ANY = _AnyCodec("any")
_SIMPLE: dict[str, Codec] = {
    "none": _NONE,
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
_PICKLE_ANY = PickleCodec("object", object)
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


def _codec_for(tp: Any) -> Codec:
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
        return _OptionalCodec(sub(info.args[0]))
    if kind == "union":
        return _UnionCodec(tuple(sub(a) for a in info.args))
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
    if kind == "dataframe":
        return DataFrameCodec("dataframe", info.tp)
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


def _codec_for_tag(tag: str) -> Codec:
    """The codec a tag in a stored Any value names."""
    codec = _BY_TAG.get(tag)
    if codec is not None:
        return codec
    kind, _, name = tag.partition(":")
    if kind == "pickle":
        return _PICKLE_ANY
    if kind in ("enum", "dataclass", "namedtuple", "pydantic"):
        return _codec_for(import_class(name))
    if tag == "dataframe":
        return _codec_for(import_class("pandas.DataFrame"))
    if tag == "ndarray":
        return _codec_for(import_class("numpy.ndarray"))
    if tag in ("file", "directory"):
        return _codec_for(File if tag == "file" else Directory)
    raise ValueError(f"unknown type tag {tag!r} in a stored value")

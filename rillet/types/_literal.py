"""Value <-> Literal: the stored form of a Python value of a declared type, and its
content hash.

The declared type drives both ways: a codec built once per type turns a value
into a JSON-able "plain" form (or a blob in its own format) and rebuilds it. Leaf
codecs live in ``_codecs.py``; containers, classes, Optional, Union and Any in
``_composite.py``. Importing this module imports no heavy library, and it never
touches a store.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Callable
from typing import Any

from rillet.errors import StoreError, TypeMismatchError

from ._codecs import (
    BinaryCodec,
    Codec,
    PickleFallbackWarning,
    blob_header,
    canonical_json,
    json_header,
    sha256_hex,
    show,
)
from ._composite import (
    NONE,
    PICKLE_ANY,
    AnyCodec,
    OptionalCodec,
    UnionCodec,
    codec_for,
    codec_for_tag,
)
from ._files import HashWriter

__all__ = [
    "Literal",
    "PickleFallbackWarning",
    "blob_matches",
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
    ``tag`` is that type tag: with ``format`` and ``inline`` it rebuilds what the hash
    starts with, so that bytes read back can be checked against ``hash``
    (:func:`blob_matches`).
    """

    hash: str
    format: str
    inline: Any = None
    blob: bytes | None = dataclasses.field(default=None, repr=False)
    size: int = 0
    tag: str = ""


# -- public functions ---------------------------------------------------------------------


def encode(value: Any, tp: Any, *, inline_limit: int = 4096) -> Literal:
    """Encode ``value`` of declared type ``tp``; TypeMismatchError when it is not one."""
    fast = _fast_scalar(value, tp)
    if fast is not None:
        header, data = fast
        return _json_literal(value, data, sha256_hex(header, data), inline_limit,
                             header[:-1].decode("ascii"))
    store = _storage(codec_for(tp), value)
    if isinstance(store, BinaryCodec):
        meta = store.meta(value)
        buffer = io.BytesIO()
        store.write(value, buffer)
        blob = buffer.getvalue()
        digest = sha256_hex(blob_header(store.tag, meta), blob)
        return Literal(hash=digest, format=store.fmt, inline=meta, blob=blob, size=len(blob),
                       tag=store.tag)
    plain = store.to_plain(value)
    data = _dump(plain, store, value)
    return _json_literal(plain, data, sha256_hex(json_header(store.tag), data), inline_limit,
                         store.tag)


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
    codec = codec_for(tp)
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


# The tag of a blob format that only one type stores (legacy records have no tag).
_FORMAT_TAGS = {"parquet": "dataframe", "npy": "ndarray", "file": "file", "dir": "directory"}


def blob_matches(digest: str, lit_format: str, tag: str | None, meta: Any, data: bytes,
                 tp: Any = None) -> bool:
    """Whether ``data``, the blob of a literal of ``lit_format`` whose metadata is ``meta``,
    hashes to ``digest``: one sha256 of bytes already in memory.

    ``tag`` is the type tag recorded with the literal. Records written before tags
    were kept have none: then the tags the format and the declared type ``tp`` allow
    are tried, and bytes that none of them explains do not match.
    """
    return any(sha256_hex(header, data) == digest
               for header in blob_headers(lit_format, tag, meta, tp))


def blob_headers(lit_format: str, tag: str | None, meta: Any, tp: Any = None) -> list[bytes]:
    """What the digest of a blob of ``lit_format`` may start with: the header of its
    recorded ``tag``, or (a record without one) of each tag the format and ``tp`` allow.
    A reader that streams the bytes hashes them after one of these."""
    tags = [tag] if tag else _candidate_tags(lit_format, tp)
    return [json_header(t) if lit_format == "json" else blob_header(t, meta) for t in tags]


def _candidate_tags(lit_format: str, tp: Any) -> list[str]:
    if lit_format in _FORMAT_TAGS:
        return [_FORMAT_TAGS[lit_format]]
    if tp is None:
        return []
    try:
        codec = codec_for(tp)
    except Exception:
        return []
    out: list[str] = []
    stack = [codec]
    while stack:
        c = stack.pop()
        out.append(c.tag)
        if isinstance(c, OptionalCodec):
            stack.append(c.inner)
        elif isinstance(c, UnionCodec):
            stack.extend(c.options)
    return out


def content_hash(value: Any, tp: Any) -> str:
    """The hash ``encode(value, tp)`` gives, without keeping the encoded bytes."""
    fast = _fast_scalar(value, tp)
    if fast is not None:
        return sha256_hex(*fast)
    store = _storage(codec_for(tp), value)
    if isinstance(store, BinaryCodec):
        writer = HashWriter(blob_header(store.tag, store.meta(value)))
        store.write(value, writer)
        return writer.hexdigest()
    data = _dump(store.to_plain(value), store, value)
    return sha256_hex(json_header(store.tag), data)


# -- helpers of the public functions ------------------------------------------------------


def _json_literal(plain: Any, data: bytes, digest: str, inline_limit: int, tag: str) -> Literal:
    if len(data) <= inline_limit:
        return Literal(hash=digest, format="json", inline=plain, blob=None, size=len(data),
                       tag=tag)
    return Literal(hash=digest, format="json", inline=None, blob=data, size=len(data), tag=tag)


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
    while isinstance(codec, OptionalCodec):
        if value is None:
            return NONE
        codec = codec.inner
    if isinstance(codec, (UnionCodec, AnyCodec)):
        inner: Codec = codec
        while isinstance(inner, (UnionCodec, AnyCodec, OptionalCodec)):
            if isinstance(inner, OptionalCodec):
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
    if isinstance(codec, OptionalCodec):
        return _binary_for(codec.inner, fmt)
    if isinstance(codec, UnionCodec):
        for option in codec.options:
            found = _binary_for(option, fmt)
            if found is not None:
                return found
        return None
    if isinstance(codec, AnyCodec):
        tag = {"parquet": "dataframe", "npy": "ndarray", "file": "file", "dir": "directory"}
        default = codec_for_tag(tag[fmt]) if fmt in tag else PICKLE_ANY
        return default if isinstance(default, BinaryCodec) and default.fmt == fmt else None
    return None

"""Containers built from stored values without decoding them: the literal of ``[a, b]``
or ``{"k": a}`` whose items are stored values (their bytes, as read and checked by the
caller), and the elements of a stored list, each kept in its stored ("plain") form.

So a process that only plans (the engine) hashes, stores and splits values holding
pickles without unpickling them; the process that runs the task decodes them
(:func:`decode_element`). Only the shapes whose nested form is the stored form are
built here (list, tuple, NamedTuple, dict with str keys, of items whose stored type
tag is the item's); for any other the functions return None and the caller decodes. This module
never touches a store.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from rillet.errors import TypeMismatchError

from ._codecs import BinaryCodec, Codec, blob_header, canonical_json, json_header, sha256_hex
from ._composite import (
    NONE,
    AnyCodec,
    OptionalCodec,
    UnionCodec,
    _ClassCodec,
    _DictCodec,
    _ListCodec,
    _TupleCodec,
    codec_for,
)
from ._literal import Literal, _json_literal, encode

__all__ = ["Stored", "compose", "decode_element", "extract", "stored_elements"]

_STR_TAG = "str"


class Stored:
    """A stored value as the caller found it: its format, type tag, inline JSON
    (``inline``) and a loader of its checked bytes (None when it has none)."""

    __slots__ = ("fmt", "inline", "loader", "tag")

    def __init__(self, fmt: str, tag: str | None, inline: Any,
                 loader: Callable[[], bytes] | None) -> None:
        self.fmt = fmt
        self.tag = tag
        self.inline = inline
        self.loader = loader


_NO_PLAIN: Any = object()


def nested_plain(stored: Stored, codec: Codec) -> Any:
    """The plain form ``codec.to_plain`` gives the value of ``stored`` (the form it
    takes nested in a container), or ``_NO_PLAIN`` when it cannot be told apart
    without decoding (no tag recorded, another type)."""
    tag = stored.tag
    if not tag:
        return _NO_PLAIN
    while isinstance(codec, OptionalCodec):
        if tag == NONE.tag:
            return None
        codec = codec.inner
    if tag != codec.tag:
        return _NO_PLAIN
    if isinstance(codec, BinaryCodec):
        if stored.fmt != codec.fmt or stored.loader is None:
            return _NO_PLAIN
        plain = {"data": base64.b64encode(stored.loader()).decode("ascii")}
        if stored.inline is not None:
            plain["meta"] = stored.inline
        return plain
    if stored.fmt != "json":
        return _NO_PLAIN
    if stored.loader is not None and stored.inline is None:
        return json.loads(stored.loader())
    return stored.inline


def compose(tp: Any, keys: Sequence[str] | None, parts: Sequence[Any]) -> Literal | None:
    """The literal of the list, tuple, NamedTuple (``keys`` None; a NamedTuple's items
    are its fields in order) or str-keyed dict of type ``tp`` whose items are
    ``parts``: each an object, or a :class:`Stored` value that is not decoded. The
    same hash as ``encode`` of the decoded container; None for a shape this cannot
    build (then decode and encode)."""
    codec = codec_for(tp)
    items: Sequence[Codec]
    if keys is None and isinstance(codec, _ListCodec):
        items = [codec.item] * len(parts)
    elif keys is None and isinstance(codec, _TupleCodec):
        found = codec._codecs(len(parts))
        if found is None:
            return None
        items = found
    elif keys is not None and isinstance(codec, _DictCodec) and codec.key.tag == _STR_TAG:
        items = [codec.value] * len(parts)
    elif (keys is None and isinstance(codec, _ClassCodec) and codec.namedtuple
          and len(parts) == len(codec.fields)):  # a task's named outputs passed whole
        keys = [name for name, _, _ in codec.fields]
        items = [c for _, c, _ in codec.fields]
    else:
        return None
    plains = []
    for item, part in zip(items, parts, strict=True):
        if isinstance(part, Stored):
            plain = nested_plain(part, item)
            if plain is _NO_PLAIN:
                return None
        else:
            plain = item.to_plain(part)
        plains.append(plain)
    whole: Any = plains if keys is None else dict(zip(keys, plains, strict=True))
    data = canonical_json(whole)
    return _json_literal(whole, data, sha256_hex(json_header(codec.tag), data), 4096,
                         codec.tag)


def stored_elements(stored: Stored, tp: Any) -> tuple[list[Any], bool] | None:
    """The elements of the stored list ``stored`` of type ``tp``, without decoding
    them: ``(objects, False)`` when they are their own plain form (ints, strings),
    else ``(plain forms, True)`` for :func:`decode_element`. None when the value is
    not a list stored as JSON under ``tp``'s own tag."""
    codec = codec_for(tp)
    if not isinstance(codec, _ListCodec) or stored.tag != codec.tag or stored.fmt != "json":
        return None
    plain = stored.inline
    if plain is None and stored.loader is not None:
        plain = json.loads(stored.loader())
    if not isinstance(plain, list):
        return None
    identity = codec.item.identity
    if identity is not None and all(type(p) is identity for p in plain):
        return plain, False
    return plain, True


def decode_element(plain: Any, tp: Any) -> Any:
    """An element of a list of type ``tp`` from its plain form (see
    :func:`stored_elements`): where a pickled element is unpickled."""
    codec = codec_for(tp)
    assert isinstance(codec, _ListCodec)
    try:
        return codec.item.from_plain(plain)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise TypeMismatchError(
            f"a stored element does not decode as {codec.item.tag}: {e!r}") from e


def extract(stored: Stored, src_tp: Any, path: Sequence[tuple[bool, Any]], tp: Any
            ) -> Literal | None:
    """The literal of the part of ``stored`` (of type ``src_tp``) that ``path`` names
    (``(is an attribute, name or key or index)`` steps), as type ``tp``, read from its
    stored form without decoding it: the same hash as encoding the decoded part. None
    where that cannot be told without decoding (then decode and follow the path)."""
    codec = codec_for(src_tp)
    while isinstance(codec, OptionalCodec):
        codec = codec.inner
    if stored.tag != codec.tag or stored.fmt != "json":
        return None
    plain = stored.inline
    if plain is None and stored.loader is not None:
        plain = json.loads(stored.loader())
    try:
        for attr, step in path:
            plain, codec = _step(plain, codec, attr, step)
    except (LookupError, TypeError, ValueError):
        return None
    target = codec_for(tp)
    if codec.tag != target.tag:
        return None
    while isinstance(target, OptionalCodec):
        if plain is None:
            return encode(None, tp)
        target = target.inner
    if isinstance(target, BinaryCodec):
        if not isinstance(plain, dict) or "data" not in plain:
            return None
        blob = base64.b64decode(plain["data"], validate=True)
        meta = plain.get("meta")
        return Literal(hash=sha256_hex(blob_header(target.tag, meta), blob), format=target.fmt,
                       inline=meta, blob=blob, size=len(blob), tag=target.tag)
    if isinstance(target, (UnionCodec, AnyCodec)):
        return None  # stored at the top level in the form the value picks
    data = canonical_json(plain)
    return _json_literal(plain, data, sha256_hex(json_header(target.tag), data), 4096,
                         target.tag)


def _step(plain: Any, codec: Codec, attr: bool, step: Any) -> tuple[Any, Codec]:
    """One step of :func:`extract`: the part's plain form and codec (LookupError or
    TypeError where it cannot be followed in the stored form)."""
    if isinstance(codec, _ClassCodec):
        fields = {name: c for name, c, _ in codec.fields}
        if attr and step in fields:
            return plain[step], fields[step]
        if not attr and codec.namedtuple and type(step) is int:
            name, c, _ = codec.fields[step]
            return plain[name], c
    elif not attr and isinstance(codec, _ListCodec) and type(step) is int:
        return plain[step], codec.item
    elif not attr and isinstance(codec, _TupleCodec) and type(step) is int:
        codecs = codec._codecs(len(plain))
        if codecs is not None:
            return plain[step], codecs[step]
    elif (not attr and isinstance(codec, _DictCodec) and codec.key.tag == _STR_TAG
          and type(step) is str):
        return plain[step], codec.value
    raise TypeError("not followed in the stored form")

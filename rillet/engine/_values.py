"""Values of a durable execution: each is encoded and hashed once, stored by
content hash, and decoded only when some task needs the Python object.

The engine asks this module for Values; it never encodes or hashes by itself.
Bytes go through the ArtifactStore protocol; records into the engine's batch.
Bytes read back are decoded only when they hash to the digest they are stored
under; otherwise (and when they are gone) loading raises ``ValueUnavailable``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rillet.engine._protocols import ArtifactStore, MetadataStore
from rillet.engine._records import ArtifactRecord
from rillet.errors import NotFound, StoreError, ValueUnavailable

# json.dumps(x, separators=...) builds an encoder per call; one, made once, writes the same
_compact = json.JSONEncoder(separators=(",", ":")).encode

_UNSET: Any = object()


class Value:
    """One stored value: its content hash, and the object when loaded."""

    __slots__ = ("_obj", "_values", "hash", "tp")

    def __init__(self, digest: str, tp: Any, obj: Any = _UNSET,
                 values: ValueStore | None = None) -> None:
        self.hash = digest
        self.tp = tp
        self._obj = obj
        self._values = values

    def get(self) -> Any:
        obj = self._obj
        if obj is _UNSET:
            if self._values is None:
                raise StoreError(f"value {self.hash[:12]} has no source to load from")
            obj = self._obj = self._values.load(self.hash, self.tp)
        return obj

    @property
    def held(self) -> bool:
        """Whether this process has the object (computed here, or loaded already)."""
        return self._obj is not _UNSET

    def sendable(self) -> Any:
        """What a job sends a task for this value: the object when this process has it,
        else a :class:`StoredInput` that the process running the task reads, checks
        and decodes (so this one never decodes a value it did not compute)."""
        if self._obj is not _UNSET or self._values is None:
            return self.get()
        return self._values.stored_input(self.hash, self.tp)

    def elements(self) -> list[Any]:
        """The elements of this list value as a job sends a map's mapped input: objects
        when this process has the list (or they are their own stored form, ints or
        strings), else :class:`StoredElement` references that the worker decodes."""
        if self._obj is not _UNSET or self._values is None:
            return self.get()  # type: ignore[no-any-return]
        found = self._values.stored_elements(self.hash, self.tp)
        return self.get() if found is None else found  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Value({self.hash[:12]})"


class ValueStore:
    """Encodes outputs into artifact records and loads stored values lazily."""

    def __init__(self, store: MetadataStore, artifacts: ArtifactStore) -> None:
        self.store = store
        self.artifacts = artifacts
        self.pending: list[ArtifactRecord] = []
        self._known: set[str] = set()
        self._records: dict[str, ArtifactRecord] = {}
        # digest -> (uri, obj, tp, bytes): what to write again (bytes when there is no obj)
        self._unconfirmed: dict[str, tuple[str, Any, Any, bytes | None]] = {}

    def put(self, obj: Any, tp: Any) -> Value:
        """Encode ``obj`` once, write its bytes if large, queue its record."""
        from rillet.types._literal import encode

        lit = encode(obj, tp)
        self._keep(lit, tp, obj)
        return Value(lit.hash, tp, obj)

    def compose(self, tp: Any, keys: list[str] | None, items: list[Any]) -> Value | None:
        """The list, tuple or str-keyed dict of type ``tp`` whose items are ``items``
        (objects, or Values), stored without decoding the Values this process does not
        hold (their checked bytes are nested as they are stored): same hash as decoding
        and ``put``. None for a shape this cannot build. The value is a reference: a
        worker decodes it."""
        from rillet.types._compose import compose

        parts = [(v.get() if v.held else self._stored(v.hash)) if isinstance(v, Value) else v
                 for v in items]
        lit = compose(tp, keys, parts)
        if lit is None:
            return None
        self._keep(lit, tp, _UNSET)
        return Value(lit.hash, tp, values=self)

    def at_path(self, value: Value, path: tuple[Any, ...], tp: Any) -> Value | None:
        """The part of ``value`` (not held here) that ``path`` names (``out.field[0]``), as
        type ``tp``, stored from the checked stored form of ``value`` without decoding
        it: same hash as decoding and following the path. None where the path cannot be
        followed in the stored form. The part is a reference: a worker decodes it."""
        from rillet.compiler._access import Attr
        from rillet.types._compose import extract

        steps = [(isinstance(step, Attr), step) for step in path]
        lit = extract(self._stored(value.hash), value.tp, steps, tp)
        if lit is None:
            return None
        self._keep(lit, tp, _UNSET)
        return Value(lit.hash, tp, values=self)

    def built_apart(self, parts: list[Value], build: Callable[[list[Any]], Any],
                    tp: Any) -> Value:
        """``build`` of the objects of ``parts``, as type ``tp``, decoded, built and
        encoded in a forked child process (``engine._apart``): for a literal or path that
        :meth:`compose` and :meth:`at_path` cannot build from stored forms. This process
        reads and checks the bytes of the parts it does not hold, and never decodes them.
        Same hash as decoding here and ``put``; the value is a reference: a worker
        decodes it."""
        from rillet.engine._apart import encoded_apart
        from rillet.types._literal import encode

        sources: list[tuple[Any, tuple[ArtifactRecord, bytes | None, Any] | None]] = []
        for v in parts:
            if v.held:
                sources.append((v.get(), None))
            else:
                record = self._loadable(v.hash)
                data = verified(record, self.artifacts, v.tp) if record.uri is not None \
                    else None
                sources.append((_UNSET, (record, data, v.tp)))

        def make() -> Any:  # in the child
            objs = [obj if read is None else _decoded_read(*read) for obj, read in sources]
            return encode(build(objs), tp)

        lit = encoded_apart(make)
        self._keep(lit, tp, _UNSET)
        return Value(lit.hash, tp, values=self)

    def stored_elements(self, digest: str, tp: Any) -> list[Any] | None:
        """The elements of the stored list ``digest`` (checked, not decoded): objects
        when they are their own stored form, else :class:`StoredElement` references;
        None when the list is not stored as one (then decode it)."""
        from rillet.types._compose import stored_elements

        found = stored_elements(self._stored(digest), tp)
        if found is None:
            return None
        plains, refs = found
        return [StoredElement(p, tp) for p in plains] if refs else plains

    def _stored(self, digest: str) -> Any:
        """The stored form of ``digest`` for ``types._compose``: bytes checked on read."""
        from rillet.types._compose import Stored

        record = self._loadable(digest)
        inline = json.loads(record.inline) if record.inline is not None else None
        loader = None
        if record.uri is not None:
            artifacts = self.artifacts

            def loader() -> bytes:
                return verified(record, artifacts)

        return Stored(record.format, record.tag, inline, loader)

    def _keep(self, lit: Any, tp: Any, obj: Any) -> None:
        """Write the bytes of ``lit`` (when large) and queue its record, once per digest."""
        from rillet.types._descriptor import describe

        digest = lit.hash
        if digest not in self._known:
            self._known.add(digest)
            uri = None
            if lit.blob is not None:
                uri = self.artifacts.put(digest, lit.blob)
                self._unconfirmed[digest] = (uri, obj, tp,
                                             lit.blob if obj is _UNSET else None)
            inline = None
            if lit.blob is None or lit.inline is not None:  # File/Directory keep their name
                inline = _compact(lit.inline)
            record = ArtifactRecord(
                hash=digest, format=lit.format, type=describe(tp), size=lit.size,
                uri=uri, inline=inline, created_at=time.time(), tag=lit.tag,
            )
            self._records[digest] = record
            self.pending.append(record)

    def take_pending(self) -> list[ArtifactRecord]:
        out, self.pending = self.pending, []
        return out

    def confirm_stored(self) -> None:
        """Call once the records taken by :meth:`take_pending` are committed: bytes that
        a concurrent ``rillet prune`` removed between our write (or our finding them
        there) and our commit are written again. Prune removes bytes inside its own
        write transaction, so after our commit it can no longer take them."""
        if not self._unconfirmed:
            return
        unconfirmed, self._unconfirmed = self._unconfirmed, {}
        for digest, (uri, obj, tp, kept) in unconfirmed.items():
            if not self.artifacts.exists(uri):
                from rillet.types._literal import encode

                blob = kept if kept is not None else encode(obj, tp).blob
                assert blob is not None
                self.artifacts.put(digest, blob)

    def ref(self, digest: str, tp: Any) -> Value:
        """A value known by hash only; loaded from the store on first ``get()``."""
        return Value(digest, tp, values=self)

    def stored_input(self, digest: str, tp: Any) -> StoredInput:
        """A reference to the stored value of ``digest`` (recorded, not pruned) that
        another process loads with the same checks as :meth:`load`."""
        record = self._loadable(digest)
        return StoredInput(record, self.artifacts, tp)

    def prefetch(self, digests: list[str]) -> None:
        """Read the records of ``digests`` not known yet, in one query."""
        missing = [d for d in digests if d not in self._records]
        if missing:
            self._records.update(self.store.artifacts(missing))

    def usable(self, digest: str, tp: Any) -> bool:
        """Whether the value of ``digest`` can be loaded (see :meth:`unusable`)."""
        return self.unusable(digest, tp) is None

    def unusable(self, digest: str, tp: Any, *, remove: bool = True) -> str | None:
        """Why the value of ``digest`` cannot be loaded ("missing", "pruned", "corrupt"),
        or None when it is recorded, not pruned, and its bytes (if it has any) are there
        and hash to ``digest``. A corrupt value's bytes are removed (unless ``remove`` is
        False: a read-only caller), so that computing it again writes them anew. Nothing
        is decoded."""
        try:
            record = self.record(digest)
            if record.purged:
                return "pruned"
            if record.uri is not None:
                self.verified(record, tp)
            return None
        except ValueUnavailable as exc:
            if remove:
                self.discard(exc)
            return exc.reason

    def record(self, digest: str) -> ArtifactRecord:
        """The artifact record of ``digest``; ``ValueUnavailable`` when there is none."""
        record = self._records.get(digest)
        if record is None:
            found = self.store.artifacts([digest])
            if digest not in found:
                raise ValueUnavailable(f"artifact {digest[:12]} is not in the store",
                                       digest=digest, reason="missing")
            record = self._records[digest] = found[digest]
        return record

    def load(self, digest: str, tp: Any, *, unpickle: bool = True) -> Any:
        """The value of ``digest`` as declared type ``tp``. Its bytes are checked against
        ``digest`` before they are decoded; ``unpickle=False`` (read-only commands)
        refuses pickled values instead of loading them."""
        record = self._loadable(digest)
        if unpickle:
            return decoded(record, self.artifacts, tp)
        from rillet.types._codecs import no_unpickling

        with no_unpickling():
            return decoded(record, self.artifacts, tp)

    def _loadable(self, digest: str) -> ArtifactRecord:
        record = self.record(digest)
        if record.purged:
            raise ValueUnavailable(
                f"artifact {digest[:12]} was pruned: its value is no longer stored "
                "(its record and lineage remain)", digest=digest, uri=record.uri,
                reason="pruned")
        return record

    def verified(self, record: ArtifactRecord, tp: Any = None) -> bytes:
        """The bytes of ``record``, read and checked against its digest."""
        return verified(record, self.artifacts, tp)

    def discard(self, exc: ValueUnavailable) -> None:
        """Forget a value found corrupt, and remove its bytes, so that the node that
        computes it again writes them anew (a put finds existing bytes and keeps them)."""
        self._records.pop(exc.digest, None)
        self._known.discard(exc.digest)
        if exc.reason == "corrupt" and exc.uri is not None:
            try:
                self.artifacts.delete(exc.uri)
            except (OSError, StoreError):
                pass


class StoredInput:
    """A stored value sent by reference to the process that runs a task (a worker):
    there its bytes are read, checked against its digest and only then decoded, so the
    engine's process never decodes (never unpickles) a value it did not compute, such
    as a recovered input or the output of a cached or recovered node."""

    __slots__ = ("artifacts", "record", "tp")

    def __init__(self, record: ArtifactRecord, artifacts: ArtifactStore, tp: Any) -> None:
        self.record = record
        self.artifacts = artifacts
        self.tp = tp

    def __getstate__(self) -> tuple[ArtifactRecord, ArtifactStore, Any]:
        return self.record, self.artifacts, self.tp

    def __setstate__(self, state: tuple[ArtifactRecord, ArtifactStore, Any]) -> None:
        self.record, self.artifacts, self.tp = state

    def load(self) -> Any:
        return decoded(self.record, self.artifacts, self.tp)

    def __repr__(self) -> str:
        return f"StoredInput({self.record.hash[:12]})"


class StoredElement:
    """One element of a stored list sent by reference to the worker that runs a map:
    its stored (plain) form, checked where the engine read the list's bytes, decoded
    (a pickled element unpickled) only in the worker."""

    __slots__ = ("plain", "tp")

    def __init__(self, plain: Any, tp: Any) -> None:
        self.plain = plain
        self.tp = tp  # the list's type

    def __getstate__(self) -> tuple[Any, Any]:
        return self.plain, self.tp

    def __setstate__(self, state: tuple[Any, Any]) -> None:
        self.plain, self.tp = state

    def load(self) -> Any:
        from rillet.types._compose import decode_element

        return decode_element(self.plain, self.tp)

    def __repr__(self) -> str:
        return "StoredElement()"


def by_reference(value: Any) -> bool:
    """Whether ``value`` (an input of a job) is sent by reference: a :class:`StoredInput`,
    or a mapped input whose elements are :class:`StoredElement`."""
    return isinstance(value, StoredInput) or (
        type(value) is list and bool(value) and isinstance(value[0], StoredElement))


def loaded(value: Any) -> Any:
    """``value``, or what it refers to when it is sent by reference."""
    if isinstance(value, StoredInput):
        return value.load()
    if type(value) is list and value and isinstance(value[0], StoredElement):
        return [e.load() for e in value]
    return value


def decoded(record: ArtifactRecord, artifacts: ArtifactStore, tp: Any) -> Any:
    """The value of ``record`` as declared type ``tp``; its bytes (when it has any)
    are read and checked against its digest before anything decodes them."""
    from rillet.types._literal import decode

    inline = json.loads(record.inline) if record.inline is not None else None
    loader = (lambda: verified(record, artifacts, tp)) if record.uri is not None else None
    return decode(record.format, inline, loader, tp)


def _decoded_read(record: ArtifactRecord, data: bytes | None, tp: Any) -> Any:
    """The value of ``record`` from its bytes ``data``, read and checked already."""
    from rillet.types._literal import decode

    inline = json.loads(record.inline) if record.inline is not None else None
    return decode(record.format, inline, (lambda: data) if data is not None else None, tp)


def verified(record: ArtifactRecord, artifacts: ArtifactStore, tp: Any = None) -> bytes:
    """The bytes of ``record``, read and checked against its digest."""
    from rillet.types._literal import blob_matches

    uri = record.uri
    assert uri is not None
    try:
        data = artifacts.get(uri)
    except NotFound:
        raise ValueUnavailable(
            f"artifact {record.hash[:12]} is missing: no bytes at {uri!r}",
            digest=record.hash, uri=uri, reason="missing") from None
    meta = json.loads(record.inline) if record.inline is not None else None
    if not blob_matches(record.hash, record.format, record.tag, meta, data, tp):
        raise ValueUnavailable(
            f"artifact {record.hash[:12]} is corrupt: the bytes at {uri!r} do not hash "
            "to its digest (not decoded)", digest=record.hash, uri=uri, reason="corrupt")
    return data

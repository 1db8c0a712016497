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

_UNSET: Any = object()


class Value:
    """One stored value: its content hash, and the object when loaded."""

    __slots__ = ("_obj", "_source", "hash", "tp")

    def __init__(self, digest: str, tp: Any, obj: Any = _UNSET, source: Any = None) -> None:
        self.hash = digest
        self.tp = tp
        self._obj = obj
        self._source: Callable[[], Any] | None = source

    def get(self) -> Any:
        obj = self._obj
        if obj is _UNSET:
            if self._source is None:
                raise StoreError(f"value {self.hash[:12]} has no source to load from")
            obj = self._obj = self._source()
        return obj

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
        self._unconfirmed: dict[str, tuple[str, Any, Any]] = {}  # digest -> (uri, obj, tp)

    def put(self, obj: Any, tp: Any) -> Value:
        """Encode ``obj`` once, write its bytes if large, queue its record."""
        from rillet.types._descriptor import describe
        from rillet.types._literal import encode

        lit = encode(obj, tp)
        digest = lit.hash
        if digest not in self._known:
            self._known.add(digest)
            uri = None
            if lit.blob is not None:
                uri = self.artifacts.put(digest, lit.blob)
                self._unconfirmed[digest] = (uri, obj, tp)
            inline = None
            if lit.blob is None or lit.inline is not None:  # File/Directory keep their name
                inline = json.dumps(lit.inline, separators=(",", ":"))
            record = ArtifactRecord(
                hash=digest, format=lit.format, type=describe(tp), size=lit.size,
                uri=uri, inline=inline, created_at=time.time(), tag=lit.tag,
            )
            self._records[digest] = record
            self.pending.append(record)
        return Value(digest, tp, obj)

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
        for digest, (uri, obj, tp) in unconfirmed.items():
            if not self.artifacts.exists(uri):
                from rillet.types._literal import encode

                blob = encode(obj, tp).blob
                assert blob is not None
                self.artifacts.put(digest, blob)

    def ref(self, digest: str, tp: Any) -> Value:
        """A value known by hash only; loaded from the store on first ``get()``."""
        return Value(digest, tp, source=lambda: self.load(digest, tp))

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
        from rillet.types._literal import decode

        record = self.record(digest)
        if record.purged:
            raise ValueUnavailable(
                f"artifact {digest[:12]} was pruned: its value is no longer stored "
                "(its record and lineage remain)", digest=digest, uri=record.uri,
                reason="pruned")
        inline = json.loads(record.inline) if record.inline is not None else None
        uri = record.uri
        loader = (lambda: self.verified(record, tp)) if uri is not None else None
        if unpickle:
            return decode(record.format, inline, loader, tp)
        from rillet.types._codecs import no_unpickling

        with no_unpickling():
            return decode(record.format, inline, loader, tp)

    def verified(self, record: ArtifactRecord, tp: Any = None) -> bytes:
        """The bytes of ``record``, read and checked against its digest."""
        from rillet.types._literal import blob_matches

        uri = record.uri
        assert uri is not None
        try:
            data = self.artifacts.get(uri)
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

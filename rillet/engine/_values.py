"""Values of a durable execution: each is encoded and hashed once, stored by
content hash, and decoded only when some task needs the Python object.

The engine asks this module for Values; it never encodes or hashes by itself.
Bytes go through the ArtifactStore protocol; records into the engine's batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rillet.engine._protocols import ArtifactStore, MetadataStore
from rillet.engine._records import ArtifactRecord
from rillet.errors import StoreError

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
                uri=uri, inline=inline, created_at=time.time(),
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

    def load(self, digest: str, tp: Any) -> Any:
        from rillet.types._literal import decode

        record = self._records.get(digest)
        if record is None:
            found = self.store.artifacts([digest])
            if digest not in found:
                raise StoreError(f"artifact {digest[:12]} is not in the store")
            record = self._records[digest] = found[digest]
        if record.purged:
            raise StoreError(
                f"artifact {digest[:12]} was pruned: its value is no longer stored "
                "(its record and lineage remain)"
            )
        inline = json.loads(record.inline) if record.inline is not None else None
        uri = record.uri
        loader = (lambda: self.artifacts.get(uri)) if uri is not None else None
        return decode(record.format, inline, loader, tp)

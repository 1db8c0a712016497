"""Lineage, the cache and artifact records, as the CLI and the API serve them."""

from __future__ import annotations

from typing import Any

from rillet.engine._lineage import resolve_scoped, walk
from rillet.engine._records import ArtifactRecord, CacheEntry
from rillet.errors import Conflict, NotFound
from rillet.services._shapes import ArtifactShape, CacheEntryShape, LineageShape
from rillet.services._values import shown_value
from rillet.store._instance import Instance


def lineage(inst: Instance, ref: str, direction: str = "upstream") -> LineageShape:
    """The lineage tree from ``ref`` (an execution id, EXEC:NODE or a hash prefix)."""
    if direction not in ("upstream", "downstream"):
        raise ValueError(f"direction must be 'upstream' or 'downstream', not {direction!r}")
    hashes, within = resolve_scoped(inst.store, ref)
    tree = walk(inst.store, hashes, upstream=direction == "upstream", within=within)
    return {"ref": ref, "direction": direction, "artifacts": tree}


def task_names(inst: Instance, task: str | None) -> list[str | None]:
    """The tasks named ``task``: a full ``module:qualname`` or just the function's name.
    None means every task; an unknown name matches nothing."""
    if task is None or ":" in task:
        return [task]
    known = sorted({e.task for e in inst.store.cache_list(None)})
    if task in known:
        return [task]
    return [n for n in known if n.rsplit(":", 1)[-1] == task]


def cache_shape(e: CacheEntry, records: dict[str, ArtifactRecord],
                root: str | None) -> CacheEntryShape:
    return {"key": e.key, "task": e.task, "cache_version": e.cache_version,
            "execution_id": e.execution_id, "node_id": e.node_id, "outputs": e.outputs,
            "created_at": e.created_at, "last_used_at": e.last_used_at,
            "output_values": {name: shown_value(records.get(d), d, root)
                              for name, d in e.outputs.items()}}


def cache_list(inst: Instance, task: str | None = None) -> list[CacheEntryShape]:
    """Cache entries, each with its outputs shown from their records (never decoded)."""
    entries = [e for name in task_names(inst, task) for e in inst.store.cache_list(name)]
    records = inst.store.artifacts(
        list(dict.fromkeys(d for e in entries for d in e.outputs.values())))
    root = getattr(inst.artifacts, "root", None)
    return [cache_shape(e, records, root) for e in entries]


def cache_clear(inst: Instance, task: str | None = None) -> int:
    """Delete the entries of one task (or all); how many. An ambiguous short name is a
    ``Conflict``."""
    names = task_names(inst, task)
    if len(names) > 1:
        raise Conflict(f"'{task}' names several tasks ({', '.join(map(str, names))}); give "
                       "one as module:name")
    return sum(inst.store.cache_clear(name) for name in names)


def artifact(inst: Instance, digest: str) -> ArtifactShape:
    """The record of one stored value (its bytes are never decoded here)."""
    found = inst.store.artifacts([digest]).get(digest)
    if found is None:
        raise NotFound(f"no artifact {digest!r}")
    out: dict[str, Any] = {"hash": found.hash, "format": found.format, "type": found.type,
                           "size": found.size, "uri": found.uri, "inline": found.inline,
                           "created_at": found.created_at, "purged": found.purged}
    return out  # type: ignore[return-value]

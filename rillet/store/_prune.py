"""``rillet prune``: free stored values that nothing kept refers to.

First the values of executions older than AGE are purged (their records,
hashes and lineage stay; loading a purged value says so), and the compiled
workflows (``workflow_specs``) that no execution names any more are removed. Then least recently
used cache entries are evicted until the stored values fit in SIZE. A value
referenced by a kept execution (its nodes' inputs and outputs, its own, the kept
values of its maps' elements) or a kept cache entry is never removed.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rillet.store._sql import _chunks

if TYPE_CHECKING:
    from rillet.engine._protocols import ArtifactStore
    from rillet.store._home import Home
    from rillet.store._sql import SqlMetadataStore

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_AGE_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_age(text: str) -> float:
    """``30d`` -> seconds; units s, m, h, d, w."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"--older-than {text!r}: give an age like 30d, 12h, 10m or 0s")
    return float(match.group(1)) * _AGE_UNITS[match.group(2)]


def parse_size(text: str) -> int:
    """``500M`` / ``2G`` / ``2GiB`` -> bytes (K/M/G/T are powers of 1024)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"--max-size {text!r}: give a size like 500M or 2G")
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


@dataclass(slots=True)
class PruneReport:
    executions: int = 0
    purged_artifacts: int = 0
    evicted_entries: int = 0
    freed_bytes: int = 0
    dry_run: bool = False
    stored_bytes: int | None = None  # with max_size: what the stored files take after
    purged: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    # bytes freed (or that would be) by kind: values, work folders, checkpoints
    by_kind: dict[str, int] = field(default_factory=dict)
    kept_for_models: list[str] = field(default_factory=list)  # would go, but a model uses it
    # the orphan sweep: value files no record names, temp files of unfinished writes
    orphan_files: int = 0
    stale_temp_files: int = 0
    orphan_specs: int = 0  # workflow_specs rows no execution names (removed)


_OLD = "created_at < ? AND status NOT IN ('RUNNING', 'QUEUED')"  # executions older than AGE
# An execution's IR (revision 0018) that no execution names any more. An engine writes a
# spec in the batch that starts its execution (one transaction), and prune keeps writers
# of both tables out while it looks (``_lock_out_writers``): a spec being written, or one
# an execution starting now names again, is never taken.
_ORPHAN_SPEC = "hash NOT IN (SELECT spec_hash FROM executions)"


Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]

_PG_LOCK = ("LOCK TABLE artifacts, node_io, map_elements, executions, cache_entries, "
            "workflow_specs IN SHARE ROW EXCLUSIVE MODE")


def _execution_refs(query: Query, where: str, params: tuple[Any, ...]) -> set[str]:
    """The hashes that the executions matching ``where`` refer to: their nodes'
    lineage rows, their own inputs and outputs, and the values of their maps' elements
    kept for a recovery (``map_elements.output``)."""
    refs = {h for (h,) in query(
        f"SELECT DISTINCT hash FROM node_io WHERE execution_id {where}", params)}
    refs.update(h for (h,) in query(
        f"SELECT DISTINCT output FROM map_elements WHERE execution_id {where} "
        "AND output IS NOT NULL", params))
    for inputs, outputs in query(
            f"SELECT inputs, outputs FROM executions WHERE id {where}", params):
        refs.update(json.loads(inputs).values())
        if outputs:
            refs.update(json.loads(outputs).values())
    return refs


def prune_home(home: Home, *, older_than: float | None, max_size: int | None,
               dry_run: bool = False) -> PruneReport:
    """Prune the values of a home (see :func:`prune`), sweep its orphan files (value
    files no record names, stale temp files: see ``_orphans``), and with ``older_than``
    the working folders and checkpoints of the executions it prunes (the local ones
    and those in the artifact store, counted together)."""
    from rillet.store._orphans import sweep_orphans
    from rillet.store._prunefolders import old_folders, remove_folders

    cutoff = time.time() - older_than if older_than is not None else None
    report = prune(home.store, home.artifacts, older_than=older_than, max_size=max_size,
                   dry_run=dry_run)
    stored_checkpoints = report.by_kind.pop("stored checkpoints", 0)
    report.by_kind["values"] = report.freed_bytes
    orphans = sweep_orphans(home.store, home.artifacts, dry_run=dry_run)
    report.orphan_files, report.stale_temp_files = orphans.value_files, orphans.temp_files
    if orphans.value_files:  # shown only when there were some
        report.by_kind["orphan values"] = orphans.value_bytes
    if orphans.temp_files:
        report.by_kind["temp files"] = orphans.temp_bytes
    if cutoff is not None:  # the crashed ones are reaped (FAILED) by now
        work, checkpoints, logs = old_folders(home, cutoff)
        report.by_kind["work folders"] = remove_folders(work, dry_run)
        report.by_kind["checkpoints"] = remove_folders(checkpoints, dry_run) + stored_checkpoints
        report.by_kind["logs"] = remove_folders(logs, dry_run)
    return report


def prune(store: SqlMetadataStore, blobs: ArtifactStore, *, older_than: float | None,
          max_size: int | None, dry_run: bool = False) -> PruneReport:
    """Purge values older than ``older_than`` seconds that nothing kept refers to, then
    evict least recently used cache entries until the stored values fit ``max_size``.
    ``blobs`` holds the values' bytes.

    Running executions: one write transaction reads what is referenced and marks the
    values purged (a value recorded before it is referenced, so kept). Then short
    transactions, a chunk of values each, remove the bytes of those still marked
    purged: an execution that recorded a value again in between has unmarked it, and
    one that records it after its bytes went finds them gone once its commit is done
    and writes them again (``ValueStore.confirm_stored``). Removing bytes, the slow part
    of a large prune, never keeps writers waiting for more than one chunk. A prune
    killed between the two leaves purged values whose bytes are still there (space,
    never a dangling reference); the next prune removes them.
    """
    from rillet.engine._reaper import reap_running

    db = store.database
    _refuse_damaged(store)
    # An execution whose process died is FAILED, not RUNNING: old ones are pruned too.
    reap_running(store)
    report = PruneReport(dry_run=dry_run)
    with db.write() as c:
        _lock_out_writers(store, c)

        def query(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
            return list(c.execute(sql, params).fetchall())

        artifacts, doomed, evict = _plan(query, report, older_than, max_size)
        report.purged = sorted(doomed)
        report.evicted = evict
        report.purged_artifacts = len(doomed)
        report.evicted_entries = len(evict)
        report.freed_bytes = sum(artifacts[h][1] for h in doomed)
        # Values purged before whose bytes are still there (a prune killed between its
        # purge and its removal): removed now, with this prune's own.
        leftover = dict(query("SELECT hash, uri FROM artifacts WHERE purged AND uri IS NOT "
                              "NULL", ()))
        scopes = _old_scopes(query, time.time() - older_than) if older_than is not None \
            else []
        (specs, spec_bytes), = query(f"SELECT count(*), coalesce(sum(length(spec)), 0) "
                                     f"FROM workflow_specs WHERE {_ORPHAN_SPEC}", ())
        report.orphan_specs = int(specs)
        if specs:
            report.by_kind["workflow specs"] = int(spec_bytes)
        if dry_run:
            _remove_checkpoints(blobs, scopes, report, dry_run)
            _remove_live_logs(store, blobs, report, dry_run)
            return report
        if specs:
            c.execute(f"DELETE FROM workflow_specs WHERE {_ORPHAN_SPEC}")
        if evict:
            c.executemany('DELETE FROM cache_entries WHERE "key" = ?', [(k,) for k in evict])
        if doomed:
            c.executemany("UPDATE artifacts SET purged = ?, inline = NULL WHERE hash = ?",
                          [(True, h) for h in doomed])
    leftover.update((h, artifacts[h][0]) for h in doomed if artifacts[h][0])
    _remove_bytes(store, blobs, leftover)
    _remove_checkpoints(blobs, scopes, report, dry_run)
    _remove_live_logs(store, blobs, report, dry_run)
    return report


def _old_scopes(query: Query, cutoff: float) -> list[str]:
    """The checkpoint scopes of the executions older than ``cutoff`` that have ended,
    less those another (kept) execution shares: a recovery shares its parent's scope,
    and a kept recovery may still resume from its checkpoints."""
    old = {s for (s,) in query(f"SELECT DISTINCT checkpoint_scope FROM executions "
                               f"WHERE {_OLD}", (cutoff,)) if s}
    kept = {s for (s,) in query(f"SELECT DISTINCT checkpoint_scope FROM executions "
                                f"WHERE NOT ({_OLD})", (cutoff,))}
    return sorted(old - kept)


def _remove_checkpoints(blobs: ArtifactStore, scopes: list[str], report: PruneReport,
                        dry_run: bool) -> None:
    """The checkpoints of ``scopes`` that the artifact store keeps (a platform worker's,
    which a takeover on another machine reads), removed with their executions."""
    remove = getattr(blobs, "remove_checkpoints", None)
    if remove is not None and scopes:
        report.by_kind["stored checkpoints"] = sum(int(remove(s, dry_run)) for s in scopes)


def _remove_live_logs(store: SqlMetadataStore, blobs: ArtifactStore, report: PruneReport,
                      dry_run: bool) -> None:
    """The live logs a platform worker shipped for executions that have ended (or are
    gone): a worker removes its own when an execution leaves it, so these are those of
    a worker that died. Whatever the age: once ended, the recorded logs hold them."""
    listed, remove = getattr(blobs, "live_logs", None), getattr(blobs, "remove_live_log", None)
    if listed is None or remove is None:
        return
    ids: list[str] = listed()
    if not ids:
        return
    live: set[str] = set()
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        live.update(i for (i,) in store.database.read(
            f"SELECT id FROM executions WHERE id IN ({marks}) AND status IN "
            "('RUNNING', 'QUEUED')", tuple(chunk)))
    freed = sum(int(remove(i, dry_run)) for i in ids if i not in live)
    if freed:
        report.by_kind["live logs"] = freed


def _remove_bytes(store: SqlMetadataStore, blobs: ArtifactStore, uris: dict[str, str]) -> None:
    """Remove the bytes of the values in ``uris`` (hash -> uri) that are still marked
    purged, a short write transaction per chunk."""
    for chunk in _chunks(sorted(uris)):
        with store.database.write() as c:
            _lock_out_writers(store, c)
            marks = ", ".join("?" * len(chunk))
            still = c.execute(f"SELECT hash FROM artifacts WHERE purged AND hash IN ({marks})",
                              chunk).fetchall()
            for (h,) in still:
                blobs.delete(uris[h])


def _refuse_damaged(store: SqlMetadataStore) -> None:
    """A damaged SQLite file may read as fewer references than it holds: prune, which
    deletes what nothing references, refuses it (as every command refuses a foreign or
    corrupt home) before it reads or writes anything."""
    if not store.url.startswith("sqlite"):
        return
    from rillet.errors import StoreError

    try:
        rows = store.database.read("PRAGMA quick_check")
    except StoreError as exc:
        raise StoreError(f"the metadata store at {store.url} is damaged ({exc}); prune "
                         "refuses to delete anything. Restore it from a backup") from None
    found = [str(r[0]) for r in rows]
    if found != ["ok"]:
        raise StoreError(f"the metadata store at {store.url} is damaged (quick_check: "
                         f"{'; '.join(found[:3])}); prune refuses to delete anything. "
                         "Restore it from a backup")


def _lock_out_writers(store: SqlMetadataStore, c: Any) -> None:
    """On SQLite the write transaction (BEGIN IMMEDIATE) keeps other writers out; on
    PostgreSQL these locks do, letting readers in."""
    if store.url.startswith("postgresql"):
        c.execute(_PG_LOCK)


def _plan(query: Query, report: PruneReport, older_than: float | None,
          max_size: int | None) -> tuple[dict[str, tuple[Any, int, float]], set[str], list[str]]:
    """(unpurged values by hash: (uri, size, created_at), the hashes to purge, the
    cache entries to evict), from the records as ``query`` reads them."""
    now = time.time()
    artifacts = {h: (uri, int(size), created) for h, uri, size, created in
                 query("SELECT hash, uri, size, created_at FROM artifacts WHERE NOT purged", ())}
    # Cache entries, least recently used first: key -> hashes of its outputs.
    by_entry = {key: set(json.loads(outputs).values()) for key, outputs in query(
        'SELECT "key", outputs FROM cache_entries ORDER BY last_used_at ASC', ())}
    entry_refs: set[str] = set().union(*by_entry.values())
    # A value that a registered model version uses is never removed.
    model_refs = {h for (h,) in query("SELECT DISTINCT hash FROM model_versions", ())}
    doomed: set[str] = set()
    if older_than is None:
        kept_exec_refs = _execution_refs(query, "IS NOT NULL", ())
    else:
        cutoff = (now - older_than,)
        old = f"IN (SELECT id FROM executions WHERE {_OLD})"
        kept_exec_refs = _execution_refs(query, f"NOT {old}", cutoff)
        old_refs = _execution_refs(query, old, cutoff)
        any_refs = kept_exec_refs | old_refs
        referenced = kept_exec_refs | entry_refs
        for h, (_, _, created) in artifacts.items():
            if h in referenced:
                continue
            if h in old_refs or (created < cutoff[0] and h not in any_refs):
                doomed.add(h)
        report.kept_for_models = sorted(doomed & model_refs)
        doomed -= model_refs
        report.executions = query(f"SELECT count(*) FROM executions WHERE {_OLD}",
                                  cutoff)[0][0]
    evict: list[str] = []
    if max_size is not None:
        stored = sum(size for h, (uri, size, _) in artifacts.items()
                     if uri and h not in doomed)
        holders = Counter(h for refs in by_entry.values() for h in refs)  # entries per value
        for key, outputs in by_entry.items():
            if stored <= max_size:
                break
            refs = outputs - kept_exec_refs - model_refs
            if not any(artifacts[h][0] and h not in doomed for h in refs if h in artifacts):
                continue  # evicting it frees no stored file: a kept execution holds them
            evict.append(key)
            holders.subtract(outputs)
            for h in refs:
                if holders[h] <= 0 and h in artifacts and h not in doomed:
                    doomed.add(h)
                    if artifacts[h][0]:
                        stored -= artifacts[h][1]
        report.stored_bytes = stored
    return artifacts, doomed, evict

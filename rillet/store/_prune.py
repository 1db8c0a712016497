"""``rillet prune``: free stored values that nothing kept refers to.

First the values of executions older than AGE are purged (their records,
hashes and lineage stay; loading a purged value says so). Then least recently
used cache entries are evicted until the stored values fit in SIZE. A value
referenced by a kept execution or a kept cache entry is never removed.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

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


def _refs(db: Any) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(hashes referenced per execution, hashes referenced per cache entry)."""
    by_exec: dict[str, set[str]] = {}
    for h, eid in db.read("SELECT hash, execution_id FROM node_io"):
        by_exec.setdefault(eid, set()).add(h)
    for eid, inputs, outputs in db.read("SELECT id, inputs, outputs FROM executions"):
        refs = by_exec.setdefault(eid, set())
        refs.update(json.loads(inputs).values())
        if outputs:
            refs.update(json.loads(outputs).values())
    by_entry: dict[str, set[str]] = {}
    for key, outputs in db.read('SELECT "key", outputs FROM cache_entries'):
        by_entry[key] = set(json.loads(outputs).values())
    return by_exec, by_entry


def prune_home(home: Any, *, older_than: float | None, max_size: int | None,
               dry_run: bool = False) -> PruneReport:
    db = home.store._db
    report = PruneReport(dry_run=dry_run)
    now = time.time()
    by_exec, by_entry = _refs(db)
    artifacts = {h: (uri, int(size), bool(purged), created)
                 for h, uri, size, purged, created in
                 db.read("SELECT hash, uri, size, purged, created_at FROM artifacts")}
    old: set[str] = set()
    if older_than is not None:
        cutoff = now - older_than
        old = {eid for eid, created, status in
               db.read("SELECT id, created_at, status FROM executions")
               if created < cutoff and status not in ("RUNNING", "QUEUED")}
    kept_exec_refs: set[str] = set()
    for eid, refs in by_exec.items():
        if eid not in old:
            kept_exec_refs |= refs
    entry_refs: set[str] = set().union(*by_entry.values()) if by_entry else set()
    doomed: set[str] = set()
    if older_than is not None:
        referenced = kept_exec_refs | entry_refs
        old_refs: set[str] = set().union(*(by_exec.get(eid, set()) for eid in old))
        any_refs: set[str] = set().union(*by_exec.values())
        for h, (_, _, purged, created) in artifacts.items():
            if purged or h in referenced:
                continue
            orphan_and_old = created < now - older_than and h not in any_refs
            if h in old_refs or orphan_and_old:
                doomed.add(h)
        report.executions = len(old)
    evict: list[str] = []
    if max_size is not None:
        stored = sum(size for h, (uri, size, purged, _) in artifacts.items()
                     if uri and not purged and h not in doomed)
        holders = Counter(h for refs in by_entry.values() for h in refs)  # entries per value
        order = [k for (k,) in db.read(
            'SELECT "key" FROM cache_entries ORDER BY last_used_at ASC')]
        for key in order:
            if stored <= max_size:
                break
            refs = by_entry.get(key, set()) - kept_exec_refs
            if not any(artifacts[h][0] and not artifacts[h][2] and h not in doomed
                       for h in refs if h in artifacts):
                continue  # evicting it frees no stored file: a kept execution holds them
            evict.append(key)
            holders.subtract(by_entry.get(key, set()))
            for h in refs:
                if holders[h] <= 0 and h in artifacts and not artifacts[h][2] \
                        and h not in doomed:
                    doomed.add(h)
                    if artifacts[h][0]:
                        stored -= artifacts[h][1]
        report.stored_bytes = stored
    report.purged = sorted(doomed)
    report.evicted = evict
    report.purged_artifacts = len(doomed)
    report.evicted_entries = len(evict)
    report.freed_bytes = sum(artifacts[h][1] for h in doomed)
    if dry_run or (not doomed and not evict):
        return report
    with db.write() as c:
        if evict:
            c.executemany('DELETE FROM cache_entries WHERE "key" = ?', [(k,) for k in evict])
        if doomed:
            c.executemany("UPDATE artifacts SET purged = ?, inline = NULL WHERE hash = ?",
                          [(True, h) for h in doomed])
    for h in doomed:  # bytes go after the records say so: a crash leaves no dangling ref
        uri = artifacts[h][0]
        if uri:
            home.artifacts.delete(uri)
    return report

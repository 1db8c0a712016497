"""The orphan sweep of ``rillet prune``: files of a local artifact folder that no record
names. A value file with no row (a run killed between writing its bytes and committing
its record) and a temporary file of a write that never finished (``.NAME.HEX.tmp``)
are removed once older than a grace period, so that the writes of runs going on now
are never taken.

A value file is removed only inside a write transaction that finds no record of it:
a run committing its record first keeps it; one committing after finds its bytes gone
once its commit is done and writes them again (``ValueStore.confirm_stored``). Only
``ab/cdef…`` files and temp files in two-hex-digit folders are considered; anything
else in the folder is left alone.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rillet.store._prune import _lock_out_writers
from rillet.store._sql import _chunks

if TYPE_CHECKING:
    from rillet.artifacts import FolderArtifactStore
    from rillet.store._sql import SqlMetadataStore

GRACE_S = 3600.0  # a write younger than this may belong to a run going on now
_FOLDER = re.compile(r"[0-9a-f]{2}")
_VALUE = re.compile(r"[0-9a-f]{6,126}")
_TEMP = re.compile(r"\.[0-9a-f]{6,126}\.[0-9a-f]{16}\.tmp")


@dataclass(slots=True)
class Orphans:
    """What the sweep removed (or, in a dry run, would remove)."""

    value_files: int = 0
    value_bytes: int = 0
    temp_files: int = 0
    temp_bytes: int = 0


def sweep_orphans(store: SqlMetadataStore, blobs: FolderArtifactStore, *,
                  dry_run: bool = False, grace: float = GRACE_S,
                  now: float | None = None) -> Orphans:
    """Remove value files no record names and stale temp files, both older than
    ``grace`` seconds, from the local folder of ``blobs`` (an object store is left to
    its own lifecycle rules: nothing is swept there)."""
    found = Orphans()
    if "://" in blobs.root:
        return found
    cutoff = (time.time() if now is None else now) - grace
    values: dict[str, tuple[str, int]] = {}  # uri -> (path, size)
    for path, name, key, size, mtime in _files(blobs.root):
        if mtime >= cutoff:
            continue
        if _TEMP.fullmatch(name):
            found.temp_files += 1
            found.temp_bytes += size
            if not dry_run:
                _unlink(path)
        elif _VALUE.fullmatch(name):
            values[key] = (path, size)
    for chunk in _chunks(sorted(values)):
        with store.database.write() as c:
            _lock_out_writers(store, c)
            named = _named(c, chunk)
            for uri in chunk:
                if uri in named:
                    continue
                path, size = values[uri]
                found.value_files += 1
                found.value_bytes += size
                if not dry_run:
                    _unlink(path)
    return found


def _files(root: str) -> list[tuple[str, str, str, int, float]]:
    """(path, name, uri, size, mtime) of the plain files in the two-hex-digit folders."""
    out: list[tuple[str, str, str, int, float]] = []
    try:
        folders = [e for e in os.scandir(root)
                   if _FOLDER.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return out
    for folder in folders:
        try:
            entries = list(os.scandir(folder.path))
        except OSError:
            continue
        for e in entries:
            try:
                if not e.is_file(follow_symlinks=False):
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            out.append((e.path, e.name, f"{folder.name}/{e.name}", st.st_size, st.st_mtime))
    return out


def _named(c: Any, uris: list[str]) -> set[str]:
    """The URIs of ``uris`` that a record names: an artifact (purged or not: prune's
    own pass removes a purged one's bytes) or a registered bundle."""
    marks = ", ".join("?" * len(uris))
    hashes = [u[:2] + u[3:] for u in uris]
    named = {u for (u,) in c.execute(
        f"SELECT uri FROM artifacts WHERE uri IN ({marks})", uris).fetchall()}
    by_hash = {h for (h,) in c.execute(
        f"SELECT hash FROM artifacts WHERE hash IN ({marks})", hashes).fetchall()}
    by_hash |= {h for (h,) in c.execute(
        f"SELECT bundle_hash FROM registered_entities WHERE bundle_hash IN ({marks})",
        hashes).fetchall()}
    named |= {u for u, h in zip(uris, hashes, strict=True) if h in by_hash}
    named |= {u for (u,) in c.execute(
        f"SELECT bundle_uri FROM registered_entities WHERE bundle_uri IN ({marks})",
        uris).fetchall()}
    return named


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

"""The folders ``rillet prune`` frees with the executions it prunes: their working
folders (``work/<execution>``), their task output logs (``logs/<execution>.log``) and
the checkpoints of scopes that no kept execution
shares (a recovery shares its parent's scope, so a checkpoint a kept recovery could
still use stays), and the sizes of what a home holds, by kind.

It removes only folders named by execution ids and scopes read from the store;
values and records belong to ``_prune``.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rillet.store._home import Home

_ENDED = "status NOT IN ('RUNNING', 'QUEUED')"


def folder_size(path: str) -> int:
    """Bytes of the files under ``path`` (links not followed; 0 when absent)."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def old_folders(home: Home, cutoff: float) -> tuple[list[str], list[str], list[str]]:
    """(work folders, checkpoint folders, log files) of the ended executions created
    before ``cutoff``; a checkpoint scope only when no other execution shares it."""
    from rillet.store._home import _safe_name

    db = home.store.database
    old = db.read(f"SELECT id, checkpoint_scope FROM executions WHERE created_at < ? "
                  f"AND {_ENDED}", (cutoff,))
    kept_scopes = {s for (s,) in db.read(
        f"SELECT DISTINCT checkpoint_scope FROM executions WHERE NOT (created_at < ? "
        f"AND {_ENDED})", (cutoff,))}
    work = [os.path.join(home.path, "work", _safe_name(eid)) for eid, _ in old]
    scopes = sorted({s for _, s in old if s and s not in kept_scopes})
    checkpoints = [os.path.join(home.path, "checkpoints", _safe_name(s)) for s in scopes]
    logs = [home.log_path(eid) for eid, _ in old]
    return ([p for p in work if os.path.isdir(p)],
            [p for p in checkpoints if os.path.isdir(p)],
            [p for p in logs if os.path.isfile(p)])


def remove_folders(paths: list[str], dry_run: bool) -> int:
    """Remove each folder (unless ``dry_run``); the bytes they held."""
    freed = 0
    for path in paths:
        if os.path.isfile(path):
            freed += os.path.getsize(path)
            if not dry_run:
                os.unlink(path)
            continue
        freed += folder_size(path)
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return freed


def usage(home: Home) -> dict[str, int]:
    """Bytes a home holds, by kind: stored values, working folders, checkpoints."""
    return {"values": folder_size(os.path.join(home.path, "artifacts")),
            "work folders": folder_size(os.path.join(home.path, "work")),
            "checkpoints": folder_size(os.path.join(home.path, "checkpoints")),
            "logs": folder_size(os.path.join(home.path, "logs"))}

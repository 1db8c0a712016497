"""Cache keys: task name + cache version (explicit, or the task's code hash) +
the content hash of every input except the ignored ones.

Pure functions over hashes; the code hash is computed once per task per process.
"""

from __future__ import annotations

import hashlib
from typing import Any


def task_version(task: Any) -> tuple[str, dict[str, str]]:
    """(``cache_version`` or ``code:<digest>``, the code hash's parts)."""
    cache = task.cache
    if cache is not None and cache.version is not None:
        return cache.version, {}
    code = code_hash_of(task)
    return "code:" + code.digest, dict(code.parts)


def code_hash_of(task: Any) -> Any:
    from rillet.compiler._codehash import code_hash

    return code_hash(task.fn, interface=task.interface.describe())


def cache_key(task_name: str, version: str, input_hashes: dict[str, str]) -> str:
    h = hashlib.sha256()
    h.update(task_name.encode())
    h.update(b"\0")
    h.update(version.encode())
    for name in sorted(input_hashes):
        h.update(b"\0")
        h.update(name.encode())
        h.update(b"=")
        h.update(input_hashes[name].encode())
    return h.hexdigest()


def keyed_inputs(task: Any, input_hashes: dict[str, str]) -> dict[str, str]:
    ignored = task.cache.ignored_inputs if task.cache is not None else ()
    if not ignored:
        return input_hashes
    return {k: v for k, v in input_hashes.items() if k not in ignored}

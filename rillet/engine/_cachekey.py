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
        schemas = frame_schemas(task)
        if not schemas:
            return cache.version, {}
        digest = hashlib.sha256(schemas.encode()).hexdigest()[:16]
        return f"{cache.version}+schemas:{digest}", {}
    code = code_hash_of(task)
    return "code:" + code.digest, dict(code.parts)


def code_hash_of(task: Any) -> Any:
    from rillet.compiler._codehash import code_hash

    return code_hash(task.fn, interface=interface_text(task))


# task object id -> (the task, its interface text): a task's interface and schemas never
# change, and describing them was most of a memoized code hash's cost (~50 us per run).
_INTERFACES: dict[int, tuple[Any, str]] = {}


def interface_text(task: Any) -> str:
    """The task's interface as the code hash covers it (with its DataFrame schemas),
    computed once per task object."""
    hit = _INTERFACES.get(id(task))
    if hit is not None and hit[0] is task:
        return hit[1]
    interface = task.interface.describe()
    schemas = frame_schemas(task)
    text = f"{interface} {schemas}" if schemas else interface
    _INTERFACES[id(task)] = (task, text)
    return text


def frame_schemas(task: Any) -> str:
    """The pandera schemas of the task's typed DataFrames as JSON text ('' when none):
    a changed schema (a column, a check) is a changed cache key."""
    from rillet.types._descriptor import descriptor_json
    from rillet.types._frames import frame_model

    iface = task.interface
    typed = [(f"{side}:{name}", tp) for side, types in (("in", iface.inputs),
                                                        ("out", iface.outputs))
             for name, tp in types.items() if frame_model(tp) is not None]
    return " ".join(f"{key}={descriptor_json(tp)}" for key, tp in typed)


def cache_key(task_name: str, version: str, input_hashes: dict[str, str],
              scope: str = "") -> str:
    """The key of a task's result; ``scope`` (``project/domain`` of a launched execution,
    '' for default/development) keeps each scope's cache its own."""
    h = hashlib.sha256()
    if scope:
        h.update(b"scope\0" + scope.encode() + b"\0")
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

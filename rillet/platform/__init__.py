"""The platform: registered versions, the launch queue and workers (issue 14).

Library functions over a metadata store and an artifact store; the CLI and the
server call them. Names are loaded on first use: importing this package imports
nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rillet.platform._bundle import Bundle, from_bytes, pack, unpack
    from rillet.platform._check import InputRejected, check_inputs
    from rillet.platform._queue import claim, launch, queue_state
    from rillet.platform._registry import (
        RegisteredEntity,
        find,
        register,
        register_bundle,
        versions,
    )
    from rillet.platform._worker import Worker

__all__ = ["Bundle", "InputRejected", "RegisteredEntity", "Worker", "check_inputs", "claim",
           "find", "from_bytes", "launch", "pack", "queue_state", "register", "register_bundle",
           "unpack", "versions"]

_WHERE = {
    "Bundle": "_bundle", "from_bytes": "_bundle", "pack": "_bundle", "unpack": "_bundle",
    "InputRejected": "_check", "check_inputs": "_check",
    "claim": "_queue", "launch": "_queue", "queue_state": "_queue",
    "RegisteredEntity": "_registry", "find": "_registry", "register": "_registry",
    "register_bundle": "_registry", "versions": "_registry",
    "Worker": "_worker",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rillet.platform' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"rillet.platform.{module}"), name)

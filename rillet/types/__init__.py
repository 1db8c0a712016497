"""The type system: Python types <-> JSON descriptors, values <-> Literals,
content hashes, and File/Directory. Names load on first access, so importing
one submodule (the compiler needs only ``_compat``) stays cheap."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "is_compatible": "rillet.types._compat",
    "normalize": "rillet.types._compat",
    "type_name": "rillet.types._compat",
    "describe": "rillet.types._descriptor",
    "descriptor_json": "rillet.types._descriptor",
    "Directory": "rillet.types._files",
    "File": "rillet.types._files",
    "Literal": "rillet.types._literal",
    "PickleFallbackWarning": "rillet.types._literal",
    "content_hash": "rillet.types._literal",
    "decode": "rillet.types._literal",
    "decode_literal": "rillet.types._literal",
    "encode": "rillet.types._literal",
}

__all__ = [
    "Directory",
    "File",
    "Literal",
    "PickleFallbackWarning",
    "content_hash",
    "decode",
    "decode_literal",
    "describe",
    "descriptor_json",
    "encode",
    "is_compatible",
    "normalize",
    "type_name",
]

if TYPE_CHECKING:
    from rillet.types._compat import is_compatible, normalize, type_name
    from rillet.types._descriptor import describe, descriptor_json
    from rillet.types._files import Directory, File
    from rillet.types._literal import (
        Literal,
        PickleFallbackWarning,
        content_hash,
        decode,
        decode_literal,
        encode,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rillet.types' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

"""The type system: Python types <-> JSON descriptors, values <-> Literals,
content hashes, and File/Directory. Nothing heavy is imported here."""

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

"""Stored values as the read-only views show them (``executions show``, ``outputs``,
``cache list``, the API): a value kept inline as JSON is shown as itself, any other as
its type, hash and size, a pickled one as ``<pickled TYPE, SIZE, sha256:HASH…>``.

Only records are read here: never a value's bytes, never a decoder, so no code from a
stored value (a pickle's ``__reduce__`` or ``__setstate__``) can run.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from rillet.engine._protocols import MetadataStore
from rillet.engine._records import ArtifactRecord
from rillet.types._descriptor import describe_name

PICKLED = ("pickle",)  # the formats whose bytes only a pickle load can read


def absolute_uri(uri: str | None, root: str | None) -> str | None:
    """Stores keep URIs relative to their root (a home can move); show them whole."""
    if uri is None or root is None or "://" in uri:
        return uri
    if "://" in root:
        return f"{root.rstrip('/')}/{uri}"
    return "file://" + os.path.join(os.path.abspath(root), *uri.split("/"))


def shown_values(store: MetadataStore, root: str | None,
                 hashes: dict[str, str]) -> dict[str, Any]:
    """Each name's value (see :func:`shown_value`), from one read of the records."""
    records = store.artifacts(list(dict.fromkeys(hashes.values())))
    return {name: shown_value(records.get(digest), digest, root)
            for name, digest in hashes.items()}


def shown_value(record: ArtifactRecord | None, digest: str, root: str | None) -> Any:
    """A value as JSON when it is kept inline, else ``{"type", "hash", "size", "uri",
    "format", "pickled"}`` (and ``"pruned": true`` once its bytes are pruned)."""
    if record is None:
        return {"type": "unknown", "hash": digest, "size": None, "uri": None,
                "format": None, "pickled": False}
    if record.format == "json" and record.inline is not None and not record.purged:
        value = json.loads(record.inline)
        if record.type.get("kind") == "timedelta" and isinstance(value, int):  # microseconds
            value = str(datetime.timedelta(microseconds=value))
        return value
    shown: dict[str, Any] = {
        "type": describe_name(record.type), "hash": digest, "size": record.size,
        "uri": absolute_uri(record.uri, root), "format": record.format,
        "pickled": record.format in PICKLED,
    }
    if record.purged:
        shown["pruned"] = True
    return shown


def is_shown_record(value: Any) -> bool:
    """Whether ``value`` (from :func:`shown_value`) stands for a value not shown whole."""
    return isinstance(value, dict) and set(value) >= {"type", "hash", "size", "uri", "pickled"}


def shown_text(value: Any) -> str:
    """One line for a value of :func:`shown_value`."""
    if not is_shown_record(value):
        return json.dumps(value, default=str)
    pruned = ", pruned" if value.get("pruned") else ""
    if value["pickled"]:
        return (f"<pickled {value['type']}, {size_text(value['size'])}, "
                f"sha256:{str(value['hash'])[:12]}…{pruned}>")
    return f"<{value['type']} {str(value['hash'])[:12]}, {value['size']} bytes{pruned}>"


def size_text(size: int | None) -> str:
    """``512 B``, ``1.2 KB``, ``3.4 MB``, ``5.6 GB`` (powers of 1024)."""
    if size is None:
        return "? B"
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")

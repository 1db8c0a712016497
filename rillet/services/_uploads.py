"""Files uploaded for a launch (the web UI's launch form): the bytes are streamed into a
temporary file while they are hashed, up to a size limit, then stored as a ``File``
value exactly as a task returning ``File(<that file>)`` would store it (format
``file``, its name kept, ``sha256(header + bytes)`` as its digest): so an equal file is
stored once, and lineage and downloads treat it as any other value. A launch then gives
the File input as ``artifact:<digest>`` (``rillet.platform._decode``); the worker reads
it from the artifact store, checked against the digest. The bytes are never parsed,
never unpickled: they are a file's content.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time

from rillet.engine._records import ArtifactRecord, Batch
from rillet.errors import DefinitionError
from rillet.services._shapes import UploadShape
from rillet.store._instance import Instance

MAX_UPLOAD = 256 << 20  # bytes of one uploaded file (the server's default limit)
MAX_NAME = 255


class UploadTooLarge(DefinitionError):
    """An upload over the server's limit (HTTP 413): nothing is stored."""


def check_name(name: str) -> str:
    """A file name as an upload may carry it: a base name, no folder, no NUL."""
    if not name or len(name) > MAX_NAME:
        raise DefinitionError(f"an uploaded file needs a name of 1 to {MAX_NAME} characters, "
                              f"got {len(name)}")
    if name in (".", "..") or any(c in name for c in "/\\\x00") or name != name.strip():
        raise DefinitionError(f"an uploaded file's name must be a plain base name (no folder, "
                              f"no NUL, no surrounding spaces), got {name[:80]!r}")
    return name


class UploadSink:
    """Receives one upload's bytes chunk by chunk: a temporary file and the File digest,
    refusing more than ``limit`` bytes. :meth:`store` keeps it, :meth:`close` drops it."""

    def __init__(self, inst: Instance, name: str, limit: int = MAX_UPLOAD) -> None:
        from rillet.types._literal import blob_headers

        self.name = check_name(name)
        self.limit = limit
        self.size = 0
        (header,) = blob_headers("file", "file", {"name": self.name})
        self._hash = hashlib.sha256(header)
        folder = getattr(inst.artifacts, "root", None)
        # beside the artifacts when they are a local folder (the rename stays on one disk)
        local = folder if isinstance(folder, str) and "://" not in folder and \
            os.path.isdir(folder) else None
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by store/close
            prefix=".upload-", dir=local, delete=False)
        self._inst = inst

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLarge(f"the upload '{self.name}' is larger than the server's limit "
                                 f"of {self.limit} bytes; nothing was stored")
        self._hash.update(chunk)
        self._file.write(chunk)

    def store(self) -> UploadShape:
        """Store the bytes (once per digest) and their record; the temporary file goes."""
        from rillet.types._descriptor import describe
        from rillet.types._files import File

        digest = self._hash.hexdigest()
        try:
            self._file.close()
            _, uri = self._inst.artifacts.put_file(self._file.name, digest)
        finally:
            self.close()
        record = ArtifactRecord(
            hash=digest, format="file", type=describe(File), size=self.size, uri=uri,
            inline=json.dumps({"name": self.name}, separators=(",", ":")),
            created_at=time.time(), tag="file")
        known = self._inst.store.artifacts([digest]).get(digest)
        if known is None or known.purged:
            self._inst.store.apply(Batch(artifacts=[record]))
        return upload_shape(digest, self.name, self.size)

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            try:
                os.unlink(self._file.name)
            except FileNotFoundError:
                pass


def upload_shape(digest: str, name: str, size: int) -> UploadShape:
    from rillet.platform._decode import ARTIFACT_REF

    return {"hash": digest, "name": name, "size": size, "format": "file",
            "ref": f"{ARTIFACT_REF}{digest}"}


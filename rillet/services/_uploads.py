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


def local_root(inst: Instance) -> str | None:
    """The artifacts' folder when it is a local one (a temporary file made there is
    renamed into the store on the same disk), else None (the system's temp folder)."""
    folder = getattr(inst.artifacts, "root", None)
    return folder if isinstance(folder, str) and "://" not in folder and \
        os.path.isdir(folder) else None


class Spool:
    """Receives an upload's bytes chunk by chunk into a temporary file beside the
    artifacts, refusing more than ``limit`` bytes (``what`` names it in the error);
    :meth:`close` removes the file."""

    def __init__(self, inst: Instance, what: str, limit: int = MAX_UPLOAD) -> None:
        self.what = what
        self.limit = limit
        self.size = 0
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by finish/close
            prefix=".upload-", dir=local_root(inst), delete=False)
        self.path = self._file.name

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLarge(f"{self.what} is larger than the server's limit of "
                                 f"{self.limit} bytes; nothing was stored")
        self._file.write(chunk)

    def finish(self) -> str:
        """The temporary file, complete and closed."""
        self._file.close()
        return self.path

    def close(self) -> None:
        self._file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class UploadSink(Spool):
    """An uploaded file: spooled while it is hashed as a File value; :meth:`store`
    keeps it, :meth:`close` drops it."""

    def __init__(self, inst: Instance, name: str, limit: int = MAX_UPLOAD) -> None:
        from rillet.types._literal import blob_headers

        self.name = check_name(name)
        (header,) = blob_headers("file", "file", {"name": self.name})
        self._hash = hashlib.sha256(header)
        self._inst = inst
        super().__init__(inst, f"the upload '{self.name}'", limit)

    def write(self, chunk: bytes) -> None:
        super().write(chunk)
        self._hash.update(chunk)

    def store(self) -> UploadShape:
        """Store the bytes (once per digest) and their record; the temporary file goes."""
        from rillet.types._files import File

        digest = self._hash.hexdigest()
        try:
            _, uri = self._inst.artifacts.put_file(self.finish(), digest)
        finally:
            self.close()
        return keep_upload(self._inst, digest, File, "file", "file", self.name, self.size, uri)


def keep_upload(inst: Instance, digest: str, tp: type, fmt: str, tag: str, name: str,
                size: int, uri: str) -> UploadShape:
    """Record an uploaded value whose bytes are stored (a File's or a Directory's, with
    its name), unless a live record of that digest exists; the answer to the upload."""
    from rillet.types._descriptor import describe

    record = ArtifactRecord(
        hash=digest, format=fmt, type=describe(tp), size=size, uri=uri,
        inline=json.dumps({"name": name}, separators=(",", ":")),
        created_at=time.time(), tag=tag)
    known = inst.store.artifacts([digest]).get(digest)
    if known is None or known.purged:
        inst.store.apply(Batch(artifacts=[record]))
    return upload_shape(digest, name, size, fmt)


def upload_shape(digest: str, name: str, size: int, fmt: str = "file") -> UploadShape:
    from rillet.platform._decode import ARTIFACT_REF

    return {"hash": digest, "name": name, "size": size, "format": fmt,
            "ref": f"{ARTIFACT_REF}{digest}"}


"""Directories uploaded for a launch: an archive (tar, tar.gz or zip; the web UI packs a
chosen folder as a tar) is unpacked into a temporary folder, then stored as a
``Directory`` value exactly as a task returning ``Directory(<that folder>)`` would store
it (format ``dir``, the deterministic tar of ``types._files.archive_directory``): a
launch gives the Directory input as ``artifact:<digest>``.

Unpacking refuses, before writing anything, every entry that is not a plain file or
folder (symlinks, hard links, devices), every absolute name or name with ``..``, a
backslash or NUL, and a name given twice; the bytes written are counted as they are
written (never trusting the sizes the archive claims), so a bomb stops at the limit.
Nothing is parsed or unpickled: the files are content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from rillet.errors import DefinitionError
from rillet.services._shapes import UploadShape
from rillet.services._uploads import (
    MAX_UPLOAD,
    UploadTooLarge,
    check_name,
    keep_upload,
    local_root,
)
from rillet.store._instance import Instance

FORMATS = ("tar", "tgz", "zip")
MAX_ENTRIES = 100_000
CHUNK = 1 << 20


class UnsafeArchive(DefinitionError):
    """An uploaded archive with an entry that could write outside its folder, or that is
    not a plain file or folder (HTTP 400): nothing is stored."""


def entry_path(name: str) -> str:
    """An archive entry's name as a relative path inside the folder ('' for the folder
    itself: ``tar -C folder -cf x.tar .`` names it '.'), or UnsafeArchive."""
    if name in (".", "./"):
        return ""
    clean = name[2:] if name.startswith("./") else name
    clean = clean.rstrip("/")
    parts = clean.split("/")
    if (not clean or name.startswith("/") or "\\" in name or "\x00" in name
            or any(p in ("", ".", "..") for p in parts) or (len(parts[0]) == 2
                                                           and parts[0][1] == ":")):
        raise UnsafeArchive(f"the archive's entry {name[:120]!r} is not a plain relative "
                            "path inside the folder (absolute, '..', a backslash or empty "
                            "part); nothing was stored")
    return clean


def _refuse_kind(name: str, kind: str) -> UnsafeArchive:
    return UnsafeArchive(f"the archive's entry {name[:120]!r} is a {kind}; only plain files "
                         "and folders are taken; nothing was stored")


Entry = tuple[str, bool, bool, Any]  # (relative path, a folder, executable, opener)


def _tar_entries(path: str) -> Iterator[Entry]:
    """(relative path, is a folder, is executable, opener of its bytes) of each entry,
    all checked before the first is returned."""
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DefinitionError(f"the upload is not a tar archive: {exc}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DefinitionError(f"the upload is not a readable tar archive: {exc}") from None
        checked = []
        for m in members[:MAX_ENTRIES + 1]:
            if m.issym() or m.islnk():
                raise _refuse_kind(m.name, "link")
            if not (m.isreg() or m.isdir()):
                raise _refuse_kind(m.name, "special file")
            checked.append((entry_path(m.name), m))
        _check_count(len(members))
        for rel, m in checked:
            yield rel, m.isdir(), bool(m.mode & 0o100), (lambda m=m: tar.extractfile(m))


def _zip_entries(path: str) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DefinitionError(f"the upload is not a zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        checked = []
        for info in infos[:MAX_ENTRIES + 1]:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _refuse_kind(info.filename, "link")
            # no file type bits (many zip writers): a file, or a folder by its name
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise _refuse_kind(info.filename, "special file")
            checked.append((entry_path(info.filename), info))
        _check_count(len(infos))
        for rel, info in checked:
            yield (rel, info.is_dir(), bool((info.external_attr >> 16) & 0o100),
                   (lambda info=info: archive.open(info)))


def _check_count(n: int) -> None:
    if n > MAX_ENTRIES:
        raise DefinitionError(f"the archive has more than {MAX_ENTRIES} entries; nothing "
                              "was stored")
    if n == 0:
        raise DefinitionError("the archive is empty; a Directory upload needs at least one "
                              "entry")


def unpack(path: str, fmt: str, target: str, limit: int = MAX_UPLOAD) -> int:
    """Unpack the archive at ``path`` into the empty folder ``target``; return the bytes
    written. ``UnsafeArchive``/``DefinitionError`` for a bad entry or archive,
    ``UploadTooLarge`` past ``limit`` bytes unpacked."""
    if fmt not in FORMATS:
        raise DefinitionError(f"a directory upload's format is one of {', '.join(FORMATS)}, "
                              f"got {fmt[:20]!r}")
    entries = _zip_entries(path) if fmt == "zip" else _tar_entries(path)
    root = os.path.realpath(target)
    written = 0
    seen: set[str] = set()
    for rel, is_dir, executable, opener in entries:
        if rel == "":
            if not is_dir:
                raise UnsafeArchive("the archive's entry '.' is not a folder; nothing was "
                                    "stored")
            continue
        dest = os.path.realpath(os.path.join(root, rel))
        if os.path.commonpath([root, dest]) != root:  # only checked names get here
            raise UnsafeArchive(f"the archive's entry {rel[:120]!r} leaves the folder")
        if rel in seen or (not is_dir and os.path.isdir(dest)):
            raise UnsafeArchive(f"the archive names {rel[:120]!r} twice; nothing was stored")
        seen.add(rel)
        try:
            if is_dir:
                os.makedirs(dest, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with opener() as source, open(dest, "xb") as out:
                written = _copy(source, out, written, limit)
            if executable:  # kept: the stored tar says 0755 for it, as for a task's folder
                os.chmod(dest, 0o755)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise UnsafeArchive(f"the archive's entry {rel[:120]!r} is both a file and a "
                                "folder; nothing was stored") from None
        except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError,
                NotImplementedError) as exc:  # truncated, encrypted, unknown compression
            raise DefinitionError(f"the archive's entry {rel[:120]!r} cannot be read "
                                  f"({type(exc).__name__}: {str(exc)[:200]}); nothing was "
                                  "stored") from None
    return written


def _copy(source: IO[bytes], out: IO[bytes], written: int, limit: int) -> int:
    """Copy, counting the bytes against ``limit`` (``written`` so far); the new count."""
    while chunk := source.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise UploadTooLarge(f"the archive unpacks to more than the server's limit of "
                                 f"{limit} bytes; nothing was stored")
        out.write(chunk)
    return written


class _HashingFile:
    """A write-only file that hashes what it is given (after ``header``)."""

    def __init__(self, out: IO[bytes], header: bytes) -> None:
        self.out = out
        self.hash = hashlib.sha256(header)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.out.write(data)


@contextmanager
def _scratch(inst: Instance) -> Iterator[str]:
    path = tempfile.mkdtemp(prefix=".upload-dir-", dir=local_root(inst))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def store_directory(inst: Instance, archive: str, fmt: str, name: str,
                    limit: int = MAX_UPLOAD) -> UploadShape:
    """Unpack the uploaded archive at ``archive`` and store the folder as a Directory
    value named ``name`` (once per digest); the answer's ``ref`` is the launch input."""
    from rillet.types._files import Directory, archive_directory
    from rillet.types._literal import blob_headers

    name = check_name(name)
    with _scratch(inst) as scratch:
        tree = os.path.join(scratch, "tree")
        os.mkdir(tree)
        unpack(archive, fmt, tree, limit)
        (header,) = blob_headers("dir", "directory", {"name": name})
        tar_path = os.path.join(scratch, "value.tar")
        with open(tar_path, "wb") as out:
            sink = _HashingFile(out, header)
            archive_directory(tree, sink)  # type: ignore[arg-type]
        digest = sink.hash.hexdigest()
        _, uri = inst.artifacts.put_file(tar_path, digest)
    return keep_upload(inst, digest, Directory, "dir", "directory", name, sink.size, uri)

"""``FolderArtifactStore``: value bytes by content hash under one root folder.

A local root (a path or ``file://``) uses plain ``os`` calls: no fsspec import
on the path of a local run. Any other fsspec URL (``memory://``, ``s3://``, ...)
goes through ``fsspec``, imported on first use. Layout: ``ab/cdef…`` for the
sha256 hex ``abcdef…``; the URI returned by ``put`` is that key, relative to
the root, so a home can be moved or copied. Nothing outside the root is ever
read, written or deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import shutil
import stat
from collections.abc import Callable
from typing import Any, BinaryIO

from rillet.errors import NotFound, StoreError

_DIGEST = re.compile(r"[0-9a-f]{8,128}")
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{6,126}")  # a URI as put returns it
_TMP_SUFFIX = ".tmp"
CHUNK = 1 << 20  # bytes read at a time when hashing or copying a file


def _check_digest(digest: str) -> None:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise StoreError(
            f"artifact digest {digest!r} is not a lowercase hex content hash; refusing to store it"
        )


class FolderArtifactStore:
    """The ``ArtifactStore`` on a folder (local, or any fsspec URL)."""

    def __init__(self, root: str) -> None:
        if root.startswith("file://"):
            root = root[len("file://"):]
        self._remote = "://" in root
        if self._remote:
            self.root = root.rstrip("/")
            self._fs: Any = None
        else:
            self.root = os.path.realpath(os.path.abspath(root))

    # -- the protocol ------------------------------------------------------------------
    def put(self, digest: str, data: bytes) -> str:
        """Store ``data`` as ``ab/cdef…``; atomic (temp file + rename), idempotent. Bytes
        already there are kept when they equal ``data`` and replaced when they do not
        (a damaged copy heals when its value is computed again). A path that resolves
        outside the root (a symlinked folder) is refused."""
        _check_digest(digest)
        key = f"{digest[:2]}/{digest[2:]}"
        if self._remote:
            fs, path = self._filesystem(), f"{self._base()}/{key}"
            if not fs.exists(path) or fs.size(path) != len(data) or fs.cat_file(path) != data:
                fs.pipe_file(path, bytes(data))  # object stores make a put atomic
            return key
        if not _same_bytes(self._local(key), data):
            self._write(key, lambda tmp: _write_bytes(tmp, data))
        return key

    def get(self, uri: str) -> bytes:
        """The bytes at ``uri`` (a key from ``put``, or a path or URL inside the root)."""
        if not self._remote and _KEY.fullmatch(uri):
            data = self._read_key(uri)
            if data is not None:
                return data
        path = self._resolve(uri)
        try:
            if self._remote:
                return bytes(self._filesystem().cat_file(path))
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(
                f"artifact {uri!r} is not in the artifact store at {self.root}") from None
        except IsADirectoryError:
            raise NotFound(f"artifact {uri!r} in {self.root} is a folder, not a value") from None

    def delete(self, uri: str) -> None:
        """Remove the value at ``uri``; nothing happens when it is already gone."""
        path = self._resolve(uri)
        try:
            if self._remote:
                self._filesystem().rm_file(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass

    def exists(self, uri: str) -> bool:
        path = self._resolve(uri)
        if self._remote:
            return bool(self._filesystem().exists(path))
        return os.path.isfile(path)

    def size(self) -> int:
        """Bytes used by stored values (temporary files of unfinished writes excluded)."""
        if self._remote:
            fs = self._filesystem()
            if not fs.exists(self._base()):
                return 0
            return sum(int(info.get("size") or 0)
                       for info in fs.find(self._base(), detail=True).values())
        return _folder_size(self.root)

    # -- streaming: values that need not fit in memory --------------------------------
    def open(self, uri: str) -> BinaryIO:
        """A binary file object reading the value at ``uri`` (close it when done)."""
        path = self._resolve(uri)
        try:
            if self._remote:
                fs = self._filesystem()
                if not fs.exists(path):
                    raise FileNotFoundError(path)
                return fs.open(path, "rb")  # type: ignore[no-any-return]
            return open(path, "rb")
        except FileNotFoundError:
            raise NotFound(
                f"artifact {uri!r} is not in the artifact store at {self.root}") from None

    def put_file(self, path: str, digest: str | None = None) -> tuple[str, str]:
        """Store the file at ``path`` without reading it into memory; return (its sha256
        hex digest, its URI). ``digest`` skips hashing when the caller knows it."""
        if digest is None:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        _check_digest(digest)
        key = f"{digest[:2]}/{digest[2:]}"
        if self._remote:
            fs, target = self._filesystem(), f"{self._base()}/{key}"
            if not fs.exists(target):
                fs.put_file(path, target)  # multipart for big files; atomic on object stores
            return digest, key
        if not os.path.exists(self._local(key)):
            self._write(key, lambda tmp: shutil.copyfile(path, tmp))
        return digest, key

    # -- checkpoints: mutable bytes by name, beside the values ---------------------------
    def put_checkpoint(self, name: str, data: bytes) -> None:
        """Store ``data`` as the checkpoint ``name`` (``SCOPE/NODE``, from
        ``rillet.engine._protocols.checkpoint_name``), replacing what was there: a temp
        file renamed locally, one object put (atomic) on an object store."""
        self._put_named(self._resolve(_checkpoint_key(name)), data, sync=True)

    def get_checkpoint(self, name: str) -> bytes | None:
        """The bytes of checkpoint ``name``; None when none was stored."""
        return self._get_named(self._resolve(_checkpoint_key(name)))

    def _put_named(self, path: str, data: bytes, *, sync: bool) -> None:
        """Replace the bytes at ``path`` (from ``_resolve``) at once: a temp file renamed
        locally (synced first with ``sync``), one object put on an object store."""
        if self._remote:
            self._filesystem().pipe_file(path, bytes(data))
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.urandom(8).hex()}{_TMP_SUFFIX}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                if sync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _get_named(self, path: str) -> bytes | None:
        """The bytes at ``path`` (from ``_resolve``); None when there are none."""
        try:
            if self._remote:
                return bytes(self._filesystem().cat_file(path))
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def remove_checkpoints(self, scope: str, dry_run: bool = False) -> int:
        """Remove every checkpoint of ``scope`` (those of all its nodes and map
        elements): ``rillet prune`` of the executions that used it. Returns the bytes
        they held (and leaves them, with ``dry_run``)."""
        from rillet.engine._protocols import checkpoint_name

        return self._remove_folder(
            self._resolve(f"{CHECKPOINTS}/{checkpoint_name(scope, '%').partition('/')[0]}"),
            dry_run)

    def _remove_folder(self, folder: str, dry_run: bool) -> int:
        """Remove ``folder`` (a path from ``_resolve``) and all in it; the bytes it held
        (left in place with ``dry_run``)."""
        if self._remote:
            fs = self._filesystem()
            fs.invalidate_cache(folder)
            if not fs.exists(folder):
                return 0
            held = int(fs.du(folder, total=True))
            if not dry_run:
                fs.rm(folder, recursive=True)
                fs.invalidate_cache(folder)
            return held
        held = _folder_size(folder)
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
        return held

    # -- live logs: a remote worker's running output, in chunks by byte offset -----------
    def put_log_chunk(self, execution_id: str, offset: int, data: bytes) -> None:
        """Store the bytes of ``execution_id``'s live log from byte ``offset`` on (one
        chunk; the next one starts at ``offset + len(data)``). A platform worker ships
        its running tasks' output so; the server streams it (``rillet.platform``)."""
        # a reader never sees half a chunk; no sync: the attempt's recorded logs are the
        # durable copy
        self._put_named(self._resolve(_log_chunk_key(execution_id, offset)), data, sync=False)

    def get_log_chunk(self, execution_id: str, offset: int) -> bytes | None:
        """The chunk of ``execution_id``'s live log starting at ``offset``; None if none."""
        return self._get_named(self._resolve(_log_chunk_key(execution_id, offset)))

    def log_chunks(self, execution_id: str) -> list[int]:
        """The offsets at which the chunks of ``execution_id``'s live log start, sorted."""
        folder = self._resolve(f"{LIVE_LOGS}/{_log_folder(execution_id)}")
        try:
            if self._remote:
                fs = self._filesystem()
                fs.invalidate_cache(folder)
                names = [posixpath.basename(p) for p in fs.ls(folder, detail=False)]
            else:
                names = os.listdir(folder)
        except FileNotFoundError:
            return []
        return sorted(int(n) for n in names if n.isdigit())

    def live_logs(self) -> list[str]:
        """The execution ids that have a live log here."""
        folder = self._resolve(LIVE_LOGS)
        try:
            if self._remote:
                fs = self._filesystem()
                fs.invalidate_cache(folder)
                # the chunks' folders (an object store may keep an emptied folder's entry)
                names = {posixpath.relpath(p, folder).partition("/")[0]
                         for p in fs.find(folder)}
            else:
                names = set(os.listdir(folder))
        except FileNotFoundError:
            return []
        return sorted(_unsafe_id(n) for n in names)

    def remove_live_log(self, execution_id: str, dry_run: bool = False) -> int:
        """Remove every chunk of ``execution_id``'s live log; the bytes they held."""
        return self._remove_folder(
            self._resolve(f"{LIVE_LOGS}/{_log_folder(execution_id)}"), dry_run)

    def _local(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _write(self, key: str, write: Callable[[str], object]) -> None:
        """Write the local file of ``key`` atomically: ``write`` fills a temp file, renamed;
        refuse a folder that resolves outside the root (a symlinked folder)."""
        final = self._local(key)
        folder = os.path.dirname(final)
        try:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            raise StoreError(f"cannot store artifact {key}: {folder} is not a folder") from None
        real = os.path.realpath(folder)
        if real != os.path.join(self.root, key[:2]):
            raise StoreError(f"artifact folder {folder} resolves to {real}, outside the "
                             f"artifact store {self.root}; refusing to write there")
        tmp = os.path.join(folder, f".{key[3:]}.{os.urandom(8).hex()}{_TMP_SUFFIX}")
        try:
            write(tmp)
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def _read_key(self, key: str) -> bytes | None:
        """The bytes of a key from ``put`` (``ab/cdef…``) read without resolving the
        whole path (``realpath`` costs a system call per component of the root): its
        folder is a real folder of the root (``lstat``: not a link) and the file is
        opened with ``O_NOFOLLOW``, so nothing outside the root is read. None when
        either is a link (or not a file): the caller resolves the path instead."""
        folder = os.path.join(self.root, key[:2])
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return None
            fd = os.open(os.path.join(folder, key[3:]),
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(
                f"artifact {key!r} is not in the artifact store at {self.root}") from None
        except OSError:  # a link (ELOOP), or not a folder: resolved the long way
            return None
        try:
            with open(fd, "rb") as f:
                return f.read()
        except IsADirectoryError:
            return None

    # -- paths -------------------------------------------------------------------------
    def _resolve(self, uri: str) -> str:
        refused = StoreError(
            f"artifact URI {uri!r} is outside the artifact store {self.root}; refusing it")
        if not isinstance(uri, str) or not uri or "\x00" in uri:
            raise refused
        if self._remote:
            base = self._base()
            if "://" in uri:
                if not uri.startswith(self.root + "/"):
                    raise refused
                uri = uri[len(self.root) + 1:]
            key = posixpath.normpath(uri)
            if key.startswith(("/", "..")) or key == ".":
                raise refused
            return f"{base}/{key}"
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        elif "://" in uri:
            raise refused
        path = os.path.realpath(os.path.join(self.root, uri))  # an absolute uri stays as is
        if not path.startswith(self.root + os.sep):
            raise refused
        return path

    def _filesystem(self) -> Any:
        if self._fs is None:
            import fsspec

            self._fs, self._path = fsspec.core.url_to_fs(self.root)
        return self._fs

    def _base(self) -> str:
        self._filesystem()
        return str(self._path).rstrip("/")

    def __repr__(self) -> str:
        return f"FolderArtifactStore({self.root!r})"


CHECKPOINTS = "checkpoints"  # the folder of checkpoints under the root (values are ab/cd...)


def _checkpoint_key(name: str) -> str:
    scope, sep, node = name.partition("/")
    if not sep or not scope or not node or "/" in node or scope in (".", "..") or node in (
            ".", ".."):
        raise StoreError(f"checkpoint name {name!r} is not SCOPE/NODE; refusing it")
    return f"{CHECKPOINTS}/{name}"


LIVE_LOGS = "live-logs"  # the folder of live logs under the root


def _log_folder(execution_id: str) -> str:
    if not isinstance(execution_id, str) or not execution_id or execution_id in (".", ".."):
        raise StoreError(f"execution id {execution_id!r} cannot name a live log; refusing it")
    return execution_id.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")


def _unsafe_id(name: str) -> str:
    return name.replace("%5C", "\\").replace("%2F", "/").replace("%25", "%")


def _log_chunk_key(execution_id: str, offset: int) -> str:
    if offset < 0:
        raise StoreError(f"a live log chunk starts at a byte offset >= 0, not {offset}")
    return f"{LIVE_LOGS}/{_log_folder(execution_id)}/{offset:016d}"


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _same_bytes(path: str, data: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``data`` (False when absent)."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size != len(data):
                return False
            return f.read() == data
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False


def _folder_size(folder: str) -> int:
    total = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            total += _folder_size(entry.path)
        elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(_TMP_SUFFIX):
            total += entry.stat(follow_symlinks=False).st_size
    return total

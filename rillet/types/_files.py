"""``File`` and ``Directory``: values that stand for local content, and the
deterministic archive a directory is stored as.

A task that returns one has its content stored; a task that receives one gets a
local path, fetched only when ``.path`` (or ``open()``) is first used. This module
knows nothing of artifact stores: it is handed a loader that returns the bytes.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import threading
from collections.abc import Callable
from typing import IO, Any, Protocol, TypeVar

from rillet.errors import StoreError

_CHUNK = 1 << 20
_T = TypeVar("_T", bound="_Content")


class Sink(Protocol):
    """Anything bytes can be written to: an ``io.BytesIO``, a hashing writer."""

    def write(self, data: bytes, /) -> int: ...


class HashWriter:
    """A write-only file object that hashes what is written to it instead of keeping it.

    Has what pyarrow, numpy and tarfile ask of a file they write to.
    """

    __slots__ = ("_h", "_n")

    def __init__(self, header: bytes = b"") -> None:
        self._h = hashlib.sha256(header)
        self._n = 0

    def write(self, data: bytes, /) -> int:
        self._h.update(data)
        n = memoryview(data).nbytes
        self._n += n
        return n

    def tell(self) -> int:
        return self._n

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self._h.hexdigest()


class _Content(os.PathLike[str]):
    """What File and Directory share: a local path, or a loader to fetch one from."""

    __slots__ = ("_loader", "_lock", "_name", "_path", "_url", "_workdir")
    _default_name = "content"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """In a pydantic model: a File/Directory, or a path or URL that becomes one."""
        from pydantic_core import core_schema

        def make(value: Any) -> Any:
            return value if isinstance(value, cls) else cls(value)

        return core_schema.no_info_plain_validator_function(make)

    def __class_getitem__(cls, item: Any) -> Any:
        """``File[csv]`` (flytekit's format parameter) is File: the format is not checked."""
        return cls

    @property
    def url(self) -> str | None:
        """The URL it was made from (``https://``, ``s3://``...), or None for a local path."""
        return self._url

    def download(self) -> str:
        """The local path, fetched now if needed (flytekit's ``download()``)."""
        return self.path

    def __init__(self, path: str | os.PathLike[str], remote_path: str | None = None) -> None:
        # remote_path (flytekit: where to upload) means nothing here: content goes to the store
        local = os.fspath(path)
        if not isinstance(local, str):
            raise TypeError(f"{type(self).__name__} takes a str path, got {type(local).__name__}")
        if local.startswith("file://"):
            local = local[len("file://"):]
        self._url: str | None = None
        self._path: str | None = local
        self._name = os.path.basename(os.path.abspath(local)) or self._default_name
        self._loader: Callable[[], bytes] | None = None
        self._workdir: str | None = None
        self._lock: threading.Lock | None = None
        if _is_url(local):  # http(s)://, s3://...: fetched on first access
            self._url, self._path = local, None
            self._name = _safe_name(local.rstrip("/").rsplit("/", 1)[-1].split("?")[0],
                                    self._default_name)
            self._lock = threading.Lock()

    @classmethod
    def _from_loader(
        cls: type[_T], name: str | None, loader: Callable[[], bytes], workdir: str | None = None
    ) -> _T:
        """One whose content is fetched by ``loader`` when its path is first asked for."""
        obj = cls.__new__(cls)
        obj._url = None
        obj._path = None
        obj._name = _safe_name(name, cls._default_name)
        obj._loader = loader
        obj._workdir = workdir
        obj._lock = threading.Lock()
        return obj

    @property
    def path(self) -> str:
        """The local path; content that came from the store is written out on first use."""
        local = self._path
        if local is None:
            local = self._fetch()
        return local

    @property
    def name(self) -> str:
        """The base name, known without fetching anything."""
        return self._name

    def __fspath__(self) -> str:
        return self.path

    def _fetch(self) -> str:
        assert self._lock is not None  # set when there is no path yet
        with self._lock:
            if self._path is None:
                import tempfile

                root = tempfile.mkdtemp(prefix="rillet-", dir=self._workdir)
                target = os.path.join(root, self._name)
                if self._url is not None:
                    self._download(self._url, target)
                else:
                    assert self._loader is not None
                    self._materialize(self._loader(), target)
                self._path, self._loader = target, None
            return self._path

    def _download(self, url: str, target: str) -> None:
        plain_http = url.startswith(("http://", "https://")) and not isinstance(self, Directory)
        fetch = _fetch_http if plain_http or _URL_FETCHER is None else _URL_FETCHER
        try:
            fetch(url, target, isinstance(self, Directory))
        except Exception as exc:
            raise OSError(f"{type(self).__name__}({url!r}): cannot fetch it: {exc}") from exc

    def _materialize(self, data: bytes, target: str) -> None:
        raise NotImplementedError

    def write_content(self, sink: Sink) -> None:
        """Write the stored form of the content (file bytes, or the archive) to ``sink``."""
        if self._path is None and self._loader is not None and self._url is None:
            sink.write(self._loader())  # not fetched: the loader holds the stored form already
            return
        self._write_local(self.path, sink)

    def _write_local(self, path: str, sink: Sink) -> None:
        raise NotImplementedError

    def _digest(self) -> str:
        writer = HashWriter()
        self.write_content(writer)
        return writer.hexdigest()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Content)
        mine, theirs = self._path, other._path
        if mine is not None and theirs is not None and _same(mine, theirs):
            return True
        if self._name != other._name:
            return False
        try:
            return self._digest() == other._digest()
        except OSError:
            return False

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._name))

    def __repr__(self) -> str:
        if self._path is None:
            if self._url is not None:
                return f"{type(self).__name__}({self._url!r})"
            return f"{type(self).__name__}(<not fetched: {self._name!r}>)"
        return f"{type(self).__name__}({self._path!r})"


class File(_Content):
    """A local file. Returned from a task, its bytes are stored; received by a task,
    ``.path`` is a local copy, fetched on first access.
    """

    __slots__ = ()
    _default_name = "file"

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """Open the local file (fetching it first if needed), like the builtin ``open``."""
        return builtins.open(self.path, mode, **kwargs)

    def _materialize(self, data: bytes, target: str) -> None:
        with builtins.open(target, "wb") as fh:
            fh.write(data)

    def _write_local(self, path: str, sink: Sink) -> None:
        with builtins.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sink.write(chunk)


class Directory(_Content):
    """A local directory. Returned from a task, its tree is stored as a deterministic
    archive; received by a task, ``.path`` is a local copy, fetched on first access.
    """

    __slots__ = ()
    _default_name = "directory"

    def _materialize(self, data: bytes, target: str) -> None:
        extract_archive(data, target)

    def _write_local(self, path: str, sink: Sink) -> None:
        archive_directory(path, sink)


_URL_FETCHER: Callable[[str, str, bool], None] | None = None


def set_url_fetcher(fetch: Callable[[str, str, bool], None]) -> None:
    """Install how URLs are fetched (``fetch(url, target, recursive)``); the sdk installs
    fsspec's (s3://, gs://...). An http(s) file is always fetched with urllib."""
    global _URL_FETCHER
    _URL_FETCHER = fetch


def _fetch_http(url: str, target: str, recursive: bool) -> None:
    import shutil
    import urllib.request

    if recursive or not url.startswith(("http://", "https://")):
        raise OSError("only http(s) files can be fetched without fsspec")
    import urllib.error

    try:
        resp = urllib.request.urlopen(url, timeout=60)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response open
        raise OSError(f"HTTP {exc.code} {exc.reason}") from None
    with resp, builtins.open(target, "wb") as fh:
        shutil.copyfileobj(resp, fh)


def _is_url(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isalnum() and len(scheme) > 1


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _safe_name(name: str | None, default: str) -> str:
    base = os.path.basename(name or "")
    return base if base not in ("", ".", "..") else default


def archive_directory(root: str, sink: Sink) -> None:
    """Write the tree under ``root`` as an uncompressed tar to ``sink``.

    Equal trees give equal bytes: entries are sorted, times, owners and groups are
    zero, modes are 0755 (directories, executables) or 0644. Symbolic links are
    followed (the archive holds what the tree shows); links that point nowhere are
    left out, as is a link back to a directory above it.
    """
    import tarfile

    if not os.path.isdir(root):
        raise NotADirectoryError(f"Directory path is not a directory: {root!r}")
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        _archive_tree(tar, root, "", {os.path.realpath(root)})


def _archive_tree(tar: Any, folder: str, prefix: str, above: set[str]) -> None:
    import tarfile

    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = prefix + entry.name
        if entry.is_dir():
            real = os.path.realpath(entry.path)
            if real in above:
                continue
            tar.addfile(_tar_info(tarfile.DIRTYPE, name, 0o755, 0))
            _archive_tree(tar, entry.path, name + "/", above | {real})
        elif entry.is_file():
            st = entry.stat()
            mode = 0o755 if st.st_mode & 0o100 else 0o644
            with builtins.open(entry.path, "rb") as fh:
                tar.addfile(_tar_info(tarfile.REGTYPE, name, mode, st.st_size), fh)


def _tar_info(kind: bytes, name: str, mode: int, size: int) -> Any:
    import tarfile

    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size = kind, mode, size
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def extract_archive(data: bytes, target: str) -> None:
    """Unpack an archive made by :func:`archive_directory` into ``target``.

    Only plain files and directories with relative names inside ``target`` are
    accepted; anything else means the stored bytes are not ours.
    """
    import io
    import tarfile

    os.makedirs(target, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = tar.getmembers()
        for m in members:
            parts = m.name.split("/")
            if not (m.isreg() or m.isdir()) or m.name.startswith("/") or ".." in parts:
                raise StoreError(f"stored directory archive has an unsafe entry: {m.name!r}")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, members=members, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(target, members=members)

"""``Home``: the embedded home folder (``.rillet/``) that holds the SQLite
metadata store, the artifact folder, checkpoints and working directories.

Opening a home imports neither SQLAlchemy nor Alembic nor fsspec (it is on the
path of every ``rillet run``). A folder that is not a rillet home, or that a
newer rillet wrote, is refused and never modified.

Layout::

    home.json      {"format": "rillet-home", "schema": "<alembic revision>"}
    rillet.db      SQLite metadata store (WAL)
    artifacts/     value bytes by content hash (ab/cdef…)
    checkpoints/   <scope>/<node id>: one file per node, kept across attempts
    work/          <execution id>/: scratch folders of tasks
"""

from __future__ import annotations

import json
import os
import re
import threading
import time

from rillet.artifacts._folder import FolderArtifactStore
from rillet.errors import NotFound, StoreError
from rillet.store._db import SqliteDatabase
from rillet.store._ddl import HEAD
from rillet.store._migrate import check_known, ensure_schema
from rillet.store._sql import SqlMetadataStore

MARKER = "home.json"
DATABASE = "rillet.db"
FORMAT = "rillet-home"
FOLDERS = ("artifacts", "checkpoints", "work")
_TMP_PREFIX = f".{MARKER}."  # temp files of a marker being written
_MARKER_TMP = re.compile(re.escape(_TMP_PREFIX) + "[0-9a-f]{16}")


class Home:
    """An opened home. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: str, db: SqliteDatabase) -> None:
        self.path = path
        self._db = db
        self._store: SqlMetadataStore | None = None
        self._artifacts: FolderArtifactStore | None = None
        self._made: set[str] = set()

    @classmethod
    def open(cls, path: str | None = None, create: bool = True) -> Home:
        """Open the home at ``path`` (default ``$RILLET_HOME``, else ``./.rillet``).

        A missing or empty folder becomes a new home when ``create`` is true;
        concurrent creators all succeed.
        """
        given = path or os.environ.get("RILLET_HOME") or ".rillet"
        refuse_url(given)
        path = os.path.abspath(given)
        if not _has_marker(path, create):
            _write_marker(path, HEAD)
        marker_schema = _read_marker(path)
        db_path = os.path.join(path, DATABASE)
        _check_database_file(path, db_path)
        db = SqliteDatabase(db_path)
        try:
            found = ensure_schema(db, db_path)
        except StoreError as exc:
            db.close()
            raise _file_system_trouble(path) or exc from None
        except BaseException:
            db.close()
            raise
        if marker_schema != HEAD or (found and found != HEAD):
            _write_marker(path, HEAD)
        try:
            for folder in FOLDERS:
                _make_folder(os.path.join(path, folder))
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    @classmethod
    def shared(cls, path: str | None = None) -> Home:
        """The home at ``path`` opened once per process and reused by later calls
        (``rillet.run``, ``rillet.recover``: opening costs ~0.6 ms a call, most of it
        SQLite reading the schema on a new connection). Opened again when its database
        or marker is no longer the same file (removed, replaced, migrated by another
        process: the marker is rewritten); never closed (as a per-call one was not)."""
        given = path or os.environ.get("RILLET_HOME") or ".rillet"
        key = (os.path.abspath(given), os.getpid())
        seen = _identity(key[0])
        with _SHARED_LOCK:
            found = _SHARED.get(key)
        if found is not None and seen is not None and found[0] == seen:
            return found[1]
        home = cls.open(path)
        with _SHARED_LOCK:
            _SHARED[key] = (_identity(key[0]), home)
        return home

    @property
    def db_path(self) -> str:
        return self._db.path

    @property
    def url(self) -> str:
        return self._db.url

    @property
    def store(self) -> SqlMetadataStore:
        if self._store is None:
            self._store = SqlMetadataStore.from_database(self._db)
        return self._store

    @property
    def artifacts(self) -> FolderArtifactStore:
        if self._artifacts is None:
            self._artifacts = FolderArtifactStore(os.path.join(self.path, "artifacts"))
        return self._artifacts

    def checkpoint_path(self, scope: str, node_id: str, *, make: bool = True) -> str:
        """The checkpoint file of ``node_id`` in ``scope`` (its folder exists unless
        ``make=False``: then the writer of a checkpoint makes it, as the executors'
        sinks do; the file may not exist). Node ids with ``/`` are quoted into one
        file name."""
        folder = os.path.join(self.path, "checkpoints", _safe_name(scope))
        if make and folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        return os.path.join(folder, _safe_name(node_id))

    def log_path(self, execution_id: str) -> str:
        """The file the output of ``execution_id``'s tasks goes to while they run
        (``logs/<execution id>.log``; made on the first output)."""
        return os.path.join(self.path, "logs", _safe_name(execution_id) + ".log")

    def work_dir(self, execution_id: str, *, make: bool = True) -> str:
        """A scratch folder for ``execution_id`` (created unless ``make=False``: then
        what a task puts there makes it, as ``working_directory`` does)."""
        folder = os.path.join(self.path, "work", _safe_name(execution_id))
        if make:
            os.makedirs(folder, exist_ok=True)
        return folder

    def close(self, behind: bool = False) -> None:
        """``behind``: the database's last close (a WAL checkpoint and two syncs) runs in
        a thread; see ``SqliteDatabase.close``."""
        self._db.close(behind=behind)

    def __enter__(self) -> Home:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Home({self.path!r})"


# Homes opened by ``Home.shared``: (path, pid) -> (what its files were, the home).
_SHARED: dict[tuple[str, int], tuple[tuple[int, ...] | None, Home]] = {}
_SHARED_LOCK = threading.Lock()


def _identity(path: str) -> tuple[int, ...] | None:
    """Which database and marker files the home at ``path`` has (None when either is
    missing): their device and inode, and the marker's modification time."""
    try:
        db = os.stat(os.path.join(path, DATABASE))
        marker = os.stat(os.path.join(path, MARKER))
    except OSError:
        return None
    return (db.st_dev, db.st_ino, marker.st_ino, marker.st_mtime_ns)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def refuse_url(home: str) -> None:
    """A URL (``s3://…``, ``postgresql://…``) is not a home folder: refuse it in one line
    instead of creating a local folder named after it."""
    if _URL.match(home):
        scheme = home.split("://", 1)[0]
        raise StoreError(
            f"--home {home}: a home is a local folder, not a {scheme}:// URL; give a folder "
            "(e.g. --home ./.rillet). A shared store on PostgreSQL and S3 is served by "
            "`rillet server --db URL --artifacts URL`")


def _has_marker(path: str, create: bool) -> bool:
    """True for a home; False for a folder to make into one; raise otherwise."""
    try:
        entries = os.listdir(path)
    except FileNotFoundError:
        entries = None
    except NotADirectoryError:
        raise StoreError(f"{path} is a file, not a rillet home folder; "
                         "choose another --home") from None
    except OSError as exc:
        raise StoreError(f"cannot read the rillet home {path}: {exc.strerror}") from None
    if entries is not None and MARKER in entries:
        return True
    # The marker is written first, so a folder being created by another process
    # holds nothing but marker temp files until the marker appears.
    if entries and any(not _MARKER_TMP.fullmatch(e) for e in entries):
        raise StoreError(
            f"{path} is not a rillet home: the folder is not empty and has no {MARKER}; "
            "refusing to use or change it (choose an empty or new folder with --home)")
    if not create:
        raise NotFound(f"no rillet home at {path} (run `rillet run` to create one, "
                       "or pass --home)")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the rillet home {path}: {exc.strerror}") from None
    return False


# A home whose marker is older than this and whose database is missing or empty lost
# its database: it is refused, not created again empty. Younger, it is being created.
CREATING_FOR = 60.0


def _check_database_file(path: str, db_path: str) -> None:
    """Refuse a home whose marker says it exists but whose database is gone or empty
    (a new empty store would silently forget every execution)."""
    try:
        size = os.stat(db_path).st_size
    except FileNotFoundError:
        size = -1
    except OSError as exc:
        raise StoreError(f"cannot read {db_path}: {exc.strerror}") from None
    if size > 0:
        return
    try:
        age = time.time() - os.stat(os.path.join(path, MARKER)).st_mtime
    except OSError:
        return
    if age > CREATING_FOR:
        state = "missing" if size < 0 else "empty"
        raise StoreError(
            f"{db_path} is {state}, but {path} is a rillet home ({MARKER}); refusing to "
            f"create an empty metadata store over it. Restore {DATABASE} from a backup, "
            f"or remove {MARKER} to start a new home there")


def _file_system_trouble(path: str) -> StoreError | None:
    """What is wrong with the file system under the home, when it is what made opening
    the database fail (read-only, full); None when it looks fine."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return StoreError(f"the rillet home {path} is on a read-only file system; rillet "
                          "writes its database there: use a writable --home")
    if st.f_bavail == 0 or st.f_favail == 0:
        return StoreError(f"the disk holding the rillet home {path} is full; free some "
                          "space (`rillet prune`, or elsewhere) and try again")
    if not os.access(path, os.W_OK):
        return StoreError(f"the rillet home {path} is not writable by this user; rillet "
                          "writes its database there: use a writable --home")
    return None


def _make_folder(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"{folder} is a file, not a folder; a rillet home needs it to be a "
                         "folder (move the file away)") from None
    except OSError as exc:
        raise StoreError(f"cannot create {folder}: {exc.strerror}") from None


def _read_marker(path: str) -> str:
    """The schema revision the marker names; raise for a foreign or newer marker."""
    marker = os.path.join(path, MARKER)
    try:
        with open(marker, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{marker} is unreadable or corrupt ({exc}); "
                         "refusing to use this folder as a rillet home") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{marker} is not a rillet home marker (expected format "
                         f"{FORMAT!r}); refusing to use this folder")
    schema = data.get("schema")
    if not isinstance(schema, str):
        raise StoreError(f"{marker} names no schema revision; refusing to use this folder")
    check_known(schema, path)
    return schema


def _write_marker(path: str, schema: str) -> None:
    """Write the marker atomically (temp file + rename): readers see all of it or none."""
    tmp = os.path.join(path, f"{_TMP_PREFIX}{os.urandom(8).hex()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "schema": schema}, f)
            f.write("\n")
        os.replace(tmp, os.path.join(path, MARKER))
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StoreError(f"cannot write {MARKER} in {path}: {exc.strerror}") from None


def _safe_name(name: str) -> str:
    """One path component for an id: '/' and other separators quoted, never '.' or '..'."""
    if not name:
        raise StoreError("an empty id cannot name a checkpoint or a work folder")
    safe = name.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C").replace("\0", "%00")
    return safe.replace(".", "%2E") if safe in (".", "..") else safe

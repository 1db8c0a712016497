"""The record of each durable run: its source files and its environment.

``save_record`` stores, after an execution, every file the workflow's code hash walked
(its own file, the task modules and the helpers they use) and an environment record
(Python version, platform, installed distributions). Both go to ``<home>/records``, a
content-addressed folder, under the sha256 of their bytes, so an unchanged file or
environment costs a stat; the ``run_records`` row names them. The environment's hash
is also kept in the home per interpreter and ``sys.path`` state, and read again only
when a site folder changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Any

from rillet.compiler._spec import walk
from rillet.errors import NotFound

_ENV_CACHE = "environment-cache.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """What one execution ran: ``files`` (path relative to ``root`` -> sha256) and the
    sha256 of its environment JSON."""

    execution_id: str
    root: str
    files: dict[str, str]
    environment: str
    created_at: float


def code_files(workflow: Any) -> list[str]:
    """The source files of ``workflow``: its module's file and every file that the code
    hashes of its tasks walked."""
    from rillet.compiler._codehash import code_hash

    files: dict[str, None] = {}
    source = getattr(sys.modules.get(workflow.fn.__module__), "__file__", None)
    if source:
        files[os.path.abspath(source)] = None
    nodes = list(walk(workflow.spec.nodes))
    if workflow.spec.on_failure is not None:
        nodes.append(workflow.spec.on_failure)
    seen: set[int] = set()
    for node in nodes:
        entity = node.entity
        fn = getattr(entity, "fn", None)
        if fn is None or id(fn) in seen or getattr(entity, "node_kind", "") == "workflow":
            continue
        seen.add(id(fn))
        try:
            found = code_hash(fn).files
        except Exception:  # code without source (a REPL): nothing to record for it
            continue
        for path in found.values():
            if path.startswith("<notebook ") and path.endswith(">"):
                path = path[len("<notebook "):-1]  # a notebook step's code: the .ipynb
            if path and path.endswith((".py", ".ipynb")):
                files[os.path.abspath(path)] = None
    return [f for f in files if os.path.isfile(f)]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def environment() -> dict[str, Any]:
    """This interpreter: Python version, implementation, platform, and every installed
    distribution with its version."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "executable": sys.executable,
        "distributions": distributions(),
    }


def distributions() -> dict[str, str]:
    """Installed distributions (normalized name -> version), from the names of the
    ``NAME-VERSION.dist-info`` (and ``.egg-info``) folders on ``sys.path``: a listing per
    folder, not a metadata file per distribution (that takes tenths of a second). The
    first folder on ``sys.path`` that has a distribution wins, as for imports."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind not in ("dist-info", "egg-info") or "-" not in stem:
                continue
            dist, _, version = stem.partition("-")
            version = version.split("-")[0]
            if dist and version:
                found.setdefault(dist.lower().replace("_", "-").replace(".", "-"), version)
    return dict(sorted(found.items()))


def _environment_key() -> str:
    """Changes when the interpreter or any folder on ``sys.path`` changes (an install or
    an uninstall touches its site folder)."""
    parts: list[str] = [sys.executable, sys.version]
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return _digest("\0".join(parts).encode())


def environment_hash(home_path: str, artifacts: Any) -> str:
    """The sha256 of this interpreter's environment JSON, stored in the artifact store."""
    key = _environment_key()
    known = _ENV_SEEN.get((home_path, key))
    if known is not None:
        return known
    digest = _environment_hash(home_path, artifacts, key)
    _ENV_SEEN[(home_path, key)] = digest
    return digest


# What this process found or stored: (home folder, environment key) -> the environment's
# hash; (file, its size and modification time) -> its hash, and the record stores.
_ENV_SEEN: dict[tuple[str, str], str] = {}
_FILE_SEEN: dict[tuple[str, int, int], str] = {}
_STORES: dict[str, Any] = {}
_RACY_NS = 2_000_000_000  # a file modified this recently is read again each time


def _environment_hash(home_path: str, artifacts: Any, key: str) -> str:
    cache_file = os.path.join(home_path, _ENV_CACHE)
    try:
        with open(cache_file) as fh:
            cached = json.load(fh)
        if isinstance(cached, dict) and isinstance(cached.get(key), str):
            return str(cached[key])
    except (OSError, ValueError):
        cached = {}
    data = json.dumps(environment(), sort_keys=True).encode()
    digest = _digest(data)
    artifacts.put(digest, data)
    cached = {key: digest} if not isinstance(cached, dict) else {**cached, key: digest}
    tmp = f"{cache_file}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as fh:
            json.dump(dict(list(cached.items())[-16:]), fh)
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only home: computed again next time
    return digest


def _local_folder(home: Any) -> str | None:
    """The home folder of a ``Home``, or of an ``Instance`` that is an embedded home."""
    path = getattr(home, "path", None)
    return path if isinstance(path, str) else getattr(home, "home_path", None)


def record_store(home: Any) -> Any:
    """Where a home keeps recorded files and environments: a content-addressed folder of
    its own (``<home>/records``), apart from the artifacts that prune manages; an instance
    on shared stores keeps them under ``records/`` beside its artifacts' prefix."""
    from rillet.artifacts import FolderArtifactStore

    folder = _local_folder(home)
    root = (os.path.join(folder, "records") if folder is not None
            else f"{home.artifacts.root.rstrip('/')}/records")
    found = _STORES.get(root)
    if found is None:
        found = _STORES[root] = FolderArtifactStore(root)
    return found


def save_record(home: Any, workflow: Any, execution_id: str) -> RunRecord:
    """Store the source files and environment of ``execution_id``; one row."""
    artifacts = record_store(home)
    paths = code_files(workflow)
    root = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
    files: dict[str, str] = {}
    for path in paths:
        st = os.stat(path)
        seen = (path, st.st_size, st.st_mtime_ns)
        digest = _FILE_SEEN.get(seen)
        if digest is None or not artifacts.exists(f"{digest[:2]}/{digest[2:]}"):
            with open(path, "rb") as fh:
                data = fh.read()
            digest = _digest(data)
            artifacts.put(digest, data)
            if st.st_mtime_ns < time.time_ns() - _RACY_NS:  # (git's "racy" rule: a file
                _FILE_SEEN[seen] = digest  # changed again within the clock's tick keeps
                # its size and time)
        files[os.path.relpath(path, root)] = digest
    record = RunRecord(execution_id=execution_id, root=root, files=files,
                       environment=environment_hash(_local_folder(home) or home.scratch,
                                                    artifacts),
                       created_at=time.time())
    with home.store.database.write() as c:
        c.execute("INSERT INTO run_records (execution_id, root, files, environment, "
                  "created_at) VALUES (?, ?, ?, ?, ?)",
                  (execution_id, root, json.dumps(files, sort_keys=True), record.environment,
                   record.created_at))
    return record


def load_record(store: Any, execution_id: str) -> RunRecord:
    rows = store.database.read(
        "SELECT execution_id, root, files, environment, created_at FROM run_records "
        "WHERE execution_id = ?", (execution_id,))
    if not rows:
        raise NotFound(f"execution {execution_id} has no record of its code and environment "
                       "(it ran before records were kept, or not through rillet run)")
    eid, root, files, env, created = rows[0]
    return RunRecord(execution_id=eid, root=root, files=json.loads(files), environment=env,
                     created_at=created)


def blob(artifacts: Any, digest: str) -> bytes:
    """A stored file or environment record by its sha256."""
    return bytes(artifacts.get(f"{digest[:2]}/{digest[2:]}"))

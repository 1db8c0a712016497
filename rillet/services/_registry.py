"""Registration and launches for the server: thin wrappers over ``rillet.platform``
that take an :class:`~rillet.store.Instance` and return JSON shapes."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

from rillet.errors import NotFound, ValueUnavailable
from rillet.store._instance import Instance

MAX_SHOWN = 1 << 20  # a file of a bundle shown as text up to this size


def register(inst: Instance, data: bytes, *, project: str = "default",
             domain: str = "development", version: str | None = None,
             who: str | None = None) -> list[dict[str, Any]]:
    """Register an uploaded bundle (tar.gz bytes, as ``rillet register`` packs it)."""
    from rillet.platform._bundle import from_bytes
    from rillet.platform._registry import register_bundle

    found = register_bundle(from_bytes(data), store=inst.store, artifacts=inst.artifacts,
                            project=project, domain=domain, version=version,
                            where="the uploaded bundle", who=who)
    return [e.to_json() for e in found]


def versions(inst: Instance, name: str | None = None, *, project: str = "default",
             domain: str = "development") -> list[dict[str, Any]]:
    """Registered entities (of ``name``, or all), newest first."""
    from rillet.platform._registry import versions as list_versions

    return [e.to_json() for e in list_versions(inst.store, name, project=project,
                                               domain=domain)]


def launch(inst: Instance, name: str, version: str | None = None, *, project: str = "default",
           domain: str = "development", inputs: dict[str, Any] | None = None,
           who: str | None = None) -> str:
    """Queue an execution of registered ``name`` (inputs checked); return its id."""
    from rillet.platform._queue import launch as queue_launch

    return queue_launch(inst.store, name, version, project=project, domain=domain,
                        inputs=inputs, who=who)


def _version(inst: Instance, version: str, project: str, domain: str) -> Any:
    from rillet.platform._registry import versions as list_versions

    rows = [e for e in list_versions(inst.store, project=project, domain=domain)
            if e.version == version]
    if not rows:
        raise NotFound(f"no version {version!r} registered in {project}/{domain}")
    return rows


def _bundle(inst: Instance, entity: Any) -> tarfile.TarFile:
    """The version's code bundle, its bytes checked against its hash (the artifact store
    is not trusted); read as a tar, never extracted, never imported."""
    short = entity.bundle_hash[:12]
    try:
        data = inst.artifacts.get(entity.bundle_uri)
    except NotFound:
        raise ValueUnavailable(f"code bundle {short} is missing: no bytes at "
                               f"{entity.bundle_uri!r}", digest=entity.bundle_hash,
                               uri=entity.bundle_uri, reason="missing") from None
    if hashlib.sha256(data).hexdigest() != entity.bundle_hash:
        raise ValueUnavailable(f"code bundle {short} is corrupt: its bytes do not match its "
                               "hash", digest=entity.bundle_hash, uri=entity.bundle_uri,
                               reason="corrupt")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def version_files(inst: Instance, version: str, *, project: str = "default",
                  domain: str = "development") -> dict[str, Any]:
    """The files of a registered version's code bundle (path and size), and what it
    registered (name and kind per entity)."""
    rows = _version(inst, version, project, domain)
    with _bundle(inst, rows[0]) as tar:
        files = [{"path": m.name, "size": m.size} for m in tar.getmembers() if m.isfile()]
    return {"project": project, "domain": domain, "version": version,
            "bundle_hash": rows[0].bundle_hash, "created_at": rows[0].created_at,
            "entities": [{"name": e.name, "kind": e.kind} for e in
                         sorted(rows, key=lambda e: e.name)],
            "files": sorted(files, key=lambda f: str(f["path"]))}


def version_file(inst: Instance, version: str, path: str, *, project: str = "default",
                 domain: str = "development") -> dict[str, Any]:
    """One file of a registered version's bundle as text (UTF-8, up to 1 MiB)."""
    rows = _version(inst, version, project, domain)
    with _bundle(inst, rows[0]) as tar:
        member = next((m for m in tar.getmembers() if m.isfile() and m.name == path), None)
        if member is None:
            names = [m.name for m in tar.getmembers() if m.isfile()]
            raise NotFound(f"version {version} has no file {path!r} (files: "
                           f"{', '.join(names[:20])})")
        if member.size > MAX_SHOWN:
            raise ValueError(f"{path} is {member.size} bytes: only files up to "
                             f"{MAX_SHOWN // 2**20} MiB are shown")
        src = tar.extractfile(member)
        assert src is not None  # a regular file
        data = src.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text: it is not shown") from None
    return {"path": path, "size": len(data), "text": text}

"""Registered versions: ``register`` packs code, stores the bundle as an artifact,
describes it in a child process and records every entity it defines, immutably;
``versions`` lists them; ``find`` picks the one a launch names.

Writes only the ``registered_entities`` table and the bundle's bytes. The same content
again is a no-op; other content under an existing version is a ``Conflict``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from rillet.errors import Conflict, DefinitionError, NotFound
from rillet.platform._bundle import Bundle, pack, unpack
from rillet.platform._collect import collect_in_child

DOMAINS = ("development", "staging", "production")
COLS = ("project", "domain", "name", "version", "kind", "identity", "interface", "spec",
        "code_hash", "bundle_hash", "bundle_uri", "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredEntity:
    """One registered task, workflow or launch plan at one version."""

    project: str
    domain: str
    name: str
    version: str
    kind: str
    identity: str
    interface: dict[str, Any]
    spec: dict[str, Any] | None
    code_hash: str
    bundle_hash: str
    bundle_uri: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "domain": self.domain, "name": self.name,
                "version": self.version, "kind": self.kind, "identity": self.identity,
                "interface": self.interface, "code_hash": self.code_hash,
                "bundle_hash": self.bundle_hash, "created_at": self.created_at}


def _row(r: tuple[Any, ...]) -> RegisteredEntity:
    d = dict(zip(COLS, r, strict=True))
    d["interface"] = json.loads(d["interface"])
    d["spec"] = json.loads(d["spec"]) if d["spec"] else None
    return RegisteredEntity(**d)


def check_scope(project: str, domain: str) -> None:
    if domain not in DOMAINS:
        raise DefinitionError(f"unknown domain {domain!r}; use one of {', '.join(DOMAINS)}")
    if not project or not all(c.isalnum() or c in "-_." for c in project):
        raise DefinitionError(f"project name {project!r} must be letters, digits, - _ or .")


def register(path: str, *, store: Any, artifacts: Any, project: str = "default",
             domain: str = "development", version: str | None = None,
             cache: str | None = None, who: str | None = None) -> list[RegisteredEntity]:
    """Register every task, workflow and launch plan in ``path``; return them."""
    return register_bundle(pack(path), store=store, artifacts=artifacts, project=project,
                           domain=domain, version=version, cache=cache, where=path, who=who)


def register_bundle(bundle: Bundle, *, store: Any, artifacts: Any, project: str = "default",
                    domain: str = "development", version: str | None = None,
                    cache: str | None = None, where: str = "the bundle",
                    who: str | None = None) -> list[RegisteredEntity]:
    """Register a packed bundle (what a server receives from ``rillet register``)."""
    from rillet.platform._teams import require_project

    check_scope(project, domain)
    require_project(store, project)
    version = version or bundle.short
    if not version or any(c.isspace() or c == "/" for c in version):
        raise DefinitionError(f"version {version!r} must be non-empty, with no space or '/'")
    uri = artifacts.put(bundle.digest, bundle.data)
    folder = unpack(bundle.data, bundle.digest, cache or default_cache())
    entities = collect_in_child(folder, bundle.modules)
    if not entities:
        raise DefinitionError(f"{where} defines no task, workflow or launch plan to register")
    now = time.time()
    rows = [RegisteredEntity(project=project, domain=domain, name=e["name"], version=version,
                             kind=e["kind"], identity=e["identity"], interface=e["interface"],
                             spec=e["spec"], code_hash=e["code_hash"],
                             bundle_hash=bundle.digest, bundle_uri=uri, created_at=now)
            for e in entities]
    return _insert(store.database, rows, who)


def _insert(db: Any, rows: list[RegisteredEntity], who: str | None) -> list[RegisteredEntity]:
    from rillet.platform._teams import audit, local_user

    out: list[RegisteredEntity] = []
    added: list[str] = []
    first = rows[0]
    with db.write() as c:
        existing = {r[2]: _row(tuple(r)) for r in c.execute(
            f"SELECT {', '.join(COLS)} FROM registered_entities WHERE project = ? AND domain = ? "
            "AND version = ?", (first.project, first.domain, first.version)).fetchall()}
        for row in rows:
            old = existing.get(row.name)
            if old is not None:
                if old.bundle_hash != row.bundle_hash or old.code_hash != row.code_hash:
                    raise Conflict(
                        f"{row.name} version {row.version} is already registered in "
                        f"{row.project}/{row.domain} with other content (bundle "
                        f"{old.bundle_hash[:12]}, this one {row.bundle_hash[:12]}); registered "
                        "versions are immutable, register under another --version")
                out.append(old)
                continue
            c.execute(
                f"INSERT INTO registered_entities ({', '.join(COLS)}) VALUES "
                f"({', '.join('?' * len(COLS))})",
                (row.project, row.domain, row.name, row.version, row.kind, row.identity,
                 json.dumps(row.interface, sort_keys=True),
                 json.dumps(row.spec, sort_keys=True) if row.spec is not None else None,
                 row.code_hash, row.bundle_hash, row.bundle_uri, row.created_at))
            out.append(row)
            added.append(row.name)
        if added:  # the same content again changes nothing and is not a write
            audit(c, who=who or local_user(), project=first.project, domain=first.domain,
                  action="register", target=f"version {first.version}", at=first.created_at,
                  detail={"bundle_hash": first.bundle_hash, "entities": sorted(added)})
    return out


def versions(store: Any, name: str | None = None, *, project: str = "default",
             domain: str = "development") -> list[RegisteredEntity]:
    """Registered entities (of ``name``, or all), newest first."""
    sql = (f"SELECT {', '.join(COLS)} FROM registered_entities WHERE project = ? AND domain = ?")
    params: list[Any] = [project, domain]
    if name:
        sql += " AND name = ?"
        params.append(name)
    rows = [_row(tuple(r)) for r in store.database.read(sql, params)]
    rows.sort(key=lambda e: (-e.created_at, e.name))
    return rows


def find(store: Any, name: str, version: str | None, *, project: str,
         domain: str) -> RegisteredEntity:
    """The entity a launch names (its newest version when ``version`` is None)."""
    sql = f"SELECT {', '.join(COLS)} FROM registered_entities WHERE project = ? AND domain = ? " \
          "AND name = ?"
    params: list[Any] = [project, domain, name]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    rows = [_row(tuple(r)) for r in store.database.read(sql, params)]
    if not rows:
        known = sorted({e.name for e in versions(store, project=project, domain=domain)
                        if e.kind != "task"})
        what = f"{name} version {version}" if version else name
        raise NotFound(f"{what} is not registered in {project}/{domain} (registered: "
                       f"{', '.join(known[:10]) or 'nothing'}); run `rillet register` first")
    if len(rows) == 1:
        return rows[0]
    from rillet.platform._teams import active_since

    # the domain's active version: the newest registered or promoted into it (a rollback
    # promotes an older one again)
    return max(rows, key=lambda e: (active_since(store, e), e.created_at))


def default_cache() -> str:
    """Where bundles are unpacked on this machine (``$RILLET_BUNDLE_CACHE``)."""
    return os.environ.get("RILLET_BUNDLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        if os.access(os.path.expanduser("~"), os.W_OK) else tempfile.gettempdir(),
        "rillet", "bundles")

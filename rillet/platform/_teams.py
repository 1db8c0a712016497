"""Teams: projects, promotion of a registered version from one domain to the next, and
the audit trail of writes (docs/teams.md).

``default`` always exists and needs no row. Every write here appends its audit row in
the same transaction as the change it records.
"""

from __future__ import annotations

import getpass
import json
import time
from typing import Any

from rillet.errors import AlreadyExists, Conflict, DefinitionError, NotFound
from rillet.platform._registry import COLS, DOMAINS, RegisteredEntity, _row, check_scope

DEFAULT_PROJECT = "default"
ANONYMOUS = "anonymous"


def local_user() -> str:
    """Who writes when a command works on the store directly (no server, no token)."""
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        return "local:unknown"


def audit(c: Any, *, who: str, project: str, domain: str, action: str, target: str,
          detail: dict[str, Any] | None = None, at: float | None = None) -> None:
    """Append one audit row on the open write connection ``c``."""
    c.execute(
        "INSERT INTO audit_log (at, who, project, domain, action, target, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (time.time() if at is None else at, who, project, domain, action, target,
         json.dumps(detail or {}, sort_keys=True)))


def record(store: Any, **kw: Any) -> None:
    """Append one audit row in a transaction of its own (for writes made elsewhere)."""
    with store.database.write() as c:
        audit(c, **kw)


# -- projects ---------------------------------------------------------------------------

def check_project_name(name: str) -> None:
    check_scope(name, DOMAINS[0])


def create_project(store: Any, name: str, *, description: str = "",
                   who: str | None = None) -> dict[str, Any]:
    """A new project (with its three domains); ``AlreadyExists`` if it exists."""
    check_project_name(name)
    if len(name) > 100:
        raise DefinitionError(f"project name {name[:20]!r}... is longer than 100 characters")
    who = who or local_user()
    if name == DEFAULT_PROJECT:
        raise AlreadyExists("project 'default' already exists (it always does)")
    now = time.time()
    with store.database.write() as c:
        if c.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
            raise AlreadyExists(f"project {name!r} already exists (see `rillet project list`)")
        c.execute("INSERT INTO projects (name, description, created_at, created_by) "
                  "VALUES (?, ?, ?, ?)", (name, description, now, who))
        audit(c, who=who, project=name, domain="", action="project.create", target=name,
              detail={"description": description}, at=now)
    return _project(name, description, now, who)


def _project(name: str, description: str, at: float | None, who: str) -> dict[str, Any]:
    return {"name": name, "description": description, "domains": list(DOMAINS),
            "created_at": at, "created_by": who}


def list_projects(store: Any) -> list[dict[str, Any]]:
    """Every project, ``default`` first, then by name."""
    rows = store.database.read(
        "SELECT name, description, created_at, created_by FROM projects ORDER BY name")
    return [_project(DEFAULT_PROJECT, "", None, ""),
            *(_project(str(r[0]), str(r[1]), float(r[2]), str(r[3])) for r in rows)]


def require_project(store: Any, name: str) -> None:
    """``NotFound`` (naming the command that makes it) unless project ``name`` exists."""
    check_project_name(name)
    if name == DEFAULT_PROJECT:
        return
    if not store.database.read("SELECT 1 FROM projects WHERE name = ?", (name,)):
        raise NotFound(f"project {name!r} does not exist; create it with "
                       f"`rillet project create {name}`")


# -- promotion --------------------------------------------------------------------------

def promote(store: Any, name: str, version: str, *, project: str, from_domain: str,
            to_domain: str, who: str | None = None) -> dict[str, Any]:
    """Make ``name`` at ``version`` available in ``to_domain``: the registered rows of its
    bundle are copied (same bundle, same hashes; nothing is rebuilt). Again for a version
    already there re-activates it (a rollback); other content under it is a ``Conflict``."""
    check_scope(project, from_domain)
    check_scope(project, to_domain)
    if from_domain == to_domain:
        raise DefinitionError(f"--from and --to are both {from_domain!r}; promote to another "
                              "domain")
    require_project(store, project)
    who = who or local_user()
    sel = f"SELECT {', '.join(COLS)} FROM registered_entities WHERE project = ? AND domain = ?"
    now = time.time()
    with store.database.write() as c:
        found = [_row(tuple(r)) for r in c.execute(
            f"{sel} AND name = ? AND version = ?",
            (project, from_domain, name, version)).fetchall()]
        if not found:
            raise NotFound(f"{name} version {version} is not registered in "
                           f"{project}/{from_domain}; see `rillet versions {name} --project "
                           f"{project} --domain {from_domain}`")
        (entity,) = found
        # the whole registration: the tasks and launch plans of the same bundle and version
        rows = [_row(tuple(r)) for r in c.execute(
            f"{sel} AND version = ? AND bundle_hash = ?",
            (project, from_domain, version, entity.bundle_hash)).fetchall()]
        there = {str(r[0]): (str(r[1]), str(r[2])) for r in c.execute(
            "SELECT name, bundle_hash, code_hash FROM registered_entities WHERE project = ? "
            "AND domain = ? AND version = ?", (project, to_domain, version)).fetchall()}
        for row in rows:
            old = there.get(row.name)
            if old is not None and old != (row.bundle_hash, row.code_hash):
                raise Conflict(
                    f"{row.name} version {version} is already in {project}/{to_domain} with "
                    f"other content (bundle {old[0][:12]}, promoted {row.bundle_hash[:12]}); "
                    "nothing was promoted")
        for row in rows:
            if row.name in there:
                continue
            c.execute(
                f"INSERT INTO registered_entities ({', '.join(COLS)}) VALUES "
                f"({', '.join('?' * len(COLS))})",
                (project, to_domain, row.name, version, row.kind, row.identity,
                 json.dumps(row.interface, sort_keys=True),
                 json.dumps(row.spec, sort_keys=True) if row.spec is not None else None,
                 row.code_hash, row.bundle_hash, row.bundle_uri, now))
        c.execute(
            "INSERT INTO promotions (project, name, version, from_domain, to_domain, "
            "bundle_hash, who, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (project, name, version, from_domain, to_domain, entity.bundle_hash, who, now))
        audit(c, who=who, project=project, domain=to_domain, action="promote",
              target=f"{name}@{version}", at=now,
              detail={"from": from_domain, "to": to_domain, "bundle_hash": entity.bundle_hash,
                      "entities": sorted(r.name for r in rows)})
    return {"project": project, "name": name, "version": version, "from_domain": from_domain,
            "to_domain": to_domain, "bundle_hash": entity.bundle_hash, "who": who, "at": now}


def promotions(store: Any, *, project: str | None = None, name: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """The promotion history, newest first."""
    sql = ("SELECT project, name, version, from_domain, to_domain, bundle_hash, who, at "
           "FROM promotions")
    where, params = _filters(project=project, name=name)
    rows = store.database.read(f"{sql}{where} ORDER BY at DESC, id DESC LIMIT ?",
                               (*params, max(0, min(limit, 1000))))
    keys = ("project", "name", "version", "from_domain", "to_domain", "bundle_hash", "who",
            "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def active_since(store: Any, entity: RegisteredEntity) -> float:
    """When ``entity`` became the one its domain runs: its registration, or its latest
    promotion into the domain (a rollback promotes an older version again)."""
    rows = store.database.read(
        "SELECT MAX(at) FROM promotions WHERE project = ? AND to_domain = ? AND version = ? "
        "AND bundle_hash = ?", (entity.project, entity.domain, entity.version,
                                entity.bundle_hash))
    promoted = rows[0][0] if rows else None
    return max(entity.created_at, float(promoted) if promoted is not None else 0.0)


# -- the audit trail --------------------------------------------------------------------

def audit_log(store: Any, *, project: str | None = None, limit: int = 100
              ) -> list[dict[str, Any]]:
    """Audit rows, newest first (of one project, or all)."""
    where, params = _filters(project=project)
    rows = store.database.read(
        f"SELECT id, at, who, project, domain, action, target, detail FROM audit_log{where} "
        "ORDER BY at DESC, id DESC LIMIT ?", (*params, max(0, min(limit, 10000))))
    return [{"id": int(r[0]), "at": float(r[1]), "who": r[2], "project": r[3],
             "domain": r[4], "action": r[5], "target": r[6], "detail": json.loads(r[7])}
            for r in rows]


def _filters(**kw: str | None) -> tuple[str, list[Any]]:
    parts = [(f"{k} = ?", v) for k, v in kw.items() if v is not None]
    if not parts:
        return "", []
    return " WHERE " + " AND ".join(p for p, _ in parts), [v for _, v in parts]


def execution_scope(store: Any, execution_id: str) -> tuple[str, str]:
    """(project, domain) of an execution (``default``/``development`` if unknown)."""
    rows = store.database.read("SELECT project, domain FROM executions WHERE id = ?",
                               (execution_id,))
    return (str(rows[0][0]), str(rows[0][1])) if rows else (DEFAULT_PROJECT, DOMAINS[0])


# -- quotas -----------------------------------------------------------------------------

def set_limit(store: Any, project: str, domain: str, max_running: int, *,
              who: str | None = None) -> dict[str, Any]:
    """Cap the executions ``project``/``domain`` runs at once (0 removes the cap);
    launches past it stay queued and start, oldest first, as others end."""
    check_scope(project, domain)
    require_project(store, project)
    if max_running < 0:
        raise DefinitionError(f"--max-running must be >= 0 (0: no cap), got {max_running}")
    who = who or local_user()
    now = time.time()
    with store.database.write() as c:
        c.execute("DELETE FROM project_limits WHERE project = ? AND domain = ?",
                  (project, domain))
        if max_running:
            c.execute("INSERT INTO project_limits (project, domain, max_running, updated_at, "
                      "updated_by) VALUES (?, ?, ?, ?, ?)",
                      (project, domain, max_running, now, who))
        audit(c, who=who, project=project, domain=domain, action="project.limit",
              target=project, at=now, detail={"max_running": max_running or None})
    return {"project": project, "domain": domain, "max_running": max_running or None}

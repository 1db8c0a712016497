"""Tokens and roles: ``create_token`` prints a token once and stores only its sha256;
a user's role per project orders viewer < launcher < editor < admin; an admin token
(``--admin``) may do anything, in every project.

``Identity.lookup`` reads a token's user and roles, cached per process for a few
seconds (a revoke in this process clears the cache at once).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rillet.errors import DefinitionError, NotFound

ROLES = ("viewer", "launcher", "editor", "admin")
CACHE_SECONDS = 5.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_role(role: str) -> None:
    if role not in ROLES:
        raise DefinitionError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def check_user(user: str) -> None:
    if not user or len(user) > 200 or any(c.isspace() or not c.isprintable() for c in user):
        raise DefinitionError(f"user name {user!r} must be 1-200 printable characters, "
                              "no spaces")


def create_token(store: Any, user: str, *, project: str | None = None,
                 role: str | None = None, admin: bool = False,
                 who: str | None = None) -> dict[str, Any]:
    """A new token for ``user`` (granting ``role`` in ``project`` when given); the token's
    text is in the answer only: the store keeps its hash."""
    from rillet.platform._teams import audit, local_user, require_project

    check_user(user)
    if (project is None) != (role is None):
        raise DefinitionError("give --project and --role together (or --admin alone)")
    if role is not None:
        check_role(role)
    if project is not None:
        require_project(store, project)
    if not admin and project is None:
        raise DefinitionError("a token needs a role in a project (--project P --role R) "
                              "or --admin")
    who = who or local_user()
    token = "rlt_" + secrets.token_urlsafe(32)
    now = time.time()
    with store.database.write() as c:
        c.execute("INSERT INTO tokens (hash, username, is_admin, created_at, created_by) "
                  "VALUES (?, ?, ?, ?, ?)", (token_hash(token), user, admin, now, who))
        if project is not None:
            c.execute("DELETE FROM roles WHERE username = ? AND project = ?", (user, project))
            c.execute("INSERT INTO roles (username, project, role, granted_at, granted_by) "
                      "VALUES (?, ?, ?, ?, ?)", (user, project, role, now, who))
        audit(c, who=who, project=project or "", domain="", action="token.create",
              target=user, at=now, detail={"role": role, "admin": admin})
    IDENTITIES.clear()
    return {"token": token, "user": user, "project": project, "role": role, "admin": admin}


def revoke_tokens(store: Any, user: str, *, who: str | None = None) -> int:
    """Revoke every token of ``user``; how many."""
    from rillet.platform._teams import audit, local_user

    now = time.time()
    with store.database.write() as c:
        n = c.execute("UPDATE tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS "
                      "NULL", (now, user)).rowcount
        if not n:
            raise NotFound(f"user {user!r} has no live token")
        audit(c, who=who or local_user(), project="", domain="", action="token.revoke",
              target=user, at=now)
    IDENTITIES.clear()
    return int(n)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token is: the user, admin or not, and the role in each project."""

    user: str
    admin: bool
    roles: dict[str, str] = field(default_factory=dict)

    def allows(self, project: str, needed: str) -> bool:
        if self.admin:
            return True
        have = self.roles.get(project)
        return have is not None and ROLES.index(have) >= ROLES.index(needed)


class _Identities:
    """token hash -> Identity (or None), cached for CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def lookup(self, store: Any, token: str) -> Identity | None:
        digest = token_hash(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        rows = store.database.read("SELECT username, is_admin FROM tokens WHERE hash = ? AND "
                                   "revoked_at IS NULL", (digest,))
        found: Identity | None = None
        if rows:
            user = str(rows[0][0])
            roles = {str(p): str(r) for p, r in store.database.read(
                "SELECT project, role FROM roles WHERE username = ?", (user,))}
            found = Identity(user, bool(rows[0][1]), roles)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, found)
        return found


IDENTITIES = _Identities()

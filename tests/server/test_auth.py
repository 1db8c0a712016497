"""Tokens and roles (issue 15, point 4) on a server run with ``--auth``: the role
matrix generated from ``/openapi.json`` (every route x every role x own and foreign
project): the status code, and that a refused request wrote nothing; 401 without a
valid token; an open server listens on loopback only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from clikit import run
from serverkit import Served, serve

from rillet import Remote
from rillet.errors import AuthError, RilletError
from rillet.platform._stores import open_stores
from rillet.platform._teams import create_project
from rillet.platform._tokens import ROLES, create_token, revoke_tokens
from rillet.server._auth import OPEN, POLICY

FLOWS = ("from rillet import task, workflow\n\n"
         "@task\ndef inc(x: int) -> int:\n    return x + 1\n\n"
         "@workflow\ndef bump(x: int) -> int:\n    return inc(x=x)\n")
WRITTEN = ("audit_log", "executions", "registered_entities", "projects", "promotions",
           "tokens", "roles", "launch_plan_states", "cache_entries", "model_versions",
           "model_aliases", "launch_queue")


@pytest.fixture(scope="module")
def authed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("auth")
    home = root / "home"
    s = open_stores(str(home))
    tokens: dict[str, Any] = {}
    try:
        for p in ("own", "other"):
            create_project(s.store, p)
        tokens["root"] = create_token(s.store, "root", admin=True)["token"]
        for role in ROLES:
            tokens[role] = create_token(s.store, f"u-{role}", project="own", role=role)["token"]
    finally:
        s.close()
    with serve(root, home, auth=True, workers=0) as served:
        code = root / "authflows.py"
        code.write_text(FLOWS)
        with Remote(served.url, token=tokens["root"]) as admin:
            for p in ("own", "other"):
                admin.register(str(code), project=p, version="v1")
                tokens[f"exec-{p}"] = admin.launch("authflows.bump", project=p, x=1).id
        yield served, tokens


def _fingerprint(served: Served) -> dict[str, int]:
    from rillet.store import Home

    with Home.open(str(served.home / "home"), create=False) as h:
        return {t: int(h.store.database.read(f"SELECT COUNT(*) FROM {t}")[0][0])
                for t in WRITTEN}


def _request(method: str, path: str, project: str, tokens: dict[str, Any]
             ) -> dict[str, Any]:
    values = {"execution_id": tokens[f"exec-{project}"], "node_id": "inc", "ref": "x",
              "digest": "0" * 16, "name": "authflows.bump", "version": "1", "alias": "a",
              "request_id": "r"}
    url = path.format(**{k: v for k, v in values.items() if "{" + k + "}" in path})
    kw: dict[str, Any] = {"params": {"project": project}}
    if path.endswith("/compare"):  # the executions compared: the project's own
        kw["params"]["ids"] = tokens[f"exec-{project}"]
    if method in ("POST", "PUT"):
        if path.endswith("/register"):
            kw["content"] = b"not a bundle"
            kw["headers"] = {"content-type": "application/octet-stream"}
        else:
            kw["json"] = {"project": project, "name": "authflows.bump", "version": "v1",
                          "from_domain": "development", "to_domain": "staging",
                          "inputs": {"x": 2}, "user": f"new-{project}", "role": "viewer",
                          "catch_up": False, "from_nodes": [], "description": "",
                          "execution": "x", "node": "n", "output": "o0"}
    return {"method": method, "url": url, **kw}


def _expected(method: str, path: str, role: str, project: str) -> bool:
    needed, source = POLICY[(method, path[len("/api/v1"):])]
    if source == "global":
        return False
    if source in ("any", "token"):
        return True  # a role in some project (own); any valid token
    if source == "default":
        return False  # nobody here has a role in default
    # "request": the project of the served request; an unknown one (these requests) is
    # checked against the query's project, like "query"
    if method == "POST" and path.endswith("/tokens"):
        return project == "own" and role == "admin"
    return project == "own" and ROLES.index(role) >= ROLES.index(needed)


def test_the_role_matrix_from_openapi(authed) -> None:
    served, tokens = authed
    spec = httpx.get(f"{served.url}/openapi.json").json()  # open: no token
    operations = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops
                  if p.startswith("/api/v1")]
    covered = {("/api/v1" + p) for _, p in POLICY} | {"/api/v1" + p for _, p in OPEN}
    assert {p for _, p in operations} <= covered, "a route without a policy"
    checked = 0
    for method, path in operations:
        if (method, path[len("/api/v1"):]) in OPEN:
            continue
        for role in ROLES:
            for project in ("own", "other"):
                allowed = _expected(method, path, role, project)
                before = None if allowed else _fingerprint(served)
                req = _request(method, path, project, tokens)
                req["headers"] = {**req.get("headers", {}),
                                  "authorization": f"Bearer {tokens[role]}"}
                got = served.client.request(**req)
                where = f"{method} {path} as {role} in {project}: {got.status_code} {got.text}"
                assert got.status_code < 500, where
                assert got.status_code < 400 or "error" in got.json(), where
                if allowed:
                    assert got.status_code not in (401, 403), where
                else:
                    assert got.status_code == 403, where
                    assert _fingerprint(served) == before, where
                checked += 1
    assert checked >= 8 * (len(operations) - 1)


def test_no_token_or_a_bad_one_is_401_and_an_admin_may_do_anything(authed) -> None:
    served, tokens = authed
    assert served.get("/api/v1/health").status_code == 200
    before = _fingerprint(served)
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer"},
                    {"authorization": "Bearer rlt_nope"}):
        got = served.client.post("/api/v1/launch", headers=headers, json={
            "name": "authflows.bump", "project": "own", "inputs": {"x": 1}})
        assert got.status_code == 401 and "token" in got.json()["error"], got.text
    assert _fingerprint(served) == before
    with Remote(served.url) as anonymous, pytest.raises(AuthError, match="needs a token"):
        anonymous.executions(project="own")
    with Remote(served.url, token=tokens["root"]) as admin:
        assert {e.id for e in admin.executions(project="other")} >= {tokens["exec-other"]}
        made = admin.create_token("carol", project="other", role="launcher")
    with Remote(served.url, token=made["token"]) as carol:
        ex = carol.launch("authflows.bump", project="other", x=5)
        with pytest.raises(AuthError, match="needs the role launcher; carol has no role"):
            carol.launch("authflows.bump", project="own", x=5)
    with Remote(served.url, token=tokens["root"]) as admin:
        (row,) = [a for a in admin.audit(project="other")
                  if a["action"] == "launch" and a["detail"]["execution_id"] == ex.id]
        assert row["who"] == "carol"


def test_whoami_says_who_a_token_is_and_its_role_per_project(authed) -> None:
    """The UI hides the actions a role may not take from this answer (never guessed)."""
    served, tokens = authed
    for role in ROLES:
        got = served.client.get("/api/v1/whoami",
                                headers={"authorization": f"Bearer {tokens[role]}"})
        assert got.status_code == 200, got.text
        assert got.json() == {"user": f"u-{role}", "auth": True, "admin": False,
                              "roles": {"own": role}}
    got = served.client.get("/api/v1/whoami",
                            headers={"authorization": f"Bearer {tokens['root']}"})
    assert got.json() == {"user": "root", "auth": True, "admin": True, "roles": {}}
    assert served.client.get("/api/v1/whoami").status_code == 401
    # the execution's page learns the project a role is checked in
    detail = served.client.get(f"/api/v1/executions/{tokens['exec-other']}",
                               headers={"authorization": f"Bearer {tokens['root']}"}).json()
    assert (detail["project"], detail["domain"]) == ("other", "development")
    # the server still refuses what a viewer's page no longer offers
    refused = served.client.post(f"/api/v1/executions/{tokens['exec-own']}/recover",
                                 headers={"authorization": f"Bearer {tokens['viewer']}"})
    assert refused.status_code == 403 and "needs the role launcher" in refused.json()["error"]


def test_a_revoked_token_is_refused_at_once(authed) -> None:
    served, tokens = authed
    s = open_stores(str(served.home / "home"))
    try:
        made = create_token(s.store, "dave", project="own", role="viewer")
        ok = served.get("/api/v1/versions", params={"project": "own"},
                        headers={"authorization": f"Bearer {made['token']}"})
        assert ok.status_code == 200
        revoke_tokens(s.store, "dave")  # this process: the lookup cache is cleared
    finally:
        s.close()
    got = served.get("/api/v1/versions", params={"project": "own"},
                     headers={"authorization": f"Bearer {made['token']}"})
    assert got.status_code == 401 and "revoked" in got.json()["error"]


def test_token_revoke_through_the_server_and_on_the_store(authed, tmp_path: Path) -> None:
    served, tokens = authed
    with Remote(served.url, token=tokens["root"]) as admin:
        made = admin.create_token("frank", project="own", role="viewer")
    frank = {"authorization": f"Bearer {made['token']}"}

    def status() -> int:
        return served.get("/api/v1/versions", params={"project": "own"},
                          headers=frank).status_code

    assert status() == 200
    # a project's admin is not a global admin: a user's tokens span projects
    cmd = ["token", "revoke", "--user", "frank", "--server", served.url, "--token"]
    bad = run([*cmd, tokens["admin"]], tmp_path)
    assert bad.code == 2 and "needs an admin token" in bad.err, bad
    assert status() == 200
    done = run([*cmd, tokens["root"], "--json"], tmp_path)
    assert done.code == 0 and done.json == {"user": "frank", "revoked": 1}, done
    assert status() == 401  # at once: revoked through this server
    again = run([*cmd, tokens["root"]], tmp_path)
    assert again.code == 2 and "'frank' has no live token" in again.err, again
    with Remote(served.url, token=tokens["root"]) as admin:
        (row,) = [a for a in admin.audit(limit=1000)
                  if a["action"] == "token.revoke" and a["target"] == "frank"]
    assert row["who"] == "root"
    # on the store directly (--home), as the first admin token is made
    home = str(served.home / "home")
    assert run(["token", "create", "--user", "gina", "--project", "own", "--role", "viewer",
                "--home", home], tmp_path).code == 0
    local = run(["token", "revoke", "--user", "gina", "--home", home], tmp_path)
    assert local.code == 0 and local.out.strip() == "revoked 1 token(s) of gina", local


def test_token_create_prints_it_once_and_keeps_its_hash(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert run(["project", "create", "team", "--home", home], tmp_path).code == 0
    r = run(["token", "create", "--user", "erin", "--project", "team", "--role", "editor",
             "--home", home], tmp_path)
    assert r.code == 0, r.err
    token = r.out.strip()
    assert token.startswith("rlt_") and len(token) > 30
    s = open_stores(home)
    try:
        rows = s.store.database.read("SELECT hash, username FROM tokens")
        roles = s.store.database.read("SELECT username, project, role FROM roles")
    finally:
        s.close()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "erin")]
    assert roles == [("erin", "team", "editor")]
    assert token not in (tmp_path / "home" / "rillet.db").read_bytes().decode("latin-1")
    r = run(["token", "create", "--user", "erin", "--role", "editor", "--home", home], tmp_path)
    assert r.code == 2 and "--project and --role together" in r.err
    r = run(["token", "create", "--user", "erin", "--home", home], tmp_path)
    assert r.code == 2 and "--admin" in r.err


def test_an_open_server_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    from rillet.server._serve import serve as serve_forever

    with pytest.raises(RilletError, match="refusing to listen on 0.0.0.0 without --auth"):
        serve_forever(home=str(tmp_path / "h"), db=None, artifacts=None, host="0.0.0.0",
                      port=0, workers=0)
    r = run(["server", "--host", "0.0.0.0", "--port", "0", "--home", str(tmp_path / "h")],
            tmp_path)
    assert r.code == 2 and "without --auth" in r.err

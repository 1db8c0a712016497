"""Models belong to one project and domain (issue 15, point 1, with issue 17's
registry), on a server run with ``--auth`` and a worker: the same name in two projects
stays two models; roles are checked in the model's project (viewer reads, editor
registers and moves aliases in development and staging, admin in production); a
refused request writes nothing; an execution of another project is not registered;
the audit trail names the project; ``Remote.models_in`` and the CLI's
``--project/--domain`` reach the same registries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from serverkit import Served, serve

from rillet import Remote
from rillet.errors import AuthError, Conflict, NotFound
from rillet.platform._stores import open_stores
from rillet.platform._teams import create_project
from rillet.platform._tokens import create_token

FLOWS = ("from rillet import task, workflow\n\n"
         "@task\ndef fit(scale: float) -> float:\n    return scale * 2\n\n"
         "@workflow\ndef training(scale: float = 1.0) -> float:\n    return fit(scale=scale)\n")
TABLES = ("model_versions", "model_aliases", "model_history", "model_requests", "audit_log")


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, Any]]]:
    """Projects ``own`` and ``other``; tokens: ``root`` (admin), a viewer, an editor and
    an admin of ``own``, and ``stranger`` (an editor of ``other`` only); one succeeded
    training in each project (scale 1 in own, 5 in other)."""
    root = tmp_path_factory.mktemp("modelteams")
    home = root / "home"
    s = open_stores(str(home))
    tokens: dict[str, Any] = {}
    try:
        for p in ("own", "other"):
            create_project(s.store, p)
        tokens["root"] = create_token(s.store, "root", admin=True)["token"]
        for role in ("viewer", "editor", "admin"):
            tokens[role] = create_token(s.store, f"u-{role}", project="own", role=role)["token"]
        tokens["stranger"] = create_token(s.store, "stranger", project="other",
                                          role="editor")["token"]
    finally:
        s.close()
    with serve(root, home, auth=True, workers=1) as served:
        code = root / "teamflows.py"
        code.write_text(FLOWS)
        with Remote(served.url, token=tokens["root"]) as admin:
            for p, scale in (("own", 1.0), ("other", 5.0)):
                admin.register(str(code), project=p)
                done = admin.launch("teamflows.training", project=p, scale=scale).wait(
                    timeout=120)
                assert done.status.value == "SUCCEEDED", done.record.error
                tokens[f"exec-{p}"] = done.id
        yield served, tokens


def _counts(served: Served) -> dict[str, int]:
    db = served.app.state.instance.store.database
    return {t: int(db.read(f"SELECT COUNT(*) FROM {t}")[0][0]) for t in TABLES}


def _as(served: Served, tokens: dict[str, Any], who: str) -> Remote:
    return Remote(served.url, token=tokens[who])


def test_the_same_name_in_two_projects_stays_two_models(teams) -> None:
    served, tokens = teams
    with _as(served, tokens, "root") as admin:
        own, other = admin.models_in("own"), admin.models_in("other")
        assert own.register("shared", execution=tokens["exec-own"], node="fit",
                            alias="live") == 1
        assert other.register("shared", execution=tokens["exec-other"], node="fit",
                              alias="live") == 1  # numbered in its own project
        assert own.register("shared", execution=tokens["exec-own"], node="fit") == 2
        # the same project in another domain is another registry again
        staging = admin.models_in("own", "staging")
        assert staging.register("shared", execution=tokens["exec-own"], node="fit") == 1
        assert [v.version for v in own.versions("shared")] == [1, 2]
        assert [v.version for v in other.versions("shared")] == [1]
        assert [v.version for v in staging.versions("shared")] == [1]
        assert {(v.project, v.domain) for v in own.versions("shared")} == {
            ("own", "development")}
        assert own.load("shared@live") == 2.0 and other.load("shared@live") == 10.0
        own.set_alias("shared", "live", 2)
        assert other.alias_version("shared", "live") == 1  # not moved by own's move
        assert [e.event for e in other.history("shared")] == ["register", "alias"]
        assert [e.event for e in own.history("shared")] == [
            "register", "alias", "register", "alias"]
        assert "shared" not in {m["name"] for m in admin.models.names()}  # not in default
        with pytest.raises(NotFound, match="no model named 'shared'"):
            admin.models.versions("shared")
        # the audit trail names each write's project and domain
        rows = [a for a in admin.audit(project="other")
                if a["action"].startswith("model.") and a["target"].startswith("shared")]
        assert [(a["action"], a["target"], a["domain"], a["who"]) for a in rows] == [
            ("model.alias", "shared@live", "development", "root"),
            ("model.register", "shared/1", "development", "root")]
        assert rows[1]["detail"]["execution_id"] == tokens["exec-other"]
        moves = [a for a in admin.audit(project="own")
                 if a["action"] == "model.alias" and a["target"] == "shared@live"]
        assert moves[0]["detail"] == {"version": 2, "previous": 1}


def test_an_execution_of_another_project_is_not_registered(teams) -> None:
    served, tokens = teams
    before = _counts(served)
    with _as(served, tokens, "root") as admin:
        with pytest.raises(Conflict, match="belongs to project 'other', not 'own'"):
            admin.models_in("own").register("borrowed", execution=tokens["exec-other"],
                                            node="fit")
    got = served.client.post("/api/v1/models/borrowed/versions", params={"project": "own"},
                             json={"execution": tokens["exec-other"], "node": "fit"},
                             headers={"authorization": f"Bearer {tokens['editor']}"})
    assert got.status_code == 409 and "belongs to project 'other'" in got.json()["error"]
    assert "\n" not in got.json()["error"]
    assert _counts(served) == before


@pytest.mark.parametrize(("who", "method", "path", "params", "body", "allowed"), [
    # a viewer of own reads own, and cannot register or move aliases there
    ("viewer", "GET", "/models", {"project": "own"}, None, True),
    ("viewer", "POST", "/models/roles/versions", {"project": "own"}, "register", False),
    ("viewer", "PUT", "/models/roles/aliases/live", {"project": "own"}, {"version": 1}, False),
    # an editor registers and moves aliases in development and staging, not production
    ("editor", "POST", "/models/roles/versions", {"project": "own"}, "register", True),
    ("editor", "POST", "/models/roles/versions", {"project": "own", "domain": "staging"},
     "register", True),
    ("editor", "PUT", "/models/roles/aliases/live", {"project": "own"}, {"version": 1}, True),
    ("editor", "POST", "/models/roles/versions", {"project": "own", "domain": "production"},
     "register", False),
    ("admin", "POST", "/models/roles/versions", {"project": "own", "domain": "production"},
     "register", True),
    ("editor", "PUT", "/models/roles/aliases/live", {"project": "own",
                                                     "domain": "production"},
     {"version": 1}, False),
    ("admin", "PUT", "/models/roles/aliases/live", {"project": "own", "domain": "production"},
     {"version": 1}, True),
    # a user without a role in own: 403 on every model route of own
    ("stranger", "GET", "/models", {"project": "own"}, None, False),
    ("stranger", "GET", "/models/roles", {"project": "own"}, None, False),
    ("stranger", "POST", "/models/roles/versions", {"project": "own"}, "register", False),
    ("stranger", "PUT", "/models/roles/aliases/live", {"project": "own"}, {"version": 1},
     False),
    ("stranger", "GET", "/models/roles/versions/1/value", {"project": "own"}, None, False),
])
def test_roles_are_checked_in_the_models_project(teams, who: str, method: str, path: str,
                                                 params: dict[str, str], body: Any,
                                                 allowed: bool) -> None:
    served, tokens = teams
    if body == "register":
        body = {"execution": tokens["exec-own"], "node": "fit"}
    before = _counts(served)
    got = served.client.request(method, f"/api/v1{path}", params=params, json=body,
                                headers={"authorization": f"Bearer {tokens[who]}"})
    where = f"{who} {method} {path} {params}: {got.status_code} {got.text}"
    if allowed:
        assert got.status_code not in (401, 403), where
        assert got.status_code < 500, where
    else:
        assert got.status_code == 403 and "error" in got.json(), where
        assert _counts(served) == before, where  # nothing written


def test_remote_and_cli_of_a_user_without_a_role_in_the_project(teams) -> None:
    from rillet.cli._app import cli

    served, tokens = teams
    before = _counts(served)
    with _as(served, tokens, "stranger") as stranger:
        with pytest.raises(AuthError, match="in project 'own' needs the role viewer"):
            stranger.models_in("own").names()
        with pytest.raises(AuthError, match="needs the role editor; stranger has no role"):
            stranger.models_in("own").register("x", execution=tokens["exec-own"], node="fit")
        # in its own project, a stranger may register (and sees only that project's)
        assert stranger.models_in("other").register(
            "theirs", execution=tokens["exec-other"], node="fit") == 1
    after = _counts(served)
    assert after["model_versions"] == before["model_versions"] + 1
    runner = CliRunner()
    base = ["--server", served.url, "--token", tokens["stranger"]]
    r = runner.invoke(cli, ["models", "list", "--project", "own", *base])
    assert r.exit_code == 2 and "needs the role viewer" in r.output, r.output
    r = runner.invoke(cli, ["models", "show", "theirs", "--project", "other", *base])
    assert r.exit_code == 0 and "stranger" in r.output, r.output  # who registered it
    r = runner.invoke(cli, ["models", "alias", "theirs", "live", "1", "--project", "other",
                            *base])
    assert r.exit_code == 0 and "theirs@live -> 1" in r.output, r.output
    r = runner.invoke(cli, ["models", "alias", "theirs", "live", "1", "--project", "other",
                            "--domain", "production", *base])
    assert r.exit_code == 2 and "needs the role admin" in r.output, r.output
    r = runner.invoke(cli, ["models", "list", "--project", "other", "--json", *base])
    assert r.exit_code == 0, r.output
    names = {m["name"] for m in json.loads(r.output)}
    assert "theirs" in names and not names & {"roles", "answering"}, names  # own's


def test_the_lineage_of_a_request_is_checked_in_its_models_project(teams) -> None:
    from rillet.models._requestlog import RequestLog

    served, tokens = teams
    with _as(served, tokens, "root") as admin:
        version = admin.models_in("own").register("answering", execution=tokens["exec-own"],
                                                  node="fit")
    log = RequestLog(served.app.state.instance.store.database, scope=("own", "development"))
    log.add(("req-own-1", 1.0, "answering", version, "primary", 200, 0.1, "i", "o", None,
             None))
    log.close()
    with _as(served, tokens, "viewer") as viewer:
        found = viewer.models.request_lineage_json("req-own-1")
        assert found["request"]["project"] == "own"
        assert found["model_version"]["project"] == "own"
        assert found["model_version"]["execution_id"] == tokens["exec-own"]
    with _as(served, tokens, "stranger") as stranger, pytest.raises(
            AuthError, match="in project 'own' needs the role viewer"):
        stranger.models.request_lineage_json("req-own-1")

"""Teams (issue 15): projects and domains, the cache of each project and domain its
own, promotion with the same bundle and rollback, the audit trail. On the embedded home
(SQLite) and on PostgreSQL + SeaweedFS S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run

from rillet.engine._cachekey import cache_key
from rillet.errors import AlreadyExists, Conflict, DefinitionError, NotFound
from rillet.platform import Worker, launch, register, versions
from rillet.platform._registry import find
from rillet.platform._stores import Stores
from rillet.platform._teams import (
    audit_log,
    create_project,
    list_projects,
    promote,
    promotions,
)
from rillet.platform._worker import cache_scope

TEAM = '''
from rillet import task, workflow


@task(cache=True)
def double(x: int) -> int:
    return x * 2


@workflow
def wf(x: int) -> int:
    return double(x=x)
'''


@pytest.fixture(params=["home", "shared"])
def stores(request: pytest.FixtureRequest) -> Stores:
    return request.getfixturevalue("home_stores" if request.param == "home"
                                   else "shared_stores")


@pytest.fixture
def team_code(tmp_path: Path) -> Path:
    folder = tmp_path / "teamcode"
    folder.mkdir()
    (folder / "team.py").write_text(TEAM)
    return folder / "team.py"


def _count(s: Stores, table: str) -> int:
    return int(s.store.database.read(f"SELECT COUNT(*) FROM {table}")[0][0])


def _run_all(s: Stores, n: int) -> None:
    assert Worker(s.store, s.artifacts, executor="inline").run(max_executions=n) == n


def _node(s: Stores, execution_id: str) -> tuple[str, str, str | None]:
    assert s.store.get_execution(execution_id).status.value == "SUCCEEDED"
    (node,) = s.store.nodes(execution_id)
    return node.status.value, node.cache_key or "", node.source_execution


def test_projects_default_exists_create_and_list(stores):
    assert [p["name"] for p in list_projects(stores.store)] == ["default"]
    made = create_project(stores.store, "ml-team", description="the ML team", who="alice")
    assert made["domains"] == ["development", "staging", "production"]
    assert [(p["name"], p["created_by"]) for p in list_projects(stores.store)] == [
        ("default", ""), ("ml-team", "alice")]
    with pytest.raises(AlreadyExists, match="'ml-team' already exists"):
        create_project(stores.store, "ml-team")
    with pytest.raises(AlreadyExists):
        create_project(stores.store, "default")
    for bad in ("", "a b", "x/y", "é!"):
        with pytest.raises(DefinitionError, match="must be letters, digits"):
            create_project(stores.store, bad)
    assert _count(stores, "projects") == 1


def test_registering_into_a_missing_project_is_refused_and_writes_nothing(stores, team_code):
    with pytest.raises(NotFound, match="project 'nope' does not exist; create it with "
                                       "`rillet project create nope`"):
        register(str(team_code), store=stores.store, artifacts=stores.artifacts,
                 project="nope")
    assert _count(stores, "registered_entities") == 0
    assert _count(stores, "audit_log") == 0


def test_the_cache_is_shared_in_a_project_and_domain_and_never_across(stores, team_code):
    create_project(stores.store, "team")
    found = register(str(team_code), store=stores.store, artifacts=stores.artifacts,
                     project="team")
    version = found[0].version
    promote(stores.store, "team.wf", version, project="team", from_domain="development",
            to_domain="staging")
    register(str(team_code), store=stores.store, artifacts=stores.artifacts)  # default
    dev1 = launch(stores.store, "team.wf", project="team", inputs={"x": 21})
    _run_all(stores, 1)
    dev2 = launch(stores.store, "team.wf", project="team", inputs={"x": 21})
    stg = launch(stores.store, "team.wf", project="team", domain="staging",
                 inputs={"x": 21})
    other = launch(stores.store, "team.wf", inputs={"x": 21})  # default/development
    _run_all(stores, 3)
    status1, key1, _ = _node(stores, dev1)
    status2, key2, source2 = _node(stores, dev2)
    status3, key3, _ = _node(stores, stg)
    status4, key4, _ = _node(stores, other)
    assert status1 == "SUCCEEDED" and (status2, key2, source2) == ("CACHED", key1, dev1)
    assert status3 == "SUCCEEDED" and key3 != key1  # staging never hits development's
    assert status4 == "SUCCEEDED" and len({key1, key3, key4}) == 3
    # each execution belongs to its project and domain
    listed = {(p, d): [r.id for r in stores.store.list_executions(project=p, domain=d)]
              for p, d in (("team", "development"), ("team", "staging"),
                           ("default", "development"))}
    assert listed == {("team", "development"): [dev2, dev1], ("team", "staging"): [stg],
                      ("default", "development"): [other]}
    assert {r.id for r in stores.store.list_executions(project="team")} == {dev1, dev2, stg}


def test_default_development_keeps_the_key_of_rillet_run():
    assert cache_scope("default", "development") == ""
    assert cache_scope("team", "staging") == "team/staging"
    hashes = {"x": "int:1"}
    assert cache_key("t", "code:1", hashes, "") == cache_key("t", "code:1", hashes)
    assert cache_key("t", "code:1", hashes, "a/development") != cache_key("t", "code:1", hashes)


def test_promotion_keeps_the_bundle_and_rebuilds_nothing(stores, team_code, monkeypatch):
    create_project(stores.store, "team")
    (wf,) = [e for e in register(str(team_code), store=stores.store,
                                  artifacts=stores.artifacts, project="team")
             if e.name == "team.wf"]
    from rillet.platform import _registry

    def no_collect(*a: object, **k: object) -> None:
        raise AssertionError("promotion must not collect the bundle again")

    monkeypatch.setattr(_registry, "collect_in_child", no_collect)
    artifacts_before = _count(stores, "artifacts")
    done = promote(stores.store, "team.wf", wf.version, project="team",
                   from_domain="development", to_domain="staging", who="bob")
    assert done["bundle_hash"] == wf.bundle_hash and done["who"] == "bob"
    staged = {e.name: e for e in versions(stores.store, project="team", domain="staging")}
    assert set(staged) == {"team.wf", "team.double"}  # the whole registration
    assert staged["team.wf"].bundle_hash == wf.bundle_hash
    assert staged["team.wf"].bundle_uri == wf.bundle_uri
    assert staged["team.wf"].code_hash == wf.code_hash
    assert _count(stores, "artifacts") == artifacts_before
    (history,) = promotions(stores.store, project="team")
    assert (history["from_domain"], history["to_domain"], history["who"]) == (
        "development", "staging", "bob")
    # and it runs in staging with the same bundle
    eid = launch(stores.store, "team.wf", project="team", domain="staging", inputs={"x": 2})
    _run_all(stores, 1)
    record = stores.store.get_execution(eid)
    assert record.status.value == "SUCCEEDED" and record.source == f"bundle:{wf.bundle_hash}"


def test_bad_promotions_are_refused_and_write_nothing(stores, team_code, tmp_path):
    create_project(stores.store, "team")
    (wf,) = [e for e in register(str(team_code), store=stores.store,
                                  artifacts=stores.artifacts, project="team",
                                  version="v1") if e.name == "team.wf"]
    before = (_count(stores, "registered_entities"), _count(stores, "promotions"),
              _count(stores, "audit_log"))
    with pytest.raises(DefinitionError, match="both 'development'"):
        promote(stores.store, "team.wf", "v1", project="team", from_domain="development",
                to_domain="development")
    with pytest.raises(DefinitionError, match="unknown domain 'prod'"):
        promote(stores.store, "team.wf", "v1", project="team", from_domain="development",
                to_domain="prod")
    with pytest.raises(NotFound, match="team.wf version v9 is not registered in "
                                       "team/development"):
        promote(stores.store, "team.wf", "v9", project="team", from_domain="development",
                to_domain="staging")
    with pytest.raises(NotFound, match="project 'ghost' does not exist"):
        promote(stores.store, "team.wf", "v1", project="ghost", from_domain="development",
                to_domain="staging")
    # other content already registered as v1 in staging: a conflict
    changed = tmp_path / "changed" / "team.py"
    changed.parent.mkdir()
    changed.write_text(TEAM.replace("x * 2", "x * 3"))
    register(str(changed), store=stores.store, artifacts=stores.artifacts, project="team",
             domain="staging", version="v1")
    before = (_count(stores, "registered_entities"), _count(stores, "promotions"),
              _count(stores, "audit_log"))
    with pytest.raises(Conflict, match="already in team/staging with other content"):
        promote(stores.store, "team.wf", "v1", project="team", from_domain="development",
                to_domain="staging")
    assert (_count(stores, "registered_entities"), _count(stores, "promotions"),
            _count(stores, "audit_log")) == before
    assert wf.version == "v1"


def test_rollback_promotes_an_earlier_version_again(stores, team_code, tmp_path):
    create_project(stores.store, "team")
    register(str(team_code), store=stores.store, artifacts=stores.artifacts, project="team",
             version="v1")
    v2 = tmp_path / "v2" / "team.py"
    v2.parent.mkdir()
    v2.write_text(TEAM.replace("x * 2", "x * 4"))
    register(str(v2), store=stores.store, artifacts=stores.artifacts, project="team",
             version="v2")
    for v in ("v1", "v2"):
        promote(stores.store, "team.wf", v, project="team", from_domain="development",
                to_domain="staging")

    def active() -> str:
        return find(stores.store, "team.wf", None, project="team", domain="staging").version

    assert active() == "v2"
    promote(stores.store, "team.wf", "v1", project="team", from_domain="development",
            to_domain="staging")  # roll back: v1 is the one staging runs again
    assert active() == "v1"
    eid = launch(stores.store, "team.wf", project="team", domain="staging", inputs={"x": 5})
    _run_all(stores, 1)
    record = stores.store.get_execution(eid)
    assert record.status.value == "SUCCEEDED"
    from rillet.engine._values import ValueStore

    assert ValueStore(stores.store, stores.artifacts).load(record.outputs["o0"], int) == 10
    assert [p["version"] for p in promotions(stores.store, project="team")] == [
        "v1", "v2", "v1"]


def test_every_write_is_in_the_audit_trail(stores, team_code, tmp_path):
    create_project(stores.store, "team", who="alice")
    register(str(team_code), store=stores.store, artifacts=stores.artifacts, project="team",
             version="v1", who="alice")
    register(str(team_code), store=stores.store, artifacts=stores.artifacts, project="team",
             version="v1", who="alice")  # the same content again writes nothing
    eid = launch(stores.store, "team.wf", project="team", inputs={"x": 1}, who="carol")
    promote(stores.store, "team.wf", "v1", project="team", from_domain="development",
            to_domain="production", who="dave")
    from rillet import services
    from rillet.store import Instance

    inst = Instance(store=stores.store, artifacts=stores.artifacts, executor="inline",
                    scratch=str(tmp_path / "scratch"))
    services.abort(inst, eid, who="erin")
    launch(stores.store, "team.wf", project="team", inputs={"x": 1}, who="x")  # to ignore
    rows = audit_log(stores.store, project="team")
    got = [(a["who"], a["action"], a["domain"]) for a in reversed(rows)][:5]
    assert got == [("alice", "project.create", ""), ("alice", "register", "development"),
                   ("carol", "launch", "development"), ("dave", "promote", "production"),
                   ("erin", "abort", "development")]
    by_action = {a["action"]: a for a in rows}
    assert by_action["abort"]["target"] == eid
    assert by_action["promote"]["target"] == "team.wf@v1"
    assert by_action["promote"]["detail"]["from"] == "development"
    assert by_action["register"]["detail"]["entities"] == ["team.double", "team.wf"]
    assert audit_log(stores.store, project="default") == []
    assert len(audit_log(stores.store, limit=2)) == 2


def test_cli_project_promote_and_audit(tmp_path, team_code):
    home = str(tmp_path / "home")
    assert run(["project", "create", "team", "--home", home], tmp_path).code == 0
    r = run(["project", "create", "team", "--home", home], tmp_path)
    assert r.code == 2 and "already exists" in r.err
    r = run(["project", "list", "--json", "--home", home], tmp_path)
    assert [p["name"] for p in json.loads(r.out)] == ["default", "team"]
    r = run(["register", str(team_code), "--project", "team", "--version", "v1",
             "--home", home], tmp_path)
    assert r.code == 0, r.err
    r = run(["promote", "team.wf", "--version", "v1", "--project", "team",
             "--from", "development", "--to", "staging", "--home", home], tmp_path)
    assert r.code == 0 and "development -> staging" in r.out, r.err
    r = run(["promote", "team.wf", "--version", "v2", "--project", "team",
             "--from", "development", "--to", "staging", "--home", home], tmp_path)
    assert r.code == 2 and "version v2 is not registered" in r.err
    r = run(["audit", "--project", "team", "--json", "--home", home], tmp_path)
    assert [a["action"] for a in json.loads(r.out)] == ["promote", "register",
                                                         "project.create"]
    assert json.loads(r.out)[0]["who"].startswith("local:")

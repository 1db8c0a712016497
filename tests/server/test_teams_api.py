"""Issue 15 through the server: projects, executions of one project and domain,
promotion and the audit trail; bad requests are 4xx JSON and write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clikit import wait_for
from serverkit import Served, serve

from rillet import Remote
from rillet.errors import Conflict, DefinitionError, NotFound

FLOWS = ("from rillet import task, workflow\n\n"
         "@task(cache=True)\ndef triple(x: int) -> int:\n    return 3 * x\n\n"
         "@workflow\ndef tri(x: int) -> int:\n    return triple(x=x)\n")


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("teams")
    with serve(root, root / "home", workers=1) as served:
        yield served


def _audit_count(served: Served) -> int:
    return len(served.get("/api/v1/audit", params={"limit": 10000}).json())


def test_projects_promotion_and_audit_through_the_api(teams: Served) -> None:
    flows = teams.home / "triflows.py"
    flows.write_text(FLOWS)
    with Remote(teams.url) as r:
        made = r.create_project("web", "the web team")
        assert made["name"] == "web" and made["created_by"] == "anonymous"
        assert [p["name"] for p in r.projects()] == ["default", "web"]
        with pytest.raises(Conflict, match="already exists"):
            r.create_project("web")
        with pytest.raises(NotFound, match="project 'ghost' does not exist"):
            r.register(str(flows), project="ghost")
        (wf,) = [e for e in r.register(str(flows), project="web", version="v1")
                 if e["name"] == "triflows.tri"]
        done = r.promote("triflows.tri", "v1", project="web", from_domain="development",
                         to_domain="staging")
        assert done["bundle_hash"] == wf["bundle_hash"] and done["who"] == "anonymous"
        staged = r.versions("triflows.tri", project="web", domain="staging")
        assert [(e["version"], e["bundle_hash"]) for e in staged] == [("v1",
                                                                        wf["bundle_hash"])]
        dev = r.launch("triflows.tri", project="web", x=2).wait(timeout=60)
        stg = r.launch("triflows.tri", project="web", domain="staging", x=2).wait(timeout=60)
        assert dev.status.value == stg.status.value == "SUCCEEDED"
        assert [e.id for e in r.executions(project="web", domain="staging")] == [stg.id]
        assert {e.id for e in r.executions(project="web")} == {dev.id, stg.id}
        assert r.executions() == []  # nothing ran in default
        # the staging run computed its own value: development's cache is not staging's
        assert [n.status.value for n in stg.nodes] == ["SUCCEEDED"]
        history = r.promotions(project="web")
        assert [(p["name"], p["to_domain"]) for p in history] == [("triflows.tri", "staging")]
        actions = [(a["action"], a["who"]) for a in r.audit(project="web")]
        assert actions == [("launch", "anonymous"), ("launch", "anonymous"),
                           ("promote", "anonymous"), ("register", "anonymous"),
                           ("project.create", "anonymous")]


@pytest.mark.parametrize(("method", "path", "body", "status", "says"), [
    ("POST", "/api/v1/projects", {"name": "a b"}, 400, "must be letters"),
    ("POST", "/api/v1/projects", {"name": ""}, 400, "name"),
    ("POST", "/api/v1/projects", {}, 400, "name"),
    ("POST", "/api/v1/projects", {"name": "default"}, 409, "already exists"),
    ("POST", "/api/v1/promote", {"name": "x.y", "version": "v1", "from_domain": "development",
                                 "to_domain": "development"}, 400, "both 'development'"),
    ("POST", "/api/v1/promote", {"name": "x.y", "version": "v1", "from_domain": "dev",
                                 "to_domain": "staging"}, 400, "unknown domain 'dev'"),
    ("POST", "/api/v1/promote", {"name": "x.y", "version": "v1", "from_domain": "development",
                                 "to_domain": "staging"}, 404, "not registered"),
    ("POST", "/api/v1/promote", {"name": "x.y", "version": "v1"}, 400, "from_domain"),
    ("GET", "/api/v1/audit?limit=-1", None, 400, "limit"),
    ("GET", "/api/v1/executions?domain=", None, 400, "domain"),
])
def test_bad_team_requests_are_4xx_json_and_write_nothing(teams: Served, method: str,
                                                           path: str, body: object,
                                                           status: int, says: str) -> None:
    before = _audit_count(teams)
    got = teams.client.request(method, path, json=body)
    assert got.status_code == status, got.text
    assert says in got.json()["error"]
    assert _audit_count(teams) == before


def test_remote_raises_the_kinds(teams: Served) -> None:
    with Remote(teams.url) as r, pytest.raises(DefinitionError, match="unknown domain"):
        r.promote("x.y", "v1", from_domain="development", to_domain="qa")


PLANS = ("import datetime\nfrom datetime import timedelta\n\n"
         "from rillet import FixedRate, LaunchPlan, task, workflow\n\n"
         "@task\ndef show(run_at: datetime.datetime, n: int) -> str:\n"
         "    return f'{run_at.isoformat()} {n}'\n\n"
         "@workflow\ndef shown(run_at: datetime.datetime, n: int = 1) -> str:\n"
         "    return show(run_at=run_at, n=n)\n\n"
         "ticker = LaunchPlan.get_or_create(shown, name='ticker', fixed_inputs={'n': 3},\n"
         "    schedule=FixedRate(duration=timedelta(seconds=1), "
         "kickoff_time_input_arg='run_at'))\n")


def test_the_server_scheduler_fires_an_activated_plan(teams: Served) -> None:
    code = teams.home / "tickplans.py"
    code.write_text(PLANS)
    with Remote(teams.url) as r:
        r.create_project("sched")
        r.register(str(code), project="sched", version="v1")
        (plan,) = r.launch_plans(project="sched")
        assert (plan["name"], plan["active"], plan["schedule"]["seconds"]) == (
            "ticker", False, 1.0)
        with pytest.raises(DefinitionError, match="'n' is fixed by the launch plan"):
            r.launch("ticker", project="sched", n=5, run_at="2026-01-01T00:00:00+00:00")
        shown = r.activate("ticker", project="sched")
        assert shown["active"] and shown["next_fire_at"] is not None
        assert teams.app.state.scheduler is not None

        def fired() -> list[object]:
            return r.executions(project="sched")

        ran = wait_for(lambda: [e for e in fired() if e.status.value == "SUCCEEDED"],
                       limit=90, every=0.2)
        assert ran[0].output("o0").endswith(" 3")
        r.deactivate("ticker", project="sched")
        with pytest.raises(Conflict, match="not active"):
            r.deactivate("ticker", project="sched")
        (plan,) = r.launch_plans(project="sched")
        assert not plan["active"] and plan["next_fire_at"] is None
        bad = teams.client.post("/api/v1/launchplans/activate",
                                json={"name": "ticker", "project": "sched", "domain": "x"})
        assert bad.status_code == 400 and "unknown domain" in bad.json()["error"]

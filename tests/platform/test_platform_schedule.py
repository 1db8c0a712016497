"""Launch plans on schedules (issue 15, point 3): activation, the slots due, and fires
recorded under a unique (plan, scheduled time): restarts and two schedulers on one
database never fire a slot twice, and none is lost. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from platformkit import wait_until

from rillet.errors import Conflict, DefinitionError, NotFound
from rillet.platform import register
from rillet.platform._registry import find
from rillet.platform._schedule import (
    Scheduler,
    activate,
    deactivate,
    due_slots,
    fire,
    fire_due,
    fires,
    launch_plans,
    next_slot,
)
from rillet.platform._stores import Stores, open_stores
from rillet.platform._teams import audit_log

PLANS = '''
import datetime
from datetime import timedelta

from rillet import CronSchedule, FixedRate, LaunchPlan, task, workflow


@task
def stamp(run_at: datetime.datetime, n: int) -> str:
    return f"{run_at.isoformat()} {n}"


@workflow
def report(run_at: datetime.datetime, n: int = 1) -> str:
    return stamp(run_at=run_at, n=n)


every_second = LaunchPlan.get_or_create(
    report, name="every_second", fixed_inputs={"n": 7},
    schedule=FixedRate(duration=timedelta(seconds=1), kickoff_time_input_arg="run_at"))
nightly = LaunchPlan.get_or_create(
    report, name="nightly_report",
    schedule=CronSchedule(schedule="0 2 * * *", kickoff_time_input_arg="run_at"))
plain = LaunchPlan.get_or_create(report, name="plain", default_inputs={"n": 2})
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    artifacts = str(tmp_path / "artifacts")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}", artifacts
    return request.getfixturevalue("pg_url"), artifacts


@pytest.fixture
def plans(urls: tuple[str, str], tmp_path: Path) -> Stores:
    code = tmp_path / "plancode"
    code.mkdir()
    (code / "plans.py").write_text(PLANS)
    s = open_stores(db=urls[0], artifacts=urls[1])
    register(str(code / "plans.py"), store=s.store, artifacts=s.artifacts, version="v1")
    yield s
    s.close()


def _anchor(s: Stores, name: str = "every_second") -> float:
    return float(s.store.database.read(
        "SELECT activated_at FROM launch_plan_states WHERE name = ?", (name,))[0][0])


def _slots(s: Stores, name: str = "every_second") -> list[float]:
    return [float(r[0]) for r in s.store.database.read(
        "SELECT scheduled_at FROM schedule_fires WHERE name = ? ORDER BY scheduled_at",
        (name,))]


def _executions(s: Stores) -> int:
    return int(s.store.database.read("SELECT COUNT(*) FROM executions")[0][0])


def test_slots_due_latest_or_every_missed():
    rate = {"type": "FixedRate", "seconds": 10.0}
    assert due_slots(rate, 100.0, None, 105.0, False) == []
    assert due_slots(rate, 100.0, None, 135.0, False) == [130.0]
    assert due_slots(rate, 100.0, None, 135.0, True) == [110.0, 120.0, 130.0]
    assert due_slots(rate, 100.0, 120.0, 135.0, True) == [130.0]
    assert due_slots(rate, 100.0, 130.0, 135.0, True) == []
    assert next_slot(rate, 100.0, 130.0) == 140.0
    # a scheduler up since 125: 110 and 120 were missed while none ran (the latest fires);
    # 130 and 140 fell due while it ran, and a late look fires both
    assert due_slots(rate, 100.0, None, 145.0, False, up_since=125.0) == [120.0, 130.0, 140.0]
    assert due_slots(rate, 100.0, 130.0, 165.0, False, up_since=125.0) == [140.0, 150.0, 160.0]
    assert due_slots(rate, 100.0, None, 145.0, True, up_since=125.0) == [
        110.0, 120.0, 130.0, 140.0]
    cron = {"type": "CronSchedule", "schedule": "0 2 * * *"}
    day = 86400.0
    start = 10 * day  # midnight UTC
    assert due_slots(cron, start, None, start + 3 * day, True) == [
        start + 2 * 3600 + k * day for k in range(3)]
    assert due_slots(cron, start, None, start + 3 * day, False) == [start + 2 * 3600 + 2 * day]


def test_activate_list_deactivate_and_rollback(plans: Stores, tmp_path: Path):
    s = plans
    listed = {p["name"]: p for p in launch_plans(s.store)}
    assert set(listed) == {"every_second", "nightly_report", "plain"}
    assert not listed["every_second"]["active"] and listed["every_second"]["next_fire_at"] is None
    shown = activate(s.store, "every_second", who="ops")
    assert shown["active"] and shown["version"] == "v1"
    assert shown["next_fire_at"] is not None and shown["next_fire_at"] > time.time() - 1
    nightly = activate(s.store, "nightly_report")
    assert time.gmtime(nightly["next_fire_at"]).tm_hour == 2
    with pytest.raises(DefinitionError, match="plain has no schedule"):
        activate(s.store, "plain")
    with pytest.raises(DefinitionError, match="plans.report is a workflow, not a launch plan"):
        activate(s.store, "plans.report")
    with pytest.raises(NotFound, match="nope is not registered"):
        activate(s.store, "nope")
    # a new version; then point the plan back at v1 in one command (rollback)
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "plans.py").write_text(PLANS.replace('f"{run_at.isoformat()} {n}"',
                                               'f"v2 {run_at.isoformat()} {n}"'))
    register(str(v2 / "plans.py"), store=s.store, artifacts=s.artifacts, version="v2")
    assert activate(s.store, "every_second")["version"] == "v2"
    assert activate(s.store, "every_second", version="v1")["version"] == "v1"
    deactivate(s.store, "every_second", who="ops")
    with pytest.raises(Conflict, match="not active"):
        deactivate(s.store, "every_second")
    actions = [(a["action"], a["target"]) for a in reversed(audit_log(s.store))]
    assert ("launchplan.activate", "every_second@v1") in actions
    assert actions[-1] == ("launchplan.deactivate", "every_second@v1")


def test_a_fire_is_once_per_slot_and_carries_the_kickoff_time(plans: Stores):
    s = plans
    activate(s.store, "every_second")
    entity = find(s.store, "every_second", None, project="default", domain="development")
    slot = _anchor(s) + 1.0
    first = fire(s.store, entity, slot, by="a")
    assert first is not None
    assert fire(s.store, entity, slot, by="b") is None  # the slot is taken
    assert _executions(s) == 1
    (queued,) = s.store.database.read("SELECT inputs, name FROM launch_queue")
    inputs = json.loads(queued[0])
    assert inputs["n"] == 7 and inputs["run_at"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(slot)))
    (row,) = fires(s.store, project="default", domain="development")
    assert (row["execution_id"], row["fired_by"], row["scheduled_at"]) == (first, "a", slot)


def test_restarts_between_simulated_slots_lose_and_double_nothing(plans: Stores, urls):
    s = plans
    activate(s.store, "every_second", catch_up=True)
    anchor = _anchor(s)
    now = anchor
    handles = [s]
    for step in (0.4, 3.0, 0.7, 41.3, 1.0, 0.2, 120.5, 33.0):  # a restart before each look
        now += step
        again = open_stores(db=urls[0], artifacts=urls[1])
        handles.append(again)
        fire_due(again.store, now=now, by=f"restart-{step}")
        fire_due(again.store, now=now, by=f"restart-{step}-twice")
    for h in handles[1:]:
        h.close()
    expected = [anchor + k for k in range(1, int(now - anchor) + 1)]
    assert _slots(s) == pytest.approx(expected)
    assert _executions(s) == len(expected) == 200


def test_after_downtime_only_the_latest_missed_slot_fires(plans: Stores):
    s = plans
    activate(s.store, "every_second")
    anchor = _anchor(s)
    assert len(fire_due(s.store, now=anchor + 1.5)) == 1
    assert len(fire_due(s.store, now=anchor + 60.5)) == 1  # 59 missed: the latest once
    assert _slots(s) == pytest.approx([anchor + 1, anchor + 60])


def test_two_schedulers_on_one_database_fire_each_slot_once(plans: Stores, urls):
    s = plans
    activate(s.store, "every_second", catch_up=True)
    anchor = _anchor(s)
    others = [open_stores(db=urls[0], artifacts=urls[1]) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler(handle: Stores, who: str) -> None:
        try:
            start.wait()
            for k in range(1, 61):
                fire_due(handle.store, now=anchor + k + 0.5, by=who)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(h, f"server-{i}"))
               for i, h in enumerate(others)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for h in others:
        h.close()
    assert not errors, errors
    assert _slots(s) == pytest.approx([anchor + k for k in range(1, 61)])
    assert _executions(s) == 60


def test_the_scheduler_thread_fires_on_time_across_a_restart(plans: Stores, urls):
    s = plans
    activate(s.store, "every_second", catch_up=True)
    anchor = _anchor(s)
    first = Scheduler(s.store, name="first").start()
    wait_until(lambda: len(_slots(s)) >= 2, timeout=60, what="two fires")
    first.stop()
    before = len(_slots(s))
    again = open_stores(db=urls[0], artifacts=urls[1])
    second = Scheduler(again.store, name="second").start()
    try:
        wait_until(lambda: len(_slots(s)) >= before + 2, timeout=60, what="two more fires")
    finally:
        second.stop()
        again.close()
    got = _slots(s)
    assert got == pytest.approx([anchor + k for k in range(1, len(got) + 1)])
    assert _executions(s) == len(got)
    by = {r["fired_by"] for r in fires(s.store, project="default", domain="development")}
    assert "first" in by and "second" in by

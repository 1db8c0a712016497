"""Launch plans on schedules: activation per project and domain, the slots a schedule
has due, and firing them, each slot once.

A fire is one transaction: the row ``schedule_fires (project, domain, name,
scheduled_at)`` (its primary key) and the queued execution it launches. Whoever inserts
the row first fires the slot; another scheduler (a second server on the same database,
or this one after a restart) finds the row and fires nothing. After downtime a plan
fires only its latest missed slot, or every missed slot when activated with
``catch_up``.
"""

from __future__ import annotations

import datetime
import os
import socket
import threading
import time
from typing import Any

from rillet.errors import Conflict, DefinitionError, NotFound
from rillet.platform._check import check_inputs
from rillet.platform._loop import Loop
from rillet.platform._queue import WAKE, enqueue_on
from rillet.platform._registry import RegisteredEntity, check_scope, find, versions

MAX_SLOTS = 1000  # the most missed slots one look fires for a catch-up plan
TICK = 1.0  # the longest the scheduler sleeps without looking at the plans
DOWN_AFTER = 60.0  # a scheduler whose store failed this long was down (catch-up policy)


def launch_plan(store: Any, name: str, version: str | None, *, project: str,
                domain: str) -> RegisteredEntity:
    """The registered launch plan ``name`` (a workflow or task of that name: an error)."""
    entity = find(store, name, version, project=project, domain=domain)
    if entity.kind != "launch_plan":
        raise DefinitionError(f"{name} is a {entity.kind}, not a launch plan; see "
                              "`rillet launchplan list`")
    return entity


def activate(store: Any, name: str, *, project: str = "default",
             domain: str = "development", version: str | None = None,
             catch_up: bool = False, who: str | None = None) -> dict[str, Any]:
    """Fire launch plan ``name`` (its active version, or ``version``) on its schedule;
    again with another version points the plan at it (a rollback is an older one)."""
    from rillet.platform._teams import audit, local_user, require_project

    check_scope(project, domain)
    require_project(store, project)
    entity = launch_plan(store, name, version, project=project, domain=domain)
    if not (entity.spec or {}).get("schedule"):
        raise DefinitionError(f"launch plan {name} has no schedule; launch it with "
                              "`rillet launch` instead")
    who = who or local_user()
    now = time.time()
    with store.database.write() as c:
        row = c.execute("SELECT active, activated_at FROM launch_plan_states WHERE project = ? "
                        "AND domain = ? AND name = ?", (project, domain, name)).fetchone()
        since = float(row[1]) if row is not None and row[0] else now
        if row is None:
            c.execute("INSERT INTO launch_plan_states (project, domain, name, version, active, "
                      "catch_up, activated_at, updated_at, updated_by) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (project, domain, name, entity.version, True, catch_up, since, now, who))
        else:
            c.execute("UPDATE launch_plan_states SET version = ?, active = ?, catch_up = ?, "
                      "activated_at = ?, updated_at = ?, updated_by = ? WHERE project = ? AND "
                      "domain = ? AND name = ?", (entity.version, True, catch_up, since, now,
                                                  who, project, domain, name))
        audit(c, who=who, project=project, domain=domain, action="launchplan.activate",
              target=f"{name}@{entity.version}", at=now, detail={"catch_up": catch_up})
    SCHEDULER_WAKE.set()
    return _shown(store, entity, True, catch_up, since, now)


def deactivate(store: Any, name: str, *, project: str = "default",
               domain: str = "development", who: str | None = None) -> dict[str, Any]:
    """Stop firing ``name``; its fires so far are kept."""
    from rillet.platform._teams import audit, local_user

    check_scope(project, domain)
    who = who or local_user()
    now = time.time()
    with store.database.write() as c:
        row = c.execute("SELECT version, active FROM launch_plan_states WHERE project = ? AND "
                        "domain = ? AND name = ?", (project, domain, name)).fetchone()
        if row is None or not row[1]:
            raise Conflict(f"launch plan {name} is not active in {project}/{domain}")
        c.execute("UPDATE launch_plan_states SET active = ?, updated_at = ?, updated_by = ? "
                  "WHERE project = ? AND domain = ? AND name = ?",
                  (False, now, who, project, domain, name))
        audit(c, who=who, project=project, domain=domain, action="launchplan.deactivate",
              target=f"{name}@{row[0]}", at=now)
    return {"project": project, "domain": domain, "name": name, "version": str(row[0]),
            "active": False}


def _shown(store: Any, entity: RegisteredEntity, active: bool, catch_up: bool,
           since: float | None, now: float) -> dict[str, Any]:
    schedule = (entity.spec or {}).get("schedule")
    nxt = None
    if active and schedule and since is not None:
        last = last_fire(store, entity.project, entity.domain, entity.name)
        nxt = next_slot(schedule, since, max(now, last or 0.0))
    return {"project": entity.project, "domain": entity.domain, "name": entity.name,
            "version": entity.version, "workflow": (entity.spec or {}).get("workflow"),
            "schedule": schedule, "active": active, "catch_up": catch_up,
            "next_fire_at": nxt}


def launch_plans(store: Any, *, project: str = "default", domain: str = "development",
                 name: str | None = None) -> list[dict[str, Any]]:
    """The launch plans of a project and domain: schedule, state, next fire time."""
    check_scope(project, domain)
    states = {str(r[0]): r for r in store.database.read(
        "SELECT name, version, active, catch_up, activated_at FROM launch_plan_states "
        "WHERE project = ? AND domain = ?", (project, domain))}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    now = time.time()
    for e in versions(store, name, project=project, domain=domain):
        if e.kind != "launch_plan" or e.name in seen:
            continue
        seen.add(e.name)
        state = states.get(e.name)
        if state is not None:
            e = find(store, e.name, str(state[1]), project=project, domain=domain)
        else:
            e = find(store, e.name, None, project=project, domain=domain)
        out.append(_shown(store, e, bool(state[2]) if state else False,
                          bool(state[3]) if state else False,
                          float(state[4]) if state else None, now))
    return sorted(out, key=lambda p: p["name"])


# -- slots ------------------------------------------------------------------------------

def next_slot(schedule: dict[str, Any], anchor: float, after: float) -> float:
    """The first slot strictly after ``after`` (a FixedRate counts from ``anchor``)."""
    if schedule["type"] == "FixedRate":
        step = float(schedule["seconds"])
        k = int((after - anchor) // step) + 1 if after >= anchor else 0
        slot = anchor + k * step
        while slot <= after:  # float rounding
            slot += step
        return slot
    from croniter import croniter

    start = datetime.datetime.fromtimestamp(after, tz=datetime.timezone.utc)
    nxt: datetime.datetime = croniter(schedule["schedule"], start).get_next(datetime.datetime)
    return nxt.timestamp()


def due_slots(schedule: dict[str, Any], anchor: float, last: float | None, now: float,
              catch_up: bool, up_since: float | None = None) -> list[float]:
    """The slots in (last fire or activation, now] (at most MAX_SLOTS, the newest): all
    of them for a catch-up plan; else the latest of those missed while no scheduler ran
    (the ones up to ``up_since``, when this scheduler started; all when None) and every
    one after it (a late look of a running scheduler is no downtime)."""
    after = anchor if last is None else last
    slots: list[float] = []
    if schedule["type"] == "FixedRate":
        step = float(schedule["seconds"])
        first = next_slot(schedule, anchor, after)
        if first > now:
            return []
        count = int((now - first) // step) + 1
        slots = [first + i * step for i in range(max(0, count - MAX_SLOTS), count)]
        slots = [s for s in slots if s <= now]
    else:
        slot = next_slot(schedule, anchor, after)
        while slot <= now:
            slots.append(slot)
            if len(slots) > MAX_SLOTS:
                slots.pop(0)
            slot = next_slot(schedule, anchor, slot)
    if catch_up:
        return slots
    missed = [s for s in slots if up_since is None or s <= up_since]
    return missed[-1:] + [s for s in slots if up_since is not None and s > up_since]


def last_fire(store: Any, project: str, domain: str, name: str) -> float | None:
    rows = store.database.read("SELECT MAX(scheduled_at) FROM schedule_fires WHERE "
                               "project = ? AND domain = ? AND name = ?",
                               (project, domain, name))
    return float(rows[0][0]) if rows and rows[0][0] is not None else None


def fires(store: Any, *, project: str, domain: str, name: str | None = None,
          limit: int = 100) -> list[dict[str, Any]]:
    """Fired slots, newest first."""
    sql = ("SELECT name, scheduled_at, version, execution_id, fired_at, fired_by FROM "
           "schedule_fires WHERE project = ? AND domain = ?")
    params: list[Any] = [project, domain]
    if name:
        sql += " AND name = ?"
        params.append(name)
    rows = store.database.read(f"{sql} ORDER BY scheduled_at DESC LIMIT ?", (*params, limit))
    keys = ("name", "scheduled_at", "version", "execution_id", "fired_at", "fired_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]


# -- firing -----------------------------------------------------------------------------

def _kickoff_value(entity: RegisteredEntity, arg: str, slot: float) -> Any:
    desc = entity.interface.get("inputs", {}).get(arg, {})
    if desc.get("kind") == "optional":
        desc = desc.get("inner", {})
    when = datetime.datetime.fromtimestamp(slot, tz=datetime.timezone.utc)
    kind = desc.get("kind")
    if kind == "float":
        return slot
    if kind == "int":
        return int(slot)
    if kind == "date":
        return when.date().isoformat()
    return when.isoformat()


def fire(store: Any, entity: RegisteredEntity, slot: float, *, by: str) -> str | None:
    """Launch ``entity`` for ``slot`` unless somebody fired that slot already, or the plan
    is no longer active (a deactivation that committed first wins): the fire row and the
    queued execution in one transaction. The execution id, or None."""
    schedule = (entity.spec or {}).get("schedule") or {}
    given: dict[str, Any] = {}
    arg = schedule.get("kickoff_time_input_arg")
    if arg:
        given[arg] = _kickoff_value(entity, arg, slot)
    values = check_inputs(entity.name, entity.interface, given)
    db = store.database
    with db.write() as c:
        taken = c.execute(
            "INSERT INTO schedule_fires (project, domain, name, scheduled_at, version, "
            "execution_id, fired_at, fired_by) SELECT ?, ?, ?, ?, ?, '', ?, ? "
            "WHERE EXISTS (SELECT 1 FROM launch_plan_states WHERE project = ? AND "
            "domain = ? AND name = ? AND active = ?) "
            "ON CONFLICT (project, domain, name, scheduled_at) DO NOTHING",
            (entity.project, entity.domain, entity.name, slot, entity.version, time.time(),
             by, entity.project, entity.domain, entity.name, True))
        if taken.rowcount != 1:
            return None
        execution_id = enqueue_on(c, db, entity, values, who=f"scheduler:{by}")
        c.execute("UPDATE schedule_fires SET execution_id = ? WHERE project = ? AND "
                  "domain = ? AND name = ? AND scheduled_at = ?",
                  (execution_id, entity.project, entity.domain, entity.name, slot))
    WAKE.notify()
    return execution_id


def fire_due(store: Any, *, now: float | None = None, by: str = "",
             up_since: float | None = None) -> list[str]:
    """Fire every active plan's due slots (all projects); the executions launched.
    ``up_since``: when the calling scheduler started (see :func:`due_slots`)."""
    now = time.time() if now is None else now
    by = by or scheduler_name()
    launched: list[str] = []
    for project, domain, name, version, catch_up, since in store.database.read(
            "SELECT project, domain, name, version, catch_up, activated_at FROM "
            "launch_plan_states WHERE active = ?", (True,)):
        try:
            entity = find(store, str(name), str(version), project=str(project),
                          domain=str(domain))
        except NotFound:
            continue  # its version is gone from the domain: nothing to launch
        schedule = (entity.spec or {}).get("schedule")
        if not schedule:
            continue
        last = last_fire(store, entity.project, entity.domain, entity.name)
        for slot in due_slots(schedule, float(since), last, now, bool(catch_up), up_since):
            eid = fire(store, entity, slot, by=by)
            if eid is not None:
                launched.append(eid)
    return launched


def next_due(store: Any, now: float) -> float | None:
    """The earliest next slot of the active plans (None when there is none)."""
    soonest: float | None = None
    for project, domain, name, version, since in store.database.read(
            "SELECT project, domain, name, version, activated_at FROM launch_plan_states "
            "WHERE active = ?", (True,)):
        try:
            entity = find(store, str(name), str(version), project=str(project),
                          domain=str(domain))
        except NotFound:
            continue
        schedule = (entity.spec or {}).get("schedule")
        if schedule:
            last = last_fire(store, entity.project, entity.domain, entity.name)
            slot = next_slot(schedule, float(since), max(now, last or 0.0))
            soonest = slot if soonest is None else min(soonest, slot)
    return soonest


def scheduler_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


SCHEDULER_WAKE = threading.Event()  # set by an activation in this process


class Scheduler(Loop):
    """Fires the active launch plans on time, in a thread (``rillet server`` runs one)."""

    label = "scheduler"

    def __init__(self, store: Any, *, tick: float = TICK, name: str | None = None) -> None:
        super().__init__(SCHEDULER_WAKE, tick)
        self.store = store
        self.name = name or scheduler_name()
        self.fired = 0
        self.up_since: float | None = None  # slots after it fall due while this one runs
        self._failing_since: float | None = None

    def start(self) -> Scheduler:
        self.up_since = time.time()
        return super().start()

    def look(self) -> float:
        from rillet.errors import RilletError

        now = time.time()
        try:
            self.fired += len(fire_due(self.store, now=now, by=self.name,
                                        up_since=self.up_since))
        except RilletError:  # the store is busy or away (the loop looks again)
            if self._failing_since is None:
                self._failing_since = now
            elif now - self._failing_since > DOWN_AFTER:
                self.up_since = None  # away that long: what fell due meanwhile was missed
            raise
        if self.up_since is None:
            self.up_since = now
        self._failing_since = None
        soonest = next_due(self.store, time.time())
        return self.tick if soonest is None else max(0.0, soonest - time.time())

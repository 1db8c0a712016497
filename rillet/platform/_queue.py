"""The launch queue: ``launch`` checks inputs against the registered interface and
queues an execution; workers ``claim`` queued executions under a lease that their
heartbeat renews, and take over an execution whose lease lapsed.

A claim is one transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers never
wait on each other's rows), ``BEGIN IMMEDIATE`` on SQLite. A launch wakes workers at
once: ``NOTIFY`` on PostgreSQL, and :data:`WAKE` for workers in the launching process
(the embedded home's server runs its workers itself).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rillet.engine._reaper import WORKER_PREFIX
from rillet.engine._runstate import new_execution_id
from rillet.errors import DefinitionError
from rillet.platform._check import check_inputs, check_stored_files
from rillet.platform._registry import RegisteredEntity, check_scope, find

CHANNEL = "rillet_launch"
QUOTA_LOCK = 1_500_015  # the advisory lock claims take while a quota exists (PostgreSQL)
QUEUED, CLAIMED, DONE = "queued", "claimed", "done"


class _Wake:
    """Wakes the workers of this process: a counter they wait on changing."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0

    def notify(self) -> None:
        with self._cond:
            self._count += 1
            self._cond.notify_all()

    def count(self) -> int:
        return self._count

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._count != seen, timeout)
            return self._count


WAKE = _Wake()


class _Aborts:
    """Aborts asked for in this process (``services.abort``): the workers of this
    process stop the attempts of an execution they hold at once (the server's own signal
    on the embedded home; on PostgreSQL workers anywhere LISTEN to ``rillet_abort``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, Callable[[str], None]] = {}
        self._next = 0

    def subscribe(self, listener: Callable[[str], None]) -> int:
        with self._lock:
            self._next += 1
            self._listeners[self._next] = listener
            return self._next

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._listeners.pop(token, None)

    def notify(self, execution_id: str) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            listener(execution_id)


ABORTS = _Aborts()


def is_postgres(db: Any) -> bool:
    return str(db.url).startswith("postgresql")


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A queued execution a worker now holds until ``lease_expires_at``."""

    execution_id: str
    project: str
    domain: str
    name: str
    version: str
    inputs: dict[str, Any]
    claims: int  # 1 for the first claim; more when taken over after a lapsed lease


def launch(store: Any, name: str, version: str | None = None, *, project: str = "default",
           domain: str = "development", inputs: dict[str, Any] | None = None,
           who: str | None = None) -> str:
    """Queue an execution of registered ``name``; return its id. Inputs are JSON values,
    checked against the registered interface first (``InputRejected`` names the input)."""
    check_scope(project, domain)
    entity = find(store, name, version, project=project, domain=domain)
    if entity.kind == "task":
        raise DefinitionError(f"{name} is a task; launch a workflow or a launch plan")
    values = check_inputs(name, entity.interface, dict(inputs or {}))
    check_stored_files(store, name, entity.interface, values)
    return enqueue(store, entity, values, who=who)


def enqueue(store: Any, entity: RegisteredEntity, values: dict[str, Any],
            who: str | None = None) -> str:
    """Write the QUEUED execution (in the entity's project and domain), its queue row and
    its audit row in one transaction, then wake workers."""
    db = store.database
    with db.write() as c:
        execution_id = enqueue_on(c, db, entity, values, who=who)
    WAKE.notify()
    return execution_id


def enqueue_on(c: Any, db: Any, entity: RegisteredEntity, values: dict[str, Any],
               who: str | None = None) -> str:
    """:func:`enqueue` on the open write connection ``c`` (the caller wakes workers)."""
    from rillet.platform._teams import audit, local_user

    execution_id = new_execution_id()
    now = time.time()
    # owner_pid 0: a queued execution has no owner process for the reaper to judge;
    # a worker's lease (launch_queue) says who holds it.
    c.execute(
        "INSERT INTO executions (id, workflow, source, spec_hash, status, inputs, executor, "
        "created_at, owner_host, owner_pid, owner_started, checkpoint_scope, project, "
        "domain) VALUES (?, ?, ?, ?, 'QUEUED', '{}', '', ?, '', 0, 0, ?, ?, ?)",
        (execution_id, entity.identity, f"bundle:{entity.bundle_hash}", entity.code_hash,
         now, execution_id, entity.project, entity.domain))
    c.execute(
        "INSERT INTO launch_queue (execution_id, project, domain, name, version, inputs, "
        "state, claims, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (execution_id, entity.project, entity.domain, entity.name, entity.version,
         json.dumps(values, sort_keys=True), QUEUED, now))
    audit(c, who=who or local_user(), project=entity.project, domain=entity.domain,
          action="launch", target=f"{entity.name}@{entity.version}", at=now,
          detail={"execution_id": execution_id, "inputs": values})
    if is_postgres(db):
        c.execute(f"SELECT pg_notify('{CHANNEL}', ?)", (execution_id,))
    return execution_id


_COLS = "execution_id, project, domain, name, version, inputs, claims"


def claim(store: Any, owner: str, lease: float) -> Claim | None:
    """Take the oldest queued execution (or one whose lease lapsed: its worker died or
    was cut off) and its lease for ``lease`` s, in one transaction.

    There is one lease: the execution's own (``executions.lease_owner`` /
    ``lease_expires_at``, owner ``worker:OWNER``), which the engine running it renews
    (``renew_lease``) and stops on losing; the queue row says who claimed it last, and
    until when that claim alone holds it (the claim's own lease, never renewed: on
    PostgreSQL a claimer racing this one re-checks the queue row it locks, not the
    execution row, so the queue row must say "just claimed" by itself)."""
    db = store.database
    now = time.time()
    postgres = is_postgres(db)
    lock = " FOR UPDATE OF q SKIP LOCKED" if postgres else ""
    # a queued execution whose project and domain run their quota waits; the oldest of
    # each scope goes first
    pick = (
        "SELECT q.execution_id FROM launch_queue q JOIN executions e ON e.id = "
        "q.execution_id WHERE e.status IN ('QUEUED', 'RUNNING') AND ((q.state = ? AND NOT "
        "EXISTS (SELECT 1 FROM project_limits l WHERE l.project = q.project AND l.domain = "
        "q.domain AND l.max_running <= (SELECT COUNT(*) FROM launch_queue r WHERE "
        "r.project = q.project AND r.domain = q.domain AND r.state = ?))) OR "
        "(q.state = ? AND q.lease_expires_at < ? AND (e.lease_expires_at IS NULL OR "
        f"e.lease_expires_at < ?))) ORDER BY q.state DESC, q.created_at LIMIT 1{lock}")
    take = ("UPDATE launch_queue SET state = ?, lease_owner = ?, lease_expires_at = ?, "
            f"claims = claims + 1 WHERE execution_id = ({pick}) RETURNING {_COLS}")
    args = (CLAIMED, owner, now + lease, QUEUED, CLAIMED, CLAIMED, now, now)
    with db.write() as c:
        if postgres:
            # One round trip (the statements and the commit go in one pipeline): a quota counts the
            # claimed rows of a scope, so while one exists claims take turns (SQLite's
            # BEGIN IMMEDIATE already does) and two never both take the last place;
            # then the queue row and the execution's lease in one statement.
            c.execute(f"SELECT pg_advisory_xact_lock({QUOTA_LOCK}) FROM "
                      "(SELECT 1 FROM project_limits LIMIT 1) AS l")
            result = c.execute(
                f"WITH claimed AS ({take}), held AS (UPDATE executions SET lease_owner = ?, "
                "lease_expires_at = ?, heartbeat_at = ? FROM claimed WHERE executions.id = "
                f"claimed.execution_id) SELECT {_COLS} FROM claimed",
                (*args, lease_owner(owner), now + lease, now))
        else:
            row = c.execute(take, args).fetchone()
            if row is not None:
                c.execute("UPDATE executions SET lease_owner = ?, lease_expires_at = ?, "
                          "heartbeat_at = ? WHERE id = ?",
                          (lease_owner(owner), now + lease, now, row[0]))
    if postgres:  # read once committed: the claim's result came back with the commit
        row = result.fetchone()
    if row is None:
        return None
    return Claim(execution_id=row[0], project=row[1], domain=row[2], name=row[3],
                 version=row[4], inputs=json.loads(row[5]), claims=int(row[6]))


def lease_owner(worker: str) -> str:
    """The owner of the executions lease that worker ``worker`` holds."""
    return f"{WORKER_PREFIX}{worker}"


def renew(store: Any, owner: str, execution_ids: list[str], lease: float) -> None:
    """Extend the leases ``owner`` still holds (the worker's heartbeat, beside its
    engines' own: it covers a bundle being loaded and a task run in the engine's thread).
    A lease another worker took is left alone: that execution's engine stops."""
    if not execution_ids:
        return
    marks = ", ".join("?" * len(execution_ids))
    now = time.time()
    with store.database.write() as c:
        c.execute(
            f"UPDATE executions SET lease_expires_at = ?, heartbeat_at = ? WHERE "
            f"lease_owner = ? AND id IN ({marks})",
            (now + lease, now, lease_owner(owner), *execution_ids))


def finish(store: Any, owner: str, execution_id: str) -> None:
    """The execution ended (recorded by the engine): it leaves the queue, and a launch
    its quota held back may start."""
    db = store.database
    with db.write() as c:
        c.execute("UPDATE launch_queue SET state = ?, lease_expires_at = NULL WHERE "
                  "execution_id = ? AND lease_owner = ?", (DONE, execution_id, owner))
        if is_postgres(db):
            c.execute(f"SELECT pg_notify('{CHANNEL}', ?)", (execution_id,))
    WAKE.notify()
    from rillet.platform._notify import NOTIFY_WAKE

    NOTIFY_WAKE.set()  # its launch plan's webhooks, if any, go out now


def queue_state(store: Any, execution_id: str) -> tuple[str, str | None, int] | None:
    """(state, lease owner, claims) of a launched execution; None if never queued."""
    rows = store.database.read(
        "SELECT state, lease_owner, claims FROM launch_queue WHERE execution_id = ?",
        (execution_id,))
    return (str(rows[0][0]), rows[0][1], int(rows[0][2])) if rows else None

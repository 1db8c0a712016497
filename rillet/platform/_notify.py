"""Webhook notifications of launch plans (issue 15): when an execution launched from a
plan that names webhooks ends, POST a signed JSON body to each, with retries.

The :class:`Notifier` is a thread of ``rillet server``: it looks for ended executions
of such plans that no server has notified yet, so it never blocks the engine or a
worker. Attempt 1's row in ``webhook_deliveries`` is the claim (its primary key), so
two servers on one database notify an execution once; every attempt is a row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rillet.platform._loop import Loop

TICK = 1.0  # the longest the notifier sleeps between looks when nobody wakes it
TRIES = 4  # attempts per webhook: the first and three retries
BACKOFF = 1.0  # seconds before the first retry; doubled before each next one
TIMEOUT = 10.0  # seconds for one POST
LOOKBACK = 24 * 3600.0  # executions ended this long before the notifier started count
SIGNATURE = "X-Rillet-Signature"
ENDED = ("SUCCEEDED", "FAILED", "ABORTED")

NOTIFY_WAKE = threading.Event()  # set when an execution ends in this process


@dataclass(frozen=True)
class Pending:
    """One webhook of one ended execution, not yet claimed."""

    execution_id: str
    hook: int
    url: str
    secret_env: str | None
    event: str
    body: bytes


def sign(secret: bytes, body: bytes) -> str:
    """The value of ``X-Rillet-Signature`` for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def event_of(store: Any, execution_id: str, status: str) -> str:
    """The event of an ended execution: its status, or TIMED_OUT for a failure whose
    node timed out."""
    if status == "FAILED":
        rows = store.database.read(
            "SELECT 1 FROM node_executions WHERE execution_id = ? AND status = 'TIMED_OUT' LIMIT 1",
            (execution_id,))
        if rows:
            return "TIMED_OUT"
    return status


def pending(store: Any, since: float) -> list[Pending]:
    """Webhooks of executions launched from a plan and ended after ``since`` that have
    no delivery row yet."""
    marks = ", ".join("?" for _ in ENDED)
    rows = store.database.read(
        "SELECT e.id, e.status, e.ended_at, e.workflow, q.project, q.domain, q.name, "
        "q.version, r.spec FROM executions e "
        "JOIN launch_queue q ON q.execution_id = e.id "
        "JOIN registered_entities r ON r.project = q.project AND r.domain = q.domain "
        "AND r.name = q.name AND r.version = q.version "
        f"WHERE r.kind = 'launch_plan' AND e.status IN ({marks}) AND e.ended_at >= ? "
        "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.execution_id = e.id) "
        "ORDER BY e.ended_at", (*ENDED, since))
    out: list[Pending] = []
    for eid, status, ended_at, workflow, project, domain, name, version, spec in rows:
        hooks = json.loads(spec or "{}").get("notifications") or []
        if not hooks:
            continue
        event = event_of(store, str(eid), str(status))
        body = json.dumps({
            "execution_id": eid, "launch_plan": name, "version": version,
            "workflow": json.loads(spec).get("workflow", workflow), "status": event,
            "project": project, "domain": domain,
            "ended_at": datetime.fromtimestamp(float(ended_at), UTC).isoformat(),
        }, sort_keys=True).encode()
        for i, hook in enumerate(hooks):
            if event in hook.get("on", ()):
                out.append(Pending(str(eid), i, str(hook["url"]), hook.get("secret_env"),
                                   event, body))
    return out


def _record(store: Any, p: Pending, attempt: int, state: str, by: str,
            status: int | None = None, error: str | None = None) -> bool:
    """Write attempt ``attempt`` (False if another server wrote it: attempt 1 is the claim)."""
    with store.database.write() as c:
        if state == "sending":
            got = c.execute(
                "INSERT INTO webhook_deliveries (execution_id, hook, attempt, url, event, "
                "state, http_status, error, at, sent_by) VALUES (?, ?, ?, ?, ?, ?, NULL, "
                "NULL, ?, ?) ON CONFLICT (execution_id, hook, attempt) DO NOTHING",
                (p.execution_id, p.hook, attempt, p.url, p.event, state, time.time(), by))
            return bool(got.rowcount == 1)
        c.execute("UPDATE webhook_deliveries SET state = ?, http_status = ?, error = ?, "
                  "at = ? WHERE execution_id = ? AND hook = ? AND attempt = ?",
                  (state, status, error, time.time(), p.execution_id, p.hook, attempt))
    return True


def post(p: Pending, secret: bytes | None, timeout: float = TIMEOUT) -> tuple[int | None,
                                                                            str | None]:
    """POST once: (HTTP status, error text); a 2xx status has no error."""
    headers = {"Content-Type": "application/json", "User-Agent": "rillet-webhook",
               "X-Rillet-Event": p.event}
    if secret is not None:
        headers[SIGNATURE] = sign(secret, p.body)
    req = urllib.request.Request(p.url, data=p.body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), None  # the URL is http(s): Webhook checks it
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def claim(store: Any, p: Pending, by: str) -> bool:
    """Write attempt 1 of ``p``; False if another server did (it delivers it)."""
    return _record(store, p, 1, "sending", by)


def deliver(store: Any, p: Pending, *, by: str, tries: int = TRIES, backoff: float = BACKOFF,
            stop: threading.Event | None = None) -> bool:
    """:func:`claim` ``p`` and :func:`send` it; False if another server had claimed it."""
    return claim(store, p, by) and send(store, p, by=by, tries=tries, backoff=backoff,
                                        stop=stop)


def send(store: Any, p: Pending, *, by: str, tries: int = TRIES, backoff: float = BACKOFF,
         stop: threading.Event | None = None) -> bool:
    """POST claimed ``p`` until a 2xx, at most ``tries`` times, waiting ``backoff``, then
    twice as long, ... between tries; every attempt is a row. False if every try failed
    (or ``stop`` was set while waiting)."""
    secret: bytes | None = None
    if p.secret_env is not None:
        value = os.environ.get(p.secret_env)
        if value is None:  # never send unsigned what the plan asked to sign
            _record(store, p, 1, "failed", by, error=(
                f"environment variable {p.secret_env} (the webhook's secret) is not set "
                "on the server"))
            return False
        secret = value.encode()
    wait = backoff
    for attempt in range(1, tries + 1):
        if attempt > 1:
            if stop is not None and stop.wait(wait):
                return False
            if stop is None:
                time.sleep(wait)
            wait *= 2
            _record(store, p, attempt, "sending", by)
        status, error = post(p, secret)
        ok = error is None and status is not None and 200 <= status < 300
        _record(store, p, attempt, "delivered" if ok else "failed", by, status=status,
                error=error)
        if ok:
            return True
    return False


def deliveries(store: Any, execution_id: str) -> list[dict[str, Any]]:
    """Every attempt for ``execution_id``, in order."""
    rows = store.database.read(
        "SELECT hook, attempt, url, event, state, http_status, error, at, sent_by FROM "
        "webhook_deliveries WHERE execution_id = ? ORDER BY hook, attempt", (execution_id,))
    keys = ("hook", "attempt", "url", "event", "state", "http_status", "error", "at",
            "sent_by")
    return [dict(zip(keys, row, strict=True)) for row in rows]


DELIVERY_KEYS = ("execution_id", "hook", "attempt", "url", "event", "state", "http_status",
                 "error", "at", "sent_by")


def plan_deliveries(store: Any, name: str, *, project: str = "default",
                    domain: str = "development", limit: int = 100) -> list[dict[str, Any]]:
    """Every delivery attempt of launch plan ``name``'s webhooks in a project and domain
    (all its versions), newest first. Unknown project, domain or plan: the same errors
    as ``rillet launchplan list`` and ``activate``."""
    from rillet.platform._registry import check_scope
    from rillet.platform._schedule import launch_plan
    from rillet.platform._teams import require_project

    check_scope(project, domain)
    require_project(store, project)
    launch_plan(store, name, None, project=project, domain=domain)
    rows = store.database.read(
        "SELECT d.execution_id, d.hook, d.attempt, d.url, d.event, d.state, d.http_status, "
        "d.error, d.at, d.sent_by FROM webhook_deliveries d JOIN launch_queue q "
        "ON q.execution_id = d.execution_id WHERE q.project = ? AND q.domain = ? AND "
        "q.name = ? ORDER BY d.at DESC, d.execution_id, d.hook, d.attempt DESC LIMIT ?",
        (project, domain, name, limit))
    return [dict(zip(DELIVERY_KEYS, row, strict=True)) for row in rows]


class Notifier(Loop):
    """Delivers webhook notifications in a thread (``rillet server`` runs one); each
    delivery, with its retries, runs in a thread of its own."""

    label = "notifier"

    def __init__(self, store: Any, *, tick: float = TICK, tries: int = TRIES,
                 backoff: float = BACKOFF, name: str | None = None) -> None:
        from rillet.platform._schedule import scheduler_name

        super().__init__(NOTIFY_WAKE, tick)
        self.store = store
        self.tries = tries
        self.backoff = backoff
        self.name = name or scheduler_name()
        self.since = time.time() - LOOKBACK
        self._sending: list[threading.Thread] = []

    def look(self) -> float:
        for p in pending(self.store, self.since):
            if not claim(self.store, p, self.name):
                continue  # another server delivers it
            t = threading.Thread(target=self._send, args=(p,), daemon=True,
                                 name="rillet-webhook")
            t.start()
            self._sending.append(t)
        self._sending = [t for t in self._sending if t.is_alive()]
        return self.tick

    def _send(self, p: Pending) -> None:
        try:
            send(self.store, p, by=self.name, tries=self.tries, backoff=self.backoff,
                 stop=self._stop)
        except Exception as exc:
            sys.stderr.write(f"rillet notifier: {p.url}: {type(exc).__name__}: {exc}\n")

    def stop(self, timeout: float | None = 30) -> None:
        super().stop(timeout)
        for t in self._sending:
            t.join(timeout)

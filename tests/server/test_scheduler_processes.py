"""Issue 15, point 8: launch plans fired by real ``rillet server`` processes on
PostgreSQL. (a) One server restarted (SIGKILL, then a clean SIGTERM) while 1-second
``FixedRate`` plans are active, watched over 20 s: a plan with the default policy fires
every slot while a server runs and, after each downtime, the latest missed slot once; a
``--catch-up`` plan fires every slot; none is fired twice. (b) Two servers on one
database with the same active plan fire each slot once, and each ended execution's
webhook is sent by one of them only.

The two scenarios run at the same time (threads of one module fixture), so the module
takes about as long as the longer one. Everything waits by polling, with generous
limits; nothing asserts how long anything took.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from clikit import rillet_env, wait_for
from serverkit import Receiver

from rillet import Remote
from rillet.platform import register
from rillet.platform._stores import open_stores

WINDOW = 20.0  # seconds of schedule watched in (a), the figure
DOWNTIME = 3.5  # seconds a server stays down in (a): at least two slots are missed
SHARED_SLOTS = 8  # slots two servers fire in (b) before the plan is deactivated
LIMIT = 180.0  # the generous limit of every wait

CODE = '''
from datetime import timedelta

from rillet import FixedRate, LaunchPlan, Webhook, task, workflow


@task
def tick(n: int) -> int:
    return n


@workflow
def ticks(n: int = 1) -> int:
    return tick(n=n)


every = FixedRate(duration=timedelta(seconds=1))
latest = LaunchPlan.get_or_create(ticks, name="latest", schedule=every)
every_slot = LaunchPlan.get_or_create(ticks, name="every_slot", schedule=every)
shared = LaunchPlan.get_or_create(ticks, name="shared", schedule=every,
    notifications=[Webhook("{url}/fired")])
'''


class Server:
    """``rillet server --db --artifacts --port 0`` as a process of its own."""

    def __init__(self, db: str, artifacts: str, root: Path, label: str, workers: int) -> None:
        self.log = root / f"{label}.log"
        env = rillet_env(RILLET_BUNDLE_CACHE=str(root / f"bundles-{label}"))
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rillet.cli", "server", "--db", db, "--artifacts",
                 artifacts, "--port", "0", "--workers", str(workers)],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.name = f"{socket.gethostname()}:{self.proc.pid}"  # its scheduler's name
        self.url = ""

    def ready(self) -> Server:
        """Wait until it serves (health answers)."""
        self.url = wait_for(self._url, limit=LIMIT, every=0.1)
        wait_for(self._healthy, limit=LIMIT, every=0.1)
        return self

    def _url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited: {self.log.read_text()}")
        for line in self.log.read_text().splitlines():
            if line.startswith("rillet server on http://"):
                return line.split()[3]
        return None

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=30).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=LIMIT)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=LIMIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=LIMIT)


@dataclass
class Watched:
    """What a scenario saw: the fires of each plan in slot order (slot, fired_by,
    execution id), the anchor of the slots, the servers, and what else it measured."""

    anchor: dict[str, float] = field(default_factory=dict)
    fires: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    started: list[float] = field(default_factory=list)  # before each server's Popen
    exits: list[int] = field(default_factory=list)  # of the SIGTERMed servers
    queued: dict[str, int] = field(default_factory=dict)  # launch_queue rows per plan
    executions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)  # execution ids the receiver got


def _fires(store: Any, name: str) -> list[tuple[float, str, str]]:
    return [(float(s), str(b), str(e)) for s, b, e in store.database.read(
        "SELECT scheduled_at, fired_by, execution_id FROM schedule_fires WHERE name = ? "
        "ORDER BY scheduled_at", (name,))]


def _anchor(store: Any, name: str) -> float:
    return float(store.database.read(
        "SELECT activated_at FROM launch_plan_states WHERE name = ?", (name,))[0][0])


def _fired_by(store: Any, name: str, server: Server, at_least: int) -> bool:
    return sum(1 for _, by, _ in _fires(store, name) if by == server.name) >= at_least


def _registered(db: str, artifacts: str, root: Path, url: str) -> Any:
    code = root / "schedflows.py"
    code.write_text(CODE.replace("{url}", url))
    stores = open_stores(db=db, artifacts=artifacts)
    register(str(code), store=stores.store, artifacts=stores.artifacts, version="v1")
    return stores


def restarts(db: str, root: Path) -> Watched:
    """(a): one server, killed, started again, stopped cleanly, started again."""
    artifacts = str(root / "artifacts")
    stores = _registered(db, artifacts, root, "http://127.0.0.1:9")
    seen = Watched()
    try:
        def start(label: str) -> Server:
            seen.started.append(time.time())
            seen.servers.append(Server(db, artifacts, root, label, workers=0))
            return seen.servers[-1].ready()

        first = start("first")
        with Remote(first.url) as r:
            r.activate("latest")
            r.activate("every_slot", catch_up=True)
        seen.anchor = {p: _anchor(stores.store, p) for p in ("latest", "every_slot")}
        wait_for(lambda: _fired_by(stores.store, "latest", first, 3), limit=LIMIT)
        first.kill()
        down = time.time()
        time.sleep(max(0.0, down + DOWNTIME - time.time()))  # downtime, not a race
        second = start("second")
        wait_for(lambda: _fired_by(stores.store, "latest", second, 3), limit=LIMIT)
        seen.exits.append(second.terminate())
        down = time.time()
        time.sleep(max(0.0, down + DOWNTIME - time.time()))
        third = start("third")
        end = seen.anchor["latest"] + WINDOW
        wait_for(lambda: _fires(stores.store, "latest")[-1][0] >= end
                 and _fires(stores.store, "every_slot")[-1][0] >= end
                 and _fired_by(stores.store, "latest", third, 2), limit=LIMIT)
        with Remote(third.url) as r:
            r.deactivate("latest")
            r.deactivate("every_slot")
        seen.exits.append(third.terminate())
        for plan in ("latest", "every_slot"):
            seen.fires[plan] = _fires(stores.store, plan)
            seen.queued[plan] = int(stores.store.database.read(
                "SELECT COUNT(*) FROM launch_queue WHERE name = ?", (plan,))[0][0])
    finally:
        for s in seen.servers:
            if s.proc.poll() is None:
                s.kill()
        stores.close()
    return seen


def two_servers(db: str, root: Path, receiver: Receiver) -> Watched:
    """(b): two servers (one worker each) on one database, one active plan with a
    webhook, started at the same time."""
    artifacts = str(root / "artifacts")
    stores = _registered(db, artifacts, root, receiver.url)
    seen = Watched()
    try:
        seen.servers = [Server(db, artifacts, root, label, workers=1)
                        for label in ("left", "right")]  # both start at once
        for server in seen.servers:
            server.ready()
        with Remote(seen.servers[0].url) as r:
            r.activate("shared")
        seen.anchor["shared"] = _anchor(stores.store, "shared")
        wait_for(lambda: len(_fires(stores.store, "shared")) >= SHARED_SLOTS, limit=LIMIT)
        with Remote(seen.servers[1].url) as r:
            r.deactivate("shared")

        def settled() -> list[tuple[str, str]] | None:
            """The fired executions once all ended and were notified (read anew each
            time: a fire that raced the deactivation is waited for too)."""
            ids = [e for _, _, e in _fires(stores.store, "shared")]
            marks = ", ".join("?" for _ in ids)
            rows = [(str(i), str(s)) for i, s in stores.store.database.read(
                f"SELECT id, status FROM executions WHERE id IN ({marks})", tuple(ids))]
            if len(rows) != len(ids) or any(
                    s not in ("SUCCEEDED", "FAILED", "ABORTED") for _, s in rows):
                return None
            sent = {str(r[0]) for r in stores.store.database.read(
                "SELECT execution_id FROM webhook_deliveries WHERE state = 'delivered' AND "
                f"execution_id IN ({marks})", tuple(ids))}
            return rows if sent == set(ids) else None

        seen.executions["shared"] = wait_for(settled, limit=LIMIT, every=0.2)
        seen.exits = [s.terminate() for s in seen.servers]  # drains their notifiers
        seen.fires["shared"] = _fires(stores.store, "shared")
        seen.deliveries = [tuple(r) for r in stores.store.database.read(
            "SELECT execution_id, hook, attempt, state, sent_by FROM webhook_deliveries "
            "ORDER BY execution_id, attempt")]
        seen.posted = [b["execution_id"] for _, b, _ in receiver.bodies("/fired")]
    finally:
        for s in seen.servers:
            if s.proc.poll() is None:
                s.kill()
        stores.close()
    return seen


@pytest.fixture(scope="module")
def scenarios(pg_server: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[dict[str, Future[Watched]]]:
    """Both scenarios, started once and at the same time; each test waits for its own."""
    receiver = Receiver()
    pool = ThreadPoolExecutor(2)
    try:
        yield {"restarts": pool.submit(restarts, pg_server.url(),
                                       tmp_path_factory.mktemp("restarts")),
               "two_servers": pool.submit(two_servers, pg_server.url(),
                                          tmp_path_factory.mktemp("two"), receiver)}
    finally:
        pool.shutdown(wait=True)
        receiver.close()


def _segments(fires: list[tuple[float, str, str]]) -> list[tuple[str, list[float]]]:
    """The fires grouped by consecutive scheduler: [(fired_by, slots)]."""
    out: list[tuple[str, list[float]]] = []
    for slot, by, _ in fires:
        if out and out[-1][0] == by:
            out[-1][1].append(slot)
        else:
            out.append((by, [slot]))
    return out


def _steps(anchor: float, slots: list[float]) -> list[int]:
    """The slots as whole seconds after the anchor (each must be on the grid)."""
    ks = [round(s - anchor) for s in slots]
    assert slots == pytest.approx([anchor + k for k in ks], abs=1e-6), "a slot off the grid"
    return ks


def _once_each(seen: Watched, plan: str) -> None:
    """Each fire launched its own execution, and no execution of the plan came without
    a fire (nothing doubled behind the fires' primary key)."""
    ids = [e for _, _, e in seen.fires[plan]]
    assert all(ids) and len(set(ids)) == len(ids)
    if plan in seen.queued:
        assert seen.queued[plan] == len(ids)


def _result(scenarios: dict[str, Future[Watched]], name: str) -> Watched:
    return scenarios[name].result(timeout=600)


def test_restarts_lose_and_double_no_fire(scenarios: dict[str, Future[Watched]]) -> None:
    seen = _result(scenarios, "restarts")
    assert seen.exits == [0, 0]  # the SIGTERMed servers stopped cleanly
    names = [s.name for s in seen.servers]
    # the catch-up plan: every slot of the window once, across both restarts
    ks = _steps(seen.anchor["every_slot"], [s for s, _, _ in seen.fires["every_slot"]])
    assert ks == list(range(1, len(ks) + 1)) and ks[-1] >= WINDOW
    assert {by for _, by, _ in seen.fires["every_slot"]} <= set(names)
    _once_each(seen, "every_slot")
    # the default plan: each server fires every slot while it runs (no gap inside a
    # run); after each downtime the new server fires only the latest missed slot
    anchor = seen.anchor["latest"]
    segments = _segments(seen.fires["latest"])
    assert [by for by, _ in segments] == names, segments
    steps = [_steps(anchor, slots) for _, slots in segments]
    for ks in steps:
        assert ks == list(range(ks[0], ks[-1] + 1)), f"a slot lost while running: {ks}"
    assert steps[0][0] == 1 and steps[-1][-1] >= WINDOW
    for before, after, started in zip(steps[:-1], steps[1:], seen.started[1:], strict=True):
        # the slots it missed were due before it started; the latest one fires once
        # (it fires at its first look, after it started, so it is the slot of that time)
        assert anchor + after[0] > started - 1.0, (before, after, started - anchor)
        assert after[0] - before[-1] >= 2, "every missed slot fired: that is --catch-up"
    _once_each(seen, "latest")


def test_two_servers_fire_each_slot_once_and_send_each_webhook_once(
        scenarios: dict[str, Future[Watched]]) -> None:
    seen = _result(scenarios, "two_servers")
    assert seen.exits == [0, 0]
    fires = seen.fires["shared"]
    ks = _steps(seen.anchor["shared"], [s for s, _, _ in fires])
    # both servers ran all along: every slot from the first, none twice
    assert ks == list(range(1, len(ks) + 1)) and len(ks) >= SHARED_SLOTS
    assert {by for _, by, _ in fires} <= {s.name for s in seen.servers}
    _once_each(seen, "shared")
    ids = sorted(e for _, _, e in fires)
    # every fired execution ended and was notified: one POST each, by one server
    ended = dict(seen.executions["shared"])
    assert sorted(ended) == ids and set(ended.values()) == {"SUCCEEDED"}
    assert sorted(seen.posted) == ids, "a webhook sent twice, or not at all"
    senders: dict[str, set[str]] = {}
    for eid, hook, attempt, state, by in seen.deliveries:
        assert (hook, attempt, state) == (0, 1, "delivered")
        senders.setdefault(eid, set()).add(by)
    assert sorted(senders) == ids
    assert all(len(by) == 1 for by in senders.values())
    assert set().union(*senders.values()) <= {s.name for s in seen.servers}

"""Quotas (issue 15, point 5): a project and domain capped at N running executions;
20 launches made at once: never more than N run, the oldest start first, the rest
start as others end, and other scopes are not held back. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from clikit import run
from platformkit import wait_until

from rillet.errors import DefinitionError, NotFound
from rillet.platform import Worker, launch, register
from rillet.platform._stores import Stores
from rillet.platform._teams import audit_log, create_project, set_limit

HOLD = '''
import os
import time

from rillet import task, workflow


@task
def hold(marker: str, i: int) -> int:
    while not os.path.exists(marker):
        time.sleep(0.02)
    return i


@workflow
def held(marker: str, i: int) -> int:
    return hold(marker=marker, i=i)
'''


@pytest.fixture(params=["home", "shared"])
def stores(request: pytest.FixtureRequest) -> Stores:
    return request.getfixturevalue("home_stores" if request.param == "home"
                                   else "shared_stores")


def _claimed(s: Stores, project: str) -> int:
    return int(s.store.database.read(
        "SELECT COUNT(*) FROM launch_queue WHERE project = ? AND state = 'claimed'",
        (project,))[0][0])


def test_a_quota_holds_under_20_concurrent_launches(stores, tmp_path: Path):
    s = stores
    code = tmp_path / "quotacode"
    code.mkdir()
    (code / "quota.py").write_text(HOLD)
    create_project(s.store, "q")
    register(str(code / "quota.py"), store=s.store, artifacts=s.artifacts, project="q")
    register(str(code / "quota.py"), store=s.store, artifacts=s.artifacts)
    set_limit(s.store, "q", "development", 2, who="ops")
    marker = str(tmp_path / "go")
    ids: list[str] = []
    lock = threading.Lock()

    def launch_one(i: int) -> None:
        eid = launch(s.store, "quota.held", project="q", inputs={"marker": marker, "i": i})
        with lock:
            ids.append(eid)

    launchers = [threading.Thread(target=launch_one, args=(i,)) for i in range(20)]
    for t in launchers:
        t.start()
    for t in launchers:
        t.join(timeout=120)
    assert len(ids) == 20
    other = launch(s.store, "quota.held", inputs={"marker": marker, "i": 99})  # default
    worker = Worker(s.store, s.artifacts, executor="inline", concurrency=5)
    thread = threading.Thread(target=worker.run, kwargs={"max_executions": 21}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: _claimed(s, "q") == 2 and _claimed(s, "default") == 1,
                   timeout=120, what="two of q and the default one claimed")
        oldest = [r[0] for r in s.store.database.read(
            "SELECT execution_id FROM launch_queue WHERE project = 'q' ORDER BY created_at, "
            "execution_id")][:2]
        held_now = {r[0] for r in s.store.database.read(
            "SELECT execution_id FROM launch_queue WHERE project = 'q' AND state = 'claimed'")}
        assert held_now == set(oldest)  # the oldest start first
        peak = [0]
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _claimed(s, "q"))
                stop.wait(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        Path(marker).write_text("go")
        thread.join(timeout=300)
        stop.set()
        watcher.join(timeout=60)
    finally:
        Path(marker).write_text("go")
        worker.stop()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert peak[0] <= 2
    statuses = {s.store.get_execution(i).status.value for i in [*ids, other]}
    assert statuses == {"SUCCEEDED"}
    oldest_first = [a["action"] for a in reversed(audit_log(s.store, project="q"))]
    assert oldest_first[:3] == ["project.create", "register", "project.limit"]


def test_bad_limits_are_refused(stores, tmp_path: Path):
    with pytest.raises(NotFound, match="project 'nope' does not exist"):
        set_limit(stores.store, "nope", "development", 2)
    with pytest.raises(DefinitionError, match="unknown domain"):
        set_limit(stores.store, "default", "dev", 2)
    with pytest.raises(DefinitionError, match=">= 0"):
        set_limit(stores.store, "default", "development", -1)
    assert set_limit(stores.store, "default", "staging", 0)["max_running"] is None


def test_cli_project_limit(tmp_path: Path):
    home = str(tmp_path / "home")
    assert run(["project", "create", "q", "--home", home], tmp_path).code == 0
    r = run(["project", "limit", "q", "--domain", "staging", "--max-running", "3",
             "--home", home], tmp_path)
    assert r.code == 0 and "q/staging: at most 3 running" in r.out, r.err
    r = run(["project", "limit", "q", "--max-running", "-1", "--home", home], tmp_path)
    assert r.code == 2

"""Webhook deliveries on both stores (issue 15, point 6): the pending query, the claim
that lets one of two servers send, and the attempt rows. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rillet.errors import DefinitionError, NotFound
from rillet.platform import Worker, launch, register
from rillet.platform._notify import (
    claim,
    deliver,
    deliveries,
    pending,
    plan_deliveries,
    send,
)
from rillet.platform._stores import Stores
from rillet.platform._teams import create_project

CODE = '''
from rillet import LaunchPlan, Webhook, task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@workflow
def incd(x: int) -> int:
    return inc(x=x)


stopped = LaunchPlan.get_or_create(incd, name="abortplan", notifications=[
    Webhook("URL/c", on=["ABORTED"])])
plan = LaunchPlan.get_or_create(incd, name="incplan", notifications=[
    Webhook("URL/a", on=["SUCCEEDED"], secret_env="RILLET_NOTIFY_TEST_SECRET"),
    Webhook("URL/b", on=["FAILED"])])
'''


@pytest.fixture(params=["home", "shared"])
def stores(request: pytest.FixtureRequest) -> Stores:
    return request.getfixturevalue("home_stores" if request.param == "home"
                                   else "shared_stores")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    got: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            got.append((self.path, dict(self.headers),
                        self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def test_one_of_two_servers_claims_and_every_attempt_is_a_row(
        stores: Stores, receiver: tuple[str, list[Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = stores
    url, got = receiver
    monkeypatch.setenv("RILLET_NOTIFY_TEST_SECRET", "k")
    code = tmp_path / "hookcode"
    code.mkdir()
    (code / "hooked.py").write_text(CODE.replace("URL", url))
    create_project(s.store, "n")
    register(str(code / "hooked.py"), store=s.store, artifacts=s.artifacts, project="n")
    by_plan = launch(s.store, "incplan", project="n", inputs={"x": 1})
    by_name = launch(s.store, "hooked.incd", project="n", inputs={"x": 1})
    Worker(s.store, s.artifacts, executor="inline").run(max_executions=2)
    assert s.store.get_execution(by_plan).status.value == "SUCCEEDED"
    (p,) = pending(s.store, since=0.0)  # only the SUCCEEDED webhook of the plan's run
    assert (p.execution_id, p.hook, p.event, p.url) == (by_plan, 0, "SUCCEEDED", url + "/a")
    assert claim(s.store, p, "server-1")
    assert not claim(s.store, p, "server-2")  # the other server leaves it
    assert not deliver(s.store, p, by="server-2")
    assert pending(s.store, since=0.0) == []
    assert send(s.store, p, by="server-1", backoff=0.01)
    ((path, headers, raw),) = got
    assert path == "/a" and headers["X-Rillet-Signature"] == "sha256=" + hmac.new(
        b"k", raw, hashlib.sha256).hexdigest()
    assert json.loads(raw)["execution_id"] == by_plan
    (row,) = deliveries(s.store, by_plan)
    assert (row["state"], row["http_status"], row["sent_by"]) == ("delivered", 204, "server-1")
    assert deliveries(s.store, by_name) == []
    # the plan's deliveries, as `rillet launchplan deliveries incplan --project n` lists them
    (listed,) = plan_deliveries(s.store, "incplan", project="n")
    assert listed == {"execution_id": by_plan, **row}
    with pytest.raises(NotFound, match="incplan is not registered in n/staging"):
        plan_deliveries(s.store, "incplan", project="n", domain="staging")
    with pytest.raises(DefinitionError, match="hooked.incd is a workflow, not a launch plan"):
        plan_deliveries(s.store, "hooked.incd", project="n")
    with pytest.raises(NotFound, match="nope"):
        plan_deliveries(s.store, "incplan", project="nope")
    with pytest.raises(DefinitionError, match="domain"):
        plan_deliveries(s.store, "incplan", project="n", domain="prod")


def test_an_unset_secret_sends_nothing_and_says_why(
        home_stores: Stores, receiver: tuple[str, list[Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = home_stores
    url, got = receiver
    monkeypatch.delenv("RILLET_NOTIFY_TEST_SECRET", raising=False)
    code = tmp_path / "hookcode"
    code.mkdir()
    (code / "hooked.py").write_text(CODE.replace("URL", url))
    register(str(code / "hooked.py"), store=s.store, artifacts=s.artifacts)
    eid = launch(s.store, "incplan", inputs={"x": 2})
    Worker(s.store, s.artifacts, executor="inline").run(max_executions=1)
    (p,) = pending(s.store, since=0.0)
    assert not deliver(s.store, p, by="me", backoff=0.01)
    assert got == []
    (row,) = deliveries(s.store, eid)
    assert row["state"] == "failed" and "RILLET_NOTIFY_TEST_SECRET" in row["error"]


def test_an_execution_aborted_in_the_queue_notifies_aborted(
        home_stores: Stores, receiver: tuple[str, list[Any]], tmp_path: Path) -> None:
    """The ABORTED event, end to end on the store: the real abort (``rillet abort``'s
    service) of a queued launch of a plan, then the notifier's query and delivery. (No
    worker runs it: see the hand-off of issue 15 on an abort racing a worker's claim.)"""
    from rillet.services import abort
    from rillet.store import Instance

    s = home_stores
    url, got = receiver
    code = tmp_path / "hookcode"
    code.mkdir()
    (code / "hooked.py").write_text(CODE.replace("URL", url))
    register(str(code / "hooked.py"), store=s.store, artifacts=s.artifacts)
    eid = launch(s.store, "abortplan", inputs={"x": 3})
    inst = Instance.home(str(tmp_path / "home"), create=False)
    try:
        assert abort(inst, eid)["status"] == "ABORTED"
    finally:
        inst.close()
    (p,) = pending(s.store, since=0.0)
    assert (p.execution_id, p.event, p.url) == (eid, "ABORTED", url + "/c")
    assert deliver(s.store, p, by="me", backoff=0.01)
    ((path, headers, raw),) = got
    assert path == "/c" and headers["X-Rillet-Event"] == "ABORTED"
    assert "X-Rillet-Signature" not in headers  # this webhook names no secret
    assert (json.loads(raw)["execution_id"], json.loads(raw)["status"]) == (eid, "ABORTED")

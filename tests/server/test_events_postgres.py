"""Live events on PostgreSQL: the event log's trigger NOTIFYs ``rillet_events`` and the
server's broadcaster LISTENs, so an event that another connection (another process:
a worker, a ``rillet run``) writes reaches an SSE client without the broadcaster's
poll: the poll is set to an hour here, so only a notification can wake it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from clikit import wait_for

from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus, NodeRecord, NodeStatus
from rillet.store import InstanceConfig
from rillet.store._sql import SqlMetadataStore

HOUR = 3600.0


@pytest.fixture
def pg_served(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    import uvicorn

    from rillet.server._app import create_app
    from rillet.store import Instance

    inst = Instance.open(InstanceConfig(metadata_url=pg_url,
                                        artifacts_url=str(tmp_path / "artifacts"),
                                        executor="inline", scratch=str(tmp_path / "scratch")))
    app = create_app(inst, poll=HOUR, scheduler=False)
    app.state.broadcaster.listen_poll = HOUR
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        inst.close()


def _record(status: ExecutionStatus, **kw: Any) -> ExecutionRecord:
    now = time.time()
    return ExecutionRecord(id="pg-events-1", workflow="m:wf", source="m.py", spec_hash="",
                           status=status, inputs={}, created_at=now, started_at=now, **kw)


def _node(status: NodeStatus) -> NodeRecord:
    return NodeRecord(execution_id="pg-events-1", node_id="n0", task="m:inc", kind="task",
                      status=status, attempts=1)


def test_an_event_written_by_another_connection_reaches_an_sse_client(
        pg_served: tuple[str, Any], pg_url: str) -> None:
    url, app = pg_served
    broadcaster = app.state.broadcaster
    wait_for(broadcaster.listening.is_set, limit=60)
    other = SqlMetadataStore(pg_url)  # another connection: the server's wake() never runs
    try:
        other.apply(Batch(executions=[_record(ExecutionStatus.RUNNING)]))
        got: list[dict[str, Any]] = []
        subscribed = threading.Event()

        def read() -> None:
            with httpx.stream("GET", f"{url}/api/v1/executions/pg-events-1/events",
                              timeout=120) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        got.append(json.loads(line[5:]))
                        subscribed.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert subscribed.wait(60)  # the backlog (RUNNING) came: the client is subscribed
        wait_for(lambda: broadcaster.listeners == 1, limit=60)
        before = broadcaster.notified
        other.apply(Batch(nodes=[_node(NodeStatus.RUNNING)]))
        wait_for(lambda: len(got) >= 2, limit=60)  # woken by the NOTIFY, not the poll
        other.apply(Batch(executions=[_record(ExecutionStatus.SUCCEEDED, ended_at=time.time())],
                          nodes=[_node(NodeStatus.SUCCEEDED)]))
        reader.join(60)
        assert not reader.is_alive()  # the stream ended with the execution's end
    finally:
        other.close()
    assert [(e["kind"], e["node_id"], e["status"]) for e in got] == [
        ("execution", "", "RUNNING"), ("node", "n0", "RUNNING"),
        ("node", "n0", "SUCCEEDED"), ("execution", "", "SUCCEEDED")]
    assert broadcaster.notified > before

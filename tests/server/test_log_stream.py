"""A running attempt's output streamed as server-sent events
(``GET .../nodes/{node}/logs/stream``): lines read before the task ends, a resume from
a byte offset (``?offset=`` and ``Last-Event-ID``) with no line twice, the ``end``
event once the attempt ends, and 404 JSON for an unknown execution, node or attempt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clikit import wait_for
from serverkit import Served, register_file

from rillet import Remote

FLOWS = ("import os, time\n"
         "from rillet import task, workflow\n\n"
         "@task\ndef chatter(gate: str) -> int:\n"
         "    print('first line', flush=True)\n"
         "    i = 0\n"
         "    while not os.path.exists(gate) and i < 1200:\n"
         "        i += 1\n"
         "        print(f'tick {i}', flush=True)\n"
         "        time.sleep(0.05)\n"
         "    print('last line', flush=True)\n"
         "    return i\n\n"
         "@workflow\ndef chatty(gate: str) -> int:\n"
         "    return chatter(gate=gate)\n\n"
         "@task\ndef shout(n: int) -> int:\n"
         "    for i in range(n):\n"
         "        print(f'{i:05d} ' + 'x' * 994, flush=False)\n"
         "    return n\n\n"
         "@workflow\ndef burst(n: int) -> int:\n"
         "    return shout(n=n)\n")


def events(response: httpx.Response) -> Iterator[tuple[str, str, dict[str, object]]]:
    """(event, id, data as JSON) of each event of a text/event-stream response."""
    kind, ident, data = "message", "", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield kind, ident, json.loads("\n".join(data))
            kind, ident, data = "message", "", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)


def read_until(response: httpx.Response, done: str) -> tuple[str, str]:
    """The text of ``log`` events until it holds ``done``; (text, the last event id)."""
    text, last = "", ""
    for kind, ident, data in events(response):
        assert kind == "log", (kind, data)
        text += str(data["text"])
        last = ident
        assert int(ident) == data["offset"]
        if done in text:
            return text, last
    raise AssertionError(f"the stream ended before {done!r}: {text!r}")


@pytest.fixture(scope="module")
def chatty(with_workers: Served) -> None:
    register_file(with_workers, "chattyflows.py", FLOWS, "logstream")


def test_a_running_attempt_streams_its_lines_and_resumes_from_an_offset(
        with_workers: Served, chatty: None, tmp_path: Path) -> None:
    c = with_workers.client
    gate = tmp_path / "gate"
    with Remote(with_workers.url) as remote:
        eid = remote.launch("chattyflows.chatty", project="logstream", gate=str(gate)).id

    def running() -> bool:
        nodes = c.get(f"/api/v1/executions/{eid}").json()["nodes"]
        return any(n["node_id"] == "chatter" and n["status"] == "RUNNING" for n in nodes)

    wait_for(running, limit=60)
    stream = f"/api/v1/executions/{eid}/nodes/chatter/logs/stream"
    with c.stream("GET", stream) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        first, offset = read_until(r, "tick 3\n")
    assert first.startswith("first line\ntick 1\n")
    # Read while it runs: nothing recorded yet, the execution not ended.
    assert c.get(f"/api/v1/executions/{eid}").json()["status"] == "RUNNING"
    seen = first.count("\n")
    # Resumed from that offset: the next line comes, none of those already read.
    with c.stream("GET", stream, params={"offset": offset}) as r:
        again, _ = read_until(r, f"tick {seen + 1}\n")
    assert again.startswith(f"tick {seen}\n"), again  # `first` ended at `tick {seen - 1}`
    # Last-Event-ID resumes the same way; then the gate ends the task and the stream.
    with c.stream("GET", stream, headers={"last-event-id": offset}) as r:
        rest = ""
        ended: dict[str, object] = {}
        for kind, _ident, data in events(r):
            if kind == "log":
                rest += str(data["text"])
                gate.touch()
            else:
                assert kind == "end"
                ended = data
        assert ended["status"] == "SUCCEEDED", ended
    assert rest.startswith(f"tick {seen}\n") and rest.endswith("last line\n"), rest
    recorded = c.get(f"/api/v1/executions/{eid}/nodes/chatter/logs").json()
    assert recorded["status"] == "SUCCEEDED"
    assert first + rest == recorded["logs"]
    # An ended attempt: what the file holds from the offset, then the end at once.
    with c.stream("GET", stream, params={"offset": int(offset)}) as r:
        kinds = [kind for kind, _i, _d in events(r)]
    assert kinds == ["log", "end"]


def test_a_backlog_is_streamed_an_event_a_mebibyte(with_workers: Served, chatty: None) -> None:
    """3 MB of output read from offset 0 (a resume after a burst): events of about a
    MiB each, whole lines, together the whole output, then the end."""
    c = with_workers.client
    with Remote(with_workers.url) as remote:
        eid = remote.launch("chattyflows.burst", project="logstream", n=3000).wait(
            timeout=120).id
    sizes, text = [], ""
    with c.stream("GET", f"/api/v1/executions/{eid}/nodes/shout/logs/stream") as r:
        for kind, _ident, data in events(r):
            if kind == "log":
                sizes.append(len(str(data["text"])))
                text += str(data["text"])
            else:
                assert kind == "end" and data["status"] == "SUCCEEDED", data
    assert len(sizes) >= 3 and max(sizes) <= 1 << 20, sizes
    assert text == "".join(f"{i:05d} " + "x" * 994 + "\n" for i in range(3000))


@pytest.mark.parametrize(("path", "what"), [
    ("/api/v1/executions/nope/nodes/x/logs/stream", "no execution"),
    ("/api/v1/executions/{eid}/nodes/nowhere/logs/stream", "nowhere"),
    ("/api/v1/executions/{eid}/nodes/chatter/logs/stream?attempt=99", "not 99"),
])
def test_an_unknown_execution_node_or_attempt_is_a_404(
        with_workers: Served, chatty: None, tmp_path: Path, path: str, what: str) -> None:
    c = with_workers.client
    gate = tmp_path / "gate"
    gate.touch()
    with Remote(with_workers.url) as remote:
        done = remote.launch("chattyflows.chatty", project="logstream", gate=str(gate))
        eid = done.wait(timeout=60).id
    r = c.get(path.format(eid=eid))
    assert r.status_code == 404, r.text
    assert what in r.json()["error"], r.text
    bad = c.get(f"/api/v1/executions/{eid}/nodes/chatter/logs/stream",
                params={"offset": -1})
    assert bad.status_code == 400 and "error" in bad.json(), bad.text


def test_a_remote_workers_running_output_is_streamed_from_the_artifact_store(
        tmp_path: Path) -> None:
    """A ``rillet worker`` on a machine of its own (its own scratch and log folder, the
    server's database and artifact store shared): its task's lines reach the server's
    stream (and ``rillet logs`` on its home) while the execution is RUNNING, shipped
    through the artifact store; the chunks go when the execution leaves the worker."""
    import signal
    import subprocess
    import sys

    from clikit import rillet_env
    from serverkit import serve

    from rillet.artifacts import FolderArtifactStore

    home = tmp_path / "home"
    with serve(tmp_path, home) as served:  # no worker of its own
        flows = tmp_path / "remoteflows.py"
        flows.write_text(FLOWS)
        with Remote(served.url) as remote:
            remote.register(str(flows))
            eid = remote.launch("remoteflows.chatty", gate=str(tmp_path / "gate")).id
        elsewhere = tmp_path / "elsewhere"  # the worker's machine: its cache and scratch
        env = rillet_env(RILLET_BUNDLE_CACHE=str(elsewhere / "bundles"))
        with open(tmp_path / "worker.log", "wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "rillet.cli", "worker", "--db",
                 str(home / "rillet.db"), "--artifacts", str(home / "artifacts")],
                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        c = served.client

        def running() -> bool:
            nodes = c.get(f"/api/v1/executions/{eid}").json()["nodes"]
            return any(n["node_id"] == "chatter" and n["status"] == "RUNNING" for n in nodes)

        try:
            wait_for(running, limit=60)
            stream = f"/api/v1/executions/{eid}/nodes/chatter/logs/stream"
            with c.stream("GET", stream) as r:
                assert r.status_code == 200
                first, offset = read_until(r, "tick 3\n")
            assert first.startswith("first line\ntick 1\n"), first
            assert c.get(f"/api/v1/executions/{eid}").json()["status"] == "RUNNING"
            # Not from a file of the server's: the worker's own, shipped in chunks.
            assert not (home / "logs" / f"{eid}.log").exists()
            assert (elsewhere / "scratch" / "logs" / f"{eid}.log").is_file()
            shipped = FolderArtifactStore(str(home / "artifacts"))
            assert shipped.log_chunks(eid)[0] == 0
            # `rillet logs` on the server's home reads the same chunks while it runs
            cli = subprocess.run([sys.executable, "-m", "rillet.cli", "logs", eid, "chatter",
                                  "--home", str(home)], capture_output=True, text=True,
                                 env=rillet_env(), timeout=120)
            assert cli.stdout.startswith("first line\ntick 1\n"), (cli.stdout, cli.stderr)
            assert "still running" in cli.stderr
            seen = first.count("\n")
            with c.stream("GET", stream, params={"offset": offset}) as r:
                rest, ended = "", {}
                for kind, _ident, data in events(r):
                    if kind == "log":
                        rest += str(data["text"])
                        (tmp_path / "gate").touch()
                    else:
                        ended = data
            assert rest.startswith(f"tick {seen}\n"), rest
            assert ended["status"] == "SUCCEEDED", ended
            recorded = c.get(f"/api/v1/executions/{eid}/nodes/chatter/logs").json()
            assert recorded["logs"].startswith(first + rest.rstrip("last line\n"))
            # The execution left the worker: its live log is gone from the store.
            wait_for(lambda: eid not in shipped.live_logs(), limit=30)
            assert not (elsewhere / "scratch" / "logs" / f"{eid}.log").exists()
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()

"""Serving (issue 17, points 3, 4 and 6): ``rillet serve`` as a real process on
loopback. Canary share, alias moves under load with no failed request, a SIGKILLed
server restarted on the same version, 4xx JSON for bad requests, Prometheus metrics,
the request log, and lineage from a served prediction back to the training data.

Each answer names its version, and each version's model multiplies by its own
scale (version v: scale v), so an answer proves which model produced it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clikit import rillet_env
from modelkit import train

from rillet import models

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _loadgen import Answer, load  # noqa: E402

ROW = json.dumps({"inputs": [[1.0, 2.0]]}).encode()  # version v answers [3 * v]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, wf_models: Any) -> Path:
    """Versions 1, 2, 3 of 'churn' (scales 1, 2, 3); production -> 1, challenger -> 2."""
    path = tmp_path_factory.mktemp("serving") / "home"
    for scale in (1.0, 2.0, 3.0):
        ex = train(wf_models, path, scale)
        models.register("churn", execution=ex.id, node="train", home=str(path))
    models.set_alias("churn", "production", version=1, home=str(path))
    models.set_alias("churn", "challenger", version=2, home=str(path))
    return path


class Server:
    def __init__(self, home: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rillet.cli", "serve", *args, "--port", "0", "--home",
             str(home)], env=rillet_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.port = self._port()

    def _port(self) -> int:
        deadline = time.monotonic() + 90
        seen = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 1.0)
            if ready:
                line = self.proc.stderr.readline()  # type: ignore[union-attr]
                seen += line
                if line.startswith("serving "):
                    return int(line.split("http://127.0.0.1:")[1].split()[0])
            if self.proc.poll() is not None:
                break
        self.proc.kill()
        raise AssertionError(f"rillet serve did not start: {seen}{self.proc.stderr.read()}")

    def request(self, body: bytes = ROW, path: str = "/predict",
                headers: dict[str, str] | None = None, total: int = 1) -> list[Answer]:
        """Requests answered once the server is up (the socket listens before the app
        takes requests; a connection waits in the backlog meanwhile)."""
        result = load(self.port, body, total, concurrency=1, path=path, headers=headers)
        assert not result.errors, result.errors
        return result.answers

    def get(self, path: str) -> Answer:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as r:
            return Answer(r.status, r.read(), 0.0, dict(r.headers))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def serve(home: Path) -> Iterator[Any]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        server = Server(home, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def answer(a: Answer) -> dict[str, Any]:
    assert a.status == 200, a.body
    body = json.loads(a.body)
    # The model that answered is the version the answer names: version v scales by v.
    assert body["outputs"] == [3.0 * body["version"]], body
    assert a.headers["x-rillet-version"] == str(body["version"])
    return body


def wait_for(check: Any, what: str, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_canary_gets_its_share_and_a_header_pins_a_version(serve: Any) -> None:
    server = serve("churn@production", "--canary", "churn@challenger:10", "--workers", "2")
    result = load(server.port, ROW, 5000, concurrency=16)
    assert not result.errors and len(result.answers) == 5000
    versions = Counter(answer(a)["version"] for a in result.answers)
    assert set(versions) == {1, 2}
    assert 8.0 <= 100.0 * versions[2] / 5000 <= 12.0, versions
    pinned = server.request(headers={"X-Rillet-Version": "3"}, total=50)
    assert {answer(a)["version"] for a in pinned} == {3}
    health = json.loads(server.get("/health").body)
    assert health["status"] == "ok"
    assert [(s["route"], s["version"], s["percent"]) for s in health["serving"]] == [
        ("primary", 1, 90.0), ("canary", 2, 10.0)]
    # Prometheus text, summed over both workers: requests and latency per version.
    text = server.get("/metrics").body.decode()
    counts = {line.split("{")[1].split("}")[0]: float(line.split()[-1])
              for line in text.splitlines() if line.startswith("rillet_serve_requests_total")}
    assert counts['model="churn",status="200",version="1"'] == versions[1]
    assert counts['model="churn",status="200",version="2"'] == versions[2]
    assert 'rillet_serve_latency_seconds_bucket{le="0.01",model="churn",version="1"}' in text


def test_bad_requests_get_a_4xx_with_a_json_error(serve: Any) -> None:
    server = serve("churn@production")
    cases = [
        (b"{not json", {}, "/predict", 400, "the body is not JSON"),
        (b'{"rows": []}', {}, "/predict", 400, 'expected a JSON object {"inputs": [...]}'),
        (b'{"inputs": [["a", "b"]]}', {}, "/predict", 422,
         "expected list[list[float]], got list[list]"),
        (b'{"inputs": [[1.0]]}', {"X-Rillet-Version": "9"}, "/predict", 404,
         "model 'churn' has no version 9 (versions: 1-3)"),
        (b'{"inputs": [[1.0]]}', {"X-Rillet-Version": "two"}, "/predict", 400,
         "is not a version number"),
        (b"{}", {}, "/nope", 404, "no route /nope"),
    ]
    for body, headers, path, status, text in cases:
        (got,) = server.request(body, path=path, headers=headers)
        assert got.status == status, (body, got.body)
        assert text in json.loads(got.body)["error"], got.body
    errors = [line for line in server.get("/metrics").body.decode().splitlines()
              if line.startswith("rillet_serve_errors_total")]
    assert errors == ['rillet_serve_errors_total{model="churn",version="1"} 3.0']
    answer(server.request()[0])  # and it still serves


def test_moving_the_alias_under_load_swaps_with_no_failed_request(serve: Any,
                                                                 home: Path) -> None:
    models.set_alias("churn", "moving", version=1, home=str(home))
    server = serve("churn@moving")
    answers: list[Answer] = []
    errors: list[str] = []
    done = threading.Event()

    def loader() -> None:  # a steady load, in rounds, until the moves are over
        while not done.is_set():
            errors.extend(load(server.port, ROW, 250, concurrency=16, answers=answers).errors)

    thread = threading.Thread(target=loader)
    thread.start()
    try:
        # 20 moves, each paced by the load: the next move waits until 200 more answers
        # came back and the server answers with the version the alias names now.
        for i in range(20):
            version, start = (2, 3)[i % 2], len(answers)
            wait_for(lambda start=start: len(answers) >= start + 200, "answers")
            models.set_alias("churn", "moving", version=version, home=str(home))
            mark = len(answers)
            wait_for(lambda v=version, m=mark: any(
                json.loads(a.body)["version"] == v for a in answers[m:] if a.status == 200),
                f"the swap to version {version}")
    finally:
        done.set()
        thread.join(timeout=120)
    assert not errors, errors[:3]
    total = len(answers)
    assert total >= 4000
    seen = Counter(answer(a)["version"] for a in answers)  # all 200, each consistent
    assert set(seen) == {1, 2, 3}, seen
    # The alias's last move (to 3) is what it serves now.
    wait_for(lambda: answer(server.request()[0])["version"] == 3, "the last move")
    # Every request is recorded, with its version.
    db = sqlite3.connect(home / "rillet.db")
    ids = [json.loads(a.body)["request_id"] for a in answers]
    chunks = [ids[i:i + 500] for i in range(0, total, 500)]

    def count(chunk: list[str]) -> int:
        marks = ",".join("?" * len(chunk))
        return int(db.execute(f"SELECT count(*) FROM model_requests WHERE id IN ({marks})",
                              chunk).fetchone()[0])

    wait_for(lambda: sum(count(c) for c in chunks) == total, f"{total} recorded requests")
    served = {json.loads(a.body)["request_id"]: json.loads(a.body)["version"]
              for a in answers}
    logged = {}
    for chunk in chunks:
        marks = ",".join("?" * len(chunk))
        logged.update(db.execute(f"SELECT id, version FROM model_requests WHERE id IN "
                                 f"({marks})", chunk).fetchall())
    assert logged == served
    events = [e for e in models.history("churn", home=str(home))
              if e.event == "alias" and e.alias == "moving"]
    assert len(events) == 21


def test_a_server_killed_with_sigkill_restarts_on_the_same_version(serve: Any,
                                                                   home: Path) -> None:
    models.set_alias("churn", "kill", version=1, home=str(home))
    server = serve("churn@kill")
    assert answer(server.request()[0])["version"] == 1
    models.set_alias("churn", "kill", version=2, home=str(home))  # moved while serving
    wait_for(lambda: answer(server.request()[0])["version"] == 2, "the swap to version 2")
    server.stop(signal.SIGKILL)
    assert server.proc.returncode == -signal.SIGKILL
    again = serve("churn@kill")
    assert {answer(a)["version"] for a in again.request(total=20)} == {2}
    serves = [e for e in models.history("churn", home=str(home)) if e.event == "serve"
              and e.alias == "kill"]
    assert [e.version for e in serves] == [1, 2]


def test_lineage_from_a_request_reaches_the_training_data(serve: Any, home: Path) -> None:
    server = serve("churn@challenger", "--log-bodies")
    body = answer(server.request()[0])
    request_id = body["request_id"]
    db = sqlite3.connect(home / "rillet.db")
    wait_for(lambda: db.execute("SELECT 1 FROM model_requests WHERE id = ?",
                                (request_id,)).fetchone(), "the recorded request")
    proc = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "lineage", f"request:{request_id}", "--json",
         "--home", str(home)], env=rillet_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["request"]["id"] == request_id and found["request"]["version"] == 2
    assert json.loads(found["request"]["input_body"]) == [[1.0, 2.0]]
    assert json.loads(found["request"]["output_body"]) == [6.0]
    mv = found["model_version"]
    v2 = models.versions("churn", home=str(home))[1]
    assert (mv["version"], mv["execution_id"], mv["node_id"]) == (2, v2.execution_id, "train")
    # model <- train(data=<load_data's output>, scale) <- load_data(n = workflow input)
    (model,) = found["artifacts"]
    assert model["hash"] == v2.hash
    (trainer,) = model["produced_by"]
    assert trainer["node_id"] == "train" and trainer["execution_id"] == v2.execution_id
    data = trainer["inputs"]["data"]
    (loader,) = data["produced_by"]
    assert loader["node_id"] == "load_data"
    nodes = {n.node_id: n for n in _nodes(home, v2.execution_id)}
    assert data["hash"] == nodes["load_data"].outputs["o0"]  # the training data's artifact
    assert loader["inputs"]["n"]["workflow_input_of"] == v2.execution_id
    text = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "lineage", f"request:{request_id[:10]}",
         "--home", str(home)], env=rillet_env(), capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stderr
    assert f"model churn version 2 = {v2.execution_id}:train:o0" in text.stdout
    assert f"{v2.execution_id}:load_data" in text.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "lineage", "request:ffffffffffff", "--home",
         str(home)], env=rillet_env(), capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no served request 'ffffffffffff'" in missing.stderr


def _nodes(home: Path, execution_id: str) -> list[Any]:
    from rillet.store._home import Home

    with Home.open(str(home), create=False) as h:
        return h.store.nodes(execution_id)


def test_serve_refuses_what_it_cannot_serve(home: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rillet.cli", "serve", *args, "--port",
                               "0", "--home", str(home)], env=rillet_env(),
                              capture_output=True, text=True, timeout=120)

    for args, text in [
        (("churn@nope",), "model 'churn' has no alias 'nope' (aliases: "),
        (("churn",), "serve a model by alias, NAME@ALIAS"),
        (("churn@production", "--canary", "churn@challenger"), "expected NAME@ALIAS:PERCENT"),
        (("churn@production", "--canary", "churn@challenger:150"), "in (0, 100]"),
        (("nope@production",), "no model named 'nope'"),
    ]:
        r = run(*args)
        assert r.returncode == 2 and text in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert os.path.isdir(home)


def test_serve_a_model_of_another_domain(serve: Any, home: Path) -> None:
    """``--project/--domain`` pick the registry: ``churn`` of default/staging is another
    model than default/development's (its version 1 is the scale-3 training); its
    requests are recorded with that scope, and their lineage finds that version."""
    trained = models.versions("churn", home=str(home))[2]  # scale 3, in development
    assert models.register("churn", execution=trained.execution_id, node="train",
                           alias="production", home=str(home), domain="staging") == 1
    server = serve("churn@production", "--domain", "staging")
    body = json.loads(server.request()[0].body)
    assert (body["version"], body["outputs"]) == (1, [9.0])  # not development's version 1
    db = sqlite3.connect(home / "rillet.db")
    row = wait_for(lambda: db.execute(
        "SELECT project, domain, name, version FROM model_requests WHERE id = ?",
        (body["request_id"],)).fetchone(), "the recorded request")
    assert row == ("default", "staging", "churn", 1)
    proc = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "lineage", f"request:{body['request_id']}",
         "--json", "--home", str(home)], env=rillet_env(), capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["model_version"]
    assert (found["domain"], found["version"], found["execution_id"]) == (
        "staging", 1, trained.execution_id)
    bad = subprocess.run(
        [sys.executable, "-m", "rillet.cli", "serve", "churn@production", "--domain", "prod",
         "--port", "0", "--home", str(home)], env=rillet_env(), capture_output=True,
        text=True, timeout=120)
    assert bad.returncode == 2 and "unknown domain 'prod'" in bad.stderr, bad.stderr

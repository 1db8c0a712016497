"""Issue 17 through the platform: the model registry of a server, from ``Remote``
(``r.models``: register, set_alias, versions, history, load), from the CLI
(``rillet models ... --server``) and over HTTP (4xx JSON on bad requests). The server
hands out a value's stored bytes and never decodes them: a pickled model is unpickled
by the client that loads it, never by the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from serverkit import Served, load_model_in_a_fresh_process

from rillet import Remote
from rillet.errors import DefinitionError, NotFound

FLOWS = '''
from dataclasses import dataclass

from rillet import task, workflow


@dataclass
class Weights:
    scale: float
    bias: float

    def predict(self, xs: list[float]) -> list[float]:
        return [self.scale * x + self.bias for x in xs]


class Trap:
    """Pickled (no format of its own); unpickling it appends a line to its marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        with open(state["marker"], "a") as f:
            f.write("unpickled\\n")


@task
def fit(scale: float) -> Weights:
    return Weights(scale=scale, bias=1.0)


@task
def cutoff(scale: float) -> float:
    return scale / 4


@workflow
def training(scale: float = 2.0) -> tuple[Weights, float]:
    return fit(scale=scale), cutoff(scale=scale)


@task
def arm(marker: str) -> Trap:
    return Trap(marker)


@workflow
def trapped(marker: str) -> Trap:
    return arm(marker=marker)


@task
def broken(scale: float) -> float:
    raise ValueError("no model today")


@workflow
def failing(scale: float = 1.0) -> float:
    return broken(scale=scale)
'''


class InProject:
    """The server's HTTP client, every request in ``project`` (its query parameter)."""

    def __init__(self, client: Any, project: str) -> None:
        self.client, self.project = client, project

    def request(self, method: str, url: str, **kw: Any) -> Any:
        kw["params"] = {"project": self.project, **kw.get("params", {})}
        return self.client.request(method, url, **kw)

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.request("PUT", url, **kw)


@pytest.fixture(scope="module")
def trained(with_workers: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two trainings and one trap, run by the server's worker (project ``models``)."""
    folder = tmp_path_factory.mktemp("modelcode")
    (folder / "modelflows.py").write_text(FLOWS)
    marker = folder / "unpickled.txt"
    with Remote(with_workers.url) as r:
        r.create_project("models")
        r.register(str(folder / "modelflows.py"), project="models")
        runs = [r.launch("modelflows.training", project="models", scale=s).wait(timeout=120)
                for s in (2.0, 3.0)]
        trap = r.launch("modelflows.trapped", project="models",
                        marker=str(marker)).wait(timeout=120)
        failed = r.launch("modelflows.failing", project="models").wait(timeout=120)
    for ex in (*runs, trap):
        assert ex.status.value == "SUCCEEDED", ex.record.error
    assert failed.status.value == "FAILED"
    return {"a": runs[0].id, "b": runs[1].id, "trap": trap.id, "failed": failed.id,
            "marker": marker, "code": folder}


def test_register_alias_versions_history_load_through_remote(
        with_workers: Served, trained: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The history records the request's user (an open server: anonymous), not the
    # server process's (which runs in this one).
    monkeypatch.setenv("RILLET_USER", "server-process")
    with Remote(with_workers.url) as r:
        m = r.models_in("models")  # the project the executions ran in
        assert m.register("weights", execution=trained["a"], node="fit",
                          alias="production") == 1
        assert m.register("weights", execution=trained["b"], node="fit") == 2
        assert m.register("cutoff", execution=trained["b"], node="cutoff") == 1
        found = m.versions("weights")
        assert [(v.version, v.aliases, v.execution_id, v.node_id) for v in found] == [
            (1, ("production",), trained["a"], "fit"), (2, (), trained["b"], "fit")]
        assert found[0].task == "modelflows:fit" and set(found[0].inputs) == {"scale"}
        assert m.load("weights@production").predict([1.0]) == [3.0]
        assert m.set_alias("weights", "production", 2) == 1
        assert m.load("weights@production").predict([1.0]) == [4.0]
        assert m.load("weights/1").scale == 2.0 and m.load("weights").scale == 3.0
        assert m.load("cutoff") == 0.75  # a JSON scalar, kept inline in its record
        assert m.set_alias("weights", "production", 1) == 2  # rollback
        events = m.history("weights")
        assert [(e.event, e.alias, e.version, e.previous, e.who) for e in events] == [
            ("register", None, 1, None, "anonymous"),
            ("alias", "production", 1, None, "anonymous"),
            ("register", None, 2, None, "anonymous"),
            ("alias", "production", 2, 1, "anonymous"),
            ("alias", "production", 1, 2, "anonymous")]
        listed = {x["name"]: x for x in m.names()}
        assert listed["weights"]["latest"] == 2 and listed["weights"]["aliases"] == {
            "production": 1}
        # Errors come back as the registry's own exceptions, one line each.
        with pytest.raises(NotFound, match="no model 'nope'|nope"):
            m.versions("nope")
        with pytest.raises(NotFound, match="no alias 'staging'"):
            m.load("weights@staging")
        with pytest.raises(DefinitionError, match="cannot be a number"):
            m.set_alias("weights", "7", 1)


def test_cli_models_with_server(with_workers: Served, trained: dict[str, Any]) -> None:
    from rillet.cli._app import cli

    runner, url = CliRunner(), with_workers.url

    def models(*args: str, project: str = "models") -> Any:
        return runner.invoke(cli, ["models", *args, "--server", url, "--project", project])

    r = models("register", "clf", f"{trained['a']}:fit", "--alias", "staging", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["version"] == 1
    r = models("register", "clf", f"{trained['b']}:fit:o0")
    assert r.exit_code == 0 and "registered clf version 2 in models/development" in r.output, \
        r.output
    r = models("alias", "clf", "staging", "2")
    assert r.exit_code == 0 and "clf@staging -> 2 (was 1)" in r.output, r.output
    r = models("show", "clf", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert {(v["project"], v["domain"]) for v in shown["versions"]} == {
        ("models", "development")}
    assert [e["event"] for e in shown["history"]] == ["register", "alias", "register", "alias"]
    r = models("list")
    assert r.exit_code == 0 and "clf" in r.output and "staging=2" in r.output, r.output
    r = models("alias", "clf", "staging", "9")
    assert r.exit_code == 2, r.output
    assert "clf" in r.output and "9" in r.output and len(r.output.strip().splitlines()) == 1
    r = models("show", "nope")
    assert r.exit_code == 2 and "nope" in r.output, r.output
    # The model is in models/development only: not in default, nor in models/staging.
    for project, domain in (("default", "development"), ("models", "staging")):
        r = runner.invoke(cli, ["models", "show", "clf", "--server", url, "--project",
                                project, "--domain", domain])
        assert r.exit_code == 2 and "no model named 'clf'" in r.output, r.output
    r = models("list", "--domain", "nowhere")
    assert r.exit_code == 2 and "unknown domain 'nowhere'" in r.output, r.output


def test_bad_requests_are_4xx_json(with_workers: Served, trained: dict[str, Any]) -> None:
    c = InProject(with_workers.client, "models")
    ok = c.post("/api/v1/models/bad4xx/versions",
                json={"execution": trained["a"], "node": "fit"})
    assert ok.status_code == 200, ok.text

    def check(response: Any, status: int, *words: str) -> None:
        assert response.status_code == status, (response.status_code, response.text)
        message = response.json()["error"]
        assert all(w in message for w in words), message

    check(c.get("/api/v1/models/nope"), 404, "nope")
    check(c.get("/api/v1/models/nope/resolve"), 404, "nope")
    check(c.get("/api/v1/models/bad4xx/resolve", params={"alias": "gone"}), 404, "gone")
    check(c.get("/api/v1/models/bad4xx/resolve", params={"version": 5}), 404, "5")
    check(c.get("/api/v1/models/bad4xx/resolve", params={"version": 1, "alias": "x"}), 400,
          "not both")
    check(c.get("/api/v1/models/bad%20name"), 400, "bad name")
    check(c.put("/api/v1/models/bad4xx/aliases/3", json={"version": 1}), 400, "number")
    check(c.put("/api/v1/models/bad4xx/aliases/bad%20alias", json={"version": 1}), 400,
          "bad alias")
    check(c.put("/api/v1/models/bad4xx/aliases/prod", json={"version": 4}), 404, "4")
    check(c.put("/api/v1/models/bad4xx/aliases/prod", json={"version": "x"}), 400, "version")
    check(c.put("/api/v1/models/bad4xx/aliases/prod", json={}), 400, "version")
    check(c.put("/api/v1/models/nope/aliases/prod", json={"version": 1}), 404, "nope")
    check(c.post("/api/v1/models/bad4xx/versions", json={"execution": "nope", "node": "fit"}),
          404, "nope")
    check(c.post("/api/v1/models/bad4xx/versions", json={"execution": trained["a"],
                                                         "node": "train"}), 404, "train")
    check(c.post("/api/v1/models/bad4xx/versions", json={"execution": trained["a"],
                                                         "node": "fit", "output": "o9"}),
          404, "o9")
    check(c.post("/api/v1/models/bad4xx/versions", json={"execution": trained["failed"],
                                                         "node": "broken"}), 409, "FAILED")
    check(c.post("/api/v1/models/bad4xx/versions", json={"execution": trained["a"]}), 400,
          "node")
    check(c.post("/api/v1/models/bad4xx/versions", content=b"{not json",
                 headers={"content-type": "application/json"}), 400)
    check(c.post("/api/v1/models/bad4xx/versions", json={
        "execution": trained["a"], "node": "fit", "pickle": "gASV"}), 400, "pickle")
    check(c.get("/api/v1/models/bad4xx/versions/7/value"), 404, "7")
    check(c.get("/api/v1/models/bad4xx/versions/0/value"), 400)
    # Nothing was registered or moved by the bad requests.
    shown = c.get("/api/v1/models/bad4xx").json()
    assert [v["version"] for v in shown["versions"]] == [1]
    assert [e["event"] for e in shown["history"]] == ["register"]


def test_the_server_hands_out_bytes_and_never_unpickles(with_workers: Served,
                                                       trained: dict[str, Any]) -> None:
    marker: Path = trained["marker"]
    before = marker.read_text() if marker.exists() else ""
    c = InProject(with_workers.client, "models")
    with Remote(with_workers.url) as r:
        assert r.models_in("models").register("trap", execution=trained["trap"], node="arm",
                                 alias="live") == 1
        r.models_in("models").set_alias("trap", "canary", 1)
        assert [v.version for v in r.models_in("models").versions("trap")] == [1]
        shown = c.get("/api/v1/models/trap/resolve", params={"alias": "live"}).json()
        assert shown["value"]["format"] == "pickle" and shown["value"]["stored"]
        data = c.get("/api/v1/models/trap/versions/1/value")
        assert data.status_code == 200
        assert data.headers["content-type"] == "application/octet-stream"
        inst = with_workers.app.state.instance
        record = inst.store.artifacts([shown["version"]["hash"]])[shown["version"]["hash"]]
        assert data.content == inst.artifacts.get(record.uri)  # the stored bytes, as stored
        assert (marker.read_text() if marker.exists() else "") == before  # not unpickled
        # The client that loads it unpickles it (its own choice, as models.load).
        loaded = r.models_in("models").load("trap@live")
    assert type(loaded).__name__ == "Trap"
    assert marker.read_text() == before + "unpickled\n"


def test_lineage_of_a_served_request_through_the_server(with_workers: Served,
                                                        trained: dict[str, Any]) -> None:
    """A request recorded by a serving process on the server's stores (the request log
    `rillet serve` writes), walked through the API, `Remote` and `lineage --server`:
    request -> model version -> the training node -> the workflow's input."""
    from rillet.cli._app import cli
    from rillet.models._requestlog import RequestLog

    with Remote(with_workers.url) as r:
        version = r.models_in("models").register("served", execution=trained["b"], node="fit")
        log = RequestLog(with_workers.app.state.instance.store.database,
                         scope=("models", "development"))
        log.add(("req-lineage-1", 1.0, "served", version, "primary", 200, 0.2, "in", "out",
                 None, None))
        log.close()
        found = r.models_in("models").request_lineage_json("req-lineage")  # a unique prefix
        assert found["ref"] == "request:req-lineage-1"
        assert found["request"]["name"] == "served" and found["request"]["version"] == version
        assert found["model_version"]["execution_id"] == trained["b"]
        (top,) = found["artifacts"]
        assert top["hash"] == found["model_version"]["hash"]
        assert top["produced_by"][0]["node_id"] == "fit"
        with pytest.raises(NotFound, match="no served request 'nope'"):
            r.models_in("models").request_lineage_json("nope")
    runner = CliRunner()
    out = runner.invoke(cli, ["lineage", "request:req-lineage-1", "--server", with_workers.url,
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == found
    out = runner.invoke(cli, ["lineage", "request:req-lineage-1", "--server", with_workers.url])
    assert out.exit_code == 0 and "<- model served version 1" in out.output, out.output
    out = runner.invoke(cli, ["lineage", "request:nope", "--server", with_workers.url])
    assert out.exit_code == 2 and "nope" in out.output, out.output
    missing = with_workers.client.get("/api/v1/requests/nope/lineage")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_a_model_trained_from_a_registered_bundle_loads_in_a_fresh_process(
        with_workers: Served, trained: dict[str, Any], tmp_path: Path) -> None:
    """On the server's machine (its home), ``models.load`` of a version trained by a
    worker from a registered bundle: the class is in no file of this machine, so the
    registry unpacks the bundle the execution ran from the artifact store (into an
    empty bundle cache here) and decodes with its class."""
    import os

    with Remote(with_workers.url) as r:
        version = r.models_in("models").register("bundled", execution=trained["a"],
                                                 node="fit")
    shown = load_model_in_a_fresh_process(
        with_workers, f"bundled/{version}",
        "type(m).__module__, type(m).__name__, m.predict([1.0])", tmp_path, project="models")
    assert shown == "modelflows Weights [3.0]"
    assert len(os.listdir(tmp_path / "fresh-cache")) == 1  # the one bundle, unpacked


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_through_the_server(with_workers: Served, trained: dict[str, Any],
                                  tmp_path: Path, workers: int) -> None:
    """``rillet serve NAME@ALIAS --server URL``: the serving process reads the alias and
    loads the model through the server (its machine has the model's code, not the
    server's home), swaps when the alias moves there, and its request log and its
    ``serve`` event land in the server's store."""
    import os
    import select
    import signal
    import subprocess
    import sys
    import time

    import httpx
    from clikit import rillet_env, wait_for

    name = f"online{workers}"
    with Remote(with_workers.url) as r:
        assert r.models_in("models").register(name, execution=trained["a"], node="fit",
                                 alias="production") == 1
        assert r.models_in("models").register(name, execution=trained["b"], node="fit") == 2
    env = rillet_env(PYTHONPATH=str(trained["code"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "serve", f"{name}@production", "--port", "0",
         "--workers", str(workers), "--server", with_workers.url, "--project", "models"],
        env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port, seen, deadline = 0, "", time.monotonic() + 90
        while not port and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                line = proc.stderr.readline()  # type: ignore[union-attr]
                seen += line
                if line.startswith("serving "):
                    port = int(line.split("http://127.0.0.1:")[1].split()[0])
        assert port, seen
        assert f"{name}@production (version 1)" in seen
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            first = client.post("/predict", json={"inputs": [1.0]}).json()
            assert first["outputs"] == [3.0] and first["version"] == 1, first
            with Remote(with_workers.url) as r:
                r.models_in("models").set_alias(name, "production", 2)

            def moved() -> bool:
                answer = client.post("/predict", json={"inputs": [1.0]}).json()
                return answer["version"] == 2 and answer["outputs"] == [4.0]

            wait_for(moved, limit=60)
        with Remote(with_workers.url) as r:
            def recorded() -> dict[str, Any] | None:
                try:
                    return r.models_in("models").request_lineage_json(first["request_id"])
                except NotFound:
                    return None

            found = wait_for(recorded, limit=60)
            assert found["model_version"]["version"] == 1
            assert found["model_version"]["execution_id"] == trained["a"]
            events = r.models_in("models").history(name)
            serve = [e for e in events if e.event == "serve"]
            assert len(serve) == 1 and serve[0].version == 1 and serve[0].alias == "production"
            assert serve[0].who == "anonymous"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert os.path.isdir(trained["code"])


def test_request_rows_and_serving_events_refuse_bad_input(with_workers: Served,
                                                         trained: dict[str, Any]) -> None:
    c = InProject(with_workers.client, "models")
    ok = c.post("/api/v1/models/rows/versions", json={"execution": trained["a"],
                                                       "node": "fit"})
    assert ok.status_code == 200, ok.text
    row = {"id": "row-1", "at": 1.0, "name": "rows", "version": 1, "route": "primary",
           "status": 200, "latency_ms": 0.5, "input_hash": "a", "output_hash": "b"}
    sent = c.post("/api/v1/requests", json={"rows": [row, row]})
    assert sent.status_code == 200 and sent.json() == {"recorded": 1}, sent.text
    again = c.post("/api/v1/requests", json={"rows": [row]})
    assert again.json() == {"recorded": 0}  # the same id is not recorded twice
    for bad, status in ((dict(row, id="row-2", version=9), 404),
                        (dict(row, id="row-3", name="nope"), 404),
                        (dict(row, id="row-4", status="x"), 400),
                        (dict(row, id="bad id"), 400),
                        (dict(row, id="row-5", extra=1), 400)):
        answer = c.post("/api/v1/requests", json={"rows": [row, bad]})
        assert answer.status_code == status, (bad, answer.text)
        assert "error" in answer.json()
    assert c.post("/api/v1/requests", json={"rows": "x"}).status_code == 400
    assert c.get("/api/v1/requests/row-2/lineage").status_code == 404  # nothing written
    event = c.post("/api/v1/models/rows/serving", json={"detail": {"alias": "a",
                                                                   "version": 1}})
    assert event.status_code == 200, event.text
    assert c.post("/api/v1/models/nope/serving", json={"detail": {}}).status_code == 404
    assert c.post("/api/v1/models/rows/serving",
                  json={"detail": {"x": [1]}}).status_code == 400
    history = c.get("/api/v1/models/rows").json()["history"]
    assert [e["event"] for e in history] == ["register", "serve"]

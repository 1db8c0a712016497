"""Issue 14: register, versions and launch through the server; ``--workers N`` runs
the launches in the server process (and stops them at shutdown)."""

from __future__ import annotations

import pytest
from serverkit import Served

from rillet import Remote
from rillet.errors import DefinitionError, NotFound

FLOWS = ("from rillet import task, workflow\n\n"
         "@task\ndef double(x: int) -> int:\n    return 2 * x\n\n"
         "@task\ndef plus(x: int, y: int) -> int:\n    return x + y\n\n"
         "@workflow\ndef calc(x: int, y: int = 1) -> int:\n"
         "    return plus(x=double(x=x), y=y)\n")


@pytest.fixture(scope="module")
def registered(with_workers: Served) -> list[dict[str, object]]:
    flows = with_workers.home / "calcflows.py"
    flows.write_text(FLOWS)
    with Remote(with_workers.url) as remote:
        remote.create_project("p1")
        return remote.register(str(flows), project="p1", domain="development")


def test_server_workers_run_a_remote_launch(with_workers: Served, registered) -> None:
    assert sorted(e["name"] for e in registered) == [
        "calcflows.calc", "calcflows.double", "calcflows.plus"]
    assert with_workers.app.state.local_workers.thread.is_alive()
    with Remote(with_workers.url) as remote:
        found = remote.versions("calcflows.calc", project="p1")
        assert [e["version"] for e in found] == [registered[0]["version"]]
        ex = remote.launch("calcflows.calc", project="p1", x=20, y=2)
        assert ex.status.value in ("QUEUED", "RUNNING", "SUCCEEDED")
        done = ex.wait(timeout=60)
        assert done.status.value == "SUCCEEDED", done.record.error
        outs = done.record.outputs or {}
        assert [done.output(k) for k in outs] == [42]


def test_launch_errors_are_4xx_json(with_workers: Served, registered) -> None:
    c = with_workers.client
    bad = c.post("/api/v1/launch", json={"name": "calcflows.calc", "project": "p1",
                                          "inputs": {"x": "not an int"}})
    assert bad.status_code == 400, bad.text
    assert "x" in bad.json()["error"]
    missing = c.post("/api/v1/launch", json={"name": "calcflows.calc", "project": "p1",
                                              "inputs": {}})
    assert missing.status_code == 400 and "x" in missing.json()["error"], missing.text
    unknown = c.post("/api/v1/launch", json={"name": "nope.wf", "project": "p1"})
    assert unknown.status_code == 404, unknown.text
    assert "error" in unknown.json()
    junk = c.post("/api/v1/register", content=b"not a tarball",
                  headers={"content-type": "application/gzip"})
    assert junk.status_code == 400 and "error" in junk.json(), junk.text
    with Remote(with_workers.url) as remote:
        with pytest.raises(NotFound):
            remote.launch("nope.wf", project="p1")
        with pytest.raises(DefinitionError):
            remote.launch("calcflows.calc", project="p1", x="nope")


def test_a_server_without_workers_starts_none(served: Served) -> None:
    assert served.app.state.local_workers is None


def test_cli_register_versions_launch_with_server(with_workers: Served) -> None:
    import json

    from click.testing import CliRunner

    from rillet.cli._app import cli

    flows = with_workers.home / "cliflows.py"
    flows.write_text(FLOWS)
    runner = CliRunner()
    url = with_workers.url
    r = runner.invoke(cli, ["register", str(flows), "--server", url, "--json"])
    assert r.exit_code == 0, r.output
    assert "cliflows.calc" in [e["name"] for e in json.loads(r.output)]
    r = runner.invoke(cli, ["versions", "cliflows.calc", "--server", url])
    assert r.exit_code == 0 and "cliflows.calc" in r.output, r.output
    r = runner.invoke(cli, ["launch", "cliflows.calc", "--server", url, "--x", "3",
                            "--wait", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["status"] == "SUCCEEDED"
    r = runner.invoke(cli, ["launch", "cliflows.calc", "--server", url, "--x", "zz"])
    assert r.exit_code == 2 and "x" in r.output, r.output


def test_a_registered_versions_code_is_listed_and_read(with_workers: Served) -> None:
    """The version page's code view: the bundle's files and one file's text; the bundle's
    bytes are checked against its hash first."""
    folder = with_workers.home / "codeview"
    (folder / "helpers").mkdir(parents=True)
    (folder / "flows.py").write_text(FLOWS)
    (folder / "helpers" / "__init__.py").write_text("")
    (folder / "helpers" / "text.py").write_text("GREETING = 'héllo'\n")
    (folder / "blob.bin").write_bytes(b"\xff\xfe\x00binary")
    c = with_workers.client
    with Remote(with_workers.url) as remote:
        remote.create_project("code")
        made = remote.register(str(folder), project="code", version="v7")
    scope = {"project": "code", "domain": "development"}
    got = c.get("/api/v1/versions/v7/files", params=scope)
    assert got.status_code == 200, got.text
    shown = got.json()
    assert [f["path"] for f in shown["files"]] == [
        "blob.bin", "flows.py", "helpers/__init__.py", "helpers/text.py"]
    assert {e["name"] for e in shown["entities"]} == {e["name"] for e in made}
    assert shown["bundle_hash"] == made[0]["bundle_hash"]
    text = c.get("/api/v1/versions/v7/file", params={**scope, "path": "helpers/text.py"})
    assert text.json() == {"path": "helpers/text.py", "size": 20,  # bytes (é is two)
                           "text": "GREETING = 'héllo'\n"}
    assert c.get("/api/v1/versions/v7/file", params={**scope, "path": "flows.py"}).json()[
        "text"] == FLOWS
    for params, status, says in (
            ({**scope, "path": "blob.bin"}, 400, "is not UTF-8 text"),
            ({**scope, "path": "nope.py"}, 404, "has no file 'nope.py'"),
            ({**scope, "path": "../etc/passwd"}, 404, "has no file"),
            ({"project": "code", "domain": "staging", "path": "flows.py"}, 404,
             "no version 'v7' registered in code/staging")):
        bad = c.get("/api/v1/versions/v7/file", params=params)
        assert (bad.status_code, says in bad.json()["error"]) == (status, True), bad.text
    assert c.get("/api/v1/versions/v8/files", params=scope).status_code == 404

    # bytes in the artifact store that do not match the bundle's hash are not read
    digest = made[0]["bundle_hash"]
    (path,) = [p for p in with_workers.home.rglob(digest[2:]) if p.parent.name == digest[:2]]
    good = path.read_bytes()
    try:
        path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
        bad = c.get("/api/v1/versions/v7/files", params=scope)
        assert bad.status_code == 404 and "is corrupt" in bad.json()["error"], bad.text
    finally:
        path.write_bytes(good)

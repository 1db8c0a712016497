"""Issue 14: register, versions and launch through the server; ``--workers N`` runs
the launches in the server process (and stops them at shutdown)."""

from __future__ import annotations

import pytest
from serverkit import Served, register_file

from rillet import Remote
from rillet.errors import DefinitionError, NotFound

FLOWS = ("from rillet import task, workflow\n\n"
         "@task\ndef double(x: int) -> int:\n    return 2 * x\n\n"
         "@task\ndef plus(x: int, y: int) -> int:\n    return x + y\n\n"
         "@workflow\ndef calc(x: int, y: int = 1) -> int:\n"
         "    return plus(x=double(x=x), y=y)\n")


@pytest.fixture(scope="module")
def registered(with_workers: Served) -> list[dict[str, object]]:
    return register_file(with_workers, "calcflows.py", FLOWS, "p1", domain="development")


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


FILE_FLOWS = ("from rillet import File, task, workflow\n\n"
              "@task\ndef count(f: File) -> str:\n"
              "    with f.open() as fh:\n"
              "        text = fh.read()\n"
              "    return f'{f.name}: {len(text.splitlines())} lines'\n\n"
              "@workflow\ndef lines(f: File, n: int = 1) -> str:\n"
              "    return count(f=f)\n")


def test_an_uploaded_file_is_a_launchs_file_input(with_workers: Served, tmp_path) -> None:
    """Issue 16 (launch form, files as uploads): POST /uploads streams a file into the
    artifact store as the File value a task would store (same digest), and a launch
    gives it as ``artifact:<hash>``: the worker's task reads it. Bad uploads and bad
    references are JSON 4xx; nothing is stored for them."""
    from rillet.types._files import File
    from rillet.types._literal import encode

    c = with_workers.client
    register_file(with_workers, "fileflows.py", FILE_FLOWS, "files")
    body = b"a,b\n1,2\n3,4\n"
    got = c.post("/api/v1/uploads", params={"name": "data.csv", "project": "files"},
                 content=body, headers={"content-type": "application/octet-stream"})
    assert got.status_code == 201, got.text
    up = got.json()
    local = tmp_path / "data.csv"
    local.write_bytes(body)
    assert up == {"hash": encode(File(str(local)), File).hash, "name": "data.csv",
                  "size": len(body), "format": "file", "ref": f"artifact:{up['hash']}"}
    record = c.get(f"/api/v1/artifacts/{up['hash']}").json()
    assert (record["format"], record["size"]) == ("file", len(body))
    download = c.get(f"/api/v1/artifacts/{up['hash']}/download")
    assert download.status_code == 200 and download.content == body
    assert 'filename="data.csv"' in download.headers["content-disposition"]
    again = c.post("/api/v1/uploads", params={"name": "data.csv"}, content=body)
    assert again.status_code == 201 and again.json() == up  # stored once

    launched = c.post("/api/v1/launch", json={"name": "fileflows.lines", "project": "files",
                                               "inputs": {"f": up["ref"]}})
    assert launched.status_code == 200, launched.text
    with Remote(with_workers.url) as remote:
        done = remote.execution(launched.json()["execution_id"]).wait(timeout=60)
        assert done.status.value == "SUCCEEDED", done.record.error
        assert done.output("o0") == "data.csv: 3 lines"
        assert done.record.inputs["f"] == up["hash"]  # the upload is the input's value

    def refused(ref: str) -> str:
        r = c.post("/api/v1/launch", json={"name": "fileflows.lines", "project": "files",
                                            "inputs": {"f": ref}})
        assert r.status_code == 400, r.text
        return str(r.json()["error"])

    assert "is not stored (upload the file first)" in refused("artifact:" + "0" * 64)
    assert "not an artifact:<sha256 hex digest>" in refused("artifact:../../etc/passwd")
    number = c.get(f"/api/v1/executions/{done.id}").json()["nodes"][0]["outputs"]["o0"]
    assert "is a json value, not a stored file" in refused(f"artifact:{number}")

    # bad uploads: 4xx JSON, nothing stored
    for params, status, says in (({}, 400, "name"), ({"name": "a/b.csv"}, 400, "name"),
                                 ({"name": ".."}, 400, "plain base name")):
        r = c.post("/api/v1/uploads", params=params, content=b"x")
        assert r.status_code == status and says in r.json()["error"], (params, r.text)
    with_workers.app.state.upload_limit = 8
    try:
        big = b"0123456789" * 3
        r = c.post("/api/v1/uploads", params={"name": "big.bin"}, content=big)
        assert r.status_code == 413 and "limit of 8 bytes" in r.json()["error"], r.text

        def chunks():  # no Content-Length: the limit is found while streaming
            yield big[:6]
            yield big[6:]

        r = c.post("/api/v1/uploads", params={"name": "big.bin"}, content=chunks())
        assert r.status_code == 413 and "nothing was stored" in r.json()["error"], r.text
    finally:
        with_workers.app.state.upload_limit = 0
    leftovers = [p for p in with_workers.home.rglob(".upload-*")]
    assert leftovers == []

"""``rillet cache explain NAME --server URL`` (and ``RILLET_SERVER``, ``Remote.cache_explain``,
``POST /api/v1/cache/explain``): a registered workflow explained through the server
answers as ``cache explain FILE.py:WORKFLOW`` does against the server's home."""

from __future__ import annotations

import json

from serverkit import Served
from test_remote import rillet_cli

from rillet import Remote

FLOW = '''
from rillet import task, workflow


@task(cache=True)
def double(x: int) -> int:
    return 2 * x


@task
def show(y: int) -> str:
    return "y=" + str(y)


@workflow
def wf(x: int = 1) -> str:
    return show(y=double(x=x))
'''


def test_cache_explain_through_the_server_answers_as_the_home(with_workers: Served) -> None:
    path = with_workers.home / "explainremote.py"
    path.write_text(FLOW)
    home = str(with_workers.home / "home")
    url = with_workers.url
    with Remote(url) as r:
        r.register(str(path))
        before = r.cache_explain("explainremote.wf", x=3)
        assert {n["node_id"]: n["status"] for n in before["nodes"]} == {
            "double": "MISS", "show": "NOT CACHED"}
        done = r.launch("explainremote.wf", x=3).wait(timeout=120)
        assert done.status.value == "SUCCEEDED", done.record.error
        by_remote = r.cache_explain("explainremote.wf", x=3)
    assert by_remote["nodes"][0]["status"] == "HIT"
    assert by_remote["nodes"][0]["source_execution"] == done.id

    for x in ("3", "4"):
        local = rillet_cli("cache", "explain", f"{path}:wf", "--x", x, "--json",
                           "--home", home)
        by_flag = rillet_cli("cache", "explain", "explainremote.wf", "--x", x, "--json",
                             "--server", url)
        by_env = rillet_cli("cache", "explain", "explainremote.wf", "--x", x, "--json",
                            env={"RILLET_SERVER": url})
        assert local.returncode == by_flag.returncode == by_env.returncode == 0, (
            local.stderr, by_flag.stderr, by_env.stderr)
        assert json.loads(by_flag.stdout) == json.loads(local.stdout) == json.loads(
            by_env.stdout)
    assert json.loads(by_flag.stdout)["nodes"][0]["status"] == "MISS"
    assert json.loads(rillet_cli("cache", "explain", "explainremote.wf", "--x", "3",
                                 "--json", "--server", url).stdout) == by_remote
    table = rillet_cli("cache", "explain", "explainremote.wf", "--x", "3", "--server", url)
    assert table.returncode == 0 and table.stdout == rillet_cli(
        "cache", "explain", f"{path}:wf", "--x", "3", "--home", home).stdout
    assert "HIT" in table.stdout

    # cache clear --server: the same entries go as on the home; the explain then misses
    listed = rillet_cli("cache", "list", "explainremote:double", "--json", "--server", url)
    assert [e["task"] for e in json.loads(listed.stdout)] == ["explainremote:double"]
    cleared = rillet_cli("cache", "clear", "explainremote:double", "--server", url)
    assert cleared.returncode == 0 and cleared.stdout.strip() == "removed 1 cache entry"
    assert json.loads(rillet_cli("cache", "list", "explainremote:double", "--json",
                                 "--home", home).stdout) == []
    with Remote(url) as r:
        assert r.cache_explain("explainremote.wf", x=3)["nodes"][0]["status"] == "MISS"


def test_cache_explain_errors_through_the_server(with_workers: Served) -> None:
    path = with_workers.home / "explainbad.py"
    path.write_text(FLOW)
    with Remote(with_workers.url) as r:
        r.register(str(path))
    bad = rillet_cli("cache", "explain", "explainbad.wf", "--x", "three", "--server",
                     with_workers.url)
    assert bad.returncode == 2 and "input 'x' expects int" in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    unknown = rillet_cli("cache", "explain", "explainbad.nope", "--server", with_workers.url)
    assert unknown.returncode == 2 and "is not registered" in unknown.stderr
    c = with_workers.client
    got = c.post("/api/v1/cache/explain", json={"name": "explainbad.wf",
                                                  "inputs": {"x": "three"}})
    assert got.status_code == 400 and "'x'" in got.json()["error"], got.text
    got = c.post("/api/v1/cache/explain", json={"name": "explainbad.nope"})
    assert got.status_code == 404 and "error" in got.json(), got.text
    got = c.post("/api/v1/cache/explain", json={"name": "explainbad.double",
                                                  "inputs": {"x": 1}})
    assert got.status_code == 400 and "is a task" in got.json()["error"], got.text

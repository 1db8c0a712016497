"""``--server`` on the CLI and ``rillet.Remote``: the same answers as against the
home, through a real server; abort and recover through the API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import rillet_env
from serverkit import Served, wait_for

import rillet

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def rillet_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rillet.cli", *args], capture_output=True,
                          text=True, env=rillet_env(**(env or {})), timeout=180)


def quick(served: Served, x: int = 3) -> str:
    import wf_platform

    return rillet.run(wf_platform.quick, home=str(served.home), executor="inline", x=x).id


@pytest.mark.parametrize("args", [
    ("lineage", "{eid}", "--json"),
    ("lineage", "{eid}", "--downstream", "--json"),
    ("cache", "list", "--json"),
    ("logs", "{eid}", "double"),
])
def test_server_flag_answers_as_the_home_does(served: Served, args: tuple[str, ...]) -> None:
    eid = quick(served)
    full = [a.format(eid=eid) for a in args]
    home = rillet_cli(*full, "--home", str(served.home))
    by_flag = rillet_cli(*full, "--server", served.url)
    by_env = rillet_cli(*full, env={"RILLET_SERVER": served.url})
    assert home.returncode == by_flag.returncode == by_env.returncode == 0, (home, by_flag)
    assert by_flag.stdout == home.stdout == by_env.stdout


def test_executions_through_the_server_match_the_home(served: Served) -> None:
    eid = quick(served)
    home = json.loads(rillet_cli("executions", "show", eid, "--json", "--home",
                                 str(served.home)).stdout)
    by_flag = json.loads(rillet_cli("executions", "show", eid, "--json", "--server",
                                    served.url).stdout)
    for key, value in by_flag.items():
        if key != "nodes":
            assert home[key] == value, key
    assert [{k: n[k] for k in by_flag["nodes"][0]} for n in home["nodes"]] == by_flag["nodes"]
    listed = json.loads(rillet_cli("executions", "list", "--json", "--server",
                                   served.url).stdout)
    assert eid in [e["execution_id"] for e in listed]


def test_server_errors_are_one_line_and_exit_2(served: Served) -> None:
    r = rillet_cli("executions", "show", "nope", "--server", served.url)
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: no execution 'nope' (see `rillet executions list`)")
    down = rillet_cli("executions", "list", "--server", "http://127.0.0.1:9")
    assert down.returncode == 2 and "cannot reach the rillet server" in down.stderr
    assert "Traceback" not in down.stderr


def test_remote_returns_the_execution_view(served: Served) -> None:
    eid = quick(served, x=5)
    with rillet.Remote(served.url) as r:
        ex = r.execution(eid[:8])
        assert isinstance(ex, rillet.Execution)
        assert (ex.id, ex.status.value, ex.outputs) == (eid, "SUCCEEDED", {"o0": 10})
        assert [(n.id, n.status.value, n.attempts) for n in ex.nodes] == [
            ("double", "SUCCEEDED", 1)]
        assert eid in [e.id for e in r.executions(workflow="wf_platform:quick")]
        with pytest.raises(rillet.RilletError, match="no execution"):
            r.execution("nope")


def test_recover_through_the_server_and_the_cli(served: Served) -> None:
    eid = quick(served, x=7)
    with rillet.Remote(served.url) as r:
        new = r.recover(eid).wait(timeout=120)
        assert new.status.value == "SUCCEEDED" and new.outputs == {"o0": 14}
        assert new.record.parent_id == eid
        assert [n.status.value for n in new.nodes] == ["RECOVERED"]
    out = rillet_cli("recover", eid, "--from", "double", "--json", "--server", served.url)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["status"] == "SUCCEEDED" and body["outputs"] == {"o0": 14}
    bad = rillet_cli("recover", eid, "--from", "nope", "--server", served.url)
    assert bad.returncode == 2 and "has no node 'nope'" in bad.stderr


def test_abort_through_the_api_ends_a_running_execution(served: Served, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "run", f"{WORKFLOWS / 'wf_platform.py'}:slow",
         "--marker", str(marker), "--home", str(served.home)],
        env=rillet_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker.exists)
        with rillet.Remote(served.url) as r:
            eid = wait_for(lambda: [e["execution_id"] for e in r.executions_json(
                status="RUNNING", workflow="wf_platform:slow")])[0]
            r.abort(eid)
            ex = r.execution(eid).wait(timeout=120)
            assert ex.status.value == "ABORTED"
            assert all(n.status.value != "RUNNING" for n in ex.nodes)
        assert proc.wait(timeout=120) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

"""Recovery: a ``rillet run`` killed with SIGKILL half way, recovered from the
command line; recovering succeeded and failed executions; checkpoints that
outlive an execution; the failure handler of a durable run."""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402

import rillet  # noqa: E402


def wait_for_lines(path: Path, n: int, proc: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(lines(str(path))) < n:
        assert proc.poll() is None, f"rillet run ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"only {len(lines(str(path)))} lines in {path}"
        time.sleep(0.01)


def wait_for_recorded(cli: Any, execution_id: str, n: int, proc: Any,
                      timeout: float = 120.0) -> None:
    """Until at least ``n`` nodes are recorded SUCCEEDED (what the marker says has run
    may be ahead of what the store has, on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        done = [r for r in nodes_of(cli, execution_id).values() if r["status"] == "SUCCEEDED"]
        if len(done) >= n:
            return
        assert proc.poll() is None, f"rillet run ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"only {len(done)} nodes SUCCEEDED"
        time.sleep(0.02)


def wait_for_workers_to_end(marker: str, timeout: float = 120.0) -> None:
    """Until no process of the killed run (its workers share its command line) is left."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        left = []
        for p in psutil.process_iter(["cmdline", "status"]):  # gone meanwhile: None
            if (marker in " ".join(p.info["cmdline"] or ())
                    and p.info["status"] not in (None, psutil.STATUS_ZOMBIE)):
                left.append(p.pid)
        if not left:
            return
        assert time.monotonic() < deadline, f"workers {left} of the killed run still alive"
        time.sleep(0.05)


def nodes_of(cli: Any, execution_id: str) -> dict[str, dict[str, Any]]:
    shown = cli.ok("executions", "show", execution_id, "--json").json
    return {n["node_id"]: n for n in shown["nodes"]}


@pytest.mark.slow
def test_sigkill_mid_run_then_recover_reuses_every_succeeded_node(cli, wf, load, tmp_path):
    marker = tmp_path / "marker.txt"
    # Held: after HOLD_AT (12) steps the others wait while this file exists, so the run
    # is surely still going when it is killed, however loaded the machine.
    hold = tmp_path / "hold"
    hold.touch()
    proc = cli.start("run", wf("wf_fifty", "fifty"), "--marker", str(marker), "--delay", "0.1",
                     "--hold", str(hold), "--json", "--executor", "processes")
    wait_for_lines(marker, 5, proc)
    # While its owner lives, the execution stays RUNNING and cannot be recovered.
    (running,) = cli.ok("executions", "list", "--json").json
    assert running["status"] == "RUNNING"
    refused = cli("recover", running["execution_id"], "--json")
    assert refused.code == 2 and "still RUNNING" in refused.err and refused.out == ""
    wait_for_recorded(cli, running["execution_id"], 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # Whoever looks next finds the owner gone and marks the execution FAILED.
    (listed,) = cli.ok("executions", "list", "--json").json
    assert listed["status"] == "FAILED"
    assert listed["error"] == "the process running it ended without recording a result"
    killed_id = listed["execution_id"]
    before = nodes_of(cli, killed_id)
    assert len(before) == 50
    succeeded = {n for n, rec in before.items() if rec["status"] == "SUCCEEDED"}
    assert 10 <= len(succeeded) < 50, Counter(r["status"] for r in before.values())
    assert not [n for n, r in before.items() if r["status"] in ("RUNNING", "QUEUED")]
    # Workers that were mid-task may still finish it; wait until they are gone (each
    # ends itself once its parent is), then freeze the marker.
    wait_for_workers_to_end(str(marker))
    ran_before = Counter(lines(str(marker)))

    hold.unlink()  # the recovery runs every step that did not succeed, unheld
    rec = cli.ok("recover", killed_id, "--json", timeout=180)
    body = rec.json
    assert set(body) == {"execution_id", "status", "outputs"}
    assert body["status"] == "SUCCEEDED"
    assert body["execution_id"] != killed_id

    # The outputs equal those of an uninterrupted run.
    fifty = load("wf_fifty").fifty
    whole = rillet.run(fifty, home=str(tmp_path / "other"), executor="inline", delay=0.0)
    assert whole.status == "SUCCEEDED"
    assert body["outputs"] == {"o0": whole.outputs["o0"]}

    after = nodes_of(cli, body["execution_id"])
    assert set(after) == set(before)
    ran_after = Counter(lines(str(marker))) - ran_before
    for node_id, rec_node in after.items():
        if node_id in succeeded:
            assert rec_node["status"] == "RECOVERED", node_id
            assert rec_node["source_execution"] == killed_id
            assert rec_node["source_node"] == node_id
            assert ran_before[node_id] == 1 and ran_after[node_id] == 0, node_id
        else:
            assert rec_node["status"] == "SUCCEEDED", node_id
            assert ran_after[node_id] == 1, node_id
    shown = cli.ok("executions", "show", body["execution_id"], "--json").json
    assert shown["parent_id"] == killed_id


def test_recovering_a_succeeded_execution_copies_every_node(cli, wf, tmp_path):
    marker = tmp_path / "marker.txt"
    first = cli.ok("run", wf("wf_runs", "fixable"), "--flag", str(tmp_path / "no-flag"),
                   "--marker", str(marker), "--json").json
    assert first["status"] == "SUCCEEDED"
    ran = lines(str(marker))
    assert len(ran) == 5

    again = cli.ok("recover", first["execution_id"], "--json").json
    assert again["status"] == "SUCCEEDED"
    assert again["outputs"] == first["outputs"]
    assert lines(str(marker)) == ran  # nothing ran again
    nodes = nodes_of(cli, again["execution_id"])
    assert {n["status"] for n in nodes.values()} == {"RECOVERED"}
    assert all(n["source_execution"] == first["execution_id"] for n in nodes.values())


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_recovering_a_failed_execution_reruns_the_failed_node_and_what_follows(
        load, home, tmp_path, executor):
    fixable = load("wf_runs").fixable
    flag, marker = tmp_path / "flag", tmp_path / "marker.txt"
    flag.write_text("up")
    failed = rillet.run(fixable, home=home, executor=executor, flag=str(flag),
                        marker=str(marker))
    assert failed.status == "FAILED"
    assert "flaky" in failed.error and "flag" in failed.error
    states = {n.id: n.status for n in failed.nodes}
    assert states == {"source": "SUCCEEDED", "source-1": "SUCCEEDED", "flaky": "FAILED",
                      "source-2": "ABORTED", "join": "ABORTED"}
    before = Counter(lines(str(marker)))

    flag.unlink()  # the world is fixed; the code is not touched
    fixed = rillet.recover(failed.id, home=home, executor=executor)
    assert fixed.status == "SUCCEEDED"
    assert fixed.outputs == {"o0": ((1 + 1) * 10 + 1) + (100 + 1)}
    states = {n.id: n.status for n in fixed.nodes}
    ran = Counter(lines(str(marker))) - before
    for node_id in ("source", "source-1"):  # succeeded before: copied
        assert states[node_id] == "RECOVERED" and ran[node_id] == 0, node_id
    for node_id in ("flaky", "source-2", "join"):  # the failed node and downstream
        assert states[node_id] == "SUCCEEDED" and ran[node_id] == 1, node_id
    assert fixed.record.parent_id == failed.id


def test_recovering_a_failed_execution_without_a_fix_fails_again_at_the_same_node(
        load, home, tmp_path):
    fixable = load("wf_runs").fixable
    flag, marker = tmp_path / "flag", tmp_path / "marker.txt"
    flag.write_text("up")
    failed = rillet.run(fixable, home=home, executor="inline", flag=str(flag),
                        marker=str(marker))
    again = rillet.recover(failed.id, home=home, executor="inline")
    assert again.status == "FAILED"
    states = {n.id: n.status for n in again.nodes}
    assert states["source"] == "RECOVERED" and states["flaky"] == "FAILED"
    assert Counter(lines(str(marker)))["source"] == 1


def test_checkpoint_survives_a_recovery(load, home, tmp_path):
    survives = load("wf_attempts").survives
    marker = tmp_path / "marker.txt"
    failed = rillet.run(survives, home=home, executor="processes", marker=str(marker))
    assert failed.status == "FAILED"
    recovered = rillet.recover(failed.id, home=home, executor="processes")
    assert recovered.status == "SUCCEEDED"
    assert recovered.outputs == {"o0": "progress of 2"}
    assert lines(str(marker)) == [
        f"{failed.id} attempt 1 found None",
        f"{recovered.id} attempt 1 found b'progress of 2'",
    ]
    states = {n.id: n.status for n in recovered.nodes}
    assert states == {"first": "RECOVERED", "once_saved": "SUCCEEDED"}


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_on_failure_runs_once_and_the_execution_still_fails(load, home, tmp_path, executor):
    guarded = load("wf_runs").guarded
    marker = tmp_path / "marker.txt"
    execution = rillet.run(guarded, home=home, executor=executor, marker=str(marker), x=4)
    assert execution.status == "FAILED"
    assert "doomed 4" in execution.error
    assert lines(str(marker)) == ["cleanup doomed ValueError doomed 4"]
    states = {n.id: n.status for n in execution.nodes}
    assert states["doomed"] == "FAILED"
    assert states["on_failure"] == "SUCCEEDED"


def test_recover_of_an_unknown_execution_is_a_usage_error(cli, wf):
    cli.ok("run", wf("wf_cli", "named"), "--xs", "[1]")
    r = cli("recover", "0123456789abcdef", "--json")
    assert r.code == 2
    assert r.out == ""
    assert "0123456789abcdef" in r.err


def test_recover_an_execution_started_by_a_script(cli, wf, tmp_path):
    import json
    import subprocess

    flag = tmp_path / "flag"
    flag.write_text("up")
    script = wf("wf_script")
    p = subprocess.run([sys.executable, script, str(cli.home), str(flag)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    started = json.loads(p.stdout)
    assert started["status"] == "FAILED"
    flag.unlink()
    rec = cli("recover", started["execution_id"], "--json")
    assert rec.code == 0, str(rec)
    assert rec.json["status"] == "SUCCEEDED" and rec.json["outputs"] == {"o0": 4}
    states = {n["node_id"]: n["status"] for n in
              cli.ok("executions", "show", rec.json["execution_id"], "--json").json["nodes"]}
    assert states == {"inc": "RECOVERED", "check": "SUCCEEDED"}


def test_recover_when_the_workflow_is_gone_from_its_file(cli, tmp_path):
    flow = tmp_path / "flow.py"
    flow.write_text("from rillet import task, workflow\n\n\n@task\ndef one(x: int) -> int:\n"
                    "    return x\n\n\n@workflow\ndef flow(x: int = 1) -> int:\n"
                    "    return one(x=x)\n")
    first = cli.ok("run", f"{flow}:flow", "--json").json
    flow.write_text(flow.read_text().replace("def flow(", "def renamed("))
    r = cli("recover", first["execution_id"], "--json")
    assert r.code == 2, str(r)
    assert "flow" in r.err and str(flow) in r.err and "Traceback" not in r.err
    assert r.out == ""


def test_a_failure_lets_running_nodes_finish_and_starts_no_new_one(load, home, tmp_path):
    policy = load("wf_runs").policy
    flag, marker = tmp_path / "flag", tmp_path / "marker.txt"
    flag.write_text("up")
    failed = rillet.run(policy, home=home, executor="processes", flag=str(flag),
                        marker=str(marker), seconds=1.0)
    assert failed.status == "FAILED"
    states = {n.id: n.status for n in failed.nodes}
    # `slow` was running when `flaky` failed: it finished and was recorded;
    # `source`, released by it, never started.
    assert states == {"slow": "SUCCEEDED", "flaky": "FAILED", "source": "ABORTED",
                      "join": "ABORTED"}
    assert sorted(lines(str(marker))) == ["flaky", "slow"]

    flag.unlink()
    fixed = rillet.recover(failed.id, home=home, executor="processes")
    assert fixed.status == "SUCCEEDED" and fixed.outputs == {"o0": 6 + 10}
    states = {n.id: n.status for n in fixed.nodes}
    assert states == {"slow": "RECOVERED", "flaky": "SUCCEEDED", "source": "SUCCEEDED",
                      "join": "SUCCEEDED"}
    assert Counter(lines(str(marker)))["slow"] == 1

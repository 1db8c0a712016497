"""The durable engine end to end on a real home: ``rillet.run()``, timeouts that
kill, retries that resume from a checkpoint, caching across runs and processes,
params and metrics per node."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))
from marks import lines  # noqa: E402

import rillet  # noqa: E402


def test_run_returns_an_execution(load, home):
    named = load("wf_cli").named
    execution = rillet.run(named, home=home, executor="inline", xs=[1, 2, 3])
    assert isinstance(execution, rillet.Execution)
    assert execution.status == "SUCCEEDED"
    assert isinstance(execution.status, str)
    assert len(execution.id) >= 8
    assert execution.outputs == {"total": 6, "label": "3 items"}
    (node,) = execution.nodes
    assert isinstance(node, rillet.NodeExecution)
    assert (node.id, node.status, node.attempts) == ("stats", "SUCCEEDED", 1)
    assert node.duration is not None and node.duration >= 0
    assert os.path.isfile(os.path.join(home, "home.json"))


def test_a_task_asking_for_more_than_the_machine_is_refused_before_starting(load, home):
    with pytest.raises(rillet.DefinitionError, match=r"'wf_cli:greedy'.*cpu=64.*capacity"):
        rillet.run(load("wf_cli").too_big, home=home, executor="inline")
    assert not os.path.exists(home)


def test_direct_call_writes_nothing(load, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load("wf_cli").named(xs=[4, 5]) == (9, "2 items")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_failed_run_reports_the_node_and_error(load, home, executor):
    execution = rillet.run(load("wf_cli").failing, home=home, executor=executor, x=3)
    assert execution.status == "FAILED"
    assert "explode" in execution.error and "ValueError: bad x 3" in execution.error
    (node,) = execution.nodes
    assert node.status == "FAILED" and node.attempts == 1
    assert execution.outputs == {}


@pytest.mark.slow
def test_a_timed_out_attempt_is_killed_and_retried(load, home, tmp_path):
    pid_file = tmp_path / "pids"
    started = time.monotonic()
    execution = rillet.run(load("wf_attempts").hangs, home=home, executor="processes",
                           pid_file=str(pid_file), seconds=60.0)
    assert time.monotonic() - started < 20
    assert execution.status == "FAILED"
    (node,) = execution.nodes
    assert node.status == "TIMED_OUT"
    assert node.attempts == 2  # retries=1 applies to timeouts
    pids = [int(p) for p in lines(str(pid_file))]
    assert len(pids) == 2
    for pid in pids:
        assert pid != os.getpid()
        assert not psutil.pid_exists(pid), f"attempt process {pid} is still there"
    attempts = execution._store.attempts(execution.id, "sleepy")
    assert [(a.attempt, a.status, a.error_type) for a in attempts] == [
        (1, "TIMED_OUT", "TaskTimeoutError"), (2, "TIMED_OUT", "TaskTimeoutError")]
    assert [a.pid for a in attempts] == pids


def test_a_fast_task_under_its_timeout_succeeds(load, home, tmp_path):
    execution = rillet.run(load("wf_attempts").hangs, home=home, executor="processes",
                           pid_file=str(tmp_path / "pids"), seconds=0.01)
    assert execution.status == "SUCCEEDED"
    assert execution.nodes[0].attempts == 1


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_retried_task_resumes_from_its_checkpoint(load, home, tmp_path, executor):
    marker = tmp_path / "marker.txt"
    execution = rillet.run(load("wf_attempts").resumes, home=home, executor=executor, n=6,
                           marker=str(marker))
    assert execution.status == "SUCCEEDED"
    assert execution.outputs == {"o0": 6}
    assert lines(str(marker)) == [
        "attempt 1 starts at 0", "step 0", "step 1", "step 2",
        "attempt 2 starts at 3", "step 3", "step 4", "step 5",
    ]
    (node,) = execution.nodes
    assert node.status == "SUCCEEDED" and node.attempts == 2
    first, second = execution._store.attempts(execution.id, "resumable")
    assert (first.attempt, first.status, first.error_type) == (1, "FAILED", "RecoverableError")
    assert (second.attempt, second.status) == (2, "SUCCEEDED")


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_params_and_metrics_per_node(load, home, executor):
    execution = rillet.run(load("wf_runs").train, home=home, executor=executor, lr=0.2,
                           steps=3)
    assert execution.outputs == {"o0": 0.125}
    (node,) = execution.nodes
    assert node.params == {"lr": 0.2, "optimizer": "sgd"}
    assert [(m["key"], m["value"], m["step"], m["attempt"]) for m in node.metrics] == [
        ("loss", 0.5, 0, 1), ("loss", 0.25, 1, 1), ("loss", 0.125, 2, 1)]


def test_params_and_metrics_in_executions_show(cli, wf):
    run = cli.ok("run", wf("wf_runs", "train"), "--lr", "0.3", "--steps", "2", "--json").json
    shown = cli.ok("executions", "show", run["execution_id"], "--json").json
    (node,) = shown["nodes"]
    assert node["params"] == {"lr": 0.3, "optimizer": "sgd"}
    assert [(m["key"], m["value"], m["step"]) for m in node["metrics"]] == [
        ("loss", 0.5, 0), ("loss", 0.25, 1)]


def test_cache_is_shared_by_runs_in_separate_processes(cli, wf, tmp_path):
    marker = tmp_path / "marker.txt"
    target = wf("wf_runs", "cached")
    first = cli.ok("run", target, "--x", "3", "--marker", str(marker), "--json").json
    assert first["outputs"] == {"o0": 12}
    assert lines(str(marker)) == ["square 3", "plus 9 3"]

    second = cli.ok("run", target, "--x", "3", "--marker", str(marker), "--json").json
    assert second["outputs"] == {"o0": 12}
    assert lines(str(marker)) == ["square 3", "plus 9 3"]  # nothing ran
    shown = cli.ok("executions", "show", second["execution_id"], "--json").json
    for node in shown["nodes"]:
        assert node["status"] == "CACHED"
        assert node["source_execution"] == first["execution_id"]
        assert node["source_node"] == node["node_id"]
        assert node["attempts"] == 0
    text = cli.ok("executions", "show", second["execution_id"]).out
    assert f"{first['execution_id']}:square" in text

    # A different input misses for `square` only where the key differs.
    third = cli.ok("run", target, "--x", "4", "--marker", str(marker), "--json",
                   "--executor", "inline").json
    assert third["outputs"] == {"o0": 20}
    assert lines(str(marker))[2:] == ["square 4", "plus 16 4"]


def test_cache_list_and_clear(cli, wf, tmp_path):
    marker = tmp_path / "marker.txt"
    target = wf("wf_runs", "cached")
    first = cli.ok("run", target, "--x", "2", "--marker", str(marker), "--json").json
    entries = cli.ok("cache", "list", "--json").json
    assert sorted(e["task"] for e in entries) == ["wf_runs:plus", "wf_runs:square"]
    assert {e["execution_id"] for e in entries} == {first["execution_id"]}
    assert {e["node_id"] for e in entries} == {"square", "plus"}
    assert all(e["cache_version"] == "1" for e in entries)
    assert "wf_runs:square" in cli.ok("cache", "list").out

    cleared = cli.ok("cache", "clear", "wf_runs:square")
    assert "1" in cleared.out
    assert [e["task"] for e in cli.ok("cache", "list", "--json").json] == ["wf_runs:plus"]
    again = cli.ok("run", target, "--x", "2", "--marker", str(marker), "--json").json
    states = {n["node_id"]: n["status"] for n in
              cli.ok("executions", "show", again["execution_id"], "--json").json["nodes"]}
    assert states == {"square": "SUCCEEDED", "plus": "CACHED"}
    assert lines(str(marker)) == ["square 2", "plus 4 2", "square 2"]

    # The function's name alone, as a user types it, names the task too.
    assert [e["task"] for e in cli.ok("cache", "list", "plus", "--json").json] == [
        "wf_runs:plus"]
    unknown = cli.ok("cache", "clear", "nothing_like_it")
    assert "removed 0" in unknown.out and "wf_runs:plus" in unknown.err
    assert "removed 1" in cli.ok("cache", "clear", "plus").out
    assert [e["task"] for e in cli.ok("cache", "list", "--json").json] == ["wf_runs:square"]

    cli.ok("cache", "clear")
    assert cli.ok("cache", "list", "--json").json == []
    cli.ok("run", target, "--x", "2", "--marker", str(marker), "--json")
    assert lines(str(marker))[3:] == ["square 2", "plus 4 2"]


def test_python_runs_share_the_cache_of_cli_runs(cli, wf, load, tmp_path):
    marker = tmp_path / "marker.txt"
    first = cli.ok("run", wf("wf_runs", "cached"), "--x", "5", "--marker", str(marker),
                   "--json").json
    execution = rillet.run(load("wf_runs").cached, home=str(cli.home), executor="inline", x=5,
                           marker=str(marker))
    assert execution.outputs == {"o0": 30}
    assert {(n.id, n.status, n.source_execution) for n in execution.nodes} == {
        ("square", "CACHED", first["execution_id"]), ("plus", "CACHED", first["execution_id"])}
    assert len(lines(str(marker))) == 2

"""See what a run used (issue 12, points 6, 7 and 11): ``executions show`` prints the
inputs' values; ``rillet outputs`` prints or saves outputs; ``rillet.execution`` and
``rillet.executions`` fetch past executions from Python; executions get a ``--name``
and ``--tag k=v`` and are listed by workflow, status, time, name and tag; a CACHED node
shows the params and metrics of the attempt that produced its value."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from newuser_kit import Rillet, write

import rillet as rl

FLOW = '''
from typing import NamedTuple

from rillet import File, current_context, task, workflow


class Result(NamedTuple):
    score: float
    report: File


@task(cache=True)
def train(lr: float, blob: str) -> float:
    ctx = current_context()
    ctx.log_param("lr", lr)
    ctx.log_metric("loss", 1.0 - lr, step=1)
    return lr * 2


@task
def report(score: float, title: str) -> File:
    with open("report.txt", "w") as f:
        f.write(f"{title}: {score}")
    return File("report.txt")


@workflow
def wf(lr: float = 0.1, blob: str = "x", title: str = "t") -> Result:
    score = train(lr=lr, blob=blob)
    return Result(score=score, report=report(score=score, title=title))


@workflow
def other(n: int = 1) -> int:
    return n
'''


@pytest.fixture
def flow(rillet: Rillet) -> str:
    return str(write(rillet.cwd / "flow.py", FLOW))


def run(rillet: Rillet, target: str, *args: str) -> str:
    r = rillet("run", target, *args, "--executor", "inline", "--json")
    assert r.code == 0, str(r)
    return str(r.json["execution_id"])


def test_show_prints_the_inputs_values(rillet: Rillet, flow: str) -> None:
    big = "y" * 10_000  # too large to keep inline: shown by type and hash
    eid = run(rillet, f"{flow}:wf", "--lr", "0.25", "--blob", big)
    body = rillet.show(eid)
    assert body["input_values"]["lr"] == 0.25 and body["input_values"]["title"] == "t"
    blob = body["input_values"]["blob"]
    assert blob["type"] == "str" and blob["hash"] == body["inputs"]["blob"]
    assert blob["size"] >= 10_000
    text = rillet.ok("executions", "show", eid).out
    assert "input lr = 0.25" in text and 'input title = "t"' in text
    assert f"input blob = <str {blob['hash'][:12]}" in text


def test_outputs_prints_and_saves(rillet: Rillet, flow: str, tmp_path) -> None:
    eid = run(rillet, f"{flow}:wf", "--lr", "0.5")
    r = rillet.ok("outputs", eid, "--json")
    assert r.json["outputs"]["score"] == 1.0
    assert r.json["outputs"]["report"]["type"] == "file"
    text = rillet.ok("outputs", eid).out
    assert "score = 1.0" in text and "report = <file" in text
    node = rillet.ok("outputs", eid, "train", "--json").json
    assert node["outputs"] == {"o0": 1.0}
    saved = rillet.ok("outputs", eid, "--to", str(tmp_path / "out"))
    assert (tmp_path / "out" / "report.txt").read_text() == "t: 1.0"  # its own name
    assert (tmp_path / "out" / "score.json").read_text() == "1.0"
    assert "report.txt" in saved.out
    bad = rillet("outputs", eid, "nope")
    assert bad.code == 2 and "'nope'" in bad.err and "train" in bad.err


def test_past_executions_from_python(rillet: Rillet, flow: str) -> None:
    first = run(rillet, f"{flow}:wf", "--lr", "0.5", "--name", "baseline", "--tag", "team=ml")
    run(rillet, f"{flow}:other")
    ex = rl.execution(first[:8], home=str(rillet.home))
    assert ex.id == first and ex.status == "SUCCEEDED" and ex.name == "baseline"
    assert ex.tags == {"team": "ml"} and ex.inputs["lr"] == 0.5
    assert ex.outputs["score"] == 1.0 and {n.id for n in ex.nodes} == {"train", "report"}
    listed = rl.executions(home=str(rillet.home))
    assert [e.workflow.split(":")[1] for e in listed] == ["other", "wf"]
    assert [e.id for e in rl.executions(home=str(rillet.home), workflow="wf")] == [first]
    assert [e.id for e in rl.executions(home=str(rillet.home), tags={"team": "ml"})] == [first]
    assert rl.executions(home=str(rillet.home), since=timedelta(hours=1), limit=1)[0].id != first
    assert rl.executions(home=str(rillet.home), status="failed") == []
    with pytest.raises(rl.RilletError):
        rl.execution("nope", home=str(rillet.home))


def test_list_filters_by_workflow_status_since_name_and_tag(rillet: Rillet, flow: str) -> None:
    a = run(rillet, f"{flow}:wf", "--name", "first try", "--tag", "team=ml", "--tag", "k=v_1%")
    b = run(rillet, f"{flow}:other", "--tag", "team=data")
    failing = write(rillet.cwd / "bad.py", '''
        from rillet import task, workflow

        @task
        def boom(x: int) -> int:
            raise ValueError("no")

        @workflow
        def bad(x: int = 1) -> int:
            return boom(x=x)
        ''')
    assert rillet("run", f"{failing}:bad", "--executor", "inline").code == 1

    def ids(*args: str) -> list[str]:
        return [e["execution_id"] for e in rillet.ok("executions", "list", *args, "--json").json]

    c = ids()[0]
    assert ids("--workflow", "wf") == [a] and ids("--workflow", "flow:other") == [b]
    assert ids("--status", "failed") == [c] and ids("--status", "SUCCEEDED") == [b, a]
    assert ids("--name", "first try") == [a]
    assert ids("--tag", "team=ml") == [a] and ids("--tag", "k=v_1%") == [a]
    assert ids("--tag", "k=v_1") == [] and ids("--tag", "team=ml", "--tag", "k=x") == []
    assert ids("--since", "1h") == [c, b, a] and ids("--since", "2999-01-01") == []
    listed = rillet.ok("executions", "list", "--json").json[-1]
    assert listed["name"] == "first try" and listed["tags"] == {"team": "ml", "k": "v_1%"}
    text = rillet.ok("executions", "list").out
    assert "first try" in text and "team=ml" in text
    shown = rillet.ok("executions", "show", a).out
    assert "name: first try" in shown and "team=ml" in shown
    for bad in (["--since", "whenever"], ["--tag", "novalue"], ["--status", "DONE"]):
        r = rillet("executions", "list", *bad)
        assert r.code == 2 and bad[0] in r.err, str(r)
    r = rillet("run", f"{flow}:wf", "--tag", "oops", "--executor", "inline")
    assert r.code == 2 and "KEY=VALUE" in r.err


def test_a_workflow_input_called_name_keeps_its_option(rillet: Rillet) -> None:
    target = write(rillet.cwd / "hello.py", '''
        from rillet import task, workflow

        @task
        def hi(name: str) -> str:
            return "hi " + name

        @workflow
        def hello(name: str = "you") -> str:
            return hi(name=name)
        ''')
    eid = run(rillet, f"{target}:hello", "--name", "ann")
    listed = rillet.ok("executions", "list", "--json").json[0]
    assert listed["execution_id"] == eid and listed["name"] is None
    assert rillet.ok("outputs", eid, "--json").json["outputs"]["o0"] == "hi ann"


def test_a_cached_node_shows_the_params_and_metrics_that_made_its_value(
        rillet: Rillet, flow: str) -> None:
    first = run(rillet, f"{flow}:wf", "--lr", "0.5")
    time.sleep(0.01)
    second = run(rillet, f"{flow}:wf", "--lr", "0.5", "--title", "again")
    (node,) = [n for n in rillet.show(second)["nodes"] if n["node_id"] == "train"]
    assert node["status"] == "CACHED" and node["source_execution"] == first
    assert node["params"] == {"lr": 0.5}
    assert [(m["key"], m["value"], m["step"]) for m in node["metrics"]] == [("loss", 0.5, 1)]
    recovered = rillet("recover", second, "--executor", "inline", "--json")
    assert recovered.code == 0, str(recovered)
    ex = rl.execution(recovered.json["execution_id"], home=str(rillet.home))
    train = ex.node("train")
    assert train.status == "RECOVERED" and train.params == {"lr": 0.5}
    assert [m["value"] for m in train.metrics] == [0.5]

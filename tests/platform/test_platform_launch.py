"""Launch: inputs checked against the registered interface before anything is queued;
a queued execution is run by a worker with the bundle's own code."""

from __future__ import annotations

import threading

import pytest
from clikit import run
from platformkit import start_worker, wait_until

from rillet.engine._values import ValueStore
from rillet.platform import InputRejected, Worker, launch, queue_state, register
from rillet.platform import _worker as worker_module


@pytest.fixture
def registered(project, home_stores):
    register(str(project / "pipe.py"), store=home_stores.store, artifacts=home_stores.artifacts)
    return home_stores


@pytest.mark.parametrize(("inputs", "message", "name"), [
    ({"n": "3", "ratio": 1.0, "names": []}, "input 'n' expects int, got str ('3')", "n"),
    ({"n": 3, "ratio": True, "names": []}, "input 'ratio' expects float, got bool", "ratio"),
    ({"n": 3, "ratio": 1, "names": ["a", 2]}, "input 'names' expects list[str], got list",
     "names"),
    ({"n": 3, "ratio": 1.0, "names": [], "nope": 1}, "has no input 'nope' (its inputs:",
     "nope"),
    ({"ratio": 1.0, "names": []}, "missing required input 'n' (int)", "n"),
])
def test_bad_inputs_are_rejected_before_anything_is_queued(registered, inputs, message, name):
    with pytest.raises(InputRejected) as info:
        launch(registered.store, "pipe.typed", inputs=inputs)
    assert message in str(info.value) and info.value.input == name
    assert registered.store.list_executions() == []


def test_fixed_inputs_of_a_launch_plan_cannot_be_given(registered):
    with pytest.raises(InputRejected, match="'marker' is fixed by the launch plan"):
        launch(registered.store, "nightly", inputs={"marker": "/tmp/x"})
    with pytest.raises(Exception, match="is a task; launch a workflow"):
        launch(registered.store, "pipe.inc", inputs={"x": 1})


def _output(stores, execution_id):
    record = stores.store.get_execution(execution_id)
    return record.status.value, ValueStore(stores.store, stores.artifacts).load(
        record.outputs["o0"], int) if record.outputs else None


def test_a_worker_runs_what_was_launched(registered, monkeypatch):
    s = registered
    ids = [launch(s.store, "pipe.chain", inputs={"x": 2}),
           launch(s.store, "nightly", inputs={}),  # default x=5, fixed marker
           launch(s.store, "pipe.typed", inputs={"n": 7, "ratio": 1, "names": ["a"]}),
           launch(s.store, "pipe.fails")]
    assert [s.store.get_execution(i).status.value for i in ids] == ["QUEUED"] * 4
    assert s.store.get_execution(ids[0]).workflow == "pipe:chain"
    assert Worker(s.store, s.artifacts, executor="processes").run(max_executions=4) == 4
    assert _output(s, ids[0]) == ("SUCCEEDED", 60)
    assert _output(s, ids[1]) == ("SUCCEEDED", 120)
    assert _output(s, ids[2]) == ("SUCCEEDED", 8)
    failed = s.store.get_execution(ids[3])
    assert failed.status.value == "FAILED" and "boom 1" in (failed.error or "")
    assert all(queue_state(s.store, i)[0] == "done" for i in ids)


def test_a_launch_wakes_a_waiting_worker_without_a_polling_interval(registered, monkeypatch):
    monkeypatch.setattr(worker_module, "IDLE_WAIT", 3600.0)  # only a wake-up can start it
    s = registered
    w = Worker(s.store, s.artifacts, executor="inline")
    t = threading.Thread(target=w.run, kwargs={"max_executions": 1}, daemon=True)
    t.start()
    wait_until(lambda: w._stop is not None, what="the worker")
    execution_id = launch(s.store, "pipe.one", inputs={"x": 41})
    t.join(timeout=120)
    assert not t.is_alive()
    assert _output(s, execution_id) == ("SUCCEEDED", 42)


def test_cli_launch_wait_exits_like_run(project, tmp_path):
    home = str(tmp_path / "h")
    assert run(["register", "pipe.py", "--home", home], cwd=project).code == 0
    bad = run(["launch", "pipe.typed", "--n", "x", "--ratio", "1", "--names", "[]",
               "--home", home], cwd=project)
    assert bad.code == 2 and "input 'n' expects int, got str ('x')" in bad.err, bad
    assert bad.err.count("\n") == 1
    worker = start_worker(["--home", home], cwd=project)
    try:
        ok = run(["launch", "pipe.chain", "--x", "3", "--home", home, "--wait"], cwd=project)
        assert ok.code == 0 and ok.out.splitlines()[-1] == "o0 = 80", ok
        as_json = run(["launch", "pipe.one", "--x", "1", "--home", home, "--wait", "--json"],
                      cwd=project)
        assert as_json.code == 0 and as_json.json["outputs"] == {"o0": 2}, as_json
        failed = run(["launch", "pipe.fails", "--home", home, "--wait"], cwd=project)
        assert failed.code == 1 and "boom 1" in failed.err, failed
        queued = run(["launch", "pipe.one", "--x", "1", "--home", home], cwd=project)
        assert queued.code == 0 and queued.out.endswith("QUEUED\n"), queued
    finally:
        worker.terminate()
        assert worker.wait(timeout=120) == 0

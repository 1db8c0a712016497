"""Durable studies: killed with SIGKILL and started again with the same name, a study
continues without re-running a finished trial; the CLI (issue 18, 4-5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clikit import WORKFLOWS, Cli

from rillet import DefinitionError, Int, tune
from rillet.engine._loading import load_file
from rillet.tuning import load_study

SCRIPT = """
import sys
from rillet.engine._loading import load_file
from rillet import tune, Int
wf = load_file(sys.argv[1])
tune(wf.slow, {"x": Int(0, 7)}, objective="loss", algorithm="grid", name="killed",
     inputs={"marks": sys.argv[2], "pause": 0.4}, home=sys.argv[3])
"""


def _lines(path: Path) -> list[str]:
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_a_killed_study_continues_without_rerunning_finished_trials(tmp_path: Path) -> None:
    home, marks = str(tmp_path / "h"), tmp_path / "marks"
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(WORKFLOWS / "wf_tune.py"),
                             str(marks), home], start_new_session=True)
    deadline = time.monotonic() + 120
    while sum(1 for line in _lines(marks) if line.startswith("end")) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "the study did not run"
        time.sleep(0.05)
    while len([x for x in _lines(marks) if x.startswith("start")]) < 4:  # one mid-trial
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the study and its workers
    proc.wait()
    before = load_study("killed", home)
    finished = {t.params["x"] for t in before.trials if t.state == "COMPLETE"}
    assert len(finished) >= 3
    assert any(t.state == "RUNNING" for t in before.trials)  # killed mid-trial

    wf = load_file(str(WORKFLOWS / "wf_tune.py"))
    study = tune(wf.slow, {"x": Int(0, 7)}, objective="loss", algorithm="grid", name="killed",
                 inputs={"marks": str(marks), "pause": 0.4}, home=home)
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert all(t.state == "COMPLETE" for t in study.trials)
    assert sorted(t.params["x"] for t in study.trials) == list(range(8))  # the whole grid
    starts = [line.split()[1] for line in _lines(marks) if line.startswith("start")]
    for x in finished:  # a finished trial never ran again
        assert starts.count(str(x)) == 1, (x, starts)
    # the same name with another space is a one-line error, and changes nothing
    with pytest.raises(DefinitionError, match="exists with a different space") as info:
        tune(wf.slow, {"x": Int(0, 9)}, objective="loss", name="killed", home=home)
    assert "\n" not in str(info.value)
    assert len(load_study("killed", home).trials) == 8


def test_the_cli_runs_shows_and_resumes_a_study(cli: Cli) -> None:
    target = f"{WORKFLOWS / 'wf_tune.py'}:bowl"
    space = json.dumps({"x": {"type": "float", "lo": 0.0, "hi": 1.0}, "y": ["int", 0, 2]})
    r = cli.ok("tune", target, "--space", space, "--objective", "loss", "--trials", "3",
               "--name", "c", "--seed", "1", "--executor", "inline", "--kind", "b", "--json")
    body = r.json
    assert body["name"] == "c" and len(body["trials"]) == 3
    assert body["settings"]["algorithm"] == "tpe"
    for t in body["trials"]:  # the fixed input --kind b reached every trial
        assert t["value"] == pytest.approx((t["params"]["x"] - 0.3) ** 2
                                           + 0.1 * t["params"]["y"] + 0.5)
    shown = cli.ok("tune", "show", "c", "--json").json
    assert shown["trials"] == body["trials"]
    best = min(body["trials"], key=lambda t: t["value"])
    assert shown["best_trials"] == [best["number"]]
    r = cli.ok("tune", "--resume", "c", "--trials", "5", "--executor", "inline")
    assert "study c: 5 finished" in r.out and "best" in r.out
    assert len(cli.ok("tune", "show", "c", "--json").json["trials"]) == 5
    for args, message in ((("tune", "show", "nope"), "no study named 'nope'"),
                          (("tune", target, "--space", "{", "--objective", "loss"),
                           "--space is not valid JSON"),
                          (("tune", target, "--space", space, "--objective", "loss",
                            "--name", "c", "--maximize"), "exists with a different direction")):
        r = cli(*args)
        assert r.code == 2 and message in r.err, str(r)
        assert len(r.err.strip().splitlines()) == 1


def test_the_best_trial_feeds_models_register(tmp_path: Path) -> None:
    from rillet import models

    wf = load_file(str(WORKFLOWS / "wf_tune.py"))
    home = str(tmp_path / "h")
    study = tune(wf.bowl, {"y": Int(0, 2)}, objective="loss", algorithm="grid", home=home,
                 executor="inline")
    version = models.register("bowl", execution=study.best.execution_id, node="quad",
                              home=home)
    assert version == 1
    (registered,) = models.versions("bowl", home=home)
    assert registered.execution_id == study.best.execution_id
    assert registered.node_id == "quad" and registered.output == "o0"


def test_ctrl_c_leaves_running_trials_to_resume(cli: Cli, tmp_path: Path) -> None:
    """Ctrl-C on a parallel study: both running executions are ABORTED, their trials stay
    RUNNING, and --resume (with the stored fixed inputs) runs them again and finishes."""
    marks = tmp_path / "marks"
    target = f"{WORKFLOWS / 'wf_tune.py'}:slow"
    proc = cli.start("tune", target, "--space", '{"x": ["int", 0, 3]}', "--objective", "loss",
                     "--algorithm", "grid", "--parallel", "2", "--name", "ctrlc",
                     "--marks", str(marks), "--pause", "2.0")
    deadline = time.monotonic() + 120
    while len([x for x in _lines(marks) if x.startswith("start")]) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "rillet tune --resume ctrlc" in err
    before = load_study("ctrlc", str(cli.home))
    assert sorted(t.state for t in before.trials) == ["RUNNING", "RUNNING"]
    r = cli.ok("tune", "--resume", "ctrlc", "--json", timeout=120)
    study = r.json
    assert sorted(t["params"]["x"] for t in study["trials"]) == [0, 1, 2, 3]
    assert all(t["state"] == "COMPLETE" for t in study["trials"])
    ends = [line for line in _lines(marks) if line.startswith("end")]
    assert len(ends) == 4  # the stored --marks and --pause reached the resumed trials

"""Trials as durable executions: cache hits on repeated trials, parallel trials on the
process executor, early stopping that ends the running process (issue 18, 1-3)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from clikit import WORKFLOWS

from rillet import Choice, Float, Int, tune
from rillet.engine._loading import load_file
from rillet.store._home import Home
from rillet.tuning import load_study


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_file(str(WORKFLOWS / "wf_tune.py"))


def _read(home: str, fn: Any) -> Any:
    h = Home.open(home)
    try:
        return fn(h.store)
    finally:
        h.close()


def test_a_repeated_trial_is_a_cache_hit(wf: Any, tmp_path: Path) -> None:
    home, marks = str(tmp_path / "h"), tmp_path / "marks"
    study = tune(wf.cached, {"x": Choice([1, 2])}, objective="loss", algorithm="random",
                 seed=0, max_trials=6, inputs={"marks": str(marks)}, home=home,
                 executor="inline")
    xs = [t.params["x"] for t in study.trials]
    assert len(set(xs)) == 2 and len(xs) == 6  # some trials repeat
    ran = marks.read_text().split("\n")
    assert sorted(line for line in ran if line) == ["ran 1", "ran 2"]  # each computed once
    statuses = {}
    for t in study.trials:
        assert t.state == "COMPLETE" and t.value == pytest.approx(t.params["x"] + 1 / 3)
        # the objective of a cached trial comes from the execution that computed it
        assert [s for s, _ in t.intermediate] == [0, 1, 2]
        (node,) = _read(home, lambda s, t=t: s.nodes(t.execution_id))
        statuses.setdefault(t.params["x"], []).append(node.status.value)
    for seen in statuses.values():
        assert seen[0] == "SUCCEEDED" and set(seen[1:]) <= {"CACHED"}


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_trials_folders_are_made_by_what_writes_into_them(wf: Any, tmp_path: Path,
                                                            executor: str) -> None:
    """No checkpoint or work folder per trial; a task that checkpoints or writes in its
    working directory gets its folder, where a recovery of the trial would find it."""
    home = str(tmp_path / "h")
    tune(wf.bowl, {"x": Float(0.0, 1.0)}, objective="loss", algorithm="random", seed=0,
         max_trials=3, home=home, executor=executor, name="quiet")
    assert os.listdir(os.path.join(home, "checkpoints")) == []
    assert os.listdir(os.path.join(home, "work")) == []
    study = tune(wf.noting, {"x": Int(0, 2)}, objective="loss", algorithm="grid", home=home,
                 executor=executor, name="noting")
    assert sorted(t.params["x"] for t in study.trials) == [0, 1, 2]
    h = Home.open(home)
    try:
        for t in study.trials:
            assert t.state == "COMPLETE" and t.execution_id is not None
            (node,) = h.store.nodes(t.execution_id)
            with open(h.checkpoint_path(t.execution_id, node.node_id, make=False), "rb") as f:
                assert f.read() == str(t.params["x"]).encode()
            work = h.work_dir(t.execution_id, make=False)
            (note,) = [os.path.join(d, "note.txt") for d, _, files in os.walk(work)
                       if "note.txt" in files]
            with open(note) as f:
                assert f.read() == str(t.params["x"])
    finally:
        h.close()


def test_a_trials_row_is_written_in_its_executions_transactions(
        wf: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No transaction of its own per trial: its RUNNING row goes with its execution's first
    batch, its end (state, value) with the batch that ends the execution."""
    from rillet.store._sql import SqlMetadataStore
    from rillet.store._studies import StudyStore

    writes: list[tuple[int, str, list[tuple[str, str]]]] = []  # trial, state, batch's ends
    applying: list[Any] = []
    apply, save_in = SqlMetadataStore.apply, StudyStore.save_trial_in

    def spy_apply(self: Any, batch: Any, **kw: Any) -> None:
        applying.append(batch)
        try:
            apply(self, batch, **kw)
        finally:
            applying.pop()

    def spy_save_in(c: Any, trial: Any) -> None:
        batch = applying[-1] if applying else None
        execs = [(e.id, e.status.value) for e in batch.executions] if batch else []
        writes.append((trial.number, trial.state, execs))
        save_in(c, trial)

    monkeypatch.setattr(SqlMetadataStore, "apply", spy_apply)
    monkeypatch.setattr(StudyStore, "save_trial_in", staticmethod(spy_save_in))
    study = tune(wf.bowl, {"x": Float(0.0, 1.0)}, objective="loss", algorithm="random",
                 seed=0, max_trials=4, home=str(tmp_path / "h"), executor="inline")
    assert [t.state for t in study.trials] == ["COMPLETE"] * 4
    for t in study.trials:
        mine = [(state, execs) for number, state, execs in writes if number == t.number]
        assert [state for state, _ in mine] == ["RUNNING", "COMPLETE"], mine
        assert (t.execution_id, "RUNNING") in mine[0][1]  # with the execution's start
        assert mine[1][1][-1] == (t.execution_id, "SUCCEEDED")  # with its end
        stored = load_study(study.name, str(tmp_path / "h")).trials[t.number]
        assert stored.value == t.value and stored.state == "COMPLETE"


def test_parallel_trials_overlap_on_the_process_executor(wf: Any, tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    started = time.monotonic()
    study = tune(wf.slow, {"x": Int(0, 3)}, objective="loss", algorithm="grid", parallel=2,
                 inputs={"pause": 1.0}, home=home)
    wall = time.monotonic() - started
    assert sorted(t.params["x"] for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state == "COMPLETE" for t in study.trials)
    spans = sorted((t.started_at, t.ended_at) for t in study.trials)
    overlaps = sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1])
    assert overlaps >= 1, spans
    assert wall < 4 * 1.0 + 30  # generous: the proof is the overlap above
    pids = _read(home, lambda s: {a.pid for t in study.trials
                                  for a in s.attempts(t.execution_id)})
    assert len(pids) >= 2  # two worker processes ran trials


def test_parallel_trials_stay_within_the_tasks_declared_resources(wf: Any,
                                                                 tmp_path: Path) -> None:
    """Each trial's task asks for every CPU: parallel=2 lanes still run one at a time."""
    study = tune(wf.greedy, {"x": Int(0, 3)}, objective="loss", algorithm="grid", parallel=2,
                 inputs={"pause": 0.5}, home=str(tmp_path / "h"))
    assert all(t.state == "COMPLETE" for t in study.trials) and len(study.trials) == 4
    home = str(tmp_path / "h")
    spans = sorted(_read(home, lambda s: [(a.started_at, a.ended_at) for t in study.trials
                                          for a in s.attempts(t.execution_id)]))
    assert all(b[0] >= a[1] - 0.01 for a, b in zip(spans, spans[1:])), spans


def _attempt_and_metrics(home: str, execution_id: str) -> Any:
    def read(s: Any) -> Any:
        return s.get_execution(execution_id), s.nodes(execution_id), \
            s.attempts(execution_id), s.metrics(execution_id)
    return _read(home, read)


def test_median_stopping_ends_the_running_process(wf: Any, tmp_path: Path) -> None:
    home, counter = str(tmp_path / "h"), tmp_path / "counter"
    started = time.monotonic()
    study = tune(wf.training, {"x": Float(0.0, 1.0)}, objective="loss", max_trials=6,
                 early_stopping="median", seed=0,
                 inputs={"counter": str(counter), "slow_after": 5}, home=home)
    assert time.monotonic() - started < 50  # the pruned task sleeps 60 s after its step
    states = [t.state for t in study.trials]
    assert states == ["COMPLETE"] * 5 + ["PRUNED"], states
    pruned = study.trials[5]
    assert pruned.intermediate == [(0, 11.0)]  # its logged steps are kept
    assert pruned.value is None and "pruned at step 0" in (pruned.error or "")
    execution, (node,), (attempt,), metrics = _attempt_and_metrics(home, pruned.execution_id)
    assert execution.status.value == "ABORTED" and node.status.value == "ABORTED"
    assert attempt.error_type == "AttemptStopped" and "median" in attempt.error_message
    assert [(m.key, m.value, m.step) for m in metrics] == [("loss", 11.0, 0)]
    assert attempt.pid is not None and not psutil.pid_exists(attempt.pid)
    assert attempt.ended_at - metrics[0].timestamp < 5.0  # ≤ 0.2 s in benchmarks/tuning.py
    # the trials before it were not stopped and kept all their steps
    assert all(len(t.intermediate) == 5 for t in study.trials[:5])


def test_hyperband_stops_bad_trials(wf: Any, tmp_path: Path) -> None:
    home, counter = str(tmp_path / "h"), tmp_path / "counter"
    started = time.monotonic()
    # Hyperband's brackets hash the study's name: with "train" the four bad trials fall
    # where they are compared, and are pruned at steps 1, 1, 3 and 3.
    study = tune(wf.training, {"x": Float(0.0, 1.0)}, objective="loss", max_trials=8,
                 early_stopping="hyperband", seed=0, name="train",
                 inputs={"counter": str(counter), "slow_after": 4, "pause": 2.0}, home=home)
    assert time.monotonic() - started < 4 * 5 * 2.0  # the bad ones, unpruned, take 40 s
    states = [t.state for t in study.trials]
    assert states == ["COMPLETE"] * 4 + ["PRUNED"] * 4, states
    assert [len(t.intermediate) for t in study.trials[4:]] == [2, 2, 4, 4]
    for t in study.trials[4:]:
        _, _, (attempt,), _ = _attempt_and_metrics(home, t.execution_id)
        assert attempt.pid is not None and not psutil.pid_exists(attempt.pid)

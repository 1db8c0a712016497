"""examples/tune.py: a numpy model, 30 trials of TPE with median stopping (issue 18, 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clikit import rillet_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tune.py"


def test_the_example_study_runs_prunes_and_is_stored(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=rillet_env())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("study lr-depth: ") and lines[1].startswith("best: trial ")
    shown = subprocess.run([sys.executable, "-m", "rillet.cli", "tune", "show", "lr-depth",
                            "--json"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=rillet_env())
    assert shown.returncode == 0, shown.stderr
    study = json.loads(shown.stdout)
    trials = study["trials"]
    assert len(trials) == 30 and study["settings"]["algorithm"] == "tpe"
    assert study["counts"]["PRUNED"] >= 1 and study["counts"]["COMPLETE"] >= 5
    best = min((t for t in trials if t["state"] == "COMPLETE"), key=lambda t: t["value"])
    assert best["value"] < 0.05  # sin on [-3, 3] by a polynomial: a good fit exists
    assert study["best_trials"] == [best["number"]]
    for t in trials:
        if t["state"] == "PRUNED":  # stopped before its 40 epochs, its steps kept
            assert 1 <= len(t["intermediate"]) < 40
    execs = subprocess.run([sys.executable, "-m", "rillet.cli", "executions", "list", "--json",
                            "--limit", "100"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=rillet_env())
    assert execs.returncode == 0, execs.stderr
    assert len(json.loads(execs.stdout)) == 30  # one durable execution per trial

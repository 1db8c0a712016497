"""``rillet tune`` draws a live table of its trials on a terminal: running, finished,
pruned, the best so far (issue 18, 5)."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import WORKFLOWS, Cli, run_on_a_terminal


def test_the_live_table_shows_running_finished_pruned_and_best(cli: Cli, tmp_path: Path) -> None:
    target = f"{WORKFLOWS / 'wf_tune.py'}:training"
    home = ["--home", str(cli.home)]
    args = ["tune", target, "--space", '{"x": ["float", 0.0, 1.0]}', "--objective", "loss",
            "--trials", "7", "--early-stopping", "median", "--seed", "0", "--name", "live",
            "--counter", str(tmp_path / "counter"), "--slow-after", "5", "--pause", "30",
            "--json", *home]
    code, out, screen = run_on_a_terminal(args, tmp_path)
    assert code == 0, screen
    study = json.loads(out)  # stdout keeps the result alone
    assert study["counts"]["PRUNED"] == 2 and study["counts"]["COMPLETE"] == 5
    assert "study live: 0 finished, 0 pruned, 0 failed, 1 running" in screen, screen
    assert "study live: 5 finished, 0 pruned, 0 failed, 1 running" in screen, screen
    assert "study live: 5 finished, 1 pruned, 0 failed, 1 running" in screen, screen
    assert "study live: 5 finished, 2 pruned, 0 failed, 0 running" in screen, screen
    assert "RUNNING" in screen and "PRUNED" in screen and "best" in screen, screen


def test_off_a_terminal_no_table_is_drawn(cli: Cli) -> None:
    r = cli.ok("tune", f"{WORKFLOWS / 'wf_tune.py'}:bowl", "--space", '{"y": ["int", 0, 1]}',
               "--objective", "loss", "--executor", "inline", "--algorithm", "grid")
    assert "RUNNING" not in r.err and r.err == "", r.err
    assert "2 finished" in r.out, r.out

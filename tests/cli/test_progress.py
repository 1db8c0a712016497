"""On a terminal, ``rillet run`` draws a live line of node states on stderr (nodes
running, done, cached, failed); stdout keeps only the result. Off a terminal it
draws nothing (the other CLI tests read stderr whole)."""

from __future__ import annotations

import json

from clikit import run_on_a_terminal


def test_the_live_line_shows_running_done_cached_and_failed_nodes(cli, wf, tmp_path):
    target = wf("wf_progress", "shown")
    home = ["--home", str(cli.home)]
    code, out, screen = run_on_a_terminal(["run", target, "--json", *home], tmp_path)
    assert code == 0, screen
    assert json.loads(out)["outputs"] == {"o0": 2}  # stdout: the result alone
    assert "running: slow" in screen, screen
    assert "3/3 done" in screen, screen

    code, out, screen = run_on_a_terminal(["run", target, "--fail", "true", "--json", *home],
                                          tmp_path)
    assert code == 1, screen
    assert json.loads(out)["status"] == "FAILED"
    assert "1 cached" in screen, screen
    assert "1 failed" in screen, screen


def test_off_a_terminal_nothing_is_drawn(cli, wf):
    r = cli.ok("run", wf("wf_progress", "shown"), "--json")
    assert "running:" not in r.err and "done" not in r.err, r.err

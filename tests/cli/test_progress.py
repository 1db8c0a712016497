"""On a terminal, ``rillet run`` draws a live line of node states on stderr (nodes
running, done, cached, failed); stdout keeps only the result. Off a terminal it
draws nothing (the other CLI tests read stderr whole)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys

from clikit import rillet_env

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_a_terminal(args: list[str], cwd) -> tuple[int, str, str]:
    """Run rillet with stderr on a pseudo-terminal; (exit code, stdout, terminal text)."""
    master, slave = pty.openpty()
    env = rillet_env(TERM="xterm-256color", COLUMNS="160", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "rillet.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for 60 s: {seen.decode(errors='replace')}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=30)
    os.close(master)
    return proc.returncode, out.decode(), ANSI.sub("", seen.decode(errors="replace"))


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

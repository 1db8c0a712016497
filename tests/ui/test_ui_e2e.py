"""The web UI end to end: a real ``rillet server`` process on a home with a succeeded
execution and a running one, driven in Debian's chromium by ``ui/e2e/run.mjs``
(playwright-core): the list and its filter, a live abort from the execution page, the
DAG (node count, states, left to right), a running node's logs streamed, a node's
output value and logs, a re-run from that node (a recovery through the server), and the
launch form of a registered workflow (a bad value refused, a good one run), a relaunch
with its inputs prefilled, compare and lineage, the Versions, Launch plans (activate,
deactivate) and Models pages, a DataFrame's preview and downloads (its bytes, logs),
a version's code, nested (dataclass) launch inputs, a list of scalars as rows, a
folder uploaded as a Directory input; a screenshot per step under this test's folder;
no console error in the page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from clikit import WORKFLOWS, rillet_env, wait_for
from missing import missing

import rillet

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def needs() -> None:
    """Node, the UI's packages (npm ci), its build (vite) and chromium; `make test` makes
    all four (and installs chromium); elsewhere, their absence skips this test."""
    if shutil.which("node") is None:
        missing("node is not installed (the UI's end-to-end test needs Node 20)")
    if not (UI / "node_modules" / "playwright-core").is_dir():
        missing("ui/node_modules is missing: run `make ui` (npm ci, then the build)")
    if not (ROOT / "rillet" / "ui_static" / "index.html").is_file():
        missing("the UI is not built (rillet/ui_static): run `make ui`")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing: `make test` installs Debian's chromium with apt")


def test_the_ui_shows_executions_their_dag_and_a_node_live(tmp_path: Path) -> None:
    needs()
    sys.path.insert(0, str(WORKFLOWS))
    import wf_ui

    home = tmp_path / "home"
    done = rillet.run(wf_ui.diamond, home=str(home), executor="inline", n=5)
    assert done.status == "SUCCEEDED"
    mapped = rillet.run(wf_ui.squares, home=str(home), executor="inline", xs=[1, -2, 3])
    assert mapped.status == "SUCCEEDED"
    nested = rillet.run(wf_ui.nested, home=str(home), executor="inline", n=3)
    assert nested.status == "SUCCEEDED"
    tables = rillet.run(wf_ui.tables, home=str(home), executor="inline", n=80)
    assert tables.status == "SUCCEEDED"
    shapes = rillet.run(wf_ui.shapes, home=str(home), executor="inline", n=30)
    assert shapes.status == "SUCCEEDED"

    # Two worker slots: the one running the execution that the browser aborts may take
    # a heartbeat to notice; the launch from the form runs on the other at once.
    proc = subprocess.Popen([sys.executable, "-m", "rillet.cli", "server", "--home", str(home),
                             "--workers", "2", "--port", "0"], cwd=tmp_path, env=rillet_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    remote = None
    running = None
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("rillet server on http://127.0.0.1:"), line
        url = line.split()[3]
        remote = rillet.Remote(url)
        wait_for(lambda: _healthy(remote), limit=60)
        # A real running execution: registered and launched through the server, run by
        # the server's own worker; its task writes the marker once it runs.
        remote.register(str(WORKFLOWS / "wf_ui.py"))
        # Two versions of one file in a project of their own, for the version diff.
        remote.create_project("diffs")
        first = remote.register(str(WORKFLOWS / "wf_ui.py"), project="diffs")[0]["version"]
        changed = tmp_path / "v2" / "wf_ui.py"
        changed.parent.mkdir()
        changed.write_text((WORKFLOWS / "wf_ui.py").read_text().replace(
            "def report(s: int, m: int) -> str:\n    return f\"sum={s} max={m}\"",
            "def report(s: int, m: int) -> str:\n    return f\"total={s} biggest={m}\""))
        second = remote.register(str(changed), project="diffs")[0]["version"]
        assert first != second
        # A model for the Models page: the diamond's total, version 1 under alias prod.
        assert remote.models.register("wf_ui_total", execution=done.id, node="total",
                                      alias="prod") == 1
        assert remote.models.register("wf_ui_total", execution=done.id, node="load") == 2
        marker = tmp_path / "sleeper.pid"
        running = remote.launch("wf_ui.slow", marker=str(marker), seconds=300.0).id
        wait_for(marker.exists, limit=120)

        shots = tmp_path / "screenshots"
        env = {**os.environ, "RILLET_URL": url, "RILLET_SHOTS": str(shots),
               "RILLET_E2E": json.dumps({"done": done.id, "running": running,
                                         "mapped": mapped.id, "nested": nested.id,
                                         "tables": tables.id, "shapes": shapes.id,
                                         "versions": [first, second]}),
               "CHROMIUM": CHROMIUM}
        r = subprocess.run(["node", "e2e/run.mjs"], cwd=UI, env=env, capture_output=True,
                           text=True, timeout=240)
        print(r.stdout)
        assert r.returncode == 0, f"the browser test failed:\n{r.stdout}\n{r.stderr}"
        assert "e2e passed" in r.stdout
        taken = sorted(p.name for p in shots.glob("*.png"))
        assert len(taken) == 29 and all((shots / n).stat().st_size > 1000 for n in taken), taken
        assert remote.execution(running).status == "ABORTED"
    finally:
        if remote is not None and running is not None:
            try:  # never leave a 300 s task for the server's drain to wait on
                remote.abort(running)
            except rillet.RilletError:
                pass
        if remote is not None:
            remote.close()
        proc.terminate()
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def _healthy(remote: rillet.Remote) -> bool:
    try:
        remote.executions(limit=1)
        return True
    except (OSError, rillet.RilletError):
        return False

"""The web UI against ``rillet server --auth``, end to end in Debian's chromium
(``ui/e2e/auth.mjs``): the UI asks for a token (the server's 401 line), refuses a bad
one, sends a viewer's token as ``Authorization: Bearer``, shows the server's 403s (the
list of every project, a recovery) as clear lines, and signs out (the token leaves
sessionStorage); an admin's token lists everything. One server for the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clikit import WORKFLOWS, rillet_env, wait_for
from test_ui_e2e import CHROMIUM, UI, needs

import rillet


def test_the_ui_signs_in_with_a_token_and_shows_what_the_server_refuses(tmp_path: Path) -> None:
    needs()
    sys.path.insert(0, str(WORKFLOWS))
    import wf_ui

    from rillet.platform._stores import open_stores
    from rillet.platform._tokens import create_token

    home = tmp_path / "home"
    done = rillet.run(wf_ui.diamond, home=str(home), executor="inline", n=5)
    stores = open_stores(str(home))
    admin = create_token(stores.store, "ada", admin=True)["token"]
    viewer = create_token(stores.store, "vic", project="default", role="viewer")["token"]

    proc = subprocess.Popen([sys.executable, "-m", "rillet.cli", "server", "--auth", "--home",
                             str(home), "--workers", "1", "--port", "0"], cwd=tmp_path,
                            env=rillet_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("rillet server on http://127.0.0.1:"), line
        url = line.split()[3]
        remote = rillet.Remote(url, token=admin)
        wait_for(lambda: _healthy(remote), limit=60)
        remote.close()
        shots = tmp_path / "screenshots"
        env = {**os.environ, "RILLET_URL": url, "RILLET_SHOTS": str(shots), "CHROMIUM": CHROMIUM,
               "RILLET_E2E": json.dumps({"done": done.id, "admin": admin, "viewer": viewer})}
        r = subprocess.run(["node", "e2e/auth.mjs"], cwd=UI, env=env, capture_output=True,
                           text=True, timeout=240)
        print(r.stdout)
        assert r.returncode == 0, f"the browser test failed:\n{r.stdout}\n{r.stderr}"
        assert "auth e2e passed" in r.stdout
        taken = sorted(p.name for p in shots.glob("*.png"))
        assert len(taken) == 4 and all((shots / n).stat().st_size > 1000 for n in taken), taken
    finally:
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

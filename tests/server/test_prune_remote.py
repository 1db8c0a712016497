"""``rillet prune --server URL`` / ``Remote.prune`` / ``POST /api/v1/prune``: the
server's stores pruned through its API, with the answers ``rillet prune --home``
gives on the same home (the role matrix of test_auth checks it is an admin's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from serverkit import serve

import rillet
from rillet import Remote
from rillet.cli._app import cli


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_prune_through_the_server_answers_as_the_home(tmp_path: Path) -> None:
    import wf_platform

    home = tmp_path / "home"
    ids = [rillet.run(wf_platform.quick, home=str(home), executor="inline", x=x).id
           for x in (1, 2)]
    with serve(tmp_path, home) as served:
        local = _cli("prune", "--older-than", "0s", "--dry-run", "--json", "--home", str(home))
        by_flag = _cli("prune", "--older-than", "0s", "--dry-run", "--json", "--server",
                       served.url)
        assert local.exit_code == by_flag.exit_code == 0, (local.output, by_flag.output)
        would = json.loads(by_flag.output)
        assert would == json.loads(local.output)
        assert would["dry_run"] and would["executions"] == 2 and would["purged_artifacts"] > 0
        text = _cli("prune", "--older-than", "0s", "--dry-run", "--server", served.url)
        assert f"would free {would['freed_bytes']} bytes" in text.output

        nothing = _cli("prune", "--server", served.url)
        assert nothing.exit_code == 2 and "nothing pruned" in nothing.output
        assert len(nothing.output.strip().splitlines()) == 1
        bad = served.client.post("/api/v1/prune", json={"older_than": "soon"})
        assert bad.status_code == 400 and "--older-than 'soon'" in bad.json()["error"]
        both = _cli("prune", "--older-than", "0s", "--server", served.url, "--home", str(home))
        assert both.exit_code == 2 and "not both" in both.output

        with Remote(served.url) as r:
            freed = r.prune(older_than=0)
            assert not freed["dry_run"]
            assert (freed["freed_bytes"], freed["purged_artifacts"]) == (
                would["freed_bytes"], would["purged_artifacts"])
            assert r.prune(older_than="0s", dry_run=True)["purged_artifacts"] == 0
        # a recovery whose input was pruned is the caller's to fix: a 404 naming the
        # input, not a 503 (schemathesis found it once the prune route existed)
        gone = served.client.post(f"/api/v1/executions/{ids[0]}/recover")
        assert gone.status_code == 404, gone.text
        assert "its input 'x'" in gone.json()["error"] and "pruned" in gone.json()["error"]

"""Schemathesis over /openapi.json of a real server with real executions in its
home: no 5xx, and every response conforms to the schema (status codes, content
types, bodies). Runs the ``schemathesis`` command line against the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from serverkit import Served

import rillet

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def test_schemathesis_finds_no_5xx_and_no_schema_violation(served: Served,
                                                           tmp_path: Path) -> None:
    import wf_platform

    for x in range(3):  # records to find: ids, nodes, lineage, cache entries
        rillet.run(wf_platform.quick, home=str(served.home), executor="inline", x=x)
    st = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [str(st), "run", f"{served.url}/openapi.json", "--checks", CHECKS,
         "--max-examples", "40", "--seed", "14", "--request-timeout", "30",
         "--generation-deterministic", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    assert "No issues found" in tail or "passed" in tail, tail

"""Helpers of the first-hour tests (issue 12): a user's workflow file written in a
temporary folder, and ``rillet`` run on it as a real subprocess on a real home."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from clikit import Result  # noqa: E402
from issue8_kit import Rillet as _Rillet  # noqa: E402
from issue8_kit import edit, write  # noqa: E402

__all__ = ["Rillet", "edit", "finish", "started", "write"]


class Rillet(_Rillet):
    def raw(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``rillet ARGS`` exactly as given (no ``--home``), with extra environment."""
        proc = subprocess.run([sys.executable, "-m", "rillet.cli", *args], cwd=self.cwd,
                              env={**self.env(), **(env or {})}, capture_output=True,
                              text=True, timeout=120)
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)


def started(rillet: Rillet, proc: subprocess.Popen[str]) -> str:
    """The id of the execution ``proc`` runs, once its task ``talk`` printed its first
    lines, up to "to stderr" (read from the log file while the attempt runs)."""
    deadline = time.time() + 90
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        listed = rillet("executions", "list", "--json")
        if listed.code == 0 and listed.json:
            eid = str(listed.json[0]["execution_id"])
            r = rillet("logs", eid, "talk")
            if r.code == 0 and "to stderr" in r.out:
                return eid
        time.sleep(0.1)
    raise AssertionError("the task never printed")


def finish(proc: subprocess.Popen[str], timeout: float = 90) -> tuple[str, str]:
    """Its output once it ended (killed when it has not ended in ``timeout`` s)."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

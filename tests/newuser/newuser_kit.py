"""Helpers of the first-hour tests (issue 12): a user's workflow file written in a
temporary folder, and ``rillet`` run on it as a real subprocess on a real home."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from clikit import Result  # noqa: E402
from issue8_kit import Rillet as _Rillet  # noqa: E402
from issue8_kit import edit, write  # noqa: E402

__all__ = ["Rillet", "edit", "write"]


class Rillet(_Rillet):
    def raw(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``rillet ARGS`` exactly as given (no ``--home``), with extra environment."""
        proc = subprocess.run([sys.executable, "-m", "rillet.cli", *args], cwd=self.cwd,
                              env={**self.env(), **(env or {})}, capture_output=True,
                              text=True, timeout=120)
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

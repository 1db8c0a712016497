"""Helpers of the server tests (a module of its own: ``conftest`` names collide
across test folders)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))


@dataclass
class Served:
    url: str
    home: Path
    app: Any
    client: httpx.Client

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)


def wait_for(what: Any, limit: float = 120.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {limit}s waiting for {what}")



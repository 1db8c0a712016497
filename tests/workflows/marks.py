"""A helper the test workflows share: append one line to a marker file, so a test
can tell which tasks ran and how often (atomic appends, safe across processes)."""

from __future__ import annotations

import os


def mark(path: str, line: str) -> None:
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def lines(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln for ln in f.read().splitlines() if ln]

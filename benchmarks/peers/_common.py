"""Shared entry point of the peer scripts: parse arguments, measure, print one JSON line.

Peer scripts run with a peer's own virtual environment (``.bench/<peer>``),
where rillet is not installed; they reach the stdlib-only harness through
``sys.path``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _harness as h
import _workloads as w


def main(adapter: Any, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"In-process workloads on {adapter.name}.")
    parser.add_argument("--workloads", default=",".join(w.WORKLOADS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n in w.WORKLOADS]
    h.emit_json(w.measure_all(adapter, names, rounds=args.rounds))

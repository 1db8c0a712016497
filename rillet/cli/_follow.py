"""``rillet logs ID NODE -f``: the output of an attempt while it runs, read from the
execution's log file (where the engine writes it line by line; for a ``rillet worker``
on another machine, the chunks it ships to the artifact store), until the attempt's
record says it ended; then the rest from the record."""

from __future__ import annotations

import sys
import time
from typing import Any

from rillet.engine._records import NodeStatus
from rillet.platform._livelogs import read_output

POLL = 0.2


def live_text(h: Any, execution_id: str, node_id: str, attempt: int) -> str:
    """What a running (or killed) attempt printed so far, from the log file."""
    text, _ = read_output(h.log_path(execution_id), getattr(h, "artifacts", None),
                          execution_id, node_id, attempt, limit=-1)
    return text


def follow(h: Any, execution_id: str, node_id: str, attempt: int,
           timeout: float | None = None) -> Any:
    """Print the attempt's output as it comes; return its final record."""
    from rillet.engine._reaper import reap

    path = h.log_path(execution_id)
    artifacts = getattr(h, "artifacts", None)
    offset = 0
    printed = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        text, offset = read_output(path, artifacts, execution_id, node_id, attempt, offset,
                                   limit=-1)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            printed += len(text)
        (record,) = reap(h.store, [h.store.get_execution(execution_id)])
        current = next((a for a in h.store.attempts(execution_id, node_id)
                        if a.attempt == attempt), None)
        ended = current is not None and current.status not in (
            NodeStatus.RUNNING, NodeStatus.QUEUED)
        if ended or record.ended_at is not None:
            final = current
            if final is not None and final.logs and len(final.logs) > printed:
                sys.stdout.write(final.logs[printed:])  # what the file had not got yet
            elif final is None or not final.logs:
                rest, _ = read_output(path, artifacts, execution_id, node_id, attempt,
                                      offset, limit=-1)
                sys.stdout.write(rest)
            return final
        if deadline is not None and time.monotonic() > deadline:
            return current
        time.sleep(POLL)

"""Live logs of a platform worker on another machine: the worker ships what its running
tasks print to the artifact store (the store it shares with the server), in chunks a
fraction of a second apart, and the server streams them from there.

The engine writes a running execution's output to a log file of the worker's machine
(``NODE#ATTEMPT| TEXT`` lines, ``rillet.engine._streams``); the ``LogShipper`` thread
copies the whole lines appended since its last look into a chunk named by the byte
offset it starts at (``FolderArtifactStore.put_log_chunk``), so a reader resumes from
any offset it was given. At most ``SHIP_LIMIT`` bytes an execution are shipped (the
attempt's recorded logs, written when it ends, stay the reference); the chunks are
removed when the execution leaves the worker, and ``rillet prune`` removes those of a
worker that died. Nothing here touches the engine or the metadata store.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rillet.engine._streams import attempt_text, read_attempt_lines

SHIP_EVERY = 0.25  # seconds between two chunks of one execution, at most
SHIP_LIMIT = 16 << 20  # bytes of one execution's output shipped, at most
CHUNK_MAX = 1 << 20  # bytes in one chunk, at most
READ_MAX = 1 << 20  # bytes one read of the stream takes, at most (then it reads again)


@dataclass(slots=True)
class _Followed:
    path: str  # the local log file
    base: int  # its size when the execution was claimed (an earlier claim's output)
    shipped: int = 0  # bytes shipped: the offset of the next chunk


class LogShipper:
    """Ships the live logs of the executions a worker holds (``follow`` .. ``drop``)."""

    def __init__(self, artifacts: Any, log_path: Callable[[str], str], *,
                 every: float = SHIP_EVERY, limit: int = SHIP_LIMIT) -> None:
        self.artifacts = artifacts
        self.log_path = log_path
        self.every = every
        self.limit = limit
        self._followed: dict[str, _Followed] = {}
        self._lock = threading.Lock()  # held while shipping: a drop waits for the chunk
        self._stop = threading.Event()

    def follow(self, execution_id: str) -> None:
        """Ship the output of ``execution_id`` from now on (the chunks of an earlier
        holder, a worker that died, are removed first: their offsets were its own)."""
        path = self.log_path(execution_id)
        try:
            base = os.path.getsize(path)
        except OSError:
            base = 0
        with self._lock:
            self.artifacts.remove_live_log(execution_id)
            self._followed[execution_id] = _Followed(path, base)

    def drop(self, execution_id: str) -> None:
        """The execution left the worker: its chunks and local log file are removed (its
        attempts' recorded logs hold the output now)."""
        with self._lock:
            followed = self._followed.pop(execution_id, None)
            with contextlib.suppress(Exception):
                self.artifacts.remove_live_log(execution_id)
        if followed is not None:
            with contextlib.suppress(OSError):
                os.unlink(followed.path)

    def ship(self) -> int:
        """Ship what each followed execution's file gained; the bytes shipped."""
        sent = 0
        with self._lock:
            for execution_id, followed in self._followed.items():
                sent += self._ship_one(execution_id, followed)
        return sent

    def _ship_one(self, execution_id: str, followed: _Followed) -> int:
        room = min(CHUNK_MAX, self.limit - followed.shipped)
        if room <= 0:
            return 0
        try:
            with open(followed.path, "rb") as f:
                f.seek(followed.base + followed.shipped)
                data = f.read(room)
        except OSError:
            return 0
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) < CHUNK_MAX:
            return 0  # half a line: shipped once whole
        chunk = data[:end] if end else data
        self.artifacts.put_log_chunk(execution_id, followed.shipped, chunk)
        followed.shipped += len(chunk)
        return len(chunk)

    def run(self) -> None:
        """Ship every ``every`` seconds until :meth:`stop` (a thread's target)."""
        while not self._stop.wait(self.every):
            try:
                self.ship()
            except Exception as exc:  # the store is away: the next look tries again
                print(f"rillet worker: live logs not shipped: {exc}", file=sys.stderr,
                      flush=True)

    def stop(self) -> None:
        self._stop.set()


def read_live_lines(artifacts: Any, execution_id: str, node_id: str, attempt: int,
                    offset: int = 0, limit: int = READ_MAX) -> tuple[str, int]:
    """As ``read_attempt_lines`` over the shipped chunks of ``execution_id``: one
    attempt's output from byte ``offset`` on, and the offset to read from next; whole
    chunks, until ``limit`` bytes (negative: every chunk there is)."""
    chunk = artifacts.get_log_chunk(execution_id, offset)
    if chunk is None and offset > 0:  # an offset inside a chunk: find the chunk
        starts = [s for s in artifacts.log_chunks(execution_id) if s < offset]
        if starts:
            found = artifacts.get_log_chunk(execution_id, starts[-1])
            if found is not None and starts[-1] + len(found) > offset:
                chunk = found[offset - starts[-1]:]
    data = bytearray()
    full = False  # ``limit`` bytes read (a negative limit: none)
    while chunk is not None:
        data += chunk
        full = 0 <= limit <= len(data)
        if full:
            break
        chunk = artifacts.get_log_chunk(execution_id, offset + len(data))
    end = len(data) if full else data.rfind(b"\n") + 1
    return attempt_text(bytes(data[:end]), node_id, attempt), offset + end


def read_output(path: str, artifacts: Any, execution_id: str, node_id: str, attempt: int,
                offset: int = 0, limit: int = READ_MAX) -> tuple[str, int]:
    """A running attempt's output from ``offset`` on, at most about ``limit`` bytes of
    the log a read: from this machine's log file (``path``) when there is one, else from
    the chunks a remote worker shipped to ``artifacts`` (the server's stream, ``rillet
    logs -f`` on the server's home)."""
    if artifacts is None or os.path.exists(path):
        return read_attempt_lines(path, node_id, attempt, offset, limit)
    return read_live_lines(artifacts, execution_id, node_id, attempt, offset, limit)

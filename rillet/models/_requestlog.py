"""The request log of a serving process: one row per answered prediction, written
by a background thread in batches, so that recording costs a request an append.

Rows are buffered for at most ``interval`` seconds (or until ``batch`` of them wait);
a process killed with SIGKILL loses at most that window. Nothing here serves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rillet.errors import RilletError
from rillet.services._model_requests import INSERT

Row = tuple[str, float, str, int, str, int, float, str | None, str | None, str | None,
            str | None]


class RequestLog:
    """Buffers rows and writes them in one transaction per batch: into ``db`` (as rows of
    the models of ``scope``, a project and domain), or through ``sink`` (a callable
    taking a batch, e.g. a POST to a rillet server, which knows the scope)."""

    def __init__(self, db: Any, interval: float = 0.1, batch: int = 2000,
                 sink: Callable[[list[Row]], Any] | None = None,
                 scope: tuple[str, str] = ("default", "development")) -> None:
        self._db = db
        self._scope = scope
        self._sink = sink
        self._interval = interval
        self._batch = batch
        self._rows: list[Row] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held only to swap the buffer
        self.written = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._loop, name="rillet-request-log",
                                        daemon=True)
        self._thread.start()

    def add(self, row: Row) -> None:
        with self._lock:  # uncontended but for the writer's swap
            rows = self._rows
            rows.append(row)
        if len(rows) >= self._batch:
            self._wake.set()

    def flush(self) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            if self._sink is not None:
                self._sink(rows)
            else:
                scope = self._scope
                with self._db.write() as c:
                    c.executemany(INSERT, [(*r, *scope) for r in rows])
            self.written += len(rows)
        except RilletError:  # a locked or lost database or server: keep serving, count it
            self.failures += len(rows)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()

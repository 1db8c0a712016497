"""Live output and metrics of attempts running on Ray: what a Ray task prints, and the
metrics a ``live_metrics`` job logs, reach the driver while the task runs.

A task that ends within ``STREAM_AFTER`` seconds costs nothing here (its output and
metrics come back with its result, as before): streaming a task costs a message or
two, and most tasks of a chain or a map batch are short. Once an attempt has run
``STREAM_AFTER`` seconds, a thread of its Ray worker (one per worker process, idle
between attempts) sends what it printed since the last send and the metrics it logged
to a *mailbox*, every ``STREAM_EVERY`` seconds: a small actor of the driver's,
created by the driver once one of its attempts runs that long, found by the worker by
its name. The driver takes the mailbox's messages while it waits for results. When an
attempt that streamed ends, its worker sends the rest and waits for the mailbox to
have it before the Ray task returns; the driver takes it all before it hands the
result over, so the output of an attempt arrives whole and in order.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

STREAM_AFTER = 0.25  # s an attempt runs before it streams
STREAM_EVERY = 0.25  # s between two sends of a streaming attempt
FINAL_WAIT = 30.0  # s the worker waits for the mailbox to take an attempt's last send

# A message: (token of the Ray task, output bytes, metrics, last send of that task)
Mail = tuple[int, bytes, list[tuple[str, float, "int | None", float]], bool]


class Mailbox:
    """The driver's actor (``num_cpus=0``): messages of streaming attempts, in order."""

    def __init__(self) -> None:
        self._items: list[Mail] = []

    def put(self, items: list[Mail]) -> None:
        self._items.extend(items)

    def take(self) -> list[Mail]:
        items, self._items = self._items, []
        return items


class _Current:
    """The attempt a Ray worker runs now, as far as streaming goes."""

    __slots__ = ("fd", "mailbox", "metrics", "next_at", "sent", "streamed", "token")

    def __init__(self, token: int, mailbox: str, fd: int) -> None:
        self.token = token
        self.mailbox = mailbox
        self.fd = fd
        self.next_at = time.monotonic() + STREAM_AFTER
        self.sent = 0  # bytes of its output file sent
        self.metrics: list[tuple[str, float, int | None, float]] = []  # not sent yet
        self.streamed = False  # something was sent


class Streamer:
    """In a Ray worker process: streams the running attempt (see the module). Its
    thread ticks every ``STREAM_EVERY`` s while the process lives; an attempt's start
    and end only set what it looks at (a short attempt costs two lock round trips)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: _Current | None = None
        self._thread: threading.Thread | None = None
        self._handle: tuple[str, Any] | None = None  # (mailbox name, actor handle)

    def begin(self, token: int, mailbox: str, fd: int) -> None:
        current = _Current(token, mailbox, fd)
        with self._lock:
            self._current = current
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="rillet-stream")
            self._thread.start()

    def metric(self, point: tuple[str, float, int | None, float]) -> None:
        """A metric the running attempt just logged (``run_attempt``'s ``live``)."""
        with self._lock:
            if self._current is not None:
                self._current.metrics.append(point)

    def end(self) -> bool:
        """The attempt ended: when it streamed, send the rest and wait until the mailbox
        has it. Whether it streamed (then the driver has its output from the mailbox)."""
        with self._lock:
            current, self._current = self._current, None
            if current is None or not current.streamed:
                return False
            ref = self._send(current, final=True)
        if ref is not None:
            with contextlib.suppress(Exception):
                import ray

                ray.get(ref, timeout=FINAL_WAIT)
        return True

    def _run(self) -> None:
        while True:
            time.sleep(STREAM_EVERY / 2)
            with self._lock:
                current = self._current
                if current is None or time.monotonic() < current.next_at:
                    continue
                with contextlib.suppress(Exception):
                    self._send(current, final=False)
                current.next_at = time.monotonic() + STREAM_EVERY

    def _send(self, current: _Current, final: bool) -> Any:
        """Send what ``current`` printed and logged since the last send (with the lock
        held: sends go out in order); the ObjectRef of the put, or None."""
        try:
            size = os.fstat(current.fd).st_size
            data = os.pread(current.fd, size - current.sent, current.sent) \
                if size > current.sent else b""
        except (OSError, ValueError):
            data = b""
        if not data and not current.metrics and not final:
            return None
        handle = self._mailbox(current.mailbox)
        if handle is None:  # not made yet: the driver makes it once it sees a long attempt
            return None
        ref = handle.put.remote([(current.token, data, current.metrics, final)])
        current.sent += len(data)
        current.metrics = []
        current.streamed = True
        return ref

    def _mailbox(self, name: str) -> Any:
        if self._handle is not None and self._handle[0] == name:
            return self._handle[1]
        import ray

        try:
            handle = ray.get_actor(name)
        except ValueError:
            return None
        self._handle = (name, handle)
        return handle


STREAMER = Streamer()


def start_mailbox(ray: Any, name: str) -> Any:
    """Make the driver's mailbox (on the driver's node when it can)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    strategy = NodeAffinitySchedulingStrategy(
        node_id=ray.get_runtime_context().get_node_id(), soft=True)
    actor = ray.remote(num_cpus=0, max_restarts=-1)(Mailbox)
    return actor.options(name=name, scheduling_strategy=strategy).remote()

"""The inline executor: runs each attempt in this process, one at a time.

For tests and debugging (a breakpoint in a task just works). ``submit`` only
queues; ``wait`` runs the next queued attempt and returns its result. Output is
captured at the Python level (``sys.stdout``/``sys.stderr``), so what C code or
a subprocess writes is not in the attempt's logs. It keeps no resources apart.
``stop`` cannot end a process here: the task is stopped at its next logged metric.
Processes a task starts (those that escape with ``setsid`` or a double fork included)
are ended when its attempt ends (``_descendants.AttemptProcesses``).
What a task prints is handed, as it prints it, to the engine that asked for it
(``push_output``: the execution's log file, and the console prefixed by the node),
else passed on to the console as it is. The elements of a running map that finished
are handed to whoever polls them from another thread (``poll_elements``: the engine's
heartbeat thread records them while the map blocks the engine's thread).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from rillet.engine._protocols import AttemptJob, AttemptResult, MetricListener, OutputChunk
from rillet.executors._capacity import machine_capacity
from rillet.executors._descendants import AttemptProcesses
from rillet.executors._run import AttemptStopped, element_index, run_attempt


class InlineExecutor:
    """Executor that runs attempts in the calling thread, in submission order."""

    name = "inline"
    runs_in_this_thread = True  # the engine beats from a thread while a task runs

    def __init__(self) -> None:
        self._queue: collections.deque[AttemptJob] = collections.deque()
        self._capacity: tuple[float, int, int] | None = None
        self._listener: MetricListener | None = None
        self._stops: dict[tuple[str, str], str] = {}  # (execution, node) -> why
        self._feed: Callable[[list[OutputChunk]], None] | None = None
        self._console = True
        self._feeding = threading.Lock()  # a task's own threads may print too
        # running maps: (execution, node) -> (job, values so far, failed elements so far,
        # how many of the values were polled already)
        self._maps: dict[tuple[str, str], tuple[AttemptJob, list[Any], list[Any], list[int]]] = {}

    def capacity(self) -> tuple[float, int, int]:
        if self._capacity is None:
            self._capacity = machine_capacity()
        return self._capacity

    def submit(self, job: AttemptJob) -> bool:
        self._queue.append(job)
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        if not self._queue:
            if timeout:
                time.sleep(timeout)
            return []
        job = self._queue.popleft()
        key = (job.execution_id, job.node_id)
        self._stops.pop(key, None)

        def live(metric: tuple[str, float, int | None, float]) -> None:
            if self._listener is not None:
                self._listener(job, *metric)
            why = self._stops.pop(key, None)
            if why is not None:
                raise AttemptStopped(why)

        feed = self._feed
        push = None
        if feed is not None:
            node_id, attempt, lock = job.node_id, job.attempt, self._feeding

            def push(text: str) -> None:
                with lock:
                    feed([(node_id, attempt, text)])

        done: list[Any] = []
        seen: list[Any] = []
        if job.mapped:
            self._maps[key] = (job, done, seen, [0])
        try:
            with AttemptProcesses():  # what the task starts ends with its attempt
                return [run_attempt(job, capture="sys", live=live, output=push,
                                    console=self._console or feed is None, done=done,
                                    seen=seen)]
        finally:
            self._stops.pop(key, None)
            self._maps.pop(key, None)

    def poll_elements(self) -> list[tuple[AttemptJob, list[tuple[int, Any]]]]:
        """The elements of running maps that finished since the last call: (the map's
        job, [(index, value), ...]) each. Called from another thread while a map runs
        in the engine's (each value list only grows; a failed element's None is followed
        by its error, so the last value of a map that keeps failures waits a call)."""
        out = []
        for job, done, seen, polled in list(self._maps.values()):
            start, stop = polled[0], len(done)
            if job.min_success_ratio < 1.0:
                stop -= 1
            if stop <= start:
                continue
            failed = {e[0] for e in list(seen)}
            polled[0] = stop
            pairs = [(i, v) for i, v in ((element_index(job, p), done[p])
                                         for p in range(start, stop)) if i not in failed]
            if pairs:
                out.append((job, pairs))
        return out

    def poll_output(self) -> list[OutputChunk]:
        """Nothing: what tasks print is pushed as they print it (``push_output``)."""
        return []

    def push_output(self, feed: Callable[[list[OutputChunk]], None] | None, *,
                    console: bool) -> None:
        """Hand what tasks print to ``feed`` as they print it (None: stop); ``console``
        also passes it on to the console as it is."""
        self._feed = feed
        self._console = console

    def listen(self, listener: MetricListener | None) -> None:
        self._listener = listener

    def stop(self, execution_id: str, node_id: str, reason: str) -> None:
        """Stop that node's running attempt when it next logs a metric."""
        self._stops[(execution_id, node_id)] = reason

    def running(self) -> int:
        """Submitted attempts whose result ``wait`` has not returned yet."""
        return len(self._queue)

    def shutdown(self) -> None:
        self._queue.clear()

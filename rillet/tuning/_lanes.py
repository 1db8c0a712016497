"""Several durable executions at once on one executor: one *lane* per trial thread.

An executor is driven from one thread at a time (``submit``/``wait``). Each trial's
engine runs in its own thread and talks to a :class:`Lane`, an ``Executor`` of its
own; the lanes share the real executor under one lock. Whichever lane waits *pumps*:
it calls the real ``wait`` briefly and hands every result to the lane whose
execution it belongs to. Jobs the real executor cannot admit yet wait in the lane
(so one trial's engine never sees "nothing can be admitted" while another trial's
tasks hold the capacity). Admission, resources and processes stay the real
executor's. Metrics an attempt logs go to one listener (the study's early stopping).
Nothing here knows about Optuna or the store.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time

from rillet.engine._protocols import AttemptJob, AttemptResult, Executor, MetricListener

_PUMP_S = 0.002  # the longest one pump holds the real executor


class SharedExecutor:
    """The real executor and its lanes."""

    def __init__(self, real: Executor, *, live_metrics: bool,
                 listener: MetricListener | None) -> None:
        self.real = real
        self.live_metrics = live_metrics
        self.lock = threading.Lock()  # held while calling the real executor
        self.cond = threading.Condition()  # lanes wait here for their results
        self.results: dict[str, list[AttemptResult]] = collections.defaultdict(list)
        self.pending: collections.deque[AttemptJob] = collections.deque()
        self.closed = False  # an engine was interrupted and shut the executor down
        if listener is not None:
            real.listen(listener)  # type: ignore[attr-defined]

    def lane(self) -> Lane:
        return Lane(self)

    def stop(self, execution_id: str, node_id: str, reason: str) -> None:
        """Called from a listener (inside a pump, the lock held)."""
        self.real.stop(execution_id, node_id, reason)  # type: ignore[attr-defined]

    def _submit_pending(self) -> None:
        while self.pending and self.real.submit(self.pending[0]):
            self.pending.popleft()

    def hand_over(self, job: AttemptJob) -> None:
        """Submit ``job`` now if no lane is pumping, else leave it to the pumping lane,
        which submits it when its slice ends: a submitting lane never waits for the
        lock (Python's lock is not fair: a lane pumping in a loop took it again before
        a waiting submitter woke, and trials reached their workers ~10 ms late)."""
        self.pending.append(job)
        self._try_submit()

    def _try_submit(self) -> None:
        if self.pending and self.lock.acquire(blocking=False):
            try:
                self._submit_pending()
            finally:
                self.lock.release()

    def pump(self, timeout: float) -> bool:
        """Wait on the real executor for up to ``timeout`` s if no other lane is doing it;
        False when another lane holds it."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            self._submit_pending()
            got = self.real.wait(timeout) if self.real.running() else []
            self._submit_pending()
        finally:
            self.lock.release()
        self._try_submit()  # handed over after this slice's last look
        if got:
            with self.cond:
                for r in got:
                    self.results[r.execution_id].append(r)
                self.cond.notify_all()
        elif not self.real.running():
            time.sleep(min(timeout, 0.005))
        return True


class Lane:
    """The executor one trial's engine sees."""

    def __init__(self, shared: SharedExecutor) -> None:
        self.shared = shared
        self.name = shared.real.name
        self.submitted: set[str] = set()
        self.inflight = 0

    def capacity(self) -> tuple[float, int, int]:
        return self.shared.real.capacity()

    def submit(self, job: AttemptJob) -> bool:
        shared = self.shared
        if shared.live_metrics:
            job = dataclasses.replace(job, live_metrics=True)
        self.inflight += 1
        shared.hand_over(job)  # or admitted by a later pump
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        end = time.monotonic() + (timeout or 0.0)
        shared = self.shared
        while True:
            with shared.cond:
                mine = [r for r in shared.results.pop(self.execution_id, [])]
            if mine:
                self.inflight -= len(mine)
                return mine
            if shared.closed:  # another trial's engine was interrupted: stop this one too
                raise KeyboardInterrupt
            left = end - time.monotonic()
            if self.inflight == 0 or (left <= 0 and timeout is not None):
                return []
            slice_s = max(0.0, min(left, _PUMP_S)) if timeout is not None else _PUMP_S
            if not shared.pump(slice_s):
                with shared.cond:
                    if not shared.results.get(self.execution_id):
                        shared.cond.wait(slice_s or 0.001)

    execution_id = ""  # set by the study before each execution

    def running(self) -> int:
        return self.inflight

    def shutdown(self) -> None:
        """The engine calls this when an execution is interrupted: stop the real one
        (the other lanes' engines are interrupted at their next wait)."""
        self.shared.closed = True
        with self.shared.lock:
            self.shared.real.shutdown()
        with self.shared.cond:
            self.shared.cond.notify_all()

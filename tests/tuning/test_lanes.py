"""Lanes (``rillet/tuning/_lanes.py``): a trial's engine that submits while another lane
pumps the real executor never waits for that pump; its job reaches the executor when
the pump's slice ends, in the order the lanes submitted."""

from __future__ import annotations

import threading

from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.tuning._lanes import SharedExecutor


class HeldExecutor:
    """A fake executor whose ``wait`` blocks until the test lets it go."""

    name = "held"

    def __init__(self) -> None:
        self.submitted: list[AttemptJob] = []
        self.waiting = threading.Event()
        self.go = threading.Event()

    def capacity(self) -> tuple[float, int, int]:
        return (2.0, 1 << 30, 0)

    def submit(self, job: AttemptJob) -> bool:
        self.submitted.append(job)
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        self.waiting.set()
        assert self.go.wait(60), "the test never let the pump go"
        return []

    def running(self) -> int:
        return 1

    def shutdown(self) -> None:
        pass


def _job(execution_id: str) -> AttemptJob:
    return AttemptJob(execution_id=execution_id, node_id="n", attempt=1, task=None, inputs={})


def test_a_lane_submits_without_waiting_for_the_lane_that_pumps() -> None:
    real = HeldExecutor()
    shared = SharedExecutor(real, live_metrics=False, listener=None)
    pumped: list[bool] = []
    pumper = threading.Thread(target=lambda: pumped.append(shared.pump(0.002)))
    pumper.start()
    assert real.waiting.wait(60)  # the first lane is inside the real executor's wait
    a, b = shared.lane(), shared.lane()
    submitters = [threading.Thread(target=lane.submit, args=(_job(eid),))
                  for lane, eid in ((a, "e1"), (b, "e2"))]
    for t in submitters:
        t.start()
        t.join(60)
        assert not t.is_alive(), "submit waited for the pumping lane"
    assert real.submitted == []  # not while the real executor is in another lane's wait
    real.go.set()
    pumper.join(60)
    assert pumped == [True]
    assert [j.execution_id for j in real.submitted] == ["e1", "e2"]  # then, in order
    assert a.running() == b.running() == 1


def test_a_lane_submits_at_once_when_no_lane_pumps() -> None:
    real = HeldExecutor()
    lane = SharedExecutor(real, live_metrics=True, listener=None).lane()
    lane.submit(_job("e1"))
    (job,) = real.submitted
    assert job.execution_id == "e1" and job.live_metrics  # the study's lanes ask for them

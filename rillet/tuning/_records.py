"""A trial's row written in the transactions of its execution's records.

The engine writes an execution one transaction per step (``MetadataStore.apply``).
:class:`TrialRecords` is the store the trials' engines see: every call passes
through, and a trial's row joins the batches of its execution: RUNNING with the
first, its end (made by the study from what the batches carried: the metrics, the
nodes, the execution's end) with the one that ends the execution. A trial thus costs
no transaction of its own, and its row never disagrees with its execution after a
crash. Its metrics are taken from the batches as they are written, not read back.
Nothing here knows Optuna or decides a trial's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rillet.engine._records import (
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
from rillet.store._sql import SqlMetadataStore
from rillet.store._studies import StudyStore, TrialRecord

# A metric as a trial sees it: (node id, key, value, step, timestamp).
Point = tuple[str, str, float, "int | None", float]
Series = dict[str, list[tuple[int, float, float]]]  # key -> (step, value, time), in order


class Seen:
    """What the committed batches of one trial's execution carried."""

    __slots__ = ("end", "nodes", "points", "row", "started")

    def __init__(self, row: TrialRecord) -> None:
        self.row = row  # the trial as it started (RUNNING)
        self.started = False  # that row is written
        self.points: list[Point] = []
        self.nodes: dict[str, NodeRecord] = {}
        self.end: tuple[ExecutionStatus, TrialRecord] | None = None  # the end written


# (the trial as it started, the execution's end, its metrics) -> the trial's end row,
# or None when that end is not the trial's to record (an interrupted execution).
EndOf = Callable[[TrialRecord, ExecutionRecord, Series], "TrialRecord | None"]


class TrialRecords:
    """The metadata store of a study's engines (one per lane, any thread)."""

    def __init__(self, store: SqlMetadataStore, end_of: EndOf) -> None:
        self._store = store
        self._end_of = end_of
        self._lock = threading.Lock()
        self._open: dict[str, Seen] = {}  # execution id -> its trial

    def __getattr__(self, name: str) -> Any:  # the rest of MetadataStore, as it is
        return getattr(self._store, name)

    def begin(self, row: TrialRecord) -> None:
        """``row`` (RUNNING) is written with the first batch of its execution."""
        assert row.execution_id is not None
        with self._lock:
            self._open[row.execution_id] = Seen(row)

    def finish(self, execution_id: str) -> Seen:
        """What was written for the trial of ``execution_id``; it is closed."""
        with self._lock:
            return self._open.pop(execution_id)

    def series(self, seen: Seen) -> Series:
        """Each metric's (step, value, time) in the order logged; those of CACHED and
        RECOVERED nodes come from the execution that computed them."""
        points = list(seen.points)
        for n in seen.nodes.values():
            if n.status in (NodeStatus.CACHED, NodeStatus.RECOVERED) and n.source_execution:
                points.extend((m.node_id, m.key, m.value, m.step, m.timestamp)
                              for m in self._store.metrics(n.source_execution)
                              if m.node_id == n.source_node)
        points.sort(key=lambda p: p[4])
        out: Series = {}
        for _, key, value, step, at in points:
            seq = out.setdefault(key, [])
            seq.append((step if step is not None else len(seq), value, at))
        return out

    def apply(self, batch: Batch, **kw: Any) -> None:
        with self._lock:
            seen = self._open.get(_execution_of(batch))
        if seen is None:
            self._store.apply(batch, **kw)
            return
        points: list[Point] = [(nid, p[0], p[1], p[2], p[3])
                               for _, nid, _, logged in batch.metric_points for p in logged]
        points.extend((m.node_id, m.key, m.value, m.step, m.timestamp) for m in batch.metrics)
        nodes = {n.node_id: n for n in batch.nodes}
        rows = [] if seen.started else [seen.row]
        end: tuple[ExecutionStatus, TrialRecord] | None = None
        ended = [e for e in batch.executions if e.status not in
                 (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)]
        if ended:
            record = ended[-1]
            probe = Seen(seen.row)
            probe.points, probe.nodes = seen.points + points, {**seen.nodes, **nodes}
            row = self._end_of(seen.row, record, self.series(probe))
            if row is not None:
                rows.append(row)
                end = (record.status, row)

        def write(c: Any) -> None:
            for row in rows:
                StudyStore.save_trial_in(c, row)

        self._store.apply(batch, also=write if rows else None)
        # committed (a batch that failed is tried again whole: nothing is kept of it)
        seen.started = True
        seen.points.extend(points)
        seen.nodes.update(nodes)
        if end is not None:
            seen.end = end


def _execution_of(batch: Batch) -> str:
    """The execution an engine's batch belongs to (one engine step: one execution)."""
    for records in (batch.executions, batch.nodes, batch.attempts):
        if records:
            first = records[0]
            return first.id if isinstance(first, ExecutionRecord) else first.execution_id
    if batch.metric_points:
        return str(batch.metric_points[0][0])
    return ""

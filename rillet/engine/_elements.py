"""Map elements that succeeded in a map attempt that did not: kept (each element's value
in the value store, a SUCCEEDED ``map_elements`` row with its hash, in the commit of
the attempt's result, or as they finish once the map has run a while, when the
executor tells), and taken instead of running the element again by the map's
next attempt and by a recovery of the execution. No scheduling here: the engine asks
which elements a map's attempt runs and hands back what came of them.
"""

from __future__ import annotations

import time
import typing
from typing import Any

from rillet.engine._graph import RNode, deps_of
from rillet.engine._records import Batch, MapElementRecord, NodeStatus
from rillet.engine._runstate import RunState
from rillet.engine._values import Value, ValueStore

KEEP_AFTER = 1.0  # s a map attempt runs before its elements are recorded as they finish
ELEMENTS = "elements"  # node meta: index -> value hash (None: a task with no output)
RUNS = "map_run"  # node meta: the indices the running attempt computes (None: all)


def element_type(node: RNode) -> Any:
    """The type of one element's value (None for a task with no output)."""
    if not node.outputs:
        return None
    ((_, tp),) = node.outputs.items()
    args = typing.get_args(tp)
    return args[0] if args else Any


class Elements(RunState):
    """What one execution keeps of its maps' elements."""

    def _recovered_elements(self, node: RNode, meta: dict[str, Any]) -> None:
        """In a recovery, the elements of ``node`` that succeeded in the execution being
        recovered (in any attempt, or taken there from the one it recovered), when the
        node is the same (code and inputs) and their values are still stored."""
        reuse = self.reuse
        if reuse is None or ELEMENTS in meta or self._forced(node.id):
            return
        meta[ELEMENTS] = {}
        old = reuse.nodes.get(node.id)
        if old is None or old.kind != "map" or old.code_hash != meta.get("code_hash"):
            return
        if not old.code_hash or old.inputs != meta.get("inputs"):
            return
        if any(d in self.tainted for d in deps_of(node.inputs)):
            return
        rows = {e.map_index: e.output for e in self._old_elements(reuse.execution_id)
                if e.node_id == node.id and e.status is NodeStatus.SUCCEEDED}
        if not rows:
            return
        tp = element_type(node)
        if tp is not None:
            hashes = [h for h in rows.values() if h is not None]
            self.values.prefetch(hashes)
            pruned = reuse.pruned
            rows = {i: h for i, h in rows.items() if h is not None and h not in pruned
                    and self.values.usable(h, tp)}
        meta[ELEMENTS] = rows
        meta["elements_taken"] = dict(rows)  # recorded with the next attempt

    def _old_elements(self, execution_id: str) -> list[MapElementRecord]:
        found = getattr(self, "_element_rows", None)
        if found is None:
            found = self._element_rows = self.store.map_elements(execution_id)
        return found

    def _map_inputs(self, node: RNode, meta: dict[str, Any], inputs: dict[str, Any],
                    mapped: tuple[str, ...], ratio: float
                    ) -> tuple[dict[str, Any], tuple[int, ...] | None, float]:
        """The mapped inputs of the next attempt of ``node``: only the elements not done
        yet, their indices, and the ``min_success_ratio`` that, over them, asks what the
        node's ratio asks over all its elements."""
        meta[RUNS] = None
        done = meta.get(ELEMENTS)
        if not done or not mapped:
            return inputs, None, ratio
        columns = [list(inputs[name]) for name in mapped]
        total = len(columns[0])
        if any(len(c) != total for c in columns) or max(done) >= total:
            return inputs, None, ratio  # the attempt reports the unequal lengths
        indices = tuple(i for i in range(total) if i not in done)
        reduced = dict(inputs)
        for name, column in zip(mapped, columns, strict=True):
            reduced[name] = [column[i] for i in indices]
        if ratio < 1.0 and indices:
            ratio = max(0.0, 1.0 - (1.0 - ratio) * total / len(indices) - 1e-12)
        meta[RUNS] = indices
        meta["map_total"] = total
        taken = meta.pop("elements_taken", None)
        if taken:
            attempt = node.attempt + 1
            self.batch.map_elements.extend(
                MapElementRecord(execution_id=self.id, node_id=node.id, attempt=attempt,
                                 map_index=i, status=NodeStatus.SUCCEEDED, output=h)
                for i, h in sorted(taken.items()))
        return reduced, indices, ratio

    def _keep_elements(self, node: RNode, attempt: int,
                       values: list[tuple[int, Any]]) -> None:
        """A map attempt that did not succeed: store the values of its elements that did
        and record them (SUCCEEDED, with their hashes) in this step's commit."""
        meta = self.node_meta[node.id]
        done = meta.setdefault(ELEMENTS, {})
        tp = element_type(node)
        rows = []
        for index, value in values:
            digest = None
            if tp is not None:
                try:
                    digest = self.values.put(value, tp).hash
                except Exception:  # a value that cannot be stored: the element runs again
                    continue
            done[index] = digest
            rows.append(MapElementRecord(
                execution_id=self.id, node_id=node.id, attempt=attempt, map_index=index,
                status=NodeStatus.SUCCEEDED, output=digest))
        self.batch.map_elements.extend(rows)

    def _whole_map(self, node: RNode, outputs: Any) -> Any:
        """The outputs of a map attempt that ran only some elements, with the values of
        those done before, in element order: a Value built from their stored forms
        (never decoded here), or the list when its shape needs decoding."""
        meta = self.node_meta[node.id]
        indices = meta.get(RUNS)
        tp = element_type(node)
        if indices is None or tp is None:
            return outputs
        full: list[Any] = [None] * meta["map_total"]
        for index, digest in meta[ELEMENTS].items():
            full[index] = self.values.ref(digest, tp)
        for index, value in zip(indices, outputs, strict=True):
            full[index] = value
        ((_, list_tp),) = node.outputs.items()
        whole = self.values.compose(list_tp, None, full)
        if whole is not None:
            return whole
        return [v.get() if isinstance(v, Value) else v for v in full]

    def _keep_running_elements(self) -> None:
        """In the heartbeat thread, while a map runs in the engine's own thread (the
        inline executor, which blocks the engine until the map ends): record the
        elements that finished, once the map has run KEEP_AFTER seconds, so that a run
        killed in the middle of it keeps them for its recovery. It writes its own batch
        with a value store of its own, and reads no engine state that the blocked
        engine thread changes meanwhile."""
        assert self.element_poll is not None
        waiting = self.unkept_elements  # the only state of the engine's this thread changes
        for job, pairs in self.element_poll():
            if job.execution_id == self.id:
                waiting.setdefault((job.node_id, job.attempt), []).extend(pairs)
        now = time.time()
        values = ValueStore(self.store, self.engine.artifacts)
        rows: list[MapElementRecord] = []
        for (node_id, attempt), pairs in list(waiting.items()):
            node = self.graph.nodes.get(node_id)
            started = self.node_meta.get(node_id, {}).get("attempt_started")
            if node is None or node.attempt != attempt or node_id not in self.running:
                del waiting[node_id, attempt]  # ended: its result keeps what it did
                continue
            if started is None or now - started < KEEP_AFTER:
                continue
            del waiting[node_id, attempt]
            tp = element_type(node)
            for index, value in pairs:
                try:
                    digest = None if tp is None else values.put(value, tp).hash
                except Exception:  # a value that cannot be stored: the element runs again
                    continue
                rows.append(MapElementRecord(
                    execution_id=self.id, node_id=node_id, attempt=attempt, map_index=index,
                    status=NodeStatus.SUCCEEDED, output=digest))
        if rows:
            self.store.apply(Batch(artifacts=values.take_pending(), map_elements=rows))
            values.confirm_stored()

    def _keep_pending_elements(self) -> None:
        """Aborting: record the finished elements of running maps, however short."""
        if self.element_poll is None:
            return
        try:
            self._poll_elements(keep_after=0.0)
        except Exception:  # the abort goes on
            pass

    def _poll_elements(self, keep_after: float = KEEP_AFTER) -> None:
        """Record the elements of running maps that finished (as the executor tells),
        once their attempt has run KEEP_AFTER seconds: a map killed with the whole run
        then keeps them for its recovery, and a short map pays nothing."""
        assert self.element_poll is not None
        pending = self.pending_elements
        for job, pairs in self.element_poll():
            node = self.graph.nodes.get(job.node_id)
            if (job.execution_id == self.id and pairs and node is not None
                    and node.attempt == job.attempt and node.id in self.running):
                pending.setdefault(node.id, []).extend(pairs)
        if not pending:
            return
        now = time.time()
        for node_id in list(pending):
            if node_id not in self.running:
                del pending[node_id]
            elif now - self.node_meta[node_id]["attempt_started"] >= keep_after:
                node = self.graph.nodes[node_id]
                self._keep_elements(node, node.attempt, pending.pop(node_id))

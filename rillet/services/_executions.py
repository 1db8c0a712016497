"""Executions: list, show, logs, abort and the event log, as the CLI and the API
both serve them. Reading reaps crashed executions first, as the CLI always did."""

from __future__ import annotations

import time
from typing import Any

from rillet.engine._reaper import ABORT_REASON, end_unowned, owner_alive, reap
from rillet.engine._records import (
    ENDED,
    AttemptRecord,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
)
from rillet.engine._views import params_and_metrics
from rillet.errors import Conflict, ExecutionEnded, NotFound
from rillet.services._shapes import (
    AttemptLogs,
    EventShape,
    ExecutionDetail,
    ExecutionSummary,
    NodeShape,
)
from rillet.services._values import shown_values
from rillet.store._instance import Instance

MAX_PAGE = 1000


NO_ATTEMPT = "ran no attempt"


class NoAttempt(NotFound):
    """The node exists but ran no attempt (its value was cached, recovered, skipped)."""


def summary(r: ExecutionRecord) -> ExecutionSummary:
    return {"execution_id": r.id, "workflow": r.workflow, "status": r.status.value,
            "created_at": r.created_at, "started_at": r.started_at, "ended_at": r.ended_at,
            "parent_id": r.parent_id, "error": r.error}


def node_shape(n: NodeRecord, params: dict[str, Any],
               metrics: list[dict[str, Any]]) -> NodeShape:
    return {
        "node_id": n.node_id, "task": n.task, "kind": n.kind, "status": n.status.value,
        "attempts": n.attempts, "started_at": n.started_at, "ended_at": n.ended_at,
        "duration": (n.ended_at - n.started_at) if n.started_at and n.ended_at else None,
        "cache_key": n.cache_key, "source_execution": n.source_execution,
        "source_node": n.source_node, "inputs": n.inputs, "outputs": n.outputs,
        "error": n.error, "params": params, "metrics": metrics,
    }


def list_executions(inst: Instance, *, limit: int = 50, workflow: str | None = None,
                    status: str | None = None, before: float | None = None,
                    project: str | None = None, domain: str | None = None,
                    since: float | None = None, until: float | None = None
                    ) -> list[ExecutionSummary]:
    """Newest first, filtered; ``before`` pages on (the last row's ``created_at``).
    ``since`` <= ``created_at`` < ``until`` is the time range (epoch seconds)."""
    if status is not None:
        ExecutionStatus(status)  # a ValueError names the bad status
    if since is not None and until is not None and since >= until:
        raise ValueError(f"the time range is empty: since ({since}) is not before "
                         f"until ({until})")
    limit = max(0, min(limit, MAX_PAGE))
    if until is not None:
        before = until if before is None else min(before, until)
    records = inst.store.list_executions(limit, workflow=workflow, status=status,
                                         before=before, project=project, domain=domain,
                                         since=since)
    return [summary(r) for r in reap(inst.store, records)]


def get_execution(inst: Instance, execution_id: str) -> ExecutionRecord:
    """The record (a unique id prefix is accepted), reaped if its owner is gone."""
    (record,) = reap(inst.store, [inst.store.get_execution(execution_id)])
    return record


def execution_detail(inst: Instance, execution_id: str) -> ExecutionDetail:
    """One execution with its nodes, params and metrics, and its inputs shown from their
    records (inline JSON, else type/hash/size: never decoded) (`executions show --json`)."""
    from rillet.platform._teams import execution_scope

    store = inst.store
    record = get_execution(inst, execution_id)
    params, metrics = params_and_metrics(store, record.id)
    project, domain = execution_scope(store, record.id)
    return {
        "execution_id": record.id, "workflow": record.workflow, "source": record.source,
        "status": record.status.value, "parent_id": record.parent_id,
        "error": record.error, "inputs": record.inputs, "outputs": record.outputs,
        "created_at": record.created_at, "started_at": record.started_at,
        "ended_at": record.ended_at,
        "nodes": [node_shape(n, params.get(n.node_id, {}), metrics.get(n.node_id, []))
                  for n in store.nodes(record.id)],
        "input_values": shown_values(store, getattr(inst.artifacts, "root", None),
                                     record.inputs),
        "project": project, "domain": domain,
    }


def node_logs(inst: Instance, execution_id: str, node_id: str,
              attempt: int | None = None) -> AttemptLogs:
    """The captured output of one attempt of a node (default: its last)."""
    store = inst.store
    record = store.get_execution(execution_id)
    attempts = store.attempts(record.id, node_id)
    if not attempts:
        nodes = store.nodes(record.id)
        node = next((n for n in nodes if n.node_id == node_id), None)
        if node is not None:
            source = (f"; its value came from {node.source_execution}:{node.source_node}"
                      if node.source_execution else "")
            raise NoAttempt(f"node '{node_id}' of execution {record.id} is "
                           f"{node.status.value} and {NO_ATTEMPT}{source}")
        known = ", ".join(sorted({n.node_id for n in nodes}))
        raise NotFound(f"execution {record.id} has no attempts of node '{node_id}' "
                       f"(nodes: {known})")
    attempts.sort(key=lambda a: a.attempt)
    chosen: AttemptRecord | None = attempts[-1] if attempt is None else next(
        (a for a in attempts if a.attempt == attempt), None)
    if chosen is None:
        raise NotFound(f"node '{node_id}' has attempts 1..{attempts[-1].attempt}, "
                       f"not {attempt}")
    return {"execution_id": record.id, "node_id": node_id, "attempt": chosen.attempt,
            "status": chosen.status.value, "logs": chosen.logs, "traceback": chosen.traceback}




def abort(inst: Instance, execution_id: str, who: str | None = None) -> ExecutionSummary:
    """Abort an unfinished execution: its owner kills the running attempts at its next
    heartbeat and ends it ABORTED; one without a live owner (queued, or its owner
    gone) is ended ABORTED here. Aborting an ended execution is a ``Conflict``."""
    store = inst.store
    record = store.get_execution(execution_id)
    if record.status in ENDED:
        raise Conflict(f"execution {record.id} already ended {record.status.value}; "
                       "nothing to abort")
    now = time.time()
    store.request_abort(record.id, now)
    from rillet.platform._queue import ABORTS
    from rillet.services._teams import record_abort

    ABORTS.notify(record.id)  # this process's workers stop its attempts at once

    record_abort(inst, record.id, who)
    record = store.get_execution(record.id)
    if record.status not in ENDED and not (record.owner_pid and owner_alive(record, now)):
        try:
            end_unowned(store, record, ExecutionStatus.ABORTED, ABORT_REASON, now)
        except ExecutionEnded as exc:  # its engine's end came first (the store keeps it)
            raise Conflict(f"execution {record.id} already ended {exc.ended}; "
                           "nothing to abort") from None
        record = store.get_execution(record.id)
    return summary(record)


def event_shape(e: Any) -> EventShape:
    return {"seq": e.seq, "execution_id": e.execution_id, "node_id": e.node_id,
            "kind": e.kind, "status": e.status, "at": e.at, "data": e.data}


def events(inst: Instance, execution_id: str | None = None, after: int = 0,
           limit: int = 1000) -> list[EventShape]:
    """Events past the cursor ``after``, oldest first."""
    if execution_id is not None:
        execution_id = inst.store.get_execution(execution_id).id
    return [event_shape(e) for e in inst.store.events(
        execution_id, after=after, limit=max(1, min(limit, 10_000)))]

"""Executions side by side (the UI's compare page): each one's inputs, params and
metrics in one answer, every metric as two columns (steps, values) per node and key, so
that 100 executions with curves of 1,000 steps are one request of a few MB rather than
100 detail answers of a list of dicts each. Reads only; never decodes a stored value."""

from __future__ import annotations

from typing import Any

from rillet.engine._records import MetricRecord
from rillet.services._executions import get_execution
from rillet.services._shapes import ComparedExecution, MetricColumns
from rillet.services._values import shown_values
from rillet.store._instance import Instance

MAX_COMPARED = 200  # executions in one answer


def compare_executions(inst: Instance, ids: list[str]) -> list[ComparedExecution]:
    """``ids`` (unique prefixes accepted) in their order; an unknown one is NotFound."""
    if not 1 <= len(ids) <= MAX_COMPARED:
        raise ValueError(f"compare takes 1 to {MAX_COMPARED} execution ids, got {len(ids)}")
    root = getattr(inst.artifacts, "root", None)
    out: list[ComparedExecution] = []
    for execution_id in ids:
        record = get_execution(inst, execution_id)
        params: dict[str, dict[str, object]] = {}
        for p in inst.store.params(record.id):
            params.setdefault(p.node_id, {})[p.key] = p.value
        out.append({
            "execution_id": record.id, "workflow": record.workflow,
            "status": record.status.value, "created_at": record.created_at,
            "started_at": record.started_at, "ended_at": record.ended_at,
            "inputs": record.inputs,
            "input_values": shown_values(inst.store, root, record.inputs),
            "params": params,
            "metrics": metric_columns(inst.store, record.id),
        })
    return out


def metric_columns(store: Any, execution_id: str) -> dict[str, dict[str, MetricColumns]]:
    """``{node: {key: {steps, values}}}`` of an execution: from the SQL store's packed
    rows without a record per point (``SqlMetadataStore.metric_columns``: 100 executions
    of 2,000 points about 60 ms rather than 400); else from ``store.metrics``."""
    packed = getattr(store, "metric_columns", None)
    if packed is None:
        return columns(store.metrics(execution_id))
    return {node: {key: {"steps": steps, "values": values}
                   for key, (steps, values) in keys.items()}
            for node, keys in packed(execution_id).items()}


def columns(points: list[MetricRecord]) -> dict[str, dict[str, MetricColumns]]:
    """An execution's metric points (in logging order, every attempt's, as the detail
    lists them) as ``{node: {key: {steps, values}}}``; a step not given is null (the
    page takes the point's position)."""
    out: dict[str, dict[str, MetricColumns]] = {}
    last: tuple[str, str] | None = None
    got: MetricColumns = {"steps": [], "values": []}
    for p in points:
        if (p.node_id, p.key) != last:  # points come in runs of one node and key
            last = (p.node_id, p.key)
            got = out.setdefault(p.node_id, {}).setdefault(p.key, {"steps": [], "values": []})
        got["steps"].append(p.step)
        got["values"].append(p.value)
    return out

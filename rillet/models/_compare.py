"""Experiments compared: the inputs, params and last metric values of executions side
by side (``rillet compare``), and every metric's series (``rillet metrics``).

Reads the metadata store only; returns plain JSON shapes that the CLI prints.
"""

from __future__ import annotations

import json
from typing import Any

from rillet.engine._reaper import reap


def _value(record: Any, digest: str) -> Any:
    """An input's value when it is small JSON; otherwise what and where it is."""
    if record is not None and record.format == "json" and record.inline is not None:
        return json.loads(record.inline)
    kind = record.type.get("kind") if record is not None else None
    return {"type": kind, "hash": digest}


def _last_attempts(rows: list[Any]) -> list[Any]:
    """Rows of each node's last attempt only (a retried node's final values)."""
    last: dict[str, int] = {}
    for r in rows:
        last[r.node_id] = max(last.get(r.node_id, 0), r.attempt)
    return [r for r in rows if r.attempt == last[r.node_id]]


def compare(store: Any, execution_ids: list[str]) -> dict[str, Any]:
    """One row per input, param (``node.key``) and metric (``node.key``, last value),
    a value per execution (None where it has none), and whether they differ."""
    records = reap(store, [store.get_execution(e) for e in execution_ids])
    columns: list[dict[str, dict[str, Any]]] = []
    for r in records:
        found = store.artifacts(list(r.inputs.values()))
        inputs = {n: _value(found.get(h), h) for n, h in r.inputs.items()}
        params = {f"{p.node_id}.{p.key}": p.value for p in _last_attempts(store.params(r.id))}
        metrics: dict[str, Any] = {}
        for m in _last_attempts(store.metrics(r.id)):  # in logging order: the last wins
            metrics[f"{m.node_id}.{m.key}"] = m.value
        columns.append({"input": inputs, "param": params, "metric": metrics})
    rows = []
    for kind in ("input", "param", "metric"):
        names = sorted({n for c in columns for n in c[kind]})
        for name in names:
            values = [c[kind].get(name) for c in columns]
            rows.append({"kind": kind, "name": name, "values": values,
                         "differs": any(v != values[0] for v in values[1:])})
    return {"executions": [{"execution_id": r.id, "workflow": r.workflow,
                            "status": r.status.value} for r in records], "rows": rows}


def metric_series(store: Any, execution_id: str, node: str | None = None) -> dict[str, Any]:
    """Every metric of an execution (of one node): node -> key -> points in order."""
    record = store.get_execution(execution_id)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for m in store.metrics(record.id):
        if node is not None and m.node_id != node:
            continue
        out.setdefault(m.node_id, {}).setdefault(m.key, []).append(
            {"step": m.step, "value": m.value, "attempt": m.attempt, "timestamp": m.timestamp})
    return {"execution_id": record.id, "metrics": out}

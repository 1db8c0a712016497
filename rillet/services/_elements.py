"""The elements of a map node, as the CLI and the API show them: one row per element,
its value from the map's output list when that is kept inline, and the element records
the engine keeps (a failed element, or one done in an attempt that failed: its error,
traceback and logs). Read only; never decodes a stored (non-inline) value."""

from __future__ import annotations

from typing import Any

from rillet.engine._records import MapElementRecord
from rillet.errors import DefinitionError, NotFound
from rillet.services._executions import get_execution
from rillet.services._shapes import MapElementShape
from rillet.services._values import shown_values
from rillet.store._instance import Instance


def map_elements(inst: Instance, execution_id: str, node_id: str) -> list[MapElementShape]:
    """The elements of map node ``node_id`` in index order (latest record of each)."""
    store = inst.store
    record = get_execution(inst, execution_id)
    node = next((n for n in store.nodes(record.id) if n.node_id == node_id), None)
    if node is None:
        raise NotFound(f"execution {record.id} has no node '{node_id}'")
    if node.kind != "map":
        raise DefinitionError(f"node '{node_id}' of execution {record.id} is a {node.kind} "
                              "node, not a map: it has no elements")
    latest: dict[int, MapElementRecord] = {}
    for e in store.map_elements(record.id):
        if e.node_id == node_id and (e.map_index not in latest
                                     or e.attempt >= latest[e.map_index].attempt):
            latest[e.map_index] = e
    values: list[Any] | None = None
    if node.outputs:
        shown = next(iter(shown_values(store, getattr(inst.artifacts, "root", None),
                                       node.outputs).values()))
        values = shown if isinstance(shown, list) else None
    count = max(len(values or []), max(latest, default=-1) + 1)
    return [_shape(i, latest.get(i), node.status.value, values) for i in range(count)]


def _shape(index: int, e: MapElementRecord | None, node_status: str,
           values: list[Any] | None) -> MapElementShape:
    value = values[index] if values is not None and index < len(values) else None
    if e is None:
        return {"map_index": index, "status": node_status, "attempt": None, "value": value,
                "error": None, "traceback": None, "logs": ""}
    error = f"{e.error_type}: {e.error_message}" if e.error_type else e.error_message
    return {"map_index": index, "status": e.status.value, "attempt": e.attempt,
            "value": value, "error": error, "traceback": e.traceback, "logs": e.logs}

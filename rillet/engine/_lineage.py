"""Walking lineage: from an artifact to the node executions that produced it and
their inputs (upstream), or to the node executions that used it (downstream).

Reads through the MetadataStore protocol only: records, never a value's bytes (a
pickled value is shown by its type and size, never unpickled).
"""

from __future__ import annotations

from typing import Any

from rillet.engine._protocols import MetadataStore
from rillet.engine._records import NodeRecord
from rillet.errors import NotFound
from rillet.types._descriptor import describe_name


def resolve_ref(store: MetadataStore, ref: str) -> list[str]:
    """Artifact hashes named by ``ref``: ``EXEC``, ``EXEC:NODE`` or a hash prefix."""
    return resolve_scoped(store, ref)[0]


def resolve_scoped(store: MetadataStore, ref: str) -> tuple[list[str], str | None]:
    """The hashes named by ``ref`` and the execution it names (None for a hash prefix):
    a walk from ``EXEC:NODE`` starts at that node, even when others made the same value."""
    if ":" in ref:
        exec_ref, node_id = ref.split(":", 1)
        execution = store.get_execution(exec_ref)
        for n in store.nodes(execution.id):
            if n.node_id == node_id:
                return list(n.outputs.values()), execution.id
        raise NotFound(f"execution {execution.id} has no node '{node_id}'")
    try:
        execution = store.get_execution(ref)
    except NotFound:
        found = store.find_artifacts(ref)
        if not found:
            raise NotFound(
                f"'{ref}' is neither an execution id, EXEC:NODE, nor an artifact hash prefix"
            ) from None
        if len(found) > 1:
            raise NotFound(
                f"artifact prefix '{ref}' is ambiguous ({len(found)} artifacts)") from None
        return [found[0].hash], None
    return list((execution.outputs or {}).values()), execution.id


def _node(n: NodeRecord) -> dict[str, Any]:
    """A node execution in a lineage tree: which attempt of which task version."""
    return {"execution_id": n.execution_id, "node_id": n.node_id, "task": n.task,
            "status": n.status.value, "attempt": n.attempts or None,
            "code_hash": n.code_hash or None}


def walk(store: MetadataStore, hashes: list[str], upstream: bool,
         max_depth: int = 50, within: str | None = None) -> list[dict[str, Any]]:
    """A tree of dicts: each artifact with its producers (upstream) or consumers.

    Upstream, the producer inside execution ``within`` comes first (a CACHED node
    there links to the producing execution); otherwise the first producer."""
    records = store.artifacts(hashes)
    seen: set[str] = set()
    execution_inputs: dict[str, set[str]] = {}

    def inputs_of(execution_id: str) -> set[str]:
        found = execution_inputs.get(execution_id)
        if found is None:
            found = execution_inputs[execution_id] = set(
                store.get_execution(execution_id).inputs.values())
        return found

    def visit(h: str, depth: int, within: str | None = None) -> dict[str, Any]:
        rec = records.get(h) or store.artifacts([h]).get(h)
        item: dict[str, Any] = {"hash": h, "type": rec.type.get("kind") if rec else None,
                                "size": rec.size if rec else None, "uri": rec.uri if rec else None,
                                "type_name": describe_name(rec.type) if rec else None,
                                "format": rec.format if rec else None,
                                "pickled": rec is not None and rec.format == "pickle"}
        if h in seen or depth >= max_depth:
            item["repeat"] = True
            return item
        seen.add(h)
        if upstream:
            producers = store.producers(h)
            if within is not None:  # the producer inside the same execution, if any
                local = [p for p in producers if p.execution_id == within]
                if h in inputs_of(within):
                    local = []
                if not local:
                    item["workflow_input_of"] = within
                producers = local
            item["produced_by"] = [
                {**_node(p), "source_execution": p.source_execution,
                 "source_node": p.source_node,
                 "inputs": {name: visit(ih, depth + 1, p.execution_id)
                            for name, ih in p.inputs.items()}}
                for p in producers[:1]
            ]
        else:
            item["used_by"] = [
                {**_node(c), "outputs": {name: visit(oh, depth + 1)
                                         for name, oh in c.outputs.items()}}
                for c in store.consumers(h)
            ]
        return item

    return [visit(h, 0, within) for h in hashes]


def render(tree: list[dict[str, Any]], upstream: bool) -> list[str]:
    lines: list[str] = []

    def art(item: dict[str, Any], indent: str) -> None:
        kind = (f"pickled {item.get('type_name')}, {item.get('size')} bytes"
                if item.get("pickled") else item.get("type"))  # shown, never unpickled
        lines.append(f"{indent}artifact {item['hash'][:12]} ({kind})"
                     + (" …" if item.get("repeat") else "")
                     + (f" = input of execution {item['workflow_input_of']}"
                        if item.get("workflow_input_of") else ""))
        for node in item.get("produced_by" if upstream else "used_by", []):
            arrow = "<-" if upstream else "->"
            lines.append(f"{indent}  {arrow} {node['execution_id']}:{node['node_id']} "
                         f"[{node['task']}] {node['status']}")
            children = node.get("inputs" if upstream else "outputs", {})
            for name, child in children.items():
                lines.append(f"{indent}     {name}:")
                art(child, indent + "       ")

    for item in tree:
        art(item, "")
    return lines

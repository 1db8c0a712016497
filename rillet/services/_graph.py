"""An execution's planned DAG: every node its compiled IR holds, with the edges its
bindings draw, before any of them runs (the web UI draws the nodes not started yet as
pending). Read only.

Where the IR comes from: ``workflow_specs`` (the engine keeps each workflow's
``spec_json`` under its ``spec_hash`` when an execution of it starts), else, for a
launched execution no worker has started yet, the registered workflow of the bundle it
was launched from (``registered_entities.spec``, whose ``code_hash`` is that same
``spec_hash``). An execution written before either (or whose spec has no stable hash)
has no plan: ``planned`` is false and the UI falls back to the recorded nodes.

The node ids are the ones the engine gives them (``Graph.expand``): a subworkflow's
nodes are ``SUB/ID`` beside the subworkflow's own (join) node ``SUB``; a conditional's
arms are beside the branch node, every arm's nodes listed (the engine records the
arms not taken as SKIPPED); a dynamic's or an eager's children only exist once it runs
(they are recorded then), and the failure handler (run on a failure only) is left out.
"""

from __future__ import annotations

import json
from typing import Any

from rillet.errors import StoreError
from rillet.services._executions import get_execution
from rillet.services._shapes import ExecutionGraph, GraphEdgeShape, GraphNodeShape
from rillet.store._instance import Instance

_RUN = frozenset({"task", "map", "dynamic", "eager"})
BUNDLE = "bundle:"


def execution_graph(inst: Instance, execution_id: str) -> ExecutionGraph:
    """The planned nodes and edges of ``execution_id`` (a unique id prefix is accepted)."""
    record = get_execution(inst, execution_id)
    text, source = _spec_text(inst, record.spec_hash, record.source, record.workflow)
    if text is None:
        return {"execution_id": record.id, "planned": False, "source": None,
                "nodes": [], "edges": []}
    try:
        spec = json.loads(text)
        nodes, edges = plan(spec)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"the recorded IR of execution {record.id} (spec "
                         f"{record.spec_hash[:12]}) is not a workflow spec: {exc}") from None
    return {"execution_id": record.id, "planned": True, "source": source,
            "nodes": nodes, "edges": edges}


def _spec_text(inst: Instance, spec_hash: str, source: str,
               identity: str) -> tuple[str | None, str | None]:
    if not spec_hash:
        return None, None
    text = inst.store.workflow_spec(spec_hash)
    if text is not None:
        return text, "recorded"
    if source.startswith(BUNDLE):
        rows = inst.store.database.read(
            "SELECT spec FROM registered_entities WHERE bundle_hash = ? AND identity = ? "
            "AND code_hash = ? AND spec IS NOT NULL LIMIT 1",
            (source[len(BUNDLE):], identity, spec_hash))
        if rows:
            return str(rows[0][0]), "registered"
    return None, None


def plan(spec: dict[str, Any]) -> tuple[list[GraphNodeShape], list[GraphEdgeShape]]:
    """The nodes (in the spec's order) and edges of the JSON IR ``spec``."""
    planner = _Planner()
    planner.expand(spec["nodes"], "", None)
    return planner.nodes, planner.edges


class _Planner:
    def __init__(self) -> None:
        self.nodes: list[GraphNodeShape] = []
        self.edges: list[GraphEdgeShape] = []
        self._ids: set[str] = set()
        self._seen: set[tuple[str, str]] = set()

    def add(self, node_id: str, kind: str, task: str, upstream: list[str]) -> None:
        if node_id not in self._ids:
            self._ids.add(node_id)
            self.nodes.append({"node_id": node_id, "kind": kind, "task": task})
        for u in upstream:
            if u != node_id and (u, node_id) not in self._seen:
                self._seen.add((u, node_id))
                self.edges.append({"source": u, "target": node_id})

    def expand(self, nodes: list[dict[str, Any]], prefix: str,
               inputs: dict[str, list[str]] | None) -> None:
        """Like ``Graph.expand``: ``inputs`` maps a nested body's workflow inputs to the
        (outer) nodes their values come from."""
        for n in nodes:
            nid = prefix + n["id"]
            kind = n["kind"]
            bound = {k: _deps(b, prefix, inputs) for k, b in n.get("inputs", {}).items()}
            after = [prefix + u for u in n.get("upstream", [])]
            if kind in _RUN:
                self.add(nid, kind, n.get("entity", ""), [d for ds in bound.values()
                                                          for d in ds] + after)
            elif kind == "workflow":
                sub = n["workflow"]
                self.expand(sub["nodes"], nid + "/", bound)
                outs = [d for b in sub.get("output_bindings", {}).values()
                        for d in _deps(b, nid + "/", bound)]
                self.add(nid, kind, n.get("entity", ""), outs + after)
            elif kind == "branch":
                deps = [d for case in n.get("cases", []) if case.get("condition")
                        for d in _condition_deps(case["condition"], prefix, inputs)]
                self.add(nid, kind, n.get("entity", ""), deps + after)
                for case in n.get("cases", []):  # the arms live beside the branch node
                    self.expand(case.get("nodes", []), prefix, inputs)
                    self.add(nid, kind, "", [d for b in case.get("outputs", {}).values()
                                             for d in _deps(b, prefix, inputs)])


def _deps(b: dict[str, Any], prefix: str, inputs: dict[str, list[str]] | None) -> list[str]:
    """The ids of the nodes whose outputs binding ``b`` reads (``Binding.upstream``)."""
    kind = b.get("kind")
    if kind == "node":
        return [prefix + b["ref"]]
    if kind == "input":
        return list(inputs.get(b["ref"], [])) if inputs is not None else []
    if kind in ("list", "dict", "path"):
        return [d for item in b.get("items", []) for d in _deps(item, prefix, inputs)]
    return []


def _condition_deps(c: dict[str, Any], prefix: str,
                    inputs: dict[str, list[str]] | None) -> list[str]:
    out: list[str] = []
    for side in (c.get("left"), c.get("right")):
        if not isinstance(side, dict):
            continue
        if "op" in side and "kind" not in side:  # a nested condition (and / or)
            out.extend(_condition_deps(side, prefix, inputs))
        else:
            out.extend(_deps(side, prefix, inputs))
    return out

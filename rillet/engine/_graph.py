"""The runtime graph of a durable execution: compiled nodes flattened into
runnable nodes, growing as branches are decided and dynamics are compiled.

Pure bookkeeping over the IR: which node waits on which, and what became ready.
No I/O, no user code, no store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rillet.compiler._spec import (
    DICT,
    INPUT,
    LIST,
    NODE,
    PATH,
    Binding,
    BoolOp,
    Comparison,
    Node,
)
from rillet.engine._records import DONE_OK, NodeStatus


def remap(b: Binding, prefix: str, inputs: dict[str, Binding] | None) -> Binding:
    """Rewrite a binding of a nested body into the outer graph's names."""
    if b.kind == INPUT:
        if inputs is None:
            return b
        return inputs[b.ref]
    if b.kind == NODE:
        if not prefix:
            return b
        return Binding(kind=NODE, ref=prefix + b.ref, output=b.output, type=b.type)
    if b.kind in (LIST, DICT, PATH):
        return Binding(
            kind=b.kind, keys=b.keys, type=b.type, path=b.path,
            items=tuple(remap(i, prefix, inputs) for i in b.items),
        )
    return b


def remap_condition(c: Any, prefix: str, inputs: dict[str, Binding] | None) -> Any:
    if isinstance(c, Comparison):
        return Comparison(left=remap(c.left, prefix, inputs), op=c.op,
                          right=remap(c.right, prefix, inputs))
    assert isinstance(c, BoolOp)
    return BoolOp(op=c.op, left=remap_condition(c.left, prefix, inputs),
                  right=remap_condition(c.right, prefix, inputs))


def deps_of(bindings: dict[str, Binding]) -> list[str]:
    """The ids of the nodes whose outputs ``bindings`` read."""
    return [d for b in bindings.values() for d in b.upstream()]


@dataclass(slots=True, kw_only=True)
class RNode:
    """A node of the runtime graph.

    kind: ``task`` and ``map`` run on an executor; ``join`` takes its outputs from
    other nodes (a finished subworkflow, branch or dynamic); ``branch`` and
    ``dynamic`` expand into more nodes when ready.
    """

    id: str
    kind: str
    spec: Node | None
    inputs: dict[str, Binding]
    outputs: dict[str, Any]
    prefix: str = ""
    input_map: dict[str, Binding] | None = None
    deps: set[str] = field(default_factory=set)
    status: NodeStatus = NodeStatus.QUEUED
    attempt: int = 0
    # attempts a lost worker started before this execution was taken over: they keep
    # their numbers and use none of the node's retries
    attempt_base: int = 0
    out_bindings: dict[str, Binding] = field(default_factory=dict)  # for joins


class Graph:
    """Nodes, who waits on whom, and the queue of nodes that became ready."""

    def __init__(self) -> None:
        self.nodes: dict[str, RNode] = {}
        self.dependents: dict[str, list[str]] = {}
        self.ready: list[str] = []

    def add(self, node: RNode, upstream: list[str]) -> None:
        self.nodes[node.id] = node
        self.wait(node, upstream)

    def _done(self, node_id: str) -> bool:
        n = self.nodes.get(node_id)
        return n is not None and n.status in DONE_OK

    def finished(self, node_id: str) -> None:
        """Release the dependents of a node that produced its outputs."""
        for d in self.dependents.pop(node_id, ()):
            node = self.nodes[d]
            node.deps.discard(node_id)
            if not node.deps and node.status in (NodeStatus.QUEUED, NodeStatus.RUNNING):
                self.ready.append(d)

    def expand(self, nodes: tuple[Node, ...], prefix: str,
               input_map: dict[str, Binding] | None) -> list[RNode]:
        """Add compiled nodes (a body, a branch arm, a dynamic's sub-DAG)."""
        added: list[RNode] = []
        for n in nodes:
            nid = prefix + n.id
            inputs = {k: remap(b, prefix, input_map) for k, b in n.inputs.items()}
            if n.kind in ("task", "map", "dynamic", "eager"):
                node = RNode(id=nid, kind=n.kind, spec=n, inputs=inputs, outputs=n.outputs,
                             prefix=prefix, input_map=input_map)
                self.add(node, deps_of(inputs) + [prefix + u for u in n.upstream])
                added.append(node)
            elif n.kind == "workflow":
                sub = n.entity.spec
                inner = self.expand(sub.nodes, nid + "/", inputs)
                added.extend(inner)
                outs = {k: remap(b, nid + "/", inputs) for k, b in sub.outputs.items()}
                join = RNode(id=nid, kind="join", spec=n, inputs={}, outputs=n.outputs,
                             out_bindings=outs, prefix=prefix, input_map=input_map)
                self.add(join, deps_of(outs))
                added.append(join)
            elif n.kind == "branch":
                deps: list[str] = []
                for case in n.cases:
                    if case.condition is not None:
                        deps.extend(remap_condition(case.condition, prefix,
                                                    input_map).upstream())
                node = RNode(id=nid, kind="branch", spec=n, inputs={}, outputs=n.outputs,
                             prefix=prefix, input_map=input_map)
                self.add(node, deps + [prefix + u for u in n.upstream])
                added.append(node)
        return added

    def wait(self, node: RNode, upstream: list[str]) -> None:
        """Make ``node`` wait for ``upstream`` (a new node, or an expanded branch or
        dynamic waiting for its inner nodes); ready at once when they are done."""
        pending = {u for u in upstream if not self._done(u)}
        node.deps = pending
        for u in pending:
            self.dependents.setdefault(u, []).append(node.id)
        if not pending:
            self.ready.append(node.id)

"""The compiled form of a workflow (the IR): WorkflowSpec, Node, Binding, conditions.

Plain frozen data. Nodes hold a reference to their entity (task or workflow
object) for running in memory; the JSON form names entities instead. This module
builds nothing and runs nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rillet.compiler._interface import Interface

# Binding kinds
INPUT = "input"  # a workflow input:   ref = input name
NODE = "node"  # an upstream output: ref = node id, output = output name
CONST = "const"  # a constant:         value
LIST = "list"  # a list of bindings: items
DICT = "dict"  # a dict of bindings: keys, items
PATH = "path"  # a part of another binding's value: items = (that binding,), path = the steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """Where one input's value comes from."""

    kind: str
    ref: str = ""
    output: str = ""
    value: Any = None
    type: Any = None
    items: tuple[Binding, ...] = ()
    keys: tuple[str, ...] = ()
    path: tuple[Any, ...] = ()  # PATH: attribute names (``_access.Attr``), keys, indexes

    def upstream(self) -> list[str]:
        if self.kind == NODE:
            return [self.ref]
        if self.kind in (LIST, DICT, PATH):
            out: list[str] = []
            for item in self.items:
                out.extend(item.upstream())
            return out
        return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    left: Binding
    op: str  # == != < <= > >=
    right: Binding

    def upstream(self) -> list[str]:
        return self.left.upstream() + self.right.upstream()


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Condition
    right: Condition

    def upstream(self) -> list[str]:
        return self.left.upstream() + self.right.upstream()


Condition = Comparison | BoolOp

# What each comparison operator of a condition means.
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def holds(cond: Condition, value: Callable[[Binding], Any]) -> bool:
    """Whether ``cond`` is true, ``value`` giving each binding's value."""
    if isinstance(cond, Comparison):
        return bool(OPS[cond.op](value(cond.left), value(cond.right)))
    if cond.op == "and":
        return holds(cond.left, value) and holds(cond.right, value)
    return holds(cond.left, value) or holds(cond.right, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One arm of a branch node: run ``nodes`` and take ``outputs``, or fail."""

    condition: Condition | None  # None: the else arm
    nodes: tuple[Node, ...]
    outputs: dict[str, Binding]
    fail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpec:
    mapped: tuple[str, ...]  # inputs that receive one element each
    concurrency: int | None
    min_success_ratio: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One step of the DAG."""

    id: str
    kind: str  # task | workflow | map | branch | dynamic
    entity: Any  # the Task / Workflow object, or None for a branch
    entity_name: str
    inputs: dict[str, Binding]
    outputs: dict[str, Any]
    upstream: tuple[str, ...]
    map: MapSpec | None = None
    cases: tuple[Case, ...] = ()
    where: str = ""


# Failure policies (flytekit's WorkflowFailurePolicy names): on a node's final failure,
# start nothing more, or keep running every node that does not depend on a failed one.
FAIL_IMMEDIATELY = "FAIL_IMMEDIATELY"
FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = "FAIL_AFTER_EXECUTABLE_NODES_COMPLETE"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowSpec:
    """A compiled workflow: nodes in a topological order, and its output bindings."""

    name: str
    interface: Interface
    nodes: tuple[Node, ...]
    outputs: dict[str, Binding]
    on_failure: Node | None = None
    failure_policy: str = FAIL_IMMEDIATELY
    where: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


def walk(nodes: tuple[Node, ...] | list[Node], *, subworkflows: bool = True) -> Iterator[Node]:
    """Every node in ``nodes``, with the nodes of their branch arms and (unless
    ``subworkflows`` is false) of the subworkflows they call, depth first."""
    for n in nodes:
        yield n
        if subworkflows and n.kind == "workflow":
            yield from walk(n.entity.spec.nodes)
        for case in n.cases:
            yield from walk(case.nodes, subworkflows=subworkflows)

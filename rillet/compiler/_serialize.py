"""The JSON form of a WorkflowSpec and its hash.

The JSON names entities (``module:qualname``) and types (descriptors) and holds
constants as literals, so it is deterministic across processes. The hash covers
that JSON plus every task's code hash, so it changes when the graph, a task's
interface or a task's source changes, and only then. Both are computed on first
use, never during compile.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rillet.compiler._access import Attr
from rillet.compiler._identity import ByIdentity
from rillet.compiler._spec import (
    CONST,
    DICT,
    FAIL_IMMEDIATELY,
    LIST,
    PATH,
    Binding,
    BoolOp,
    Comparison,
    Node,
    WorkflowSpec,
    walk,
)


def _type(tp: Any) -> Any:
    from rillet.types._descriptor import describe

    return describe(tp)


def _const(value: Any, tp: Any) -> dict[str, Any]:
    from rillet.types._literal import encode

    lit = encode(value, tp)
    if lit.blob is None:
        return {"format": lit.format, "value": lit.inline, "hash": lit.hash}
    return {"format": lit.format, "hash": lit.hash}


def binding_json(b: Binding) -> dict[str, Any]:
    if b.kind == CONST:
        return {"kind": CONST, "type": _type(b.type), "literal": _const(b.value, b.type)}
    if b.kind in (LIST, DICT):
        out: dict[str, Any] = {"kind": b.kind, "items": [binding_json(i) for i in b.items]}
        if b.kind == DICT:
            out["keys"] = list(b.keys)
        return out
    if b.kind == PATH:
        return {"kind": PATH, "items": [binding_json(i) for i in b.items],
                "path": [{"attr": str(s)} if isinstance(s, Attr) else {"key": s} for s in b.path]}
    out = {"kind": b.kind}
    if b.ref:
        out["ref"] = b.ref
    if b.output:
        out["output"] = b.output
    return out


def condition_json(c: Any) -> dict[str, Any]:
    if isinstance(c, Comparison):
        return {"op": c.op, "left": binding_json(c.left), "right": binding_json(c.right)}
    assert isinstance(c, BoolOp)
    return {"op": c.op, "left": condition_json(c.left), "right": condition_json(c.right)}


def node_json(n: Node) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": n.id,
        "kind": n.kind,
        "entity": n.entity_name,
        "inputs": {k: binding_json(b) for k, b in n.inputs.items()},
        "outputs": {k: _type(t) for k, t in n.outputs.items()},
        "upstream": list(n.upstream),
    }
    entity = n.entity
    if entity is not None and hasattr(entity, "interface"):
        iface = entity.interface
        out["interface"] = {"inputs": {k: _type(t) for k, t in iface.inputs.items()},
                            "outputs": {k: _type(t) for k, t in iface.outputs.items()}}
    if n.map is not None:
        out["map"] = {"mapped": list(n.map.mapped), "concurrency": n.map.concurrency,
                      "min_success_ratio": n.map.min_success_ratio}
    if n.kind == "workflow":
        out["workflow"] = spec_json(entity.spec)
    if n.cases:
        out["cases"] = [{
            "condition": condition_json(c.condition) if c.condition is not None else None,
            "nodes": [node_json(x) for x in c.nodes],
            "outputs": {k: binding_json(b) for k, b in c.outputs.items()},
            "fail": c.fail,
        } for c in n.cases]
    return out


def spec_json(spec: WorkflowSpec) -> dict[str, Any]:
    """The deterministic JSON form of a compiled workflow."""
    iface = spec.interface
    return {
        "name": spec.name,
        "inputs": {k: _type(t) for k, t in iface.inputs.items()},
        "defaults": {k: _const(v, iface.inputs[k]) for k, v in iface.defaults.items()},
        "outputs": {k: _type(t) for k, t in iface.outputs.items()},
        "nodes": [node_json(n) for n in spec.nodes],
        "output_bindings": {k: binding_json(b) for k, b in spec.outputs.items()},
        "on_failure": node_json(spec.on_failure) if spec.on_failure is not None else None,
        **({"failure_policy": spec.failure_policy} if spec.failure_policy != FAIL_IMMEDIATELY
           else {}),
    }


def _tasks(spec: WorkflowSpec) -> dict[str, Any]:
    found = {n.entity_name: n.entity for n in walk(spec.nodes)
             if n.kind in ("task", "map", "dynamic", "eager")}
    if spec.on_failure is not None:
        found[spec.on_failure.entity_name] = spec.on_failure.entity
    return found


_HASHES: ByIdentity[tuple[str, str]] = ByIdentity()


def spec_hash(spec: WorkflowSpec) -> str:
    """sha256 of the spec's JSON and the code hash of each of its tasks (memoized)."""
    return _hashed(spec)[0]


def spec_text(spec: WorkflowSpec) -> str:
    """The spec's JSON as the text that :func:`spec_hash` hashed (memoized with it)."""
    return _hashed(spec)[1]


def _hashed(spec: WorkflowSpec) -> tuple[str, str]:
    return _HASHES.get((spec,), lambda: _hash(spec))


def _hash(spec: WorkflowSpec) -> tuple[str, str]:
    from rillet.compiler._codehash import code_hash

    text = json.dumps(spec_json(spec), sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256(text.encode())
    for name, entity in sorted(_tasks(spec).items()):
        h.update(b"\0" + name.encode() + b"=")
        h.update(code_hash(entity.fn).digest.encode())
    return h.hexdigest(), text

"""Compiles a workflow body into a WorkflowSpec by running it once with promises.

While a body runs, this thread's ``ACTIVE.builder`` is set, and entity calls
(tasks, workflows, map tasks, dynamics) add nodes instead of running. Every type
or binding mistake is raised here, before anything runs. No execution, no I/O.
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from collections.abc import Callable
from types import NoneType
from typing import Any, Protocol

from rillet.compiler._interface import MISSING, Interface, pack_outputs, where
from rillet.compiler._promise import ConditionExpr, Promise, VoidPromise, user_location
from rillet.compiler._spec import (
    CONST,
    DICT,
    INPUT,
    LIST,
    NODE,
    PATH,
    Binding,
    Case,
    MapSpec,
    Node,
    WorkflowSpec,
    walk,
)
from rillet.errors import CompileError, TypeMismatchError
from rillet.types._compat import (
    check_value,
    coerce,
    is_compatible,
    normalize,
    type_name,
    value_type_name,
)


class Entity(Protocol):
    """What the compiler needs of a task, workflow or dynamic."""

    name: str
    short_name: str
    node_kind: str

    @property
    def interface(self) -> Interface: ...


class _Active(threading.local):
    builder: Builder | None = None


ACTIVE = _Active()
FAILURE_NODE_ID = "on_failure"  # the id of a workflow's failure handler node


def binding_of_promise(p: Promise) -> Binding:
    b: Binding | None = p.binding
    if b is None:
        if p.node_id is None:
            b = Binding(kind=INPUT, ref=p.output, type=p.type)
        else:
            b = Binding(kind=NODE, ref=p.node_id, output=p.output, type=p.type)
        p.binding = b
    return b


def const_binding(value: Any, tp: Any = None) -> Binding:
    return Binding(kind=CONST, value=value, type=tp if tp is not None else type(value))


def _has_promise(value: Any) -> bool:
    if isinstance(value, Promise):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_has_promise(v) for v in value.values())
    return False


class OpenCase:
    __slots__ = ("condition", "nodes")

    def __init__(self, condition: Any) -> None:
        self.condition = condition
        self.nodes: list[Node] = []


class Builder:
    """Collects the nodes of one workflow body."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.counts: dict[str, int] = {}
        self.cases: list[OpenCase] = []
        self.open_conditionals: list[str] = []
        # Nodes made inside a closed conditional arm -> the conditional's name.
        self.hidden: dict[str, str] = {}
        self.issued: set[str] = {FAILURE_NODE_ID}
        self.reordered = False  # set when ``>>`` added an edge: sort the nodes at the end

    # -- node ids -----------------------------------------------------------
    def new_id(self, short: str) -> str:
        """``short``, then ``short-1``, ``short-2``...; never an id given out before."""
        k = self.counts.get(short, 0)
        node_id = f"{short}-{k}" if k else short
        while node_id in self.issued:
            k += 1
            node_id = f"{short}-{k}"
        self.counts[short] = k + 1
        self.issued.add(node_id)
        return node_id

    def add(self, node: Node) -> None:
        (self.cases[-1].nodes if self.cases else self.nodes).append(node)

    def _find(self, node_id: str, what: str) -> tuple[list[Node], int]:
        """The list holding node ``node_id`` (the body's or an open arm's) and its index."""
        for nodes in (self.nodes, *(c.nodes for c in self.cases)):
            for i, n in enumerate(nodes):
                if n.id == node_id:
                    return nodes, i
        raise CompileError.at(
            user_location(), f"{what} names node '{node_id}', which is not in this workflow body"
        )

    def add_upstream(self, node_id: str, before: list[str]) -> None:
        """``before >> node_id``: the node waits for ``before`` without taking data."""
        nodes, i = self._find(node_id, ">>")
        n = nodes[i]
        extra = tuple(b for b in before if b not in n.upstream and b != node_id)
        if extra:
            nodes[i] = dataclasses.replace(n, upstream=n.upstream + extra)
            self.reordered = True

    def override(self, node_id: str, overrides: dict[str, Any]) -> None:
        """Give node ``node_id`` its own copy of its task with ``overrides`` applied."""
        nodes, i = self._find(node_id, "with_overrides()")
        n = nodes[i]
        override = getattr(n.entity, "overridden", None)
        if override is None:
            raise CompileError.at(
                user_location(), f"node '{node_id}' ({n.kind}) takes no with_overrides()"
            )
        nodes[i] = dataclasses.replace(n, entity=override(overrides))

    def sorted_nodes(self) -> tuple[Node, ...]:
        """The nodes in a topological order that keeps the body's order where it can."""
        if not self.reordered:
            return tuple(self.nodes)
        ids = {n.id for n in self.nodes}
        placed: set[str] = set()
        out: list[Node] = []
        pending = list(self.nodes)
        while pending:
            for i, n in enumerate(pending):
                if all(u in placed or u not in ids for u in n.upstream):
                    out.append(pending.pop(i))
                    placed.add(n.id)
                    break
            else:
                cycle = ", ".join(n.id for n in pending)
                raise CompileError.at(
                    user_location(), f"the nodes {cycle} wait for each other (a cycle of >>)"
                )
        return tuple(out)

    def check_visible(self, value: Promise, node_id: str, input_name: str) -> None:
        """Refuse a promise made inside a conditional arm that has been closed."""
        name = self.hidden.get(value.node_id or "")
        if name is not None:
            target = f"node '{node_id}' input '{input_name}'" if input_name else node_id
            raise CompileError.at(
                user_location(),
                f"{target}: {value.describe()} is made inside an arm of conditional "
                f"'{name}' and exists only there",
                "Return it from the arm with .then(...) and use the conditional's output.",
            )

    # -- binding ------------------------------------------------------------
    def bind(self, value: Any, expected: Any, node_id: str, input_name: str) -> Binding:
        if isinstance(value, Promise):
            if self.hidden:
                self.check_visible(value, node_id, input_name)
            if value.type is NoneType:
                raise CompileError.at(
                    user_location(),
                    f"node '{node_id}' input '{input_name}': {value.describe()} has no value "
                    "(the task returns None)",
                )
            if not is_compatible(value.type, expected):
                raise TypeMismatchError.for_binding(
                    user_location(), node_id, input_name, type_name(expected),
                    f"{type_name(value.type)} from {value.describe()}",
                )
            return binding_of_promise(value)
        if isinstance(value, ConditionExpr):
            raise CompileError.at(
                user_location(),
                f"node '{node_id}' input '{input_name}': a condition is not a value",
                "Use conditional(...).if_(cond) to branch on it.",
            )
        if isinstance(value, (list, tuple, dict)) and _has_promise(value):
            return self._bind_collection(value, expected, node_id, input_name)
        if not check_value(value, expected):
            raise TypeMismatchError.for_binding(
                user_location(), node_id, input_name, type_name(expected),
                f"{value_type_name(value)} ({value!r:.60})",
            )
        return Binding(kind=CONST, value=coerce(value, expected), type=expected)

    def _bind_collection(
        self, value: Any, expected: Any, node_id: str, input_name: str
    ) -> Binding:
        expected = normalize(expected)
        origin = typing.get_origin(expected)
        args = typing.get_args(expected)
        if hasattr(value, "_fields") and isinstance(expected, type) \
                and isinstance(value, expected):  # named outputs passed whole: one value
            hints = typing.get_type_hints(expected)
            fields: tuple[str, ...] = getattr(value, "_fields", ())
            items = tuple(
                self.bind(v, hints.get(f, Any), node_id, f"{input_name}.{f}")
                for f, v in zip(fields, typing.cast(tuple[Any, ...], value), strict=True)
            )
            return Binding(kind=LIST, items=items, type=expected)
        if hasattr(value, "_fields"):
            first = next(v for v in value if isinstance(v, Promise))
            raise TypeMismatchError.for_binding(
                user_location(), node_id, input_name, type_name(expected),
                f"the named outputs of node '{first.node_id}' ({type(value).__name__}), "
                f"which are separate values: pass one of them, e.g. .{value._fields[0]}",
            )
        if isinstance(value, dict):
            if origin is not dict and expected is not Any:
                raise TypeMismatchError.for_binding(
                    user_location(), node_id, input_name, type_name(expected), "a dict"
                )
            vt = args[1] if args else Any
            keys = tuple(str(k) for k in value)
            items = tuple(
                self.bind(v, vt, node_id, f"{input_name}[{k!r}]") for k, v in value.items()
            )
            return Binding(kind=DICT, keys=keys, items=items, type=expected)
        if origin not in (list, tuple) and expected is not Any:
            raise TypeMismatchError.for_binding(
                user_location(), node_id, input_name, type_name(expected), "a list"
            )
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise TypeMismatchError.for_binding(
                    user_location(), node_id, input_name, type_name(expected),
                    f"a tuple of {len(value)} items",
                )
            item_types = list(args)
        else:
            item_types = [args[0] if args else Any] * len(value)
        items = tuple(
            self.bind(v, t, node_id, f"{input_name}[{i}]")
            for i, (v, t) in enumerate(zip(value, item_types, strict=True))
        )
        return Binding(kind=LIST, items=items, type=expected)

    def bind_inputs(
        self, entity_name: str, iface: Interface, args: tuple[Any, ...], kwargs: dict[str, Any],
        node_id: str, skip: tuple[str, ...] = (),
    ) -> dict[str, Binding]:
        if not args and not skip and len(kwargs) == len(iface.inputs):
            fast = self._bind_all_promises(iface, kwargs, node_id)
            if fast is not None:
                return fast
        if len(args) > len(iface.positional):
            raise CompileError.at(
                user_location(),
                f"node '{node_id}' ({entity_name}) takes {len(iface.positional)} positional "
                f"inputs but {len(args)} were given",
            )
        given: dict[str, Any] = dict(zip(iface.positional, args, strict=False))
        for key, value in kwargs.items():
            if key in given:
                raise CompileError.at(
                    user_location(), f"node '{node_id}' ({entity_name}): input '{key}' given twice"
                )
            given[key] = value
        bindings: dict[str, Binding] = {}
        for key, value in given.items():
            expected = iface.inputs.get(key, MISSING)
            if expected is MISSING:
                known = ", ".join(iface.inputs) or "none"
                raise CompileError.at(
                    user_location(),
                    f"node '{node_id}' ({entity_name}) has no input '{key}' (its inputs: {known})",
                )
            bindings[key] = self.bind(value, expected, node_id, key)
        for key, tp in iface.inputs.items():
            if key in bindings or key in skip:
                continue
            if key in iface.defaults:
                bindings[key] = Binding(kind=CONST, value=iface.defaults[key], type=tp)
            else:
                raise CompileError.at(
                    user_location(),
                    f"node '{node_id}' ({entity_name}) is missing required input '{key}' "
                    f"({type_name(tp)})",
                    f"Pass it as {key}=...",
                )
        return bindings

    def _bind_all_promises(
        self, iface: Interface, kwargs: dict[str, Any], node_id: str
    ) -> dict[str, Binding] | None:
        # The common case: every input given by name as a promise of the exact type.
        out: dict[str, Binding] = {}
        inputs = iface.inputs
        hidden = self.hidden
        for key, value in kwargs.items():
            if type(value) is not Promise or inputs.get(key, MISSING) is not value.type:
                return None
            if hidden and value.node_id in hidden:
                return None
            out[key] = binding_of_promise(value)
        return out

    # -- adding nodes -------------------------------------------------------
    def call(self, entity: Entity, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        node_id = self.new_id(entity.short_name)
        iface = entity.interface
        inputs = self.bind_inputs(entity.name, iface, args, kwargs, node_id)
        return self._emit(
            Node(
                id=node_id,
                kind=entity.node_kind,
                entity=entity,
                entity_name=entity.name,
                inputs=inputs,
                outputs=iface.outputs,
                upstream=_upstream(inputs),
            ),
            iface.output_tuple,
        )

    def call_map(
        self,
        task: Entity,
        fixed: dict[str, Any],
        kwargs: dict[str, Any],
        concurrency: int | None,
        min_success_ratio: float,
        outputs: dict[str, Any],
    ) -> Any:
        node_id = self.new_id(f"map-{task.short_name}")
        iface = task.interface
        inputs: dict[str, Binding] = {}
        for key, value in fixed.items():
            if key not in iface.inputs:
                raise CompileError.at(
                    user_location(), f"map over '{task.name}': partial binds unknown input '{key}'"
                )
            inputs[key] = self.bind(value, iface.inputs[key], node_id, key)
        for key, value in kwargs.items():
            if key not in iface.inputs or key in fixed:
                known = ", ".join(k for k in iface.inputs if k not in fixed)
                raise CompileError.at(
                    user_location(),
                    f"node '{node_id}' maps over no input '{key}' (mappable inputs: {known})",
                )
            inputs[key] = self.bind(value, _mapped_type(value, iface.inputs[key]), node_id, key)
        if not kwargs:
            raise CompileError.at(user_location(), f"node '{node_id}': give a list to map over")
        for key, tp in iface.inputs.items():
            if key not in inputs:
                if key in iface.defaults:
                    inputs[key] = Binding(kind=CONST, value=iface.defaults[key], type=tp)
                else:
                    raise CompileError.at(
                        user_location(),
                        f"node '{node_id}' is missing input '{key}' of '{task.name}'",
                        "Map over it or bind it with functools.partial.",
                    )
        node = Node(
            id=node_id,
            kind="map",
            entity=task,
            entity_name=task.name,
            inputs=inputs,
            outputs=outputs,
            upstream=_upstream(inputs),
            map=MapSpec(
                mapped=tuple(kwargs), concurrency=concurrency, min_success_ratio=min_success_ratio
            ),
        )
        return self._emit(node, None)

    def _emit(self, node: Node, output_tuple: type | None) -> Any:
        self.add(node)
        return promises(node.id, node.outputs, output_tuple)

    # -- conditionals -------------------------------------------------------
    def open_case(self, condition: Any) -> OpenCase:
        case = OpenCase(condition)
        self.cases.append(case)
        return case

    def close_case(self) -> list[Node]:
        return self.cases.pop().nodes

    def hide(self, nodes: list[Node] | tuple[Node, ...], conditional_name: str) -> None:
        """Nodes of a closed arm: their promises may not be used outside it."""
        for n in walk(nodes, subworkflows=False):
            self.hidden[n.id] = conditional_name

    def add_branch(self, name: str, cases: list[Case], outputs: dict[str, Any]) -> Node:
        node_id = self.new_id(name)
        inner: set[str] = set()
        deps: list[str] = []
        for case in cases:
            for n in walk(case.nodes, subworkflows=False):
                inner.add(n.id)
        for case in cases:
            if case.condition is not None:
                deps.extend(case.condition.upstream())
            for n in case.nodes:
                deps.extend(n.upstream)
            for b in case.outputs.values():
                deps.extend(b.upstream())
        upstream = tuple(dict.fromkeys(d for d in deps if d not in inner))
        node = Node(
            id=node_id, kind="branch", entity=None, entity_name=f"conditional:{name}",
            inputs={}, outputs=outputs, upstream=upstream, cases=tuple(cases),
            where=user_location(),
        )
        self.add(node)
        return node


def promises(node_id: str, outputs: dict[str, Any], output_tuple: type | None) -> Any:
    """What a call returns in a body: a VoidPromise (no outputs, it orders with ``>>``),
    one promise, or the (named) tuple of them."""
    if not outputs:
        return VoidPromise(node_id)
    if output_tuple is not None:
        return pack_outputs(output_tuple, [Promise(node_id, k, t) for k, t in outputs.items()])
    ((name, tp),) = outputs.items()
    return Promise(node_id, name, tp)


def _mapped_type(value: Any, item_type: Any) -> Any:
    """The list type a mapped input must have: ``list[item_type]``, or a list of
    items that may feed ``item_type`` (a ``list[int]`` maps into a float input)."""
    if isinstance(value, Promise) and typing.get_origin(value.type) is list:
        args = typing.get_args(value.type)
        if args and is_compatible(args[0], item_type):
            return value.type
    return list[item_type]  # type: ignore[valid-type]


def _upstream(inputs: dict[str, Binding]) -> tuple[str, ...]:
    if len(inputs) == 1:
        (b,) = inputs.values()
        if b.kind == NODE:
            return (b.ref,)
    ups: list[str] = []
    for b in inputs.values():
        if b.kind == NODE:
            ups.append(b.ref)
        elif b.kind in (LIST, DICT, PATH):
            ups.extend(b.upstream())
    if len(ups) > 1:
        return tuple(dict.fromkeys(ups))
    return tuple(ups)


def bind_outputs(
    builder: Builder, name: str, iface: Interface, result: Any, location: str
) -> dict[str, Binding]:
    """Bind what a workflow body returned to its declared outputs."""
    outs = iface.outputs
    if not outs:
        if result is not None and not isinstance(result, VoidPromise):
            what = result.describe() if isinstance(result, Promise) else type(result).__name__
            raise CompileError.at(
                location,
                f"workflow '{name}' declares no output but returns {what}",
                "Annotate the return type.",
            )
        return {}
    if len(outs) == 1 and iface.output_tuple is None:
        ((oname, tp),) = outs.items()
        return {oname: _bind_output(builder, name, oname, tp, result, location)}
    if not isinstance(result, tuple) or len(result) != len(outs):
        raise CompileError.at(
            location,
            f"workflow '{name}' declares {len(outs)} outputs ({', '.join(outs)}) but returns "
            f"{type(result).__name__}",
        )
    fields = getattr(result, "_fields", None)
    if fields is not None and tuple(fields) != tuple(outs):
        raise CompileError.at(
            location,
            f"workflow '{name}' declares outputs ({', '.join(outs)}) but returns "
            f"{type(result).__name__} ({', '.join(fields)})",
            "Return the declared NamedTuple, or a plain tuple in its order.",
        )
    return {
        oname: _bind_output(builder, name, oname, tp, value, location)
        for (oname, tp), value in zip(outs.items(), result, strict=True)
    }


def _bind_output(
    builder: Builder, name: str, oname: str, tp: Any, value: Any, location: str
) -> Binding:
    if isinstance(value, Promise) and not is_compatible(value.type, tp):
        raise TypeMismatchError(
            f"{location}: workflow '{name}' output '{oname}' is declared {type_name(tp)} "
            f"but returns {type_name(value.type)} from {value.describe()}"
        )
    try:
        return builder.bind(value, tp, f"<{name} outputs>", oname)
    except TypeMismatchError as exc:
        raise TypeMismatchError(
            f"{location}: workflow '{name}' output '{oname}' is declared {type_name(tp)} "
            f"but the body returns {value_type_name(value)} ({exc})"
        ) from None


def compile_body(
    name: str,
    fn: Callable[..., Any],
    iface: Interface,
    inputs: dict[str, Any] | None = None,
) -> WorkflowSpec:
    """Run ``fn`` once with promises (or, for a dynamic, with ``inputs`` values)."""
    location = where(fn)
    builder = Builder()
    args = inputs if inputs is not None else {
        k: Promise(None, k, t) for k, t in iface.inputs.items()
    }
    previous = ACTIVE.builder
    ACTIVE.builder = builder
    try:
        result = fn(**args)
    finally:
        ACTIVE.builder = previous
    if builder.cases or builder.open_conditionals:
        raise CompileError.at(
            location,
            f"workflow '{name}': conditional '{(builder.open_conditionals or ['?'])[-1]}' "
            "is not finished",
            "End it with .else_().then(...) or .else_().fail(...).",
        )
    outputs = bind_outputs(builder, name, iface, result, location)
    if inputs is not None:  # a dynamic's sub-DAG: its inputs are already constants
        iface = dataclasses.replace(iface, inputs={}, defaults={}, positional=())
    return WorkflowSpec(
        name=name, interface=iface, nodes=builder.sorted_nodes(), outputs=outputs, where=location
    )


def current_builder() -> Builder | None:
    return ACTIVE.builder


def map_outputs(task: Entity, min_success_ratio: float) -> dict[str, Any]:
    outs = task.interface.outputs
    if len(outs) > 1:
        raise CompileError.at(
            user_location(),
            f"map_task over '{task.name}': the task has {len(outs)} outputs; map tasks take "
            "a task with one output",
        )
    if not outs:
        return {}
    ((_, tp),) = outs.items()
    if min_success_ratio < 1.0:
        return {"o0": list[typing.Optional[tp]]}  # type: ignore[valid-type]  # noqa: UP045
    return {"o0": list[tp]}  # type: ignore[valid-type]


__all__ = ["ACTIVE", "Builder", "MapSpec", "compile_body", "current_builder"]

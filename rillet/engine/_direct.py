"""The direct runner: walks a compiled plan in memory and returns plain values.

This is what ``wf(x=1)`` does. Values are passed by reference through an array
of slots; nothing is copied, hashed, serialized or written. A plan is built once
per WorkflowSpec. Nothing here touches a store.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

from rillet.compiler._access import follow
from rillet.compiler._interface import is_namedtuple
from rillet.compiler._spec import (
    CONST,
    DICT,
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
    INPUT,
    LIST,
    NODE,
    OPS,
    PATH,
    Binding,
    BoolOp,
    Comparison,
    Node,
    WorkflowSpec,
)
from rillet.engine._attempts import attempt_runner
from rillet.engine._context import STATE, MemorySink, RunSink
from rillet.engine._failure import FailureInfo
from rillet.engine._validate import validated_fn
from rillet.errors import DefinitionError, RilletError, TypeMismatchError, UserCodeError
from rillet.types._compat import check_value, type_name, value_type_name

Getter = Callable[[list[Any]], Any]


class NodeFailed(Exception):
    """Internal: a node of a direct run failed; carries the node id."""

    def __init__(self, node_id: str, error: BaseException) -> None:
        super().__init__(node_id)
        self.node_id = node_id
        self.error = error


def task_callable(entity: Any) -> Callable[..., Any]:
    """The function to call for one attempt-managed task invocation."""
    return attempt_runner(
        validated_fn(entity), getattr(entity, "retries", 0),
        getattr(entity, "timeout_seconds", None)
    )


class _Slots:
    """Assigns a slot index to each workflow input and node output."""

    def __init__(self) -> None:
        self.index: dict[tuple[str | None, str], int] = {}

    def get(self, node: str | None, output: str) -> int:
        key = (node, output)
        slot = self.index.get(key)
        if slot is None:
            slot = self.index[key] = len(self.index)
        return slot


_FLOATS = (float, typing.Optional[float])  # noqa: UP045
_INTS = (int, typing.Optional[int])  # noqa: UP045


def _to_float(b: Binding, declared: Any) -> bool:
    """Whether an int value bound here must become a float (the one implicit conversion)."""
    return b.kind in (INPUT, NODE, PATH) and b.type in _INTS and declared in _FLOATS


def _as_float(value: Any) -> Any:
    return float(value) if type(value) is int else value


def _item_types(b: Binding) -> list[Any]:
    args = typing.get_args(b.type)
    if b.kind == DICT:
        return [args[1] if len(args) == 2 else None] * len(b.items)
    if typing.get_origin(b.type) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return list(args) if len(args) == len(b.items) else [None] * len(b.items)
    return [args[0] if args else None] * len(b.items)


def _getter(b: Binding, slots: _Slots, declared: Any = None) -> Getter:
    if b.kind == CONST:
        value = b.value
        return lambda vals: value
    if b.kind == INPUT or b.kind == NODE:
        i = slots.get(None, b.ref) if b.kind == INPUT else slots.get(b.ref, b.output)
        if _to_float(b, declared):
            return lambda vals: _as_float(vals[i])
        return lambda vals: vals[i]
    if b.kind == PATH:
        (base,) = b.items
        get, path = _getter(base, slots), b.path
        if _to_float(b, declared):
            return lambda vals: _as_float(follow(get(vals), path))
        return lambda vals: follow(get(vals), path)
    getters = [
        _getter(item, slots, tp) for item, tp in zip(b.items, _item_types(b), strict=True)
    ]
    if b.kind == LIST and is_namedtuple(b.type):  # a task's named outputs passed whole
        make = b.type
        return lambda vals: make(*(g(vals) for g in getters))
    if b.kind == LIST:
        as_tuple = getattr(b.type, "__origin__", None) is tuple
        if as_tuple:
            return lambda vals: tuple(g(vals) for g in getters)
        return lambda vals: [g(vals) for g in getters]
    if b.kind == DICT:
        keys = b.keys
        return lambda vals: {k: g(vals) for k, g in zip(keys, getters, strict=True)}
    raise RilletError(f"unknown binding kind {b.kind!r}")


class _Args:
    """How to assemble one node's keyword arguments from the slots."""

    __slots__ = ("computed", "consts", "refs")

    def __init__(self, inputs: dict[str, Binding], slots: _Slots, declared: dict[str, Any]) -> None:
        self.consts: dict[str, Any] = {}
        self.refs: list[tuple[str, int]] = []
        self.computed: list[tuple[str, Getter]] = []
        for name, b in inputs.items():
            if b.kind == CONST:
                self.consts[name] = b.value
            elif _to_float(b, declared.get(name)):
                self.computed.append((name, _getter(b, slots, declared[name])))
            elif b.kind == INPUT:
                self.refs.append((name, slots.get(None, b.ref)))
            elif b.kind == NODE:
                self.refs.append((name, slots.get(b.ref, b.output)))
            else:
                self.computed.append((name, _getter(b, slots)))

    def build(self, vals: list[Any]) -> dict[str, Any]:
        kw = self.consts.copy()
        for name, slot in self.refs:
            kw[name] = vals[slot]
        for name, get in self.computed:
            kw[name] = get(vals)
        return kw


def _declared_inputs(node: Node) -> dict[str, Any]:
    """The input types a node's entity declares (mapped inputs left out: they are lists)."""
    interface = getattr(node.entity, "interface", None)
    if interface is None:
        return {}
    if node.map is not None:
        return {k: t for k, t in interface.inputs.items() if k not in node.map.mapped}
    return interface.inputs  # type: ignore[no-any-return]


class Step:
    __slots__ = ("args", "node", "node_id", "out_slots")

    def __init__(self, node: Node, slots: _Slots) -> None:
        self.node = node
        self.node_id = node.id
        self.args = _Args(node.inputs, slots, _declared_inputs(node))
        self.out_slots = [slots.get(node.id, name) for name in node.outputs]

    def run(self, vals: list[Any], sink: RunSink) -> None:
        raise NotImplementedError


class OutputCheck:
    """Checks that what a task returned has its declared output types; a mismatch is a
    TypeMismatchError naming the task, the output and both types (never retried).

    ``exact`` is the one class an output of a plain type has (``int``, ``str``...), so
    that the common case costs one ``type(x) is exact`` test; None checks every value.
    """

    __slots__ = ("exact", "name", "outputs", "single")

    def __init__(self, entity: Any, outputs: dict[str, Any]) -> None:
        self.name = getattr(entity, "name", repr(entity))
        self.outputs = outputs
        self.exact: Any = None
        iface = getattr(entity, "interface", None)
        # One output returned as itself (not as a one-field NamedTuple).
        self.single = len(outputs) == 1 and getattr(iface, "output_tuple", None) is None
        if self.single:
            (tp,) = outputs.values()
            if tp in _EXACT:
                self.exact = tp

    def __call__(self, result: Any) -> None:
        outs = self.outputs
        if not outs:
            return
        if self.single:
            if type(result) is self.exact:  # a plain type's one class (bool is no int)
                return
            ((name, tp),) = outs.items()
            self._one(name, tp, result)
            return
        if not isinstance(result, tuple) or len(result) != len(outs):
            raise TypeMismatchError(
                f"task '{self.name}' declares {len(outs)} outputs ({', '.join(outs)}) but "
                f"returned {value_type_name(result)} ({result!r:.60})"
            )
        for (name, tp), value in zip(outs.items(), result, strict=True):
            self._one(name, tp, value)

    def _one(self, name: str, tp: Any, value: Any) -> None:
        if not check_value(value, tp):
            raise TypeMismatchError(
                f"task '{self.name}' output '{name}' is declared {type_name(tp)} but the task "
                f"returned {value_type_name(value)} ({value!r:.60})"
            )


_EXACT = frozenset({int, str, bool, bytes, float})


class TaskStep(Step):
    __slots__ = ("call", "check", "exact", "single")

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        self.call = task_callable(node.entity)
        self.check = OutputCheck(node.entity, node.outputs)
        self.exact = self.check.exact if node.outputs else type(None)
        # One output: the value itself, or the only field of a one-field NamedTuple.
        self.single = len(self.out_slots) == 1 and node.entity.interface.output_tuple is None

    def run(self, vals: list[Any], sink: RunSink) -> None:
        STATE.node_id = self.node_id
        result = self.call(**self.args.build(vals))
        if type(result) is not self.exact:
            self.check(result)
        slots = self.out_slots
        if self.single:
            vals[slots[0]] = result
        elif slots:
            for slot, value in zip(slots, result, strict=True):
                vals[slot] = value


class EagerStep(TaskStep):
    """An ``@eager`` workflow called in a static one: its body runs directly."""

    __slots__ = ()

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        self.call = node.entity.direct


class MapStep(Step):
    __slots__ = ("call", "check", "mapped", "ratio")

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        assert node.map is not None
        self.call = task_callable(node.entity)
        self.mapped = node.map.mapped
        self.ratio = node.map.min_success_ratio
        self.check = OutputCheck(node.entity, node.entity.interface.outputs)

    def run(self, vals: list[Any], sink: RunSink) -> None:
        STATE.node_id = self.node_id
        kw = self.args.build(vals)
        result = run_map(self.node_id, self.call, kw, self.mapped, self.ratio)
        check_elements(self.check, result, self.ratio < 1.0)
        if self.out_slots:
            vals[self.out_slots[0]] = result


def check_elements(check: OutputCheck, values: list[Any], tolerant: bool) -> None:
    """The output check of a map's elements (None stands for a failed element when
    ``tolerant``)."""
    if not check.outputs:
        return
    exact = check.exact
    for v in values:
        if type(v) is not exact and not (tolerant and v is None):
            check(v)


def run_map(
    node_id: str,
    call: Callable[..., Any],
    kw: dict[str, Any],
    mapped: tuple[str, ...],
    ratio: float,
    offset: int = 0,
    indices: Sequence[int] | None = None,
    out: list[Any] | None = None,
) -> list[Any]:
    """Call ``call`` once per element of the mapped inputs (a tight loop). Each call
    runs with ``STATE.element`` set to its index (``offset`` + its place here, for a
    chunk of a larger map, or ``indices[place]``), so that elements keep checkpoints of
    their own. Values are appended to ``out`` as they come (what an attempt that
    failed at an element keeps of the elements before it)."""
    problem = unequal_lengths(node_id, kw, mapped)
    if problem is not None:
        raise UserCodeError(problem, node_id=node_id, retryable=False)
    columns = [kw.pop(name) for name in mapped]
    n = len(columns[0])
    if ratio < 1.0:
        values, failed, first_error = map_tolerant(call, kw, mapped, columns, offset,
                                                   indices=indices, out=out)
        check_map_ratio(node_id, n, failed, ratio, first_error)
        return values
    state = STATE
    where = range(offset, offset + n) if indices is None else indices
    if out is None:
        out = []
    append = out.append
    try:
        if len(mapped) == 1:
            name = mapped[0]
            if kw:
                for state.element, v in zip(where, columns[0], strict=True):
                    append(call(**kw, **{name: v}))
            else:
                for state.element, v in zip(where, columns[0], strict=True):
                    append(call(**{name: v}))
        else:
            for state.element, row in zip(where, zip(*columns, strict=True), strict=True):
                append(call(**kw, **dict(zip(mapped, row, strict=True))))
        return out
    finally:
        state.element = -1


def unequal_lengths(node_id: str, kw: dict[str, Any], mapped: tuple[str, ...]) -> str | None:
    """The error message when the mapped inputs differ in length, else None."""
    n = len(kw[mapped[0]])
    for name in mapped[1:]:
        if len(kw[name]) != n:
            return (f"map node '{node_id}': mapped inputs have different lengths "
                    f"({mapped[0]}: {n}, {name}: {len(kw[name])})")
    return None


def map_tolerant(
    call: Callable[..., Any], kw: dict[str, Any], mapped: tuple[str, ...],
    columns: list[Any] | None = None, offset: int = 0,
    on_error: Callable[[int, BaseException], None] | None = None,
    before: Callable[[], None] | None = None,
    *,
    indices: Sequence[int] | None = None,
    out: list[Any] | None = None,
) -> tuple[list[Any], int, BaseException | None]:
    """Call ``call`` per element, keeping None where it raises: (values, how many failed,
    the first error). ``kw`` holds the fixed inputs (and the mapped ones, unless
    ``columns`` gives them); ``STATE.element``, ``indices`` and ``out`` are as in
    :func:`run_map`. ``before()`` runs before each element and ``on_error(index,
    error)`` after each that failed (an executor keeps each failed element's error and
    output)."""
    if columns is None:
        columns = [kw.pop(name) for name in mapped]
    if out is None:
        out = []
    failed = 0
    first_error: BaseException | None = None
    state = STATE
    where = range(offset, offset + len(columns[0])) if indices is None else indices
    try:
        for state.element, row in zip(where, zip(*columns, strict=True), strict=True):
            if before is not None:
                before()
            try:
                out.append(call(**kw, **dict(zip(mapped, row, strict=True))))
            except Exception as exc:
                failed += 1
                first_error = first_error or exc
                out.append(None)
                if on_error is not None:
                    on_error(state.element, exc)
    finally:
        state.element = -1
    return out, failed, first_error


def check_map_ratio(
    node_id: str, total: int, failed: int, ratio: float, first_error: BaseException | None
) -> None:
    if total and (total - failed) / total < ratio:
        detail = (
            f"; first error: {type(first_error).__name__}: {first_error}" if first_error else ""
        )
        raise UserCodeError(
            f"map node '{node_id}': {failed} of {total} elements failed, below "
            f"min_success_ratio {ratio:g}{detail}",
            node_id=node_id,
        ) from first_error


class SubworkflowStep(Step):
    """Runs a subworkflow's plan; its nodes run as ``<this node id>/<their id>``."""

    __slots__ = ("entity",)

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        self.entity = node.entity

    def run(self, vals: list[Any], sink: RunSink) -> None:
        outputs = self.invoke(self.args.build(vals), sink)
        STATE.node_id = self.node_id
        for slot, name in zip(self.out_slots, self.node.outputs, strict=True):
            vals[slot] = outputs[name]

    def invoke(self, kw: dict[str, Any], sink: RunSink) -> dict[str, Any]:
        return self.run_sub(self.entity.spec, kw, sink)

    def run_sub(self, spec: WorkflowSpec, kw: dict[str, Any], sink: RunSink) -> dict[str, Any]:
        state = STATE
        prefix = state.prefix
        state.prefix = f"{prefix}{self.node_id}/"
        try:
            return run_plan(plan_for(spec), kw, sink)
        finally:
            state.prefix = prefix


class DynamicStep(SubworkflowStep):
    """Compiles a dynamic's body with the real inputs, then runs the sub-DAG it built.

    Both happen inside one attempt, so the dynamic's ``retries`` and ``timeout``
    cover them; a compile error is never retried.
    """

    __slots__ = ("retries", "timeout")

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        self.retries: int = getattr(self.entity, "retries", 0)
        self.timeout: float | None = getattr(self.entity, "timeout_seconds", None)

    def invoke(self, kw: dict[str, Any], sink: RunSink) -> dict[str, Any]:
        def once(**inputs: Any) -> dict[str, Any]:
            STATE.node_id = self.node_id
            return self.run_sub(self.entity.compile_with(inputs), inputs, sink)

        once.__qualname__ = self.entity.fn.__qualname__
        return attempt_runner(once, self.retries, self.timeout)(**kw)  # type: ignore[no-any-return]


_Arm = tuple[Callable[[list[Any]], bool] | None, list[Step], list[Getter], str | None]


class BranchStep(Step):
    __slots__ = ("arms",)

    def __init__(self, node: Node, slots: _Slots) -> None:
        super().__init__(node, slots)
        self.arms: list[_Arm] = []
        for case in node.cases:
            test = _condition(case.condition, slots) if case.condition is not None else None
            steps = [make_step(n, slots) for n in case.nodes]
            getters = (
                [_getter(case.outputs[name], slots) for name in node.outputs]
                if case.fail is None
                else []
            )
            self.arms.append((test, steps, getters, case.fail))

    def run(self, vals: list[Any], sink: RunSink) -> None:
        for test, steps, getters, fail in self.arms:
            if test is None or test(vals):
                if fail is not None:
                    raise UserCodeError(
                        f"conditional '{self.node_id}' failed: {fail}", node_id=self.node_id
                    )
                for step in steps:
                    try:
                        step.run(vals, sink)
                    except NodeFailed:
                        raise
                    except Exception as exc:
                        raise NodeFailed(step.node_id, exc) from exc
                for slot, get in zip(self.out_slots, getters, strict=True):
                    vals[slot] = get(vals)
                return
        raise UserCodeError(
            f"conditional '{self.node_id}': no condition matched and there is no else_()",
            node_id=self.node_id,
        )


def _condition(cond: Any, slots: _Slots) -> Callable[[list[Any]], bool]:
    if isinstance(cond, Comparison):
        left, right, op = _getter(cond.left, slots), _getter(cond.right, slots), OPS[cond.op]
        return lambda vals: bool(op(left(vals), right(vals)))
    assert isinstance(cond, BoolOp)
    a, b = _condition(cond.left, slots), _condition(cond.right, slots)
    if cond.op == "and":
        return lambda vals: a(vals) and b(vals)
    return lambda vals: a(vals) or b(vals)


_STEP_KINDS: dict[str, type[Step]] = {
    "task": TaskStep,
    "map": MapStep,
    "workflow": SubworkflowStep,
    "dynamic": DynamicStep,
    "branch": BranchStep,
    "eager": EagerStep,
}


def make_step(node: Node, slots: _Slots) -> Step:
    return _STEP_KINDS[node.kind](node, slots)


class Plan:
    """A WorkflowSpec prepared for direct runs."""

    __slots__ = ("input_slots", "keep_going", "n_slots", "on_failure", "output_getters", "spec",
                 "steps")

    def __init__(self, spec: WorkflowSpec) -> None:
        slots = _Slots()
        self.spec = spec
        self.input_slots = [(name, slots.get(None, name)) for name in spec.interface.inputs]
        self.steps = [make_step(n, slots) for n in spec.nodes]
        declared = spec.interface.outputs
        self.output_getters = [
            (name, _getter(b, slots, declared.get(name))) for name, b in spec.outputs.items()
        ]
        self.on_failure = spec.on_failure
        self.keep_going = spec.failure_policy == FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        self.n_slots = len(slots.index)


_PLANS: dict[int, tuple[WorkflowSpec, Plan]] = {}


def plan_for(spec: WorkflowSpec) -> Plan:
    hit = _PLANS.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    plan = Plan(spec)
    if len(_PLANS) > 4096:
        _PLANS.clear()
    _PLANS[id(spec)] = (spec, plan)
    return plan


def run_plan(plan: Plan, inputs: dict[str, Any], sink: RunSink) -> dict[str, Any]:
    vals: list[Any] = [None] * plan.n_slots
    for name, slot in plan.input_slots:
        vals[slot] = inputs[name]
    step: Step | None = None
    try:
        for step in plan.steps:
            step.run(vals, sink)
    except NodeFailed as failed:
        _finish_others(plan, step, vals, sink)
        _fail(plan, inputs, failed.node_id, failed.error)
    except Exception as exc:
        if step is None:
            raise
        _finish_others(plan, step, vals, sink)
        _fail(plan, inputs, step.node_id, exc)
    return {name: get(vals) for name, get in plan.output_getters}


def _finish_others(plan: Plan, failed: Step | None, vals: list[Any], sink: RunSink) -> None:
    """Under FAIL_AFTER_EXECUTABLE_NODES_COMPLETE, run the nodes after ``failed`` that do
    not depend on a failed node; their own failures are skipped past the same way."""
    if not plan.keep_going or failed is None:
        return
    steps = plan.steps
    dead = {failed.node_id}
    for step in steps[steps.index(failed) + 1:]:
        if any(u in dead for u in step.node.upstream):
            dead.add(step.node_id)
            continue
        try:
            step.run(vals, sink)
        except Exception:
            dead.add(step.node_id)


def _fail(plan: Plan, inputs: dict[str, Any], node_id: str, error: BaseException) -> None:
    """Run the failure handler, then raise: a DefinitionError (a dynamic's body did
    not compile) as it is, anything else as a UserCodeError naming the node."""
    raised: BaseException
    cause: BaseException | None = None
    if isinstance(error, UserCodeError) and error.error_type is not None:
        raised = error  # a nested run failed and said where already
        info = FailureInfo(
            node_id=error.node_id or node_id,
            error_type=error.error_type,
            message=error.error_message or "",
        )
    else:
        qualified = STATE.prefix + node_id
        etype = type(error).__name__
        message = str(error)
        info = FailureInfo(node_id=qualified, error_type=etype, message=message)
        if isinstance(error, DefinitionError):
            raised = error
        elif isinstance(error, UserCodeError):  # raised by the node itself: a map, a fail()
            error.node_id, error.error_type, error.error_message = qualified, etype, message
            raised = error
        else:
            raised = UserCodeError(
                f"workflow '{plan.spec.name}' failed at node '{qualified}': {etype}: {message}",
                node_id=qualified,
                error_type=etype,
                error_message=message,
            )
            cause = error
    if plan.on_failure is not None:
        _run_handler(plan.on_failure, inputs, info, raised)
    if cause is not None:
        raise raised from cause
    raise raised


def _run_handler(
    handler: Node, inputs: dict[str, Any], info: FailureInfo, raised: BaseException
) -> None:
    kw: dict[str, Any] = {}
    for name, b in handler.inputs.items():
        if b.kind == INPUT:
            kw[name] = inputs[b.ref]
        elif b.kind == "error":
            kw[name] = info
        elif b.kind == CONST:
            kw[name] = b.value
    state = STATE
    node_id = state.node_id
    state.node_id = handler.id
    try:
        if handler.kind == "workflow":
            run_plan(plan_for(handler.entity.spec), {**handler.entity.interface.defaults, **kw},
                     MemorySink())
        else:
            handler.entity.fn(**kw)
    except Exception as exc:
        # The workflow's failure is what the caller needs; keep the handler's as a note.
        add_note = getattr(raised, "add_note", None)
        if add_note is not None:
            add_note(
                f"the on_failure handler '{handler.entity_name}' failed too: "
                f"{type(exc).__name__}: {exc}"
            )
    finally:
        state.node_id = node_id


def run_detached(node_id: str, call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call a task outside any run (``inc(x=1)`` from Python) with a context of its own.

    Inside a run (a task calling another task) the caller's context is kept.
    """
    state = STATE
    if state.sink is not None:
        return call(*args, **kwargs)
    state.sink, state.node_id = MemorySink(), node_id
    try:
        return call(*args, **kwargs)
    finally:
        state.sink, state.node_id = None, ""


def run_direct(spec: WorkflowSpec, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a compiled workflow in memory; the entry point of ``wf(...)``.

    Called from inside a running task, the workflow's nodes run as that task's
    children (``<task node>/<node>``) in the same context, like a subworkflow.
    """
    state = STATE
    previous, node_id, prefix, attempt = state.sink, state.node_id, state.prefix, state.attempt
    if previous is None:
        sink: RunSink = MemorySink()
    else:
        sink = previous
        state.prefix = f"{prefix}{node_id}/" if node_id else prefix
    state.sink = sink
    try:
        return run_plan(plan_for(spec), inputs, sink)
    finally:
        state.sink, state.node_id, state.prefix, state.attempt = previous, node_id, prefix, attempt

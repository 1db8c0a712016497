"""``@workflow``: a typed DAG of tasks, compiled when the decorator runs.

Called inside another workflow it becomes a subworkflow node; called anywhere
else it runs in memory through the direct runner and returns plain values.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from rillet.compiler._builder import ACTIVE, FAILURE_NODE_ID, compile_body
from rillet.compiler._interface import Interface, read_interface, where
from rillet.compiler._spec import (
    CONST,
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
    FAIL_IMMEDIATELY,
    INPUT,
    Binding,
    Node,
    WorkflowSpec,
)
from rillet.engine._direct import run_direct
from rillet.engine._failure import FailureInfo
from rillet.engine._values import Value
from rillet.errors import CompileError, DefinitionError, TypeMismatchError
from rillet.sdk._task import Task, _pack
from rillet.types._compat import check_value, coerce, is_compatible, type_name, value_type_name

P = ParamSpec("P")
R = TypeVar("R")


class WorkflowFailurePolicy(str, enum.Enum):
    """What a workflow does when a node fails for good (flytekit's names).

    ``FAIL_IMMEDIATELY`` (the default): start no new node. ``FAIL_AFTER_EXECUTABLE_NODES_COMPLETE``:
    keep running every node that does not depend on a failed one, then fail.
    """

    FAIL_IMMEDIATELY = FAIL_IMMEDIATELY
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = FAIL_AFTER_EXECUTABLE_NODES_COMPLETE


def _policy(value: Any, name: str) -> str:
    try:
        return WorkflowFailurePolicy(getattr(value, "value", value)).value
    except ValueError:
        choices = ", ".join(p.value for p in WorkflowFailurePolicy)
        raise DefinitionError(
            f"workflow '{name}': failure_policy must be one of {choices}, got {value!r}"
        ) from None


class Workflow(Generic[P, R]):
    """A compiled workflow. ``.spec`` is its WorkflowSpec.

    ``Workflow("name")`` (a name instead of a function) is an imperative workflow, built
    with ``add_workflow_input``, ``add_entity`` and ``add_workflow_output`` as in flytekit.
    """

    node_kind = "workflow"

    def __new__(cls, fn: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(fn, str) or (fn is None and "name" in kwargs):
            from rillet.sdk._imperative import ImperativeWorkflow

            return super().__new__(ImperativeWorkflow)
        return super().__new__(cls)

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        on_failure: Task[..., Any] | Workflow[..., Any] | None = None,
        failure_policy: WorkflowFailurePolicy | str = FAIL_IMMEDIATELY,
    ) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        self.name = f"{fn.__module__}:{fn.__qualname__}"
        self.short_name = fn.__name__
        self.interface: Interface = read_interface(fn, "workflow")
        spec = compile_body(self.name, fn, self.interface)
        if on_failure is not None:
            handler = _failure_node(self.name, fn, self.interface, on_failure)
            spec = dataclasses.replace(spec, on_failure=handler)
        policy = _policy(failure_policy, self.name)
        if policy != FAIL_IMMEDIATELY:
            spec = dataclasses.replace(spec, failure_policy=policy)
        self.spec: WorkflowSpec = spec
        self.on_failure = on_failure

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = ACTIVE.builder
        if builder is not None:
            return builder.call(self, args, kwargs)  # type: ignore[no-any-return]
        inputs = self.resolve_inputs(args, kwargs)
        return _pack(self.interface, run_direct(self.spec, inputs))  # type: ignore[no-any-return]

    def resolve_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Map call arguments to inputs, filling defaults; bad ones fail clearly."""
        iface = self.interface
        if len(args) > len(iface.positional):
            raise DefinitionError(
                f"workflow '{self.name}' takes {len(iface.positional)} positional inputs, "
                f"got {len(args)}"
            )
        inputs = dict(zip(iface.positional, args, strict=False))
        for key in kwargs:
            if key in inputs:
                raise DefinitionError(f"workflow '{self.name}' got input '{key}' twice")
        inputs.update(kwargs)
        for key, value in inputs.items():
            tp = iface.inputs.get(key)
            if isinstance(value, Value) and key in iface.inputs:
                continue  # a recorded value (a recovery's input): checked, decoded when used
            if tp is None and key not in iface.inputs:
                raise DefinitionError(
                    f"workflow '{self.name}' has no input '{key}' "
                    f"(its inputs: {', '.join(iface.inputs) or 'none'})"
                )
            if not check_value(value, tp):
                raise TypeMismatchError(
                    f"workflow '{self.name}' input '{key}' expects {type_name(tp)}, "
                    f"got {value_type_name(value)} ({value!r:.60})"
                )
            inputs[key] = coerce(value, tp)
        for key in iface.inputs:
            if key not in inputs:
                if key not in iface.defaults:
                    raise DefinitionError(
                        f"workflow '{self.name}' is missing required input '{key}' "
                        f"({type_name(iface.inputs[key])})"
                    )
                inputs[key] = iface.defaults[key]
        return inputs

    def __repr__(self) -> str:
        return f"Workflow({self.name})"


def _failure_node(
    wf_name: str, fn: Callable[..., Any], iface: Interface, handler: Any
) -> Node:
    if not isinstance(handler, (Task, Workflow)):
        raise DefinitionError(
            f"{where(fn)}: workflow '{wf_name}': on_failure must be a @task or @workflow, "
            f"got {type(handler).__name__}"
        )
    inputs: dict[str, Binding] = {}
    for name, tp in handler.interface.inputs.items():
        if name in iface.inputs:
            if not is_compatible(iface.inputs[name], tp):
                raise TypeMismatchError(
                    f"{where(fn)}: workflow '{wf_name}': on_failure handler "
                    f"'{handler.name}' input '{name}' expects {type_name(tp)}, the workflow "
                    f"input is {type_name(iface.inputs[name])}"
                )
            inputs[name] = Binding(kind=INPUT, ref=name, type=tp)
        elif is_compatible(FailureInfo, tp) and (name == "error" or tp is not Any):
            inputs[name] = Binding(kind="error", type=tp)  # error: FailureInfo (FlyteError)
        elif name in handler.interface.defaults:
            inputs[name] = Binding(kind=CONST, value=handler.interface.defaults[name], type=tp)
        else:
            raise CompileError(
                f"{where(fn)}: workflow '{wf_name}': on_failure handler '{handler.name}' "
                f"input '{name}' is neither a workflow input "
                f"({', '.join(iface.inputs) or 'none'}) nor 'error: FailureInfo'"
            )
    return Node(
        id=FAILURE_NODE_ID, kind=handler.node_kind, entity=handler, entity_name=handler.name,
        inputs=inputs, outputs=handler.interface.outputs, upstream=(),
    )


@overload
def workflow(fn: Callable[P, R], /) -> Workflow[P, R]: ...


@overload
def workflow(
    *,
    on_failure: Task[..., Any] | Workflow[..., Any] | None = None,
    failure_policy: WorkflowFailurePolicy | str = FAIL_IMMEDIATELY,
) -> Callable[[Callable[P, R]], Workflow[P, R]]: ...


def workflow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    on_failure: Task[..., Any] | Workflow[..., Any] | None = None,
    failure_policy: WorkflowFailurePolicy | str = FAIL_IMMEDIATELY,
) -> Workflow[P, R] | Callable[[Callable[P, R]], Workflow[P, R]]:
    """Declare a workflow; its body is compiled now, so mistakes fail here."""

    def wrap(f: Callable[P, R]) -> Workflow[P, R]:
        return Workflow(f, on_failure=on_failure, failure_policy=failure_policy)

    return wrap(fn) if fn is not None else wrap

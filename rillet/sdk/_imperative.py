"""Imperative workflows (``Workflow("name")`` + ``add_entity``) and ``create_node``.

They build the same WorkflowSpec as a ``@workflow`` body does, through the same
compiler Builder, one call at a time. Nothing here runs a task.
"""

from __future__ import annotations

import sys
from typing import Any

from rillet.compiler._builder import ACTIVE, Builder, bind_outputs
from rillet.compiler._interface import Interface
from rillet.compiler._promise import NodeRef, Promise, user_location
from rillet.compiler._spec import FAIL_IMMEDIATELY, Node, WorkflowSpec
from rillet.errors import CompileError, DefinitionError
from rillet.sdk._workflow import Workflow, WorkflowFailurePolicy, _policy
from rillet.types._compat import normalize


def _node_ref(node: Node) -> NodeRef:
    return NodeRef(node.id, {k: Promise(node.id, k, t) for k, t in node.outputs.items()})


def _last_node(builder: Builder) -> Node:
    nodes = builder.cases[-1].nodes if builder.cases else builder.nodes
    return nodes[-1]


def create_node(entity: Any, *args: Any, **kwargs: Any) -> Any:
    """Add ``entity`` as a node and return it (``.outputs``, ``>>``), as flytekit's
    ``create_node``. Outside a workflow body it runs the entity and returns its outputs."""
    builder = ACTIVE.builder
    if builder is None:
        return entity(*args, **kwargs)
    entity(*args, **kwargs)
    return _node_ref(_last_node(builder))


class ImperativeWorkflow(Workflow[..., Any]):
    """A workflow built call by call: ``add_workflow_input``, ``add_entity``,
    ``add_workflow_output``. Its spec is compiled again after each change."""

    def __init__(  # type: ignore[override]
        self,
        name: str,
        *,
        failure_policy: WorkflowFailurePolicy | str = FAIL_IMMEDIATELY,
        module: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise DefinitionError(f"Workflow(name={name!r}): give a Python identifier")
        module = module or sys._getframe(1).f_globals.get("__name__", "__main__")

        def body(**inputs: Any) -> Any:
            raise DefinitionError(f"imperative workflow '{name}' has no body to call")

        body.__module__, body.__qualname__, body.__name__ = module, name, name
        self.fn = body
        self.name = f"{module}:{name}"
        self.short_name = name
        self.on_failure = None
        self._policy = _policy(failure_policy, self.name)
        self._builder = Builder()
        self._input_types: dict[str, Any] = {}
        self._outputs: dict[str, tuple[Any, Any]] = {}
        self.inputs: dict[str, Promise] = {}
        self._compiled: WorkflowSpec | None = None
        self._where = user_location()

    def add_workflow_input(self, name: str, python_type: Any) -> Promise:
        if name in self._input_types:
            raise DefinitionError(f"workflow '{self.name}' already has input '{name}'")
        tp = self._input_types[name] = normalize(python_type)
        promise = self.inputs[name] = Promise(None, name, tp)
        self._compiled = None
        return promise

    def add_entity(self, entity: Any, **kwargs: Any) -> NodeRef:
        previous = ACTIVE.builder
        ACTIVE.builder = self._builder
        try:
            entity(**kwargs)
        finally:
            ACTIVE.builder = previous
        self._compiled = None
        return _node_ref(_last_node(self._builder))

    def add_workflow_output(self, name: str, value: Any, python_type: Any = None) -> None:
        if name in self._outputs:
            raise DefinitionError(f"workflow '{self.name}' already has output '{name}'")
        tp = python_type if python_type is not None else getattr(value, "type", None)
        if tp is None:
            raise CompileError.at(
                user_location(), f"workflow '{self.name}' output '{name}': give python_type="
            )
        self._outputs[name] = (value, normalize(tp))
        self._compiled = None

    @property
    def interface(self) -> Interface:  # type: ignore[override]
        outs = {k: tp for k, (_, tp) in self._outputs.items()}
        return Interface(
            inputs=dict(self._input_types), defaults={}, outputs=outs,
            output_tuple=tuple if len(outs) > 1 else None,
            positional=tuple(self._input_types),
        )

    @property
    def spec(self) -> WorkflowSpec:  # type: ignore[override]
        spec = self._compiled
        if spec is None:
            iface = self.interface
            values = tuple(v for v, _ in self._outputs.values())
            result = values[0] if len(values) == 1 else (values or None)
            outputs = bind_outputs(self._builder, self.name, iface, result, self._where)
            spec = self._compiled = WorkflowSpec(
                name=self.name, interface=iface, nodes=self._builder.sorted_nodes(),
                outputs=outputs, failure_policy=self._policy, where=self._where,
            )
        return spec

"""Nodes that become other nodes when ready: a finished subworkflow, branch or
dynamic is a join; a branch picks its arm; a dynamic compiles its sub-DAG.
"""

from __future__ import annotations

from typing import Any

from rillet.compiler._spec import holds
from rillet.engine._graph import RNode, deps_of, remap, remap_condition
from rillet.engine._records import (
    DONE_OK,
    NodeStatus,
)
from rillet.engine._runstate import RunState


class EagerFailure:
    """What an eager body's replay gets for an awaited node that failed: the await
    raises ``EagerException(message)``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class Expansion(RunState):
    """Joins, branches and dynamics of one execution."""

    # -- joins, branches, dynamics --------------------------------------------
    def _complete_join(self, node: RNode) -> None:
        self.outputs[node.id] = {k: self.value_of(b) for k, b in node.out_bindings.items()}
        deps = deps_of(node.out_bindings)
        reused = bool(deps) and all(
            self.graph.nodes[d].status is NodeStatus.RECOVERED for d in deps
            if d in self.graph.nodes
        )
        if not reused:
            self.tainted.add(node.id)
        self._record_node(node, NodeStatus.RECOVERED if reused else NodeStatus.SUCCEEDED)
        self._done(node)

    def _expand_branch(self, node: RNode) -> None:
        assert node.spec is not None
        chosen = None
        for case in node.spec.cases:
            if case.condition is None or self._test(
                    remap_condition(case.condition, node.prefix, node.input_map)):
                chosen = case
                break
        for case in node.spec.cases:
            if case is not chosen:
                for skipped in case.nodes:
                    self._record_skipped(node.prefix, skipped)
        if chosen is None or chosen.fail is not None:
            message = chosen.fail if chosen is not None else "no condition matched"
            self._record_node(node, NodeStatus.FAILED, error=f"conditional failed: {message}")
            if self.failure is None:
                self.failure = (node.id, "ConditionalFailure", str(message))
            return
        added = self.graph.expand(chosen.nodes, node.prefix, node.input_map)
        if self._forced(node.id):  # the arm's nodes live beside the branch, not inside
            self.forced.update(n.id for n in added)
        self._load_cache(added)
        for n in added:
            self._queued(n)
        node.kind = "join"
        node.out_bindings = {k: remap(b, node.prefix, node.input_map)
                             for k, b in chosen.outputs.items()}
        self.graph.wait(node, deps_of(node.out_bindings))
        self._record_node(node, NodeStatus.RUNNING)

    def _test(self, cond: Any) -> bool:
        return holds(cond, lambda b: self.value_of(b).get())

    def _expand_dynamic(self, node: RNode) -> None:
        assert node.spec is not None
        entity = node.spec.entity
        kwargs = {k: self.value_of(b).get() for k, b in node.inputs.items()}
        try:
            sub = entity.compile_with(kwargs)
        except Exception as exc:
            self._record_node(node, NodeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            if self.failure is None:
                self.failure = (node.id, type(exc).__name__, str(exc))
            return
        prefix = node.id + "/"
        added = self.graph.expand(sub.nodes, prefix, {})
        self._load_cache(added)
        for n in added:
            self._queued(n)
        node.kind = "join"
        node.out_bindings = {k: remap(b, prefix, {}) for k, b in sub.outputs.items()}
        self.tainted.add(node.id)
        self.graph.wait(node, deps_of(node.out_bindings))
        self._record_node(node, NodeStatus.RUNNING)

    def _replay_eager(self, node: RNode) -> None:
        """Replay an ``@eager`` body (see ``rillet.sdk._eager``): done, or more nodes to run
        (``<node>/<task>``) before the next replay."""
        assert node.spec is not None
        entity = node.spec.entity
        prefix = node.id + "/"
        kwargs = {k: self.value_of(b).get() for k, b in node.inputs.items()}

        def known(call_id: str) -> tuple[bool, Any]:
            done = self.graph.nodes.get(prefix + call_id)
            if done is not None and done.id in self.eager_failed:
                return True, EagerFailure(f"node '{done.id}' failed: {self.eager_failed[done.id]}")
            if done is None or done.status not in DONE_OK:
                return False, None
            iface = done.spec.entity.interface if done.spec is not None else None
            values = {k: v.get() for k, v in self.outputs[done.id].items()}
            return True, entity.pack_outputs_of(iface, values)

        try:
            finished, outputs, more = entity.replay(kwargs, known)
            if finished:
                entity.check_outputs(outputs)
        except Exception as exc:
            self._record_node(node, NodeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            if self.failure is None:
                self.failure = (node.id, type(exc).__name__, str(exc))
            return
        if finished:
            self.outputs[node.id] = {
                k: self.values.put(v, node.outputs[k]) for k, v in outputs.items()
            }
            self.tainted.add(node.id)
            self._record_node(node, NodeStatus.SUCCEEDED)
            self._done(node)
            return
        added = self.graph.expand(tuple(more), prefix, {})
        self._load_cache(added)
        for n in added:
            self._queued(n)
        self.tainted.add(node.id)
        self.graph.wait(node, [prefix + n.id for n in more])
        self._record_node(node, NodeStatus.RUNNING)

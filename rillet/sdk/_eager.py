"""``@eager``: a workflow whose body is an ``async def`` that awaits tasks.

flytekit's eager workflows run Python control flow over real values: each
``await t(x=...)`` runs task ``t`` and gives back its output. Here:

- called directly (``wf(x=1)``), the body runs in an event loop of its own thread;
  each awaited task runs in a worker thread (``asyncio.gather`` runs them at once);
- run durably (``rillet.run(wf)``), the workflow is one node of kind ``eager``. The
  engine *replays* the body: every task call is a node ``<eager node>/<task>[-k]``
  (numbered in the order of the calls); an await whose node has finished gets its
  recorded output, the first await whose node has not stops the replay, and the engine
  runs every call made so far that has no node yet (in parallel, like any nodes),
  then replays again. Each awaited task is so a node of the execution, recorded,
  cached and shown like the nodes of a static workflow.

A task that fails (after its retries) raises ``EagerException`` at the await, in a
direct call and in a durable run alike (there the failed node stays recorded as
failed; the execution fails only if the body lets the exception out).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from rillet.compiler._builder import ACTIVE, const_binding
from rillet.compiler._interface import Interface, read_interface, where
from rillet.compiler._spec import INPUT, NODE, Binding, Node, WorkflowSpec
from rillet.engine._expand import EagerFailure
from rillet.errors import DefinitionError, RilletError, TypeMismatchError
from rillet.sdk._task import _pack
from rillet.types._compat import check_value, type_name, value_type_name


class EagerException(RilletError):
    """A task awaited in an eager workflow failed (flytekit's ``EagerException``)."""


class _Suspend(BaseException):
    """Internal: a replayed body reached an await whose node has not run yet."""


def _in_thread(make: Callable[[], Coroutine[Any, Any, Any]], builder: Any) -> Any:
    """``asyncio.run(make())`` in a new thread whose ``ACTIVE.builder`` is ``builder`` (so
    that a caller's own event loop, a notebook's, is never in the way)."""
    box: dict[str, Any] = {}

    def main() -> None:
        ACTIVE.builder = builder
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            ACTIVE.builder = None

    thread = threading.Thread(target=main, name="rillet-eager", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


class _Calls:
    """What ``ACTIVE.builder`` is while an eager body runs: entity calls come here
    (``Task.__call__`` and ``Workflow.__call__`` hand them to ``call``) and return
    awaitables instead of running or compiling."""

    hidden: dict[str, str] = {}

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def new_id(self, short: str) -> str:
        k = self.counts.get(short, 0)
        self.counts[short] = k + 1
        return f"{short}-{k}" if k else short

    def inputs_of(
        self, entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if args:
            by_name = getattr(entity, "_by_name", None)
            if by_name is None:
                raise TypeError(f"pass the inputs of '{entity.name}' by name")
            kwargs = by_name(args, kwargs)
        iface: Interface = entity.interface
        unknown = [k for k in kwargs if k not in iface.inputs]
        if unknown:
            raise TypeError(f"'{entity.name}' has no input {unknown[0]!r}")
        return {**iface.defaults, **kwargs}

    def call(self, entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        kw = self.inputs_of(entity, args, kwargs)
        if isinstance(entity, Eager):  # an eager subworkflow runs inline, its calls are ours
            return entity.fn(**kw)
        return self.awaitable(self.new_id(entity.short_name), entity, kw)

    def awaitable(self, node_id: str, entity: Any, kw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        raise DefinitionError(
            f"{name}: an eager workflow awaits tasks and subworkflows; promises, map_task and "
            "conditional() belong to @workflow bodies"
        )


class _Direct(_Calls):
    async def _run(self, node_id: str, entity: Any, kw: dict[str, Any]) -> Any:
        try:
            return await asyncio.to_thread(entity, **kw)
        except Exception as exc:
            raise EagerException(
                f"node '{node_id}' ({entity.name}) failed: {type(exc).__name__}: {exc}"
            ) from exc

    def awaitable(self, node_id: str, entity: Any, kw: dict[str, Any]) -> Any:
        return self._run(node_id, entity, kw)


class Replay(_Calls):
    """One replay of a body in a durable run. ``known(node_id)`` gives a finished node's
    packed output as ``(True, value)``, or ``(False, None)``; the calls with no known
    output are left in ``pending`` when the body stops."""

    def __init__(self, known: Callable[[str], tuple[bool, Any]]) -> None:
        super().__init__()
        self.known = known
        self.calls: dict[str, tuple[Any, dict[str, Any]]] = {}

    async def _wait(self, node_id: str) -> Any:
        done, value = self.known(node_id)
        if not done:
            raise _Suspend(node_id)
        if isinstance(value, EagerFailure):
            raise EagerException(value.message)
        return value

    def awaitable(self, node_id: str, entity: Any, kw: dict[str, Any]) -> Any:
        self.calls[node_id] = (entity, kw)
        return self._wait(node_id)

    def pending(self) -> list[Node]:
        """A compiled node for each call that has no output yet (its inputs constants)."""
        nodes = []
        for node_id, (entity, kw) in self.calls.items():
            if self.known(node_id)[0]:
                continue
            iface = entity.interface
            inputs = {k: const_binding(v, iface.inputs[k]) for k, v in kw.items()}
            nodes.append(Node(id=node_id, kind=entity.node_kind, entity=entity,
                              entity_name=entity.name, inputs=inputs, outputs=iface.outputs,
                              upstream=()))
        return nodes


class Eager:
    """An ``@eager`` workflow (see the module's doc)."""

    node_kind = "eager"

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise DefinitionError(f"{where(fn)}: @eager needs an 'async def' function")
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        self.name = f"{fn.__module__}:{fn.__qualname__}"
        self.short_name = fn.__name__
        self.interface = read_interface(fn, "eager")
        self.retries = 0
        self.timeout_seconds = None
        self.cache = None
        iface = self.interface
        node = Node(
            id=self.short_name, kind="eager", entity=self, entity_name=self.name,
            inputs={k: Binding(kind=INPUT, ref=k, type=t) for k, t in iface.inputs.items()},
            outputs=iface.outputs, upstream=(), where=where(fn),
        )
        self.spec = WorkflowSpec(
            name=self.name, interface=iface, nodes=(node,),
            outputs={k: Binding(kind=NODE, ref=node.id, output=k, type=t)
                     for k, t in iface.outputs.items()},
            where=where(fn),
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = ACTIVE.builder
        if builder is not None:
            return builder.call(self, args, kwargs)
        result = self.direct(**self.resolve_inputs(args, kwargs))
        self.check_outputs(self.outputs_of(result))
        return result

    def resolve_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        values = _Calls().inputs_of(self, args, kwargs)
        missing = [k for k in self.interface.inputs if k not in values]
        if missing:
            raise TypeError(f"eager workflow '{self.name}' is missing input {missing[0]!r}")
        return values

    def direct(self, **kwargs: Any) -> Any:
        """Run the body directly (a node of kind ``eager`` inside a direct run)."""
        return _in_thread(lambda: self.fn(**kwargs), _Direct())

    def replay(self, kwargs: dict[str, Any], known: Callable[[str], tuple[bool, Any]]
               ) -> tuple[bool, Any, list[Node]]:
        """Replay the body: ``(True, outputs, [])`` when it returned, or ``(False, None,
        nodes)`` with the nodes to run before the next replay."""
        calls = Replay(known)
        try:
            result = _in_thread(lambda: self.fn(**kwargs), calls)
        except _Suspend:
            return False, None, calls.pending()
        return True, self.outputs_of(result), []

    def outputs_of(self, result: Any) -> dict[str, Any]:
        outs = self.interface.outputs
        if not outs:
            return {}
        if len(outs) == 1 and self.interface.output_tuple is None:
            return {next(iter(outs)): result}
        return dict(zip(outs, result, strict=True))

    @staticmethod
    def pack_outputs_of(iface: Interface | None, values: dict[str, Any]) -> Any:
        """What an await of a node with these outputs gives (one value, or the tuple)."""
        return values if iface is None else _pack(iface, values)

    def check_outputs(self, outputs: dict[str, Any]) -> None:
        for key, value in outputs.items():
            tp = self.interface.outputs[key]
            if not check_value(value, tp):
                raise TypeMismatchError(
                    f"eager workflow '{self.name}' output '{key}' is declared {type_name(tp)} "
                    f"but the body returned {value_type_name(value)}"
                )

    def __reduce__(self) -> Any:
        from rillet.engine._loading import reduce_entity

        return reduce_entity(self)

    def __repr__(self) -> str:
        return f"Eager({self.name})"


def eager(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """``@eager`` or ``@eager(...)`` (flytekit's options, such as ``remote``, are accepted
    and kept on ``.flyte_options``)."""

    def wrap(f: Callable[..., Any]) -> Eager:
        e = Eager(f)
        e.flyte_options = dict(options)  # type: ignore[attr-defined]
        return e

    return wrap(fn) if fn is not None else wrap

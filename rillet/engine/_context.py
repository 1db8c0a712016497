"""The per-thread record of which execution, node and attempt is running now.

Runners set three attributes before each node; ``current_context()`` builds the
user-facing :class:`ExecutionContext` from them only when a task asks. Nothing
here does I/O except the sink the runner installed.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any, Protocol


class RunSink(Protocol):
    """Where a running execution keeps checkpoints, params and metrics."""

    @property
    def execution_id(self) -> str: ...

    def checkpoint_read(self, node_id: str) -> bytes | None: ...

    def checkpoint_write(self, node_id: str, data: bytes) -> None: ...

    def log_param(self, node_id: str, attempt: int, key: str, value: Any) -> None: ...

    def log_metric(
        self, node_id: str, attempt: int, key: str, value: float, step: int | None
    ) -> None: ...

    def working_root(self) -> str: ...

    def checkpoint_dir(self, node_id: str) -> str: ...


class MemorySink:
    """The sink of a direct (in-memory) call: nothing leaves the process.

    Each one is its own execution: its id (``local-<12 hex>``) is made when first
    asked for, so a direct call that never asks pays nothing for it.
    """

    def __init__(self, execution_id: str | None = None) -> None:
        self._execution_id = execution_id
        self.checkpoints: dict[str, bytes] = {}
        self.params: dict[str, dict[str, Any]] = {}
        self.metrics: dict[str, list[tuple[str, float, int | None]]] = {}
        self._root: str | None = None

    @property
    def execution_id(self) -> str:
        eid = self._execution_id
        if eid is None:
            import uuid

            eid = self._execution_id = f"local-{uuid.uuid4().hex[:12]}"
        return eid

    def checkpoint_read(self, node_id: str) -> bytes | None:
        return self.checkpoints.get(node_id)

    def checkpoint_write(self, node_id: str, data: bytes) -> None:
        self.checkpoints[node_id] = bytes(data)

    def log_param(self, node_id: str, attempt: int, key: str, value: Any) -> None:
        self.params.setdefault(node_id, {})[key] = value

    def log_metric(
        self, node_id: str, attempt: int, key: str, value: float, step: int | None
    ) -> None:
        self.metrics.setdefault(node_id, []).append((key, float(value), step))

    def checkpoint_dir(self, node_id: str) -> str:
        path = os.path.join(self.working_root(), ".checkpoints", *node_id.split("/"))
        os.makedirs(path, exist_ok=True)
        return path

    def working_root(self) -> str:
        if self._root is None:
            self._root = tempfile.mkdtemp(prefix="rillet-")
        return self._root


class _State(threading.local):
    sink: RunSink | None = None
    node_id: str = ""
    attempt: int = 1
    prefix: str = ""  # "sub/" while the nodes of subworkflow (or dynamic) node "sub" run
    element: int = -1  # the index of the map element running, -1 outside maps


STATE = _State()


def element_key(node_id: str, element: int) -> str:
    """Whose checkpoint and working folder: the node, or one element of a map node."""
    return node_id if element < 0 else f"{node_id}[{element}]"


class Checkpoint:
    """Bytes kept per node (per element of a map node) across its attempts and, when
    durable, across a recovery."""

    __slots__ = ("_node_id", "_sink")

    def __init__(self, sink: RunSink, node_id: str) -> None:
        self._sink = sink
        self._node_id = node_id

    def read(self) -> bytes | None:
        return self._sink.checkpoint_read(self._node_id)

    @property
    def directory(self) -> str:
        """A folder kept for this node like the bytes are: across its attempts and,
        in a durable run, across a recovery. Created on first access."""
        return self._sink.checkpoint_dir(self._node_id)

    def write(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"checkpoint.write() takes bytes, got {type(data).__name__}")
        self._sink.checkpoint_write(self._node_id, bytes(data))


class ExecutionContext:
    """What a running task may ask about itself (``rillet.current_context()``)."""

    __slots__ = ("_key", "_workdir", "attempt", "checkpoint", "execution_id", "map_index",
                 "node_id", "sink")

    def __init__(self, sink: RunSink, node_id: str, attempt: int, element: int = -1) -> None:
        self.sink = sink
        self.execution_id = sink.execution_id
        self.node_id = node_id
        self.attempt = attempt
        self.map_index: int | None = element if element >= 0 else None
        self._key = element_key(node_id, element)
        self.checkpoint = Checkpoint(sink, self._key)
        self._workdir: str | None = None

    @property
    def working_directory(self) -> str:
        """A scratch folder of this attempt (of this element, in a map node)."""
        if self._workdir is None:
            path = os.path.join(
                self.sink.working_root(), *self._key.split("/"), str(self.attempt)
            )
            os.makedirs(path, exist_ok=True)
            self._workdir = path
        return self._workdir

    def log_param(self, key: str, value: Any) -> None:
        self.sink.log_param(self.node_id, self.attempt, str(key), value)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        number = float(value)
        if number != number:  # a metric is a number to compare and chart; NaN is neither
            raise ValueError(f"metric {key!r} is NaN; log a number (infinities are kept)")
        self.sink.log_metric(self.node_id, self.attempt, str(key), number, step)

    def __repr__(self) -> str:
        return (
            f"ExecutionContext(execution_id={self.execution_id!r}, node_id={self.node_id!r}, "
            f"attempt={self.attempt})"
        )


_DETACHED = MemorySink("detached")


def current_context() -> ExecutionContext:
    """The context of the task running in this thread.

    Outside any run (a task called directly as a plain function) it returns a
    detached in-memory context, so task code can call it unconditionally.
    """
    state = STATE
    sink = state.sink
    if sink is None:
        return ExecutionContext(_DETACHED, state.node_id or "detached", state.attempt)
    return ExecutionContext(sink, state.prefix + state.node_id, state.attempt, state.element)

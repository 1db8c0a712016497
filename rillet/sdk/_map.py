"""``map_task``: run a task once per element of list inputs.

Inside a workflow it adds one map node; called directly it runs a tight loop in
memory. ``functools.partial`` binds the inputs that stay fixed.
"""

from __future__ import annotations

import functools
from typing import Any

from rillet.compiler._builder import ACTIVE, map_outputs
from rillet.compiler._promise import user_location
from rillet.engine._direct import run_detached, run_map, task_callable
from rillet.errors import CompileError, DefinitionError
from rillet.sdk._task import Task


class MapTask:
    """A task mapped over list inputs."""

    def __init__(
        self, target: Any, concurrency: int | None = None, min_success_ratio: float = 1.0
    ) -> None:
        fixed: dict[str, Any] = {}
        if isinstance(target, functools.partial):
            if target.args:
                raise DefinitionError(
                    "map_task(functools.partial(...)): bind fixed inputs by name, "
                    "e.g. partial(f, price=p)"
                )
            fixed = dict(target.keywords)
            target = target.func
        if not isinstance(target, Task) or target.node_kind != "task":
            raise DefinitionError(
                f"map_task needs a @task (optionally in functools.partial), "
                f"got {type(target).__name__}"
            )
        if not 0.0 <= float(min_success_ratio) <= 1.0:
            raise DefinitionError(
                f"map_task over '{target.name}': min_success_ratio must be in [0, 1], "
                f"got {min_success_ratio!r}"
            )
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise DefinitionError(
                f"map_task over '{target.name}': concurrency must be an int >= 1, "
                f"got {concurrency!r}"
            )
        self.task: Task[..., Any] = target
        self.fixed = fixed
        self.concurrency = concurrency
        self.min_success_ratio = float(min_success_ratio)
        self.name = f"map:{target.name}"
        self._outputs = map_outputs(target, self.min_success_ratio)

    def __call__(self, **kwargs: Any) -> Any:
        builder = ACTIVE.builder
        if builder is not None:
            return builder.call_map(
                self.task, self.fixed, kwargs, self.concurrency, self.min_success_ratio,
                self._outputs,
            )
        if not kwargs:
            raise CompileError.at(user_location(), f"{self.name}: give a list to map over")
        iface = self.task.interface
        for key in kwargs:
            if key not in iface.inputs or key in self.fixed:
                raise DefinitionError(f"{self.name}: no mappable input '{key}'")
        kw = {k: v for k, v in iface.defaults.items() if k not in kwargs}
        kw.update(self.fixed)
        kw.update(kwargs)
        return run_detached(
            f"map-{self.task.short_name}", run_map, self.name, task_callable(self.task), kw,
            tuple(kwargs), self.min_success_ratio,
        )


def map_task(
    target: Any, concurrency: int | None = None, min_success_ratio: float = 1.0
) -> MapTask:
    """Map ``target`` (a task, or ``functools.partial`` of one) over list inputs."""
    return MapTask(target, concurrency=concurrency, min_success_ratio=min_success_ratio)

"""Executors by name: the entry points of the group ``rillet.executors``.

An entry point names a factory ``(max_parallel: int | None) -> Executor``. rillet
declares ``inline`` and ``processes`` itself (pyproject); other packages add
theirs (``ray``, a user's cluster). Built-in names resolve without scanning the
installed distributions, which would cost ``rillet run`` milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rillet.engine._protocols import Executor
from rillet.errors import DefinitionError

GROUP = "rillet.executors"
Factory = Callable[[Any], Executor]


def inline(max_parallel: int | None = None) -> Executor:
    """The task runs in the engine's own process and thread."""
    from rillet.executors._inline import InlineExecutor

    return InlineExecutor()


def processes(max_parallel: int | None = None) -> Executor:
    """A warm pool of forked worker processes."""
    from rillet.executors._processes import ProcessExecutor

    return ProcessExecutor(max_parallel=max_parallel)


def ray(max_parallel: int | None = None) -> Executor:
    """Tasks on a Ray cluster (the ``ray`` extra)."""
    from rillet.executors._ray import RayExecutor

    return RayExecutor(max_parallel=max_parallel)


BUILTIN: dict[str, Factory] = {"inline": inline, "processes": processes, "ray": ray}


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def executor_names() -> list[str]:
    """Every executor this installation knows, sorted."""
    return sorted(set(BUILTIN) | set(_entry_points()))


def executor_factory(name: str) -> Factory:
    """The factory of the executor ``name``; a one-line error naming those known."""
    factory = BUILTIN.get(name)
    if factory is not None:
        return factory
    ep = _entry_points().get(name)
    if ep is None:
        raise DefinitionError(f"unknown executor {name!r}; installed executors: "
                              f"{', '.join(executor_names())} (entry points of {GROUP!r})")
    try:
        loaded = ep.load()
    except Exception as exc:
        raise DefinitionError(f"executor {name!r} ({ep.value}) cannot be loaded: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not callable(loaded):
        raise DefinitionError(f"executor {name!r} ({ep.value}) is not a factory")
    return loaded  # type: ignore[no-any-return]


def load_executor(name: str, max_parallel: int | None = None) -> Executor:
    """A new executor ``name`` (the caller shuts it down)."""
    return executor_factory(name)(max_parallel)

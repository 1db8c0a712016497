"""rillet: typed, cached, recoverable workflows that run from ``pip install``.

The public surface is ``__all__``. Names are imported on first access, so
``import rillet`` is cheap and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "task": "rillet.sdk._task",
    "dynamic": "rillet.sdk._task",
    "Task": "rillet.sdk._task",
    "workflow": "rillet.sdk._workflow",
    "Workflow": "rillet.sdk._workflow",
    "map_task": "rillet.sdk._map",
    "conditional": "rillet.sdk._conditional",
    "Resources": "rillet.sdk._resources",
    "Cache": "rillet.sdk._resources",
    "current_context": "rillet.engine._context",
    "ExecutionContext": "rillet.engine._context",
    "FailureInfo": "rillet.engine._failure",
    "File": "rillet.types._files",
    "Directory": "rillet.types._files",
    "RecoverableError": "rillet.errors",
    "RilletError": "rillet.errors",
    "CompileError": "rillet.errors",
    "TypeMismatchError": "rillet.errors",
    "DefinitionError": "rillet.errors",
    "UserCodeError": "rillet.errors",
    "TaskTimeoutError": "rillet.errors",
    "LaunchPlan": "rillet.sdk._launchplan",
    "CronSchedule": "rillet.sdk._launchplan",
    "FixedRate": "rillet.sdk._launchplan",
    "Webhook": "rillet.sdk._launchplan",
    "run": "rillet.sdk._run",
    "recover": "rillet.sdk._run",
    "execution": "rillet.sdk._past",
    "executions": "rillet.sdk._past",
    "Execution": "rillet.engine._views",
    "NodeExecution": "rillet.engine._views",
    "models": "rillet.models",  # a module: ``from rillet import models``
    "notebook": "rillet.notebook",  # a module: ``rillet.notebook.load("nb.ipynb")``
    "tune": "rillet.tuning._tune",
    "Float": "rillet.tuning._space",
    "Int": "rillet.tuning._space",
    "Choice": "rillet.tuning._space",
    "Remote": "rillet.remote._client",
}

__all__ = [
    "Cache",
    "Choice",
    "CronSchedule",
    "Execution",
    "FixedRate",
    "Float",
    "Int",
    "LaunchPlan",
    "NodeExecution",
    "CompileError",
    "DefinitionError",
    "Directory",
    "ExecutionContext",
    "FailureInfo",
    "File",
    "RecoverableError",
    "Remote",
    "Resources",
    "RilletError",
    "Task",
    "TaskTimeoutError",
    "Webhook",
    "TypeMismatchError",
    "UserCodeError",
    "Workflow",
    "conditional",
    "current_context",
    "dynamic",
    "execution",
    "executions",
    "map_task",
    "models",
    "notebook",
    "recover",
    "run",
    "task",
    "tune",
    "workflow",
]

if TYPE_CHECKING:
    from rillet import models, notebook
    from rillet.engine._context import ExecutionContext, current_context
    from rillet.engine._failure import FailureInfo
    from rillet.engine._views import Execution, NodeExecution
    from rillet.errors import (
        CompileError,
        DefinitionError,
        RecoverableError,
        RilletError,
        TaskTimeoutError,
        TypeMismatchError,
        UserCodeError,
    )
    from rillet.remote._client import Remote
    from rillet.sdk._conditional import conditional
    from rillet.sdk._launchplan import CronSchedule, FixedRate, LaunchPlan, Webhook
    from rillet.sdk._map import map_task
    from rillet.sdk._past import execution, executions
    from rillet.sdk._resources import Cache, Resources
    from rillet.sdk._run import recover, run
    from rillet.sdk._task import Task, dynamic, task
    from rillet.sdk._workflow import Workflow, workflow
    from rillet.tuning._space import Choice, Float, Int
    from rillet.tuning._tune import tune
    from rillet.types._files import Directory, File


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rillet' has no attribute {name!r}")
    found = importlib.import_module(module)
    value = found if module == f"{__name__}.{name}" else getattr(found, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

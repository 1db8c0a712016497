"""A single task run as a workflow of one node (``rillet run FILE.py:TASK``).

The workflow has the task's name, inputs, defaults and outputs, so its executions are
recorded (and recovered) under the task's own ``module:qualname``.
"""

from __future__ import annotations

import functools
from typing import Any

from rillet.sdk._task import Task


def workflow_of_task(task: Task[Any, Any]) -> Any:
    """A ``@workflow`` whose body calls ``task`` once with all of its inputs."""
    from rillet.sdk._workflow import workflow

    def body(**inputs: Any) -> Any:
        return task(**inputs)

    return workflow(functools.wraps(task.fn)(body))


def as_workflow(obj: Any) -> Any:
    """``obj`` itself for a workflow, a one-node workflow for a task."""
    return workflow_of_task(obj) if isinstance(obj, Task) else obj

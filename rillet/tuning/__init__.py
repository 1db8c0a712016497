"""Hyperparameter tuning: studies over a workflow's inputs, each trial a durable
execution; Optuna's samplers and pruners (the ``rillet[tune]`` extra).

Importing this package imports neither Optuna nor the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rillet.tuning._space import Choice, Float, Int
    from rillet.tuning._study import Study, Trial
    from rillet.tuning._tune import load_study, tune

__all__ = ["Choice", "Float", "Int", "Study", "Trial", "load_study", "tune"]

_WHERE = {
    "Choice": "rillet.tuning._space",
    "Float": "rillet.tuning._space",
    "Int": "rillet.tuning._space",
    "Study": "rillet.tuning._study",
    "Trial": "rillet.tuning._study",
    "load_study": "rillet.tuning._tune",
    "tune": "rillet.tuning._tune",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rillet.tuning' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

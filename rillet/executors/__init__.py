"""Executors run task attempts: inline (this process), processes (a warm pool), and
any other that a package registers under the entry points ``rillet.executors``."""

from __future__ import annotations

from rillet.executors._registry import executor_factory, executor_names, load_executor

__all__ = ["executor_factory", "executor_names", "load_executor"]

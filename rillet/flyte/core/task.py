"""``flytekit.core.task``."""

from rillet.flyte import task

__all__ = ["task"]

"""``flytekit.types.error.error``: ``FlyteError`` is rillet's ``FailureInfo`` (the failed
node, the error's type and message), given to a workflow's ``on_failure`` handler."""

from rillet.engine._failure import FailureInfo as FlyteError

__all__ = ["FlyteError"]

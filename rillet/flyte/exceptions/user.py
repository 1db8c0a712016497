"""``flytekit.exceptions.user``: a recoverable exception is rillet's RecoverableError."""

from rillet.errors import RecoverableError


class FlyteRecoverableException(RecoverableError):
    """Raised in a task, it is retried within the task's ``retries``."""


__all__ = ["FlyteRecoverableException"]

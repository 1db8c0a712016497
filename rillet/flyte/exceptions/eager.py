"""``flytekit.exceptions.eager``: what an ``@eager`` body catches when an awaited task fails."""

from rillet.sdk._eager import EagerException

__all__ = ["EagerException"]

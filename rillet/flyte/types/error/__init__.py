"""``flytekit.types.error``."""

from rillet.flyte.types.error.error import FlyteError

__all__ = ["FlyteError"]

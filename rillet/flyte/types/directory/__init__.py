"""``flytekit.types.directory``: FlyteDirectory is rillet's Directory."""

from rillet.types._files import Directory as FlyteDirectory

__all__ = ["FlyteDirectory"]

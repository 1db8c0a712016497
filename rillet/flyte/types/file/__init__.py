"""``flytekit.types.file``: FlyteFile is rillet's File (a path or URL, fetched on first access)."""

from rillet.types._files import File as FlyteFile

__all__ = ["FlyteFile"]
